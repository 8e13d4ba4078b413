"""Behavioural segments: recovery of the planted demo segments, reproducibility, stability, profiles."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

from cxlib.segment._report import describe_segments, report_table  # noqa: E402
from cxlib.segment._rfm import plot_rfm_heatmap  # noqa: E402
from cxlib.segment._segmenter import (  # noqa: E402
    NO_PURCHASE_LABEL,
    Segmenter,
    customer_segments,
    features_from_config,
)
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
    assert seg.summary_.loc[0, "name"] == "VIPs"


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
