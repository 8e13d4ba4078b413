"""The CDNOW 1/10 sample as canonical transactions, and its 39-week calibration summary.

``data/cdnow/CDNOW_sample.txt`` (see ``data/README.md``): no header; master id, sample id, date
``YYYYMMDD``, CDs, dollars. The standard split (Fader, Hardie and Lee 2005): calibration to
1997-09-30 (39 weeks), holdout to 1998-06-30, time in weeks.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from cxlib.features import repeat_purchase_summary

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow" / "CDNOW_sample.txt"
CALIBRATION_END, OBSERVATION_END = "1997-09-30", "1998-06-30"


@functools.cache
def cdnow_transactions() -> pd.DataFrame:
    """The sample's purchase lines as the data contract's transactions (ids as text)."""
    raw = pd.read_csv(
        CDNOW,
        sep=r"\s+",
        header=None,
        names=["master", "sample", "date", "cds", "dollars"],
        dtype={"master": str, "sample": str, "date": str},
    )
    return pd.DataFrame(
        {
            "customer_id": raw["master"],
            "order_date": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "amount": raw["dollars"],
            "is_refund": False,
        }
    )


def cdnow_summary() -> pd.DataFrame:
    """The suite's own repeat-purchase summary of the sample: 39-week calibration, 39-week holdout."""
    return repeat_purchase_summary(cdnow_transactions(), CALIBRATION_END, OBSERVATION_END)
