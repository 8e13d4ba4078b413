"""The revenue case's outputs for other readers: the seed KPIs and the machine-readable summary.

:func:`summary_table` is what the executive summary reads (catalog table ``impact_summary``): every
headline figure with its interval, unit and strength of evidence.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.impact._inputs import inputs_table

#: Tables :func:`catalog_tables` hands on.
CATALOG_TABLES = ("impact_summary", "impact_inputs")


def seed_kpis(study, data) -> pd.DataFrame:
    """The seed KPIs next to the lever each feeds (NaN: the data do not allow it)."""
    rows = []
    cac = study.inputs.get("cac")
    given = cac is not None and study.settings.get("cac") is not None
    rows.append(("acquisition_cost", cac.value if given else np.nan, "money", "word_of_mouth", "assumption"))
    case = study.case
    if case is not None and case.has_costs:
        rows.append(
            (
                "retention_cost_per_retained",
                case.central["cost_per_retained"],
                "money",
                "retention",
                case.evidence["economics"],
            )
        )
    else:
        rows.append(("retention_cost_per_retained", np.nan, "money", "retention", "assumption"))
    rows.append(("checkout_abandonment", _abandonment(data), "share", "loyalty", "observational"))
    rows.append(
        ("conversion", np.nan, "share", "loyalty", "observational")
    )  # needs visits: no table holds them
    return pd.DataFrame(rows, columns=["kpi", "value", "unit", "lever", "evidence"])


def _abandonment(data) -> float:
    """Abandoned checkouts / (abandoned checkouts + orders) over the last 12 months; NaN without both."""
    if not (data.has("interactions") and data.has("transactions")):
        return float("nan")
    from cxlib.features import YEAR_DAYS, end_of_day, purchases, transactions_before

    end = end_of_day(data.as_of)
    start = end - pd.Timedelta(days=YEAR_DAYS)
    interactions = data["interactions"]
    if "kind" not in interactions:
        return float("nan")
    kind = interactions["kind"].astype(str).str.lower()
    when = interactions["timestamp"]
    carts = int((kind.str.contains("cart") & (when >= start) & (when <= end)).sum())
    if carts == 0:
        return float("nan")
    if getattr(data, "source", None) is not None:  # the same count by the engine (tests/test_value_engine.py)
        from cxlib.engine import purchase_count_from_validated

        orders = purchase_count_from_validated(data, start, end)
    else:
        bought = purchases(transactions_before(data["transactions"], end))
        orders = int((bought["order_date"] >= start).sum())
    return carts / (carts + orders)


def summary_table(study) -> pd.DataFrame:
    """The machine-readable summary: every headline figure with its interval, unit and evidence label.

    One row per figure of the revenue case, then the pilot's effects, the what-ifs and the seed
    KPIs: ``figure``, ``lever``, ``unit``, ``description``, ``value``, ``low``, ``high``,
    ``evidence``. The executive summary reads this table.
    """
    rows = []
    if study.case is not None:
        rows.append(study.case.summary)
        p = study.case.p_roi_positive
        if np.isfinite(p):
            rows.append(
                pd.DataFrame(
                    [
                        {
                            "figure": "p_roi_positive",
                            "lever": "total",
                            "unit": "share",
                            "description": "probability that the programme returns more than it costs",
                            "value": p,
                            "low": np.nan,
                            "high": np.nan,
                            "evidence": study.case.evidence["economics"],
                        }
                    ]
                )
            )
    for name, item in study.inputs.items():
        rows.append(
            pd.DataFrame(
                [
                    {
                        "figure": f"input_{name}",
                        "lever": "input",
                        "unit": item.unit,
                        "description": item.source,
                        "value": item.value,
                        "low": item.low,
                        "high": item.high,
                        "evidence": item.evidence,
                    }
                ]
            )
        )
    if study.what_if is not None and len(study.what_if):
        table = study.what_if
        rows.append(
            pd.DataFrame(
                {
                    "figure": "what_if_" + table["driver"].astype(str),
                    "lever": "retention",
                    "unit": "money",
                    "description": "margin from a change in friction: " + table["label"].astype(str),
                    "value": table["margin"],
                    "low": table["margin_low"],
                    "high": table["margin_high"],
                    "evidence": table["evidence"],
                }
            )
        )
    if study.kpis is not None:
        kpis = study.kpis.dropna(subset=["value"])
        rows.append(
            pd.DataFrame(
                {
                    "figure": "kpi_" + kpis["kpi"],
                    "lever": kpis["lever"],
                    "unit": kpis["unit"],
                    "description": kpis["kpi"],
                    "value": kpis["value"],
                    "low": np.nan,
                    "high": np.nan,
                    "evidence": kpis["evidence"],
                }
            )
        )
    if not rows:
        return pd.DataFrame(
            columns=["figure", "lever", "unit", "description", "value", "low", "high", "evidence"]
        )
    return pd.concat(rows, ignore_index=True)


def catalog_tables(study) -> dict[str, pd.DataFrame]:
    """The tables the run catalog hands on: the summary and the inputs (when the case ran)."""
    if study.case is None:
        return {}
    return {"impact_summary": summary_table(study), "impact_inputs": inputs_table(study.inputs)}
