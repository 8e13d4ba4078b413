"""Calendar arithmetic shared by every capability: one month length for every per-month figure."""

from __future__ import annotations

#: Days in an average month (365.25 / 12): tenures and per-month rates are in these months.
DAYS_PER_MONTH = 30.4375
