"""Small-group privacy holds under subtraction: pooling, complementary suppression, and the overview.

The planted data have a plan with 3 customers, an order channel with 3 customers (6 orders,
5,337.66 EUR), a support channel with 2 customers and an interaction kind with 4. Every total is
assumed known to the reader (customer count, revenue and order count are in the overview's KPIs
and data-health table), so a table is safe when no small group's figure is a sum of shown figures
or a total minus such a sum.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml

from cxlib.churn._retention import RetentionCurves
from cxlib.data._config import load_config
from cxlib.data._load import load_data
from cxlib.overview import _kpis as kpis
from cxlib.report import describe_pooling, render_all
from cxlib.segment import describe_rfm, rfm_segment_summary
from cxlib.stats._suppression import pool_small_groups, suppress_small

ROOT = Path(__file__).resolve().parents[1]
MIN = 10
AS_OF = pd.Timestamp("2025-12-31")
KIOSK_REVENUE = 5337.66  # 3 customers x (1,000.00 + 779.22)


# ----------------------------------------------------------------------------- the shared rules
def test_small_groups_are_pooled_with_each_other():
    labels = pd.Series(["a"] * 50 + ["b"] * 40 + ["c"] * 6 + ["d"] * 5)
    pooled, pooling = pool_small_groups(labels, MIN)
    assert pooling.groups == ("d", "c") and pooling.small == ("d", "c")
    assert pooled.value_counts().to_dict() == {"a": 50, "b": 40, "Other (2 groups)": 11}


def test_a_pool_still_below_the_minimum_takes_the_next_smallest_group():
    labels = pd.Series(["a"] * 50 + ["b"] * 40 + ["c"] * 3)
    pooled, pooling = pool_small_groups(labels, MIN)
    assert pooling.groups == ("c", "b") and pooling.small == ("c",)
    assert pooled.value_counts().to_dict() == {"a": 50, "Other (2 groups)": 43}


def test_pool_size_counts_distinct_customers_when_rows_are_orders():
    # 12 orders but only 4 customers on the fax channel: still a small group
    frame = pd.DataFrame(
        {
            "channel": ["web"] * 30 + ["fax"] * 12,
            "customer_id": [f"w{i}" for i in range(30)] + ["f1", "f2", "f3", "f4"] * 3,
        }
    )
    _, pooling = pool_small_groups(frame["channel"], MIN, units=frame["customer_id"])
    assert "fax" in pooling.small


def test_nothing_is_pooled_when_every_group_is_large_enough():
    labels = pd.Series(["a"] * 10 + ["b"] * 10)
    pooled, pooling = pool_small_groups(labels, MIN)
    assert not pooling and pooled.tolist() == labels.tolist()


@pytest.mark.parametrize(
    ("counts", "blanked"),
    [
        ([500, 40, 3], [False, True, True]),  # one small row: the next smallest goes with it
        ([500, 40, 6, 5], [False, False, True, True]),  # two small rows covering 11: enough
        ([500, 40, 4, 3], [False, True, True, True]),  # two small rows covering 7: one more
        ([500, 0, 40], [False, False, False]),  # an empty row has nothing to protect
    ],
)
def test_complementary_suppression_blanks_enough_rows(counts, blanked):
    table = pd.DataFrame({"customers": counts, "revenue": np.arange(len(counts)) + 100.0})
    out = suppress_small(table, "customers", MIN)
    assert out["revenue"].isna().tolist() == blanked
    assert table["revenue"].notna().all()  # input untouched


def test_retention_curves_pool_a_small_group_instead_of_leaving_it_out():
    # leaving a 3-customer group out would let "all customers minus the curves shown" describe it
    frame = pd.DataFrame(
        {
            "duration_months": np.arange(1, 104, dtype=float),
            "churned": np.arange(103) % 3 == 0,
            "plan": ["basic"] * 60 + ["premium"] * 40 + ["trial"] * 3,
        }
    )
    curves = RetentionCurves(min_group_size=MIN).fit(frame, group_col="plan")
    summary = curves.summary_.set_index("group")
    assert "trial" not in summary.index and summary["customers"].sum() == len(frame)
    assert (summary["customers"] >= MIN).all()
    assert any("'Other (2 groups)'" in c and "trial" in c for c in render_all(curves.caveats_))


def test_rfm_summary_pools_small_segments_and_says_so():
    segments = ["Champions"] * 40 + ["Lost"] * 30 + ["Promising"] * 4 + ["New customers"] * 3
    rfm = pd.DataFrame(
        {
            "rfm_segment": segments,
            "monetary": np.linspace(10, 500, len(segments)),
            "recency_days": np.arange(len(segments)),
            "frequency": 1 + np.arange(len(segments)) % 4,
        }
    )
    summary = rfm_segment_summary(rfm, MIN)
    # 4 + 3 customers are still fewer than 10: the next smallest segment (Lost, 30) joins the pool
    assert summary.index.tolist() == ["Champions", "Other (3 groups)"]
    assert summary["customers"].tolist() == [40, 37]
    assert summary["share_of_revenue"].sum() == pytest.approx(1.0)
    assert "'New customers', 'Promising', 'Lost' form 'Other (3 groups)'" in describe_rfm(summary)


# ----------------------------------------------------------------------------- planted overview data
def _planted_tables() -> dict[str, pd.DataFrame]:
    ids = [f"C{i:03d}" for i in range(200)]
    plans = ["basic"] * 120 + ["standard"] * 60 + ["premium"] * 17 + ["trial"] * 3
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_date": [
                f"{pd.Timestamp('2024-01-01') + pd.Timedelta(days=i):%Y-%m-%d}" for i in range(200)
            ],
            "plan": plans,
            # churners before and after the churn model's cut-off (enough of both for cx validate)
            "churn_date": [
                "2025-06-01" if i % 5 == 0 else "2025-10-01" if i % 7 == 0 else "" for i in range(200)
            ],
        }
    )
    channels = ["web"] * 100 + ["app"] * 60 + ["store"] * 37 + ["kiosk"] * 3
    orders = []
    for i, (customer, channel) in enumerate(zip(ids, channels, strict=True)):
        amounts = (1000.00, 779.22) if channel == "kiosk" else (20 + 0.37 * i, 35 + 0.11 * i)
        for n, (day, amount) in enumerate(zip(("2025-03-01", "2025-09-01"), amounts, strict=True)):
            orders.append((f"O{i:03d}{n}", customer, day, round(amount, 2), channel))
    transactions = pd.DataFrame(
        orders, columns=["order_id", "customer_id", "order_date", "amount", "channel"]
    )
    events = []
    plan_of = [
        ("support_contact", "phone", range(0, 40)),
        ("support_contact", "chat", range(40, 70)),
        ("support_contact", "email", [70, 71, 71]),  # 2 customers, 3 contacts
        ("complaint", "web", range(80, 110)),
        ("complaint", "phone", range(110, 130)),
        ("review", "app", range(130, 134)),  # a kind with 4 customers
    ]
    for kind, channel, who in plan_of:
        for i in who:
            resolved = (i % 3 != 0) if kind == "complaint" else None
            when = pd.Timestamp("2025-05-01 10:00") + pd.Timedelta(minutes=len(events))  # no exact duplicates
            events.append((ids[i], f"{when:%Y-%m-%d %H:%M}", kind, channel, resolved, 5.0 + i % 7))
    interactions = pd.DataFrame(
        events, columns=["customer_id", "timestamp", "kind", "channel", "resolved", "wait_minutes"]
    )
    return {"customers": customers, "transactions": transactions, "interactions": interactions}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    tables = _planted_tables()
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    config = {
        "company": "Planted Co",
        "data": {"dir": str(folder), "tables": {name: {"path": f"{name}.csv"} for name in tables}},
        "analysis": {
            "as_of": AS_OF.date(),
            "currency": "EUR",
            "min_group_size": MIN,
            "churn": {"definition": "contractual"},
        },
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, load_data(load_config(path))


def _derivable(shown: list[float], total: float) -> set[float]:
    """Every figure a reader gets from shown figures and a known total: subset sums and the rest."""
    out = set()
    for size in range(len(shown) + 1):
        for subset in combinations(shown, size):
            out |= {round(sum(subset), 2), round(total - sum(subset), 2)}
    return out


def _plan_table(data):
    return kpis.attribute_mix(data["customers"], "plan", MIN), None


def _channel_table(data):
    return kpis.channel_mix(data["transactions"], data.as_of, MIN), None


def _support_table(data):
    return kpis.touchpoint_volumes(data["interactions"], 150, data.as_of, MIN), "support_contact"


CASES = {
    # table builder, group column, {figure column: (true total, true figure of the small group)}
    "plan (3 customers)": (_plan_table, "plan", "trial", {"customers": (200, 3)}),
    "order channel (3 customers, 5,337.66 EUR)": (
        _channel_table,
        "channel",
        "kiosk",
        {"customers": (200, 3), "orders": (400, 6), "net_revenue": (None, KIOSK_REVENUE)},
    ),
    "interaction channel (2 customers)": (
        _support_table,
        "channel",
        "email",
        {"customers": (72, 2), "events": (73, 3)},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_no_small_group_figure_can_be_derived_from_the_totals(planted, case):
    _, data = planted
    build, column, small, figures = CASES[case]
    table, kind = build(data)
    if kind is not None:
        table = table[table["kind"] == kind]
    assert small not in set(table[column])  # its label has no row of its own
    shown = table.dropna(subset=["customers"])
    assert (shown["customers"] >= MIN).all()  # every row shown describes at least MIN customers
    for figure, (total, secret) in figures.items():
        values = shown[figure].tolist()
        if total is None:  # revenue: the overview's KPI states the true total
            total = float(data["transactions"]["amount"].sum())
        # customers are planted in one group each, so shown figures must add up to the known total:
        # pooling hides no figure and loses none
        assert sum(values) == pytest.approx(total)
        assert round(secret, 2) not in _derivable(values, total)


def test_blanked_rows_cover_at_least_min_group_size_customers_over_two_groups(planted):
    _, data = planted
    table = kpis.touchpoint_volumes(data["interactions"], 150, data.as_of, MIN)
    # the review kind (4 customers) is pooled with the next smallest kind rather than shown alone
    assert "review" not in set(table["kind"])
    pooled = [p for p in table.attrs["pooling"] if p.column == "kind"][0]
    assert pooled.small == ("review",) and len(pooled.groups) >= 2 and pooled.size >= MIN


def test_tables_say_which_groups_were_pooled(planted):
    _, data = planted
    text = describe_pooling(kpis.channel_mix(data["transactions"], data.as_of, MIN))
    assert "'kiosk'" in text and "Other (2 groups)" in text and f"fewer than {MIN} customers" in text
    assert describe_pooling(kpis.channel_mix(data["transactions"], data.as_of, 1)) == ""


def test_overview_notebook_shows_no_small_group_figure(planted, tmp_path):
    from cxlib.run._runner import execute_notebook

    config_path, _ = planted
    executed = tmp_path / "00.ipynb"
    execute_notebook(
        ROOT / "notebooks" / "00_data_overview.ipynb",
        executed,
        {"config_path": str(config_path), "run_dir": str(tmp_path / "run")},
    )
    shown = []
    for cell in nbformat.read(executed, as_version=4).cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            shown.append(str(data.get("text/html", "")) + str(data.get("text/markdown", "")))
    html = "\n".join(shown)
    tables = "\n".join(part for part in shown if "<table" in part)
    for small in ("trial", "kiosk", "email", "review"):
        assert f">{small}<" not in tables  # no table row of its own
    assert "5,337.66" not in html and "5,338" not in html
    assert html.count("are pooled") >= 3  # plans, order channels, interactions
