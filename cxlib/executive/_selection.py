"""Which rows of the run's tables the executive summary shows: clear drivers, segments, assumptions.

Selection only, no model: the churn drivers the churn report itself would quote (clear and
sound), the satisfaction drivers by rank, one row per segment joined from three notebooks' tables
(a group a source suppressed stays blank), and the inputs labelled assumptions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.executive._inputs import ExecutiveInputs

#: Holm-adjusted p-value below which a churn driver counts as clear.
CLEAR_P = 0.05


def clear_churn_drivers(table: pd.DataFrame | None, top: int = 3) -> pd.DataFrame:
    """The ``top`` churn drivers clearly linked to churn, one term each, best-evidenced first.

    A term is clear when its Holm-adjusted p-value is below :data:`CLEAR_P` and it is sound (not
    flagged unstable, and pointing the same way as the raw churn rates, when the table says so):
    the churn report never headlines any other. Each driver is shown by its clearest term; drivers
    come in the churn report's rank (the joint test of all their terms).

    Parameters
    ----------
    table : DataFrame or None
        The catalog table ``churn_drivers``.
    top : int

    Returns
    -------
    DataFrame
        Rows of ``table`` (possibly none).
    """
    if table is None or not len(table):
        return pd.DataFrame(columns=[] if table is None else table.columns)
    sound = pd.Series(True, index=table.index)
    if "unstable" in table:
        sound &= ~table["unstable"].fillna(False).astype(bool)
    if "agrees_with_raw" in table:
        sound &= table["agrees_with_raw"].fillna(True).astype(bool)
    clear = table[sound & (table["p_holm"] < CLEAR_P) & np.isfinite(table["odds_ratio"])]
    clear = clear.sort_values(["driver_rank", "p_holm"], kind="stable")
    return clear.drop_duplicates("driver").head(top).reset_index(drop=True)


def strongest_churn_driver(table: pd.DataFrame | None) -> pd.Series | None:
    """Among the clear churn drivers (:func:`clear_churn_drivers`, all of them), the largest effect.

    The size of an effect is ``|log(odds ratio)|``, so halving and doubling count the same; a
    ratio per standard deviation is on another scale and competes only when no contrast is clear.
    """
    clear = clear_churn_drivers(table, top=len(table) if table is not None else 0)
    if not len(clear):
        return None
    contrasts = clear[clear["unit_kind"].isin(("flag", "level", "curve"))]
    pool = contrasts if len(contrasts) else clear
    return pool.loc[np.log(pool["odds_ratio"].astype(float)).abs().idxmax()]


def top_satisfaction_drivers(table: pd.DataFrame | None, top: int = 3) -> pd.DataFrame:
    """The ``top`` satisfaction drivers by share of the explained variation (``driver_importance``)."""
    if table is None or not len(table):
        return pd.DataFrame(columns=[] if table is None else table.columns)
    return table.sort_values(["rank", "share"], ascending=[True, False], kind="stable").head(top)


def value_method(inputs: ExecutiveInputs) -> str | None:
    """The valuation the headline customer value rests on (the method of ``value_by_group``'s first whole-base row)."""
    table = inputs.table("value_by_group")
    if table is None or "method" not in table:
        return None
    whole = table[table["variable"] == "all"]
    return str(whole["method"].iloc[0]) if len(whole) else None


def segment_rows(inputs: ExecutiveInputs) -> pd.DataFrame:
    """One row per segment: share of customers and of revenue, churn, NPS and value per customer.

    From ``segment_summary`` (notebook 01), NPS with its interval included (a segment with too few
    answers for 01's small-group rule stays blank); value per customer from ``value_by_group`` (notebook 04, the headline valuation).

    Returns
    -------
    DataFrame
        ``segment``, ``customers``, ``share_of_customers``, ``share_of_revenue``, ``churn_rate``,
        ``nps``, ``nps_low``, ``nps_high``, ``clv_mean``, ``clv_mean_low``, ``clv_mean_high``
        (NaN where a source lacks the segment); empty without segments.
    """
    columns = [
        "segment",
        "customers",
        "share_of_customers",
        "share_of_revenue",
        "churn_rate",
        "nps",
        "nps_low",
        "nps_high",
        "clv_mean",
        "clv_mean_low",
        "clv_mean_high",
    ]
    summary = inputs.table("segment_summary")
    if summary is None or not len(summary):
        return pd.DataFrame(columns=columns)
    out = pd.DataFrame({"segment": summary["name"].astype(str), "customers": summary["customers"]})
    for column in ("share_of_customers", "share_of_revenue", "churn_rate"):
        out[column] = summary[column].to_numpy(float) if column in summary else np.nan
    # NPS from the segmentation report itself (its own small-group rule), like the rest of the row
    for column, source in (("nps", "nps"), ("nps_low", "nps_ci_low"), ("nps_high", "nps_ci_high")):
        out[column] = summary[source].to_numpy(float) if source in summary else np.nan
    value = inputs.table("value_by_group")
    method = value_method(inputs)
    if value is not None:
        rows = value[value["variable"] == "segment_name"]
        if method is not None and "method" in rows:
            rows = rows[rows["method"] == method]
        rows = rows.drop_duplicates("group").set_index("group")
        for key in ("mean", "mean_low", "mean_high"):
            out[f"clv_{key}"] = out["segment"].map(rows[key]) if key in rows else np.nan
    else:
        for key in ("mean", "mean_low", "mean_high"):
            out[f"clv_{key}"] = np.nan
    return out[columns].sort_values("share_of_revenue", ascending=False, kind="stable", ignore_index=True)


def assumption_rows(inputs: ExecutiveInputs) -> pd.DataFrame:
    """Every input of the revenue case labelled an assumption: value, range and source (``impact_inputs``)."""
    table = inputs.table("impact_inputs")
    columns = ["name", "value", "low", "high", "unit", "source"]
    if table is None or not len(table):
        return pd.DataFrame(columns=columns)
    rows = table[table["evidence"] == "assumption"].copy()
    if "unit" not in rows:
        rows["unit"] = ""
    return rows[columns].reset_index(drop=True)
