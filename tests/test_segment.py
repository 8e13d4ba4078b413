"""Behavioural segments: recovery of the planted demo segments, reproducibility, stability, profiles."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import copy  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

from cxlib.features import features_from_config  # noqa: E402
from cxlib.report import render_all  # noqa: E402
from cxlib.segment import (  # noqa: E402
    NO_PURCHASE_LABEL,
    Segmenter,
    customer_segments,
    describe_caveats,
    describe_data,
    describe_findings,
    describe_k_choice,
    describe_segments,
    describe_stability,
    headline,
    plot_rfm_heatmap,
    report_table,
    rfm_report_table,
    rfm_segment_summary,
    run_summary,
    segment_summary,
    segmentation_overrides,
)
from cxlib.stats import SUMMARY_COLUMNS, Note, wilson_interval  # noqa: E402
from tests.churn_data import demo  # noqa: E402

#: Customers with at least this many purchases are the "enough history" set for the ARI test.
MIN_HISTORY = 3


@pytest.fixture(scope="session")
def features(small_data, small_config):
    return features_from_config(small_data, small_config)


@pytest.fixture(scope="session")
def fitted(features, small_config):
    """Segments with every setting from the config (k chosen by evidence, 20 bootstrap refits)."""
    return Segmenter.from_config(small_config).fit(features)


@pytest.fixture(scope="session")
def truth(small_demo_dir, features):
    planted = pd.read_csv(small_demo_dir / "ground_truth_customers.csv", dtype={"customer_id": str})
    return planted.set_index("customer_id")["segment"].reindex(features.index)


def test_number_of_segments_chosen_by_silhouette_is_the_planted_four(fitted):
    assert fitted.n_segments_ == 4
    assert fitted.k_scores_["silhouette"].idxmax() == 4


def test_planted_segments_recovered_for_customers_with_history(fitted, features, truth):
    """ARI >= 0.8 on customers with >= 3 purchases (a segment cannot be read from one or two orders).

    Measured with seed 42 on the 3,000-customer demo: 0.86 (>= 3 purchases), 0.80 (every customer
    with a purchase), 0.70 (every customer; the 7.7 % with no purchase form their own group).
    """
    labels = fitted.labels_
    history = features["frequency"] >= MIN_HISTORY
    ari_history = adjusted_rand_score(truth[history], labels[history])
    ari_buyers = adjusted_rand_score(truth[features["frequency"] > 0], labels[features["frequency"] > 0])
    ari_all = adjusted_rand_score(truth, labels)
    print(f"ARI >= {MIN_HISTORY} purchases {ari_history:.3f}; buyers {ari_buyers:.3f}; all {ari_all:.3f}")
    assert ari_history >= 0.8
    assert ari_buyers >= 0.75  # tolerance for one- and two-purchase customers
    assert ari_all >= 0.65  # no-purchase customers cannot be placed in a planted segment


@pytest.mark.slow
def test_planted_segments_recovered_for_every_buyer_on_50000_customers():
    """The issue's bar, ARI >= 0.8 over every customer with a purchase, on the default 50,000 demo.

    Measured with seed 42: 0.815 (every buyer), 0.871 (>= 3 purchases). On the 3,000 demo the
    same figure is 0.80, too close to the bar for a fast test, which therefore asserts it on >= 3 purchases.
    """
    config, data, _ = demo(50_000)
    features = features_from_config(data, config)
    labels = Segmenter.from_config(config, bootstrap_runs=0).fit(features).labels_
    planted = pd.read_csv(config.data_dir / "ground_truth_customers.csv", dtype={"customer_id": str})
    truth = planted.set_index("customer_id")["segment"].reindex(features.index)
    buyers = features["frequency"] > 0
    ari_buyers = adjusted_rand_score(truth[buyers], labels[buyers])
    print(f"ARI every buyer, 50,000 customers: {ari_buyers:.3f}")
    assert ari_buyers >= 0.8


def test_same_seed_gives_the_same_segments(features, small_config):
    first = Segmenter.from_config(small_config, bootstrap_runs=2).fit(features)
    second = Segmenter.from_config(small_config, bootstrap_runs=2).fit(features)
    pd.testing.assert_series_equal(first.labels_, second.labels_)
    assert first.names_ == second.names_
    pd.testing.assert_frame_equal(first.stability_, second.stability_)


def test_bootstrap_stability_is_reported_per_segment(fitted):
    stability = fitted.stability_
    assert list(stability.index) == list(range(fitted.n_segments_))
    assert len(fitted.stability_ari_) == 20
    assert stability["jaccard_mean"].between(0, 1).all()
    # planted segments are well separated: every refit finds them again (clusterboot: > 0.75 = stable)
    assert stability["jaccard_mean"].min() > 0.75
    assert fitted.stability_ari_.mean() > 0.8
    assert "stability" in fitted.summary_


def test_forced_number_of_segments_and_chosen_features(features):
    seg = Segmenter(
        n_segments=3, features=["orders_per_active_month", "avg_order_value"], bootstrap_runs=0
    ).fit(features)
    assert seg.n_segments_ == 3
    assert seg.features_ == ["orders_per_active_month", "avg_order_value"]
    assert set(seg.labels_.unique()) <= {NO_PURCHASE_LABEL, 0, 1, 2}
    assert len(seg.k_scores_) == 7  # evidence is still computed for k = 2..8


def test_unknown_feature_is_an_error_naming_it(features):
    with pytest.raises(KeyError, match="basket_sise"):
        Segmenter(features=["basket_sise"]).fit(features)


def test_configured_names_override_generated_ones(features):
    seg = Segmenter(n_segments=4, names={"0": "VIPs"}, bootstrap_runs=0).fit(features)
    assert seg.names_[0] == "VIPs"
    assert seg.summary_.set_index("segment").loc[0, "label"] == "VIPs"


def test_generated_names_are_unique_and_describe_the_planted_segments(fitted):
    names = list(fitted.names_.values())
    assert len(set(names)) == len(names)
    top = fitted.names_[0].lower()  # segment 0 = highest spend per month = planted "High-value frequent"
    assert "high-value" in top and "frequent" in top


def test_fit_does_not_modify_its_input(features):
    before = features.copy()
    Segmenter(n_segments=4, bootstrap_runs=0).fit(features)
    pd.testing.assert_frame_equal(features, before)


def test_customers_without_a_purchase_are_labelled_no_purchase(fitted, features):
    none = features["frequency"] == 0
    assert none.any()
    assert (fitted.labels_[none] == NO_PURCHASE_LABEL).all()
    assert (fitted.labels_[~none] >= 0).all()


def test_segments_are_numbered_by_spend_per_month(fitted, features):
    spend = features["spend_per_month"].groupby(fitted.labels_).mean().drop(NO_PURCHASE_LABEL)
    assert spend.is_monotonic_decreasing


def test_profile_figures_match_a_direct_computation(fitted, features):
    prof = fitted.profiles_
    members = features[fitted.labels_ == 1]
    assert prof.loc[1, "customers"] == len(members)
    assert prof.loc[1, "churn_rate"] == pytest.approx(members["churned"].mean())
    gross = (members["avg_order_value"] * members["frequency"]).sum()
    assert prof.loc[1, "avg_order_value"] == pytest.approx(gross / members["frequency"].sum())
    no_purchase_share = (features["frequency"] == 0).mean()
    assert prof["share_of_customers"].sum() + no_purchase_share == pytest.approx(1.0)
    assert prof["share_of_revenue"].sum() <= 1.0 + 1e-9


def test_per_customer_table_has_one_row_per_customer(fitted, features):
    table = customer_segments(features, fitted)
    assert len(table) == len(features) and table["customer_id"].is_unique
    assert {"segment", "segment_name", "rfm_segment", "recency_days", "frequency", "monetary"} <= set(table)
    assert (table.loc[table["segment"] == NO_PURCHASE_LABEL, "segment_name"] == "No purchase").all()


def test_feature_values(features):
    buyers = features[features["frequency"] > 0]
    np.testing.assert_allclose(
        buyers["orders_per_active_month"], buyers["frequency"] / buyers["active_months"]
    )
    shares = buyers.filter(like="share_").dropna()
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    one = features["frequency"] == 1
    assert features.loc[one, "purchase_interval_days"].isna().all()


def test_charts_return_their_axes(fitted, features):
    for draw in (
        fitted.plot_k_scores,
        fitted.plot_sizes,
        fitted.plot_profile_heatmap,
        fitted.plot_projection,
        fitted.plot_stability,
    ):
        ax = draw()
        assert ax.get_title()
        plt.close(ax.figure)
    ax = plot_rfm_heatmap(features)
    assert "recency" in ax.get_title()
    plt.close(ax.figure)


def test_notebook_runs_with_forced_k_and_chosen_features(tmp_path, small_config):
    """The notebook through papermill with parameters; writes both tables and a summary, no stderr."""
    import papermill

    root = small_config.path.parents[1]
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(root / "notebooks" / "01_segmentation.ipynb"),
        str(out),
        parameters={
            "config_path": str(small_config.path),
            "run_dir": str(tmp_path / "run"),
            "n_segments": 3,
            "features": ["orders_per_active_month", "avg_order_value", "share_*"],
            "bootstrap_runs": 3,
        },
        kernel_name="python3",
        cwd=str(root / "notebooks"),
        progress_bar=False,
    )
    segments = pd.read_parquet(tmp_path / "run" / "segments.parquet")
    summary = pd.read_parquet(tmp_path / "run" / "segment_summary.parquet")
    assert set(segments["segment"]) <= {NO_PURCHASE_LABEL, 0, 1, 2}
    assert len(summary) == 3
    assert (tmp_path / "run" / "summaries" / "01_segmentation.json").is_file()
    text = out.read_text()
    assert '"name": "stderr"' not in text


def test_segment_nps_is_promoters_minus_detractors_on_latest_answers(fitted, small_data):
    surveys = small_data["surveys"]
    as_of = small_data.as_of
    in_year = surveys.loc[(surveys["date"] > as_of - pd.Timedelta(days=365)) & (surveys["date"] <= as_of)]
    latest = in_year.sort_values("date", kind="stable").drop_duplicates("customer_id", keep="last")
    latest = latest.set_index("customer_id")["nps"].dropna()
    segment = fitted.labels_.reindex(latest.index)
    promoters = (latest >= 9).groupby(segment).mean()
    detractors = (latest <= 6).groupby(segment).mean()
    expected = (100 * (promoters - detractors)).drop(NO_PURCHASE_LABEL, errors="ignore")
    prof = fitted.profiles_
    np.testing.assert_allclose(prof["nps"], expected.loc[prof.index], rtol=1e-12)
    np.testing.assert_array_equal(prof["nps_respondents"], latest.groupby(segment).size().loc[prof.index])
    np.testing.assert_allclose(
        prof["mean_likelihood_to_recommend"], latest.groupby(segment).mean().loc[prof.index], rtol=1e-12
    )
    assert (prof["nps_ci_low"] < prof["nps"]).all() and (prof["nps"] < prof["nps_ci_high"]).all()
    assert prof["nps"].between(-100, 100).all() and prof["nps_ci_low"].ge(-100).all()


def test_report_shows_segment_nps_in_points_and_the_mean_answer_separately(fitted):
    table, formats = report_table(fitted)
    assert formats["nps"] == "{:+.0f}" and formats["mean_likelihood_to_recommend"] == "{:.1f}"
    text = describe_segments(fitted)
    assert "NPS (% promoters minus % detractors, on each respondent's latest answer) is highest among" in text
    prof = fitted.profiles_
    high, low = prof.loc[prof["nps"].idxmax()], prof.loc[prof["nps"].idxmin()]
    assert f"({high['nps']:+.0f}, 95% CI {high['nps_ci_low']:+.0f} to {high['nps_ci_high']:+.0f})" in text
    assert f"({low['nps']:+.0f}, {low['nps_ci_low']:+.0f} to {low['nps_ci_high']:+.0f})" in text
    assert "Average likelihood to recommend" not in text


def test_segment_nps_of_few_respondents_is_blanked_with_a_complement(fitted, features, small_config):
    """A segment with 3 NPS respondents shows no NPS, and neither does a second segment, so the
    overall NPS and the other segments' figures cannot give it back by subtraction."""
    few = int(fitted.profiles_["nps_respondents"].idxmin())
    answered = features["nps_latest_answer"].notna() & fitted.labels_.eq(few)
    keep = answered[answered].index[:3]
    sparse = features.copy()
    sparse.loc[answered & ~sparse.index.isin(keep), "nps_latest_answer"] = np.nan
    refit = Segmenter.from_config(small_config)
    refit.bootstrap_runs = 0
    refit.fit(sparse)
    assert refit.labels_.equals(fitted.labels_)  # NPS is a profile, not a clustering feature
    prof = refit.profiles_
    assert prof.loc[few, "nps_respondents"] == 3
    blanked = prof["nps"].isna()
    assert blanked[few] and blanked.sum() >= 2
    assert prof.loc[blanked, "nps_respondents"].sum() >= small_config.analysis["min_group_size"]
    assert prof.loc[blanked, "mean_likelihood_to_recommend"].isna().all()


# ---------------------------------------------------------------- the fitted-model summary and caveats
def test_summary_estimate_is_each_segments_share_of_customers_with_a_wilson_interval(fitted, features):
    summary = fitted.summary_
    assert list(summary["term"]) == [str(s) for s in range(fitted.n_segments_)]
    assert list(summary["label"]) == [fitted.names_[s] for s in range(fitted.n_segments_)]
    assert (summary["unit"] == "share of customers").all()
    assert summary[["p_value", "p_adjusted"]].isna().all().all()  # nothing is tested
    np.testing.assert_allclose(summary["estimate"], summary["share_of_customers"], rtol=1e-12)
    for _, row in summary.iterrows():
        expected = wilson_interval(int(row["customers"]), len(features))
        assert (row["estimate"], row["ci_low"], row["ci_high"]) == pytest.approx(expected)


def test_run_table_keeps_the_per_segment_columns(fitted):
    """The run table ``segment_summary``: the per-segment profile with stability, as before the
    summary gained its standard columns (later notebooks and the run summary read it)."""
    table = segment_summary(fitted)
    expected = fitted.profiles_.join(fitted.stability_["jaccard_mean"].rename("stability")).reset_index()
    pd.testing.assert_frame_equal(table, expected)
    assert not set(SUMMARY_COLUMNS) & set(table.columns)


def test_a_stable_segmentation_with_k_chosen_by_evidence_has_no_caveats(fitted):
    assert fitted.caveats_ == []


def test_caveats_say_k_was_forced_away_from_the_best_silhouette_and_stability_was_not_measured(features):
    seg = Segmenter(n_segments=3, bootstrap_runs=0).fit(features)
    assert Note("segment.k_forced", {"k": 3, "best_k": 4}) in seg.caveats_
    text = render_all(seg.caveats_)
    assert "k = 3 was set (n_segments); the silhouette is highest at k = 4" in text
    assert "stability not measured (bootstrap_runs = 0)" in text


def test_caveat_when_too_few_customers_have_min_orders_purchases(features):
    seg = Segmenter(n_segments=4, bootstrap_runs=0, min_orders=60).fit(features)
    assert seg.n_fit_ == int((features["frequency"] > 0).sum())  # every buyer shaped the segments
    assert any("60+ purchases" in c and "every buyer shapes them" in c for c in render_all(seg.caveats_))
    assert seg.shaping_min_orders_ == 1
    assert "customers with a purchase (too few repeat buyers" in describe_k_choice(seg)
    assert "with at least 60 purchases" not in describe_k_choice(seg)  # no contradiction with the caveat


def test_unstable_segments_are_caveats_and_reach_the_report_escaped(fitted):
    shaken = copy.copy(fitted)
    shaken.names_ = {**fitted.names_, 1: "*Big* <spenders>"}
    shaken.stability_ = fitted.stability_.assign(jaccard_mean=[0.9, 0.42, 0.8, 0.95])
    shaken.caveats_ = shaken._stability_caveats()
    assert [n.code for n in shaken.caveats_] == ["segment.unstable"]
    assert shaken.caveats_[0]["name"] == "*Big* <spenders>"  # data, escaped where it is shown
    assert render_all(shaken.caveats_) == [
        "segment 1 (*Big* <spenders>): mean bootstrap Jaccard 0.42, below 0.6: not a reproducible segment"
    ]
    text = describe_stability(shaken)
    assert text.endswith(
        "**Caveats.**\n\n- segment 1 (\\*Big\\* &lt;spenders&gt;): mean bootstrap Jaccard 0.42, below 0.6: "
        "not a reproducible segment\n"
    )
    assert "keeps a Jaccard similarity of 0.42 (not stable" in text
    assert describe_caveats(fitted) == ""


# ---------------------------------------------------------------- report functions
def test_segmentation_overrides_keep_only_the_settings_given():
    assert segmentation_overrides() == {}
    assert segmentation_overrides(n_segments=3, bootstrap_runs=0) == {
        "segmentation.n_segments": 3,
        "segmentation.bootstrap_runs": 0,
    }


def test_data_sentence_counts_customers_and_buyers_and_names_escaped_exclusions():
    config = SimpleNamespace(
        company="Shop *One*",
        values={"segmentation": {"exclude_transactions": {"stock_code": ["POST", "D_1"]}}},
    )
    data = SimpleNamespace(as_of=pd.Timestamp("2025-12-31"))
    features = pd.DataFrame({"frequency": [0, 1, 4]})
    text = describe_data(config, data, features)
    assert text == (
        "**Shop \\*One\\***, data as of **31 December 2025**: 3 customers, 2 of them with at least one "
        "purchase. Lines left out of RFM by the config: stock\\_code in POST, D\\_1."
    )
    config.values["segmentation"]["exclude_transactions"] = {}
    assert describe_data(config, data, features).endswith("with at least one purchase. ")


def test_k_choice_sentence_states_the_chosen_and_the_best_silhouette(features):
    seg = Segmenter(n_segments=3, bootstrap_runs=0).fit(features)
    text = describe_k_choice(seg)
    silhouette = seg.k_scores_.loc[3, "silhouette"]
    assert f"With 3 segments the silhouette is {silhouette:.2f}" in text
    assert "(the highest over k = 2-8 is at k = 4)" in text
    assert f"of the {seg.n_fit_:,} customers with at least 2 purchases" in text
    assert "orders per active month" in text  # feature names as words


def test_run_summary_holds_the_segment_and_rfm_tables(fitted, features):
    rfm_summary = rfm_segment_summary(features, 10)
    summary = run_summary(fitted, rfm_summary)
    assert summary["n_segments"] == fitted.n_segments_
    assert summary["features"] == fitted.features_
    assert summary["stability_ari_mean"] == pytest.approx(fitted.stability_ari_.mean())
    assert summary["segments"] == segment_summary(fitted).to_dict(orient="records")
    assert [row["rfm_segment"] for row in summary["rfm_segments"]] == list(rfm_summary.index)
    assert [row["k"] for row in summary["k_scores"]] == list(range(2, 9))


def test_rfm_report_table_names_the_segment_column_and_formats_shares(features):
    table, formats = rfm_report_table(rfm_segment_summary(features, 10))
    assert table.columns[0] == "RFM segment"
    assert formats["share_of_revenue"] == "{:.1%}" and set(formats) <= set(table.columns)


def test_report_table_shows_segment_numbers_and_readable_distinguishing_features(fitted):
    table, _ = report_table(fitted)
    assert list(table["segment"]) == list(range(fitted.n_segments_))
    assert not table["distinguishing"].str.contains("_").any()


def test_stability_chart_says_when_stability_was_not_measured(features):
    ax = Segmenter(n_segments=4, bootstrap_runs=0).fit(features).plot_stability()
    assert ax.get_title().startswith("Stability not measured")
    plt.close(ax.figure)


def test_findings_open_with_the_headline_and_name_where_churn_is_highest(fitted):
    items = describe_findings(fitted, "EUR").splitlines()
    assert items[0] == f"- {headline(fitted)}"
    profiles = fitted.profiles_.dropna(subset=["customers"])
    worst = profiles.loc[profiles["churn_rate"].idxmax(), "name"]
    assert items[1].startswith(f"- Churn is highest among **{worst}**")


def test_report_tables_show_money_with_the_currency(fitted, features):
    _, formats = report_table(fitted, "EUR")
    assert formats["avg_order_value"](1234.5) == "1,234 EUR"
    _, rfm_formats = rfm_report_table(rfm_segment_summary(features, 10), "EUR")
    assert rfm_formats["mean_monetary"](98.0) == "98 EUR"
