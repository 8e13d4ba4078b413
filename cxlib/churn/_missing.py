"""Missing values in the churn drivers: how many, how the models handle them, and whether they go with churn.

The interpretable models (:class:`cxlib.churn.ChurnDrivers`, :class:`cxlib.churn.ChurnHazards`,
:class:`cxlib.churn.RemainingLifetime`) read the drivers through
:class:`cxlib.stats.DesignEncoder`, which fills a numeric driver's missing values with its median
(a yes/no flag with its most common value) and, when enough are missing, adds a yes/no term
``<driver>: missing`` (:func:`cxlib.stats.missing_plan`); a category's missing values are a level
of their own, ``unknown``. Boosting (:class:`cxlib.churn.ChurnPredictor`) keeps them missing and
learns where they go at each split. :func:`missing_values` states this per driver with the churn
rate of customers with and without the value, so a report can say whether missingness itself
goes with leaving.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"x": [1.0, None, 3.0, None], "churned": [False, True, False, True]})
>>> missing_values(frame, ["x"], [])[["feature", "missing", "method", "churn_rate_missing"]]
  feature  missing     method  churn_rate_missing
0       x        2  indicator                 1.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from cxlib.stats._design import missing_plan
from cxlib.stats._intervals import wilson_interval

#: The level a category's missing values become (:func:`cxlib.features.driver_features`).
UNKNOWN_LEVEL = "unknown"

#: Columns of :func:`missing_values`.
MISSING_COLUMNS = [
    "feature",
    "kind",
    "missing",
    "rows",
    "share",
    "method",
    "fill",
    "statistic",
    "churn_rate_missing",
    "ci_low_missing",
    "ci_high_missing",
    "churn_rate_present",
    "ci_low_present",
    "ci_high_present",
    "p_value",
]


def missing_values(
    frame: pd.DataFrame, numeric, categorical, label: str = "churned", min_rows: int | None = None
) -> pd.DataFrame:
    """Each driver with missing values: count, how the interpretable models handle them, churn with and without.

    Parameters
    ----------
    frame : DataFrame
        The churn panel's rows (drivers and the boolean ``label``).
    numeric, categorical : list of str
        Driver columns by kind.
    label : str
        The churn flag.
    min_rows : int or None
        As :func:`cxlib.stats.missing_plan`: fewer missing values are filled without a term of
        their own (the config's ``analysis.min_group_size``, as the models use it).

    Returns
    -------
    DataFrame
        One row per driver with a missing value (none: empty, with the columns): ``feature``,
        ``kind`` (``numeric`` or ``categorical``), ``missing``, ``rows``, ``share``, ``method``
        (``indicator``: filled and modelled by a ``missing`` term; ``filled``: filled only;
        ``level``: a category level ``unknown``), ``fill`` and ``statistic`` (numeric drivers),
        the churn rate of rows missing the value and of the others with 95% Wilson intervals
        (``churn_rate_missing``, ``ci_low_missing``, ``ci_high_missing``, ``churn_rate_present``,
        ``ci_low_present``, ``ci_high_present``) and ``p_value`` of Fisher's exact test of equal
        rates. Boosting handles every numeric missing value natively.
    """
    churned = frame[label].astype(bool).to_numpy()
    plan = missing_plan(frame, list(numeric), min_rows)
    rows = []
    for column in numeric:
        entry = plan.loc[column]
        if entry["missing"] == 0:
            continue
        method = "indicator" if entry["indicator"] else "filled"
        rows.append(
            {
                "feature": column,
                "kind": "numeric",
                "method": method,
                "fill": entry["fill"],
                "statistic": entry["statistic"],
                **_compare(frame[column].isna().to_numpy(), churned),
            }
        )
    for column in categorical:
        absent = frame[column].astype("string").eq(UNKNOWN_LEVEL).fillna(True).to_numpy(bool)
        if absent.any():
            rows.append(
                {"feature": column, "kind": "categorical", "method": "level", **_compare(absent, churned)}
            )
    return pd.DataFrame(rows, columns=MISSING_COLUMNS)


def _compare(absent: np.ndarray, churned: np.ndarray) -> dict:
    """Churn of rows missing the value against the others: rates, 95% Wilson intervals, Fisher's p."""
    missing, rows = int(absent.sum()), len(absent)
    lost_missing, lost_present = int(churned[absent].sum()), int(churned[~absent].sum())
    rate, low, high = wilson_interval(lost_missing, missing)
    rate_present, low_present, high_present = wilson_interval(lost_present, rows - missing)
    p_value = np.nan
    if 0 < missing < rows:
        table = [[lost_missing, missing - lost_missing], [lost_present, rows - missing - lost_present]]
        p_value = float(stats.fisher_exact(table)[1])
    return {
        "missing": missing,
        "rows": rows,
        "share": missing / rows if rows else np.nan,
        "churn_rate_missing": rate,
        "ci_low_missing": low,
        "ci_high_missing": high,
        "churn_rate_present": rate_present,
        "ci_low_present": low_present,
        "ci_high_present": high_present,
        "p_value": p_value,
    }
