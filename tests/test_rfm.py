"""RFM: the documented rule on small known answers, and on UCI Online Retail against plain pandas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlib.data._config import load_config
from cxlib.data._load import load_data, sign_refunds
from cxlib.engine import order_rows_unique
from cxlib.features import NO_PURCHASE, RFM_GRID, features_from_config, quantile_score
from cxlib.run._artifacts import load_validated, save_validated
from cxlib.segment import Segmenter, customer_segments, plot_rfm_heatmap, rfm_table

ROOT = Path(__file__).resolve().parents[1]
RETAIL_CONFIG = ROOT / "configs" / "online_retail.yaml"
RETAIL_FILE = ROOT / "data" / "online_retail" / "onlineretail.csv.gz"
AS_OF = pd.Timestamp("2024-03-31")


def _tx(rows):
    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount", "is_refund"])
    frame["order_date"] = pd.to_datetime(frame["order_date"], format="ISO8601")
    return frame


def test_one_purchase_customer_has_frequency_one_and_lowest_f_score():
    tx = _tx(
        [
            ("a", "1", "2024-03-01", 10.0, False),
            ("b", "2", "2024-03-02", 10.0, False),
            ("b", "3", "2024-03-03", 10.0, False),
            ("c", "4", "2024-03-04", 10.0, False),
            ("c", "5", "2024-03-05", 10.0, False),
            ("c", "6", "2024-03-06", 10.0, False),
        ]
    )
    rfm = rfm_table(tx, AS_OF)
    assert rfm.loc["a", "frequency"] == 1
    assert rfm.loc["a", "f_score"] == 1
    assert rfm.loc["c", "f_score"] == rfm["f_score"].max() > 1


def test_refund_reduces_monetary_but_is_not_an_order_and_does_not_move_recency():
    tx = _tx(
        [
            ("a", "1", "2024-01-01", 100.0, False),
            ("a", "R1", "2024-03-30", -40.0, True),
        ]
    )
    rfm = rfm_table(tx, AS_OF)
    assert rfm.loc["a", "monetary"] == pytest.approx(60.0)
    assert rfm.loc["a", "frequency"] == 1
    assert rfm.loc["a", "recency_days"] == (AS_OF - pd.Timestamp("2024-01-01")).days


def test_refund_coded_with_a_positive_amount_still_subtracts():
    """Loading signs refunds (``sign_refunds``, the one place); RFM reads the signed amounts."""
    tx = _tx([("a", "1", "2024-01-01", 100.0, False), ("a", "R1", "2024-01-05", 30.0, True)])
    assert rfm_table(sign_refunds(tx), AS_OF).loc["a", "monetary"] == pytest.approx(70.0)


def test_lines_of_one_order_count_once_and_zero_value_orders_are_not_purchases():
    tx = _tx(
        [
            ("a", "1", "2024-01-01", 10.0, False),
            ("a", "1", "2024-01-01", 5.0, False),
            ("a", "2", "2024-02-01", 0.0, False),
        ]
    )
    rfm = rfm_table(tx, AS_OF)
    assert rfm.loc["a", "frequency"] == 1
    assert rfm.loc["a", "recency_days"] == (AS_OF - pd.Timestamp("2024-01-01")).days


def test_customer_without_purchase_gets_no_scores_and_is_named():
    tx = _tx([("a", "1", "2024-01-01", 10.0, False), ("b", "R", "2024-01-02", -5.0, True)])
    rfm = rfm_table(tx, AS_OF, customers=pd.Index(["a", "b", "c"]))
    assert rfm.loc["b", "frequency"] == 0 and rfm.loc["c", "frequency"] == 0
    assert rfm.loc["b", "monetary"] == pytest.approx(-5.0)
    assert pd.isna(rfm.loc["b", "r_score"]) and pd.isna(rfm.loc["b", "recency_days"])
    assert rfm.loc["c", "rfm_segment"] == NO_PURCHASE


def test_transactions_after_the_analysis_day_are_ignored_but_that_day_counts():
    tx = _tx([("a", "1", "2024-03-31 18:00", 10.0, False), ("a", "2", "2024-04-01", 99.0, False)])
    rfm = rfm_table(tx, AS_OF)
    assert rfm.loc["a", "recency_days"] == 0
    assert rfm.loc["a", "monetary"] == pytest.approx(10.0)


def test_quantile_scores_run_1_to_5_with_ties_sharing_the_lowest_score():
    values = pd.Series(np.r_[np.ones(40), np.arange(2, 62)])
    scores = quantile_score(values)
    assert scores.min() == 1 and scores.max() == 5
    assert scores[:40].nunique() == 1
    assert (np.diff(scores[values.sort_values().index].to_numpy()) >= 0).all()


def test_recency_score_is_reversed():
    days = pd.Series([1.0, 2.0, 3.0, 4.0, 100.0])
    assert quantile_score(days, higher_is_better=False).tolist() == [5, 4, 3, 2, 1]


def test_segment_grid_names_every_score_pair():
    named = {RFM_GRID[r][fm - 1] for r in range(1, 6) for fm in range(1, 6)}
    assert {"Champions", "Loyal", "Potential loyalists", "New", "At risk", "Can't lose them"} <= named
    assert {"Hibernating", "Lost"} <= named
    assert all(len(RFM_GRID[r]) == 5 for r in range(1, 6))


# ---------------------------------------------------------------- UCI Online Retail


def _independent_rfm(as_of: pd.Timestamp, excluded: list[str]) -> pd.DataFrame:
    """The documented rule, written straight from the raw file with plain pandas."""
    raw = pd.read_csv(RETAIL_FILE, encoding="latin-1", dtype=str)
    raw = raw[raw["CustomerID"].notna()].drop_duplicates()
    raw = raw[~raw["StockCode"].isin(excluded)].copy()
    raw["date"] = pd.to_datetime(raw["InvoiceDate"])
    raw = raw[raw["date"] < as_of + pd.Timedelta(days=1)]
    raw["value"] = raw["Quantity"].astype(float) * raw["UnitPrice"].astype(float)
    cancelled = raw["InvoiceNo"].str.startswith("C")
    raw.loc[cancelled, "value"] = -raw.loc[cancelled, "value"].abs()
    invoices = (
        raw[~cancelled].groupby(["CustomerID", "InvoiceNo"]).agg(value=("value", "sum"), date=("date", "min"))
    )
    invoices = invoices[invoices["value"] > 0].reset_index()
    out = pd.DataFrame(index=pd.Index(sorted(raw["CustomerID"].unique()), name="customer_id"))
    last = invoices.groupby("CustomerID")["date"].max()
    out["recency_days"] = (as_of - last.dt.normalize()).dt.days.reindex(out.index)
    out["frequency"] = invoices.groupby("CustomerID").size().reindex(out.index).fillna(0)
    out["monetary"] = raw.groupby("CustomerID")["value"].sum().reindex(out.index)
    return out


@pytest.fixture(scope="module")
def retail():
    config = load_config(RETAIL_CONFIG)
    data = load_data(config)
    return config, data, features_from_config(data, config)


def test_online_retail_rfm_matches_independent_pandas_for_every_customer(retail):
    config, data, features = retail
    excluded = config.values["segmentation"]["exclude_transactions"]["StockCode"]
    expected = _independent_rfm(pd.Timestamp(data.as_of), excluded)
    got = features[["recency_days", "frequency", "monetary"]]
    # every customer with an attributable line appears in both (4,372 customers)
    assert len(got) == 4372
    only_excluded = got.index.difference(expected.index)  # customers whose only lines are excluded codes
    assert (got.loc[only_excluded, "frequency"] == 0).all()
    got = got.loc[expected.index]
    # counts and days: exactly equal; money: to a millionth of a pound
    pd.testing.assert_series_equal(got["frequency"].astype(int), expected["frequency"].astype(int))
    pd.testing.assert_series_equal(got["recency_days"], expected["recency_days"].astype(float))
    np.testing.assert_allclose(got["monetary"], expected["monetary"], atol=1e-6)


def test_online_retail_segments_through_the_config_alone(retail):
    config, _, features = retail
    segmenter = Segmenter.from_config(config, bootstrap_runs=3).fit(features)
    table = customer_segments(features, segmenter)
    assert len(table) == len(features) and table["customer_id"].is_unique
    assert table["segment_name"].notna().all()
    assert 2 <= segmenter.n_segments_ <= 8


def test_rfm_heatmap_cells_state_the_spend_their_colour_shows():
    """Each cell's text is its mean net spend (the coloured quantity) and its number of customers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    rfm = pd.DataFrame(
        {
            "r_score": rng.integers(1, 6, 2_000),
            "f_score": rng.integers(1, 6, 2_000),
            "monetary": rng.gamma(2.0, 100.0, 2_000),
        }
    )
    ax = plot_rfm_heatmap(rfm, min_group_size=10)
    texts = [t.get_text() for t in ax.texts]
    plt.close(ax.figure)
    expected = rfm.groupby(["r_score", "f_score"])["monetary"].agg(["mean", "size"])
    # seaborn writes the annotations row by row: recency 5 at the top, frequency 1 on the left
    cells = [(r, f) for r in range(5, 0, -1) for f in range(1, 6)]
    assert texts == [f"{expected.loc[c, 'mean']:,.0f}\nn={expected.loc[c, 'size']:,}" for c in cells]


def test_channel_shares_match_a_direct_count_of_purchase_orders(small_data, small_config):
    """share_<channel> = the customer's purchase orders (net amount > 0) per channel, an order's
    channel being the first known channel of its rows; refunds and unknown channels do not count."""
    features = features_from_config(small_data, small_config)
    tx = small_data["transactions"]
    tx = tx.loc[tx["order_date"] < pd.Timestamp(small_data.as_of) + pd.Timedelta(days=1)]
    sales = tx.loc[~tx["is_refund"].fillna(False).astype(bool)]
    orders = sales.groupby(["customer_id", "order_id"]).agg(
        amount=("amount", "sum"), channel=("channel", "first")
    )
    orders = orders.loc[(orders["amount"] > 0) & orders["channel"].notna()].reset_index()
    counts = orders.groupby(["customer_id", "channel"]).size().unstack(fill_value=0)
    expected = counts.div(counts.sum(axis=1), axis=0).add_prefix("share_")
    got = features.loc[expected.index, list(expected.columns)]
    pd.testing.assert_frame_equal(got, expected, check_names=False, check_freq=False)


def test_online_retail_engine_features_equal_pandas_and_the_independent_rule(retail, tmp_path):
    """data.engine: duckdb over the run's validated Parquet gives the same table (exclusions, line-level
    orders, cancellations, inactivity churn), hence the independent RFM above too."""
    config, data, features = retail
    save_validated(data, tmp_path, config)
    engine_config = load_config(RETAIL_CONFIG, {"data.engine": "duckdb"})
    run_data = load_validated(tmp_path)
    assert run_data.source is not None
    # invoice lines: rows are not whole orders, so the engine groups them by order
    assert not order_rows_unique(run_data.source / "transactions.parquet")
    got = features_from_config(run_data, engine_config)
    assert "lines_per_order" in got  # invoice lines: orders differ in their number of lines
    pd.testing.assert_frame_equal(got, features, check_exact=False, rtol=0, atol=1e-9)
