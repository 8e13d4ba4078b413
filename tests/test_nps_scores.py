"""Known-answer tests of NPS and CSAT with intervals, by group and by period (cxlib.experience._scores).

Coverage is checked by simulation (Rocks 2016 evaluates the adjusted Wald interval the same way, on
trinomial draws); group and period tests on planted differences; small-group hiding on planted
sizes; the whole path end to end on the 3,000-customer demo. Every draw comes from
``numpy.random.default_rng`` streams (no BLAS in any step), so the numbers are the same on every
machine.
"""

from __future__ import annotations

import functools
import gc

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from statsmodels.stats.weightstats import DescrStatsW  # noqa: E402

from cxlib.experience import (  # noqa: E402
    LATEST_PER_CUSTOMER,
    csat_scores,
    customer_groups,
    nps_counts,
    plot_nps_by_group,
    plot_nps_over_time,
    scores_by_group,
    scores_by_period,
)
from cxlib.stats import nps_interval_counts  # noqa: E402

DRAWS = 4_000


def _answers_with_nps(rng, n: int, promoter: float, detractor: float) -> np.ndarray:
    """``n`` 0-10 answers: promoters score 9-10, passives 7-8, detractors 0-6."""
    kind = rng.choice(3, size=n, p=[promoter, 1 - promoter - detractor, detractor])
    return np.select(
        [kind == 0, kind == 1], [rng.integers(9, 11, n), rng.integers(7, 9, n)], rng.integers(0, 7, n)
    )


def _surveys(nps: np.ndarray, groups: np.ndarray, date="2025-06-01") -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = [f"C{i:05d}" for i in range(len(nps))]
    surveys = pd.DataFrame(
        {"customer_id": ids, "date": pd.Timestamp(date), "nps": nps, "csat": 3 + (nps >= 9)}
    )
    return surveys, pd.DataFrame({"customer_id": ids, "plan": groups})


def test_adjusted_wald_matches_the_published_formula():
    """Rocks (2016): add 3/4 to promoters and detractors and 3 to n; variance (p + d - (p - d)^2) / n."""
    p, d, n = (50 + 0.75) / 103, (20 + 0.75) / 103, 103
    half = 1.959964 * np.sqrt((p + d - (p - d) ** 2) / n)
    result = nps_interval_counts(50, 30, 20)
    assert result.estimate == pytest.approx(30.0)
    assert result.ci_low == pytest.approx(100 * (p - d - half), abs=1e-4)
    assert result.ci_high == pytest.approx(100 * (p - d + half), abs=1e-4)
    assert nps_counts(pd.Series([10, 9, 8, 7, 6, 0, None])) == (2, 2, 2)


# (p_promoter, p_detractor): typical, balanced, and extreme (few detractors, where plain Wald fails).
SETTINGS = [(0.45, 0.25), (0.30, 0.30), (0.85, 0.03)]


@pytest.mark.parametrize("n, band", [(30, (0.92, 0.98)), (1_000, (0.93, 0.97))])
@pytest.mark.parametrize("promoter, detractor", SETTINGS)
def test_nps_interval_covers_the_true_nps_about_95_percent(n, band, promoter, detractor):
    """4,000 trinomial samples per setting; the Monte Carlo SE of a 95% coverage is 0.0034.

    The large-n band (0.93-0.97) is about +-6 Monte Carlo SE; at n = 30 the trinomial is coarse
    and the interval's coverage moves with the setting (the pseudo-counts pull towards 0, which
    over-covers an extreme NPS a little), so the band is wider: 0.92-0.98.
    """
    rng = np.random.default_rng(11)
    counts = rng.multinomial(n, [promoter, 1 - promoter - detractor, detractor], size=DRAWS)
    result = nps_interval_counts(counts[:, 0], counts[:, 1], counts[:, 2])
    truth = 100 * (promoter - detractor)
    coverage = np.mean((result.ci_low <= truth) & (truth <= result.ci_high))
    assert band[0] <= coverage <= band[1], coverage


@pytest.fixture
def no_full_gc(monkeypatch):
    """statsmodels' Holm calls ``gc.collect()`` (about 0.1 s in a full test process): skipped in the
    repeated-simulation tests only, for speed; it changes no number."""
    monkeypatch.setattr(gc, "collect", lambda *args: 0)


def test_a_planted_nps_gap_is_found_after_holm(no_full_gc):
    """One plan 30 NPS points above four equal ones (300 answers each): found in all of 20 runs.

    The gap is about six standard errors of a group-vs-rest difference, so missing it once in 20
    runs would be a fault, not chance.
    """
    found = 0
    for run in range(20):
        rng = np.random.default_rng(run)
        nps = np.concatenate(
            [_answers_with_nps(rng, 300, 0.55, 0.15)]
            + [_answers_with_nps(rng, 300, 0.35, 0.25) for _ in range(4)]
        )
        surveys, groups = _surveys(nps, np.repeat(["best", "a", "b", "c", "d"], 300))
        table = scores_by_group(surveys, groups).table.set_index("group")
        found += table.loc["best", "nps_p_adjusted"] < 0.05
    assert found == 20


def test_equal_groups_are_rarely_flagged(no_full_gc):
    """Five plans with one true NPS: any plan flagged (Holm, 5%) in at most 10 of 100 runs.

    Holm keeps the family-wise error at or below 5%; with 100 runs the Monte Carlo SE of 5% is
    2.2 points, so 10% is more than two SE above the nominal rate (and a test without correction,
    five tests at 5%, would flag in about 20% of runs).
    """
    flagged = 0
    for run in range(100):
        rng = np.random.default_rng(1_000 + run)
        nps = _answers_with_nps(rng, 500, 0.4, 0.25)
        surveys, groups = _surveys(nps, np.repeat(list("abcde"), 100))
        table = scores_by_group(surveys, groups).table
        flagged += bool((table["nps_p_adjusted"] < 0.05).any())
    assert flagged <= 10, flagged


FIGURES = [
    "answers",
    "nps",
    "nps_low",
    "nps_high",
    "nps_se",
    "csat_mean",
    "csat_low",
    "top2_share",
    "nps_p_value",
]


def test_a_small_group_is_hidden_with_its_complement():
    """A plan of 10 answers (min 30) is NaN, and so is the next smallest: the overall minus the shown
    plans gives only the two together, never the small one."""
    rng = np.random.default_rng(5)
    sizes = {"big": 200, "mid": 120, "next": 60, "small": 10}
    nps = _answers_with_nps(rng, sum(sizes.values()), 0.4, 0.3)
    surveys, groups = _surveys(nps, np.repeat(list(sizes), list(sizes.values())))
    result = scores_by_group(surveys, groups, min_answers=30)
    table = result.table.set_index("group")
    assert not table.loc["small", "shown"] and not table.loc["next", "shown"]
    assert table.loc[["small", "next"], FIGURES].isna().all().all()
    assert table.loc[["big", "mid"], "shown"].all()
    # what subtraction recovers is the pool of the hidden groups, which is not small
    hidden_answers = result.overall["answers"].iloc[0] - table.loc[table["shown"], "answers"].sum()
    assert hidden_answers == sizes["small"] + sizes["next"] >= 30
    assert set(result.hidden["group"]) == {"small", "next"}


def test_csat_mean_and_top_two_boxes():
    """t interval as statsmodels computes it; the top two boxes of a 1-7 scale are 6 and 7."""
    values = pd.Series([7, 6, 6, 5, 3, 2, 7, 4, np.nan])
    scores = csat_scores(values, scale=(1, 7))
    low, high = DescrStatsW(values.dropna().to_numpy(float)).tconfint_mean(alpha=0.05)
    assert (scores["csat_low"], scores["csat_high"]) == pytest.approx((low, high))
    assert scores["csat_answers"] == 8 and scores["top2_share"] == pytest.approx(4 / 8)


def test_periods_find_a_planted_change_and_mark_partial_periods():
    """Quarterly NPS: a 35-point rise in 2025Q3 is found after Holm; the flat changes are not; the
    first and last quarters, cut by the window, are partial."""
    rng = np.random.default_rng(7)
    quarters = {"2025-01-15": (0.35, 0.30), "2025-04-15": (0.35, 0.30), "2025-07-15": (0.60, 0.20)}
    frames = []
    for day, (promoter, detractor) in quarters.items():
        nps = _answers_with_nps(rng, 300, promoter, detractor)
        frames.append(
            _surveys(nps, np.zeros(300), date=day)[0].assign(
                customer_id=lambda f, d=day: d + f["customer_id"]
            )
        )
    surveys = pd.concat(frames, ignore_index=True)
    result = scores_by_period(surveys, freq="quarter", start="2025-01-10", end="2025-08-31")
    table = result.table.set_index("period")
    assert list(table.index) == ["2025Q1", "2025Q2", "2025Q3"]
    assert table["partial"].tolist() == [True, False, True]
    assert table.loc["2025Q3", "nps_change_p_adjusted"] < 0.05
    assert table.loc["2025Q2", "nps_change_p_adjusted"] > 0.05
    assert np.isnan(table.loc["2025Q1", "nps_change"])
    assert scores_by_period(surveys, start="2025-01-10", end="2025-08-31").freq == "month"


def test_latest_answer_per_customer_counts_once():
    """A customer who answered three times counts once, with the latest answer."""
    surveys = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "date": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01", "2025-01-05"]),
            "nps": [0, 0, 10, 10],
        }
    )
    result = scores_by_group(surveys, pd.DataFrame({"customer_id": ["a", "b"], "plan": "x"}), min_answers=1)
    assert result.counting == LATEST_PER_CUSTOMER
    assert result.overall["answers"].iloc[0] == 2 and result.overall["nps"].iloc[0] == 100


@functools.cache
def _demo():
    from cxlib.data import load_config, load_data
    from tests.churn_data import ROOT

    config = load_config(ROOT / "configs" / "demo_small.yaml")
    return config, load_data(config)


def test_demo_runs_end_to_end_and_the_overall_interval_covers_the_direct_nps():
    config, data = _demo()
    segments = data["customers"][["customer_id"]].assign(
        segment_name=np.where(data["customers"].index % 2, "A", "B")
    )
    groups = customer_groups(data, segments=segments)
    expected = {"customer_id", "plan", "region", "acquisition_channel", "order_channel", "segment_name"}
    assert expected == set(groups.columns) and groups["customer_id"].is_unique
    result = scores_by_group(data["surveys"], groups)
    latest = (
        data["surveys"]
        .dropna(subset=["nps"])
        .sort_values("date", kind="stable")
        .groupby("customer_id")
        .tail(1)
    )
    direct = 100 * ((latest["nps"] >= 9).mean() - (latest["nps"] <= 6).mean())
    overall = result.overall.iloc[0]
    assert overall["nps"] == pytest.approx(direct)
    assert overall["nps_low"] <= direct <= overall["nps_high"]
    shown = result.table[result.table["shown"]]
    assert (shown["answers"] >= 30).all() and shown["nps_p_adjusted"].notna().all()
    assert result.table.loc[~result.table["shown"], "nps"].isna().all()
    periods = scores_by_period(
        data["surveys"], start=data["transactions"]["order_date"].min(), end=data.as_of
    )
    assert periods.freq == "quarter" and periods.table["shown"].any()
    for axes in (plot_nps_by_group(result), plot_nps_by_group(result, "plan"), plot_nps_over_time(periods)):
        assert isinstance(axes, matplotlib.axes.Axes) and axes.get_title()
    hidden = int((~result.table["shown"]).sum())
    drawn = plot_nps_by_group(result)
    assert len(drawn.get_yticks()) == int(result.table["shown"].sum())
    assert (f"{hidden} groups not shown" in drawn.get_xlabel().replace("\n", " ")) == (hidden > 1)
    plt.close("all")


def test_missing_scores_and_empty_surveys_give_empty_figures_not_errors():
    """Unseen data: CSAT only, no answers at all, no grouping variable."""
    csat_only = pd.DataFrame(
        {"customer_id": list("abc"), "date": pd.Timestamp("2025-03-01"), "csat": [5, 4, 2]}
    )
    result = scores_by_group(
        csat_only, pd.DataFrame({"customer_id": list("abc"), "plan": "x"}), min_answers=1
    )
    assert np.isnan(result.table["nps"].iloc[0]) and result.table["csat_mean"].iloc[0] == pytest.approx(
        11 / 3
    )
    empty = csat_only.iloc[:0]
    assert scores_by_group(empty, pd.DataFrame({"customer_id": ["a"], "plan": ["x"]})).table.empty
    assert scores_by_period(empty).table.empty
    window = scores_by_period(empty, start="2025-01-01", end="2025-06-30").table
    assert window["period"].tolist() == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]
    assert not window["shown"].any()
    assert scores_by_group(csat_only, pd.DataFrame({"customer_id": list("abc")})).table.empty


def test_segment_names_taken_in_order_equal_those_looked_up():
    """Segments in the customers' order are taken as they are: the values a lookup by id gives."""
    from cxlib.experience._scores import _segment_names

    ids = pd.Series(["c3", "c1", "c2", "c5"], index=[4, 5, 6, 7])
    segments = pd.DataFrame({"customer_id": ids.to_numpy(), "segment_name": ["A", None, "B", "A"]})
    names = segments.set_index("customer_id")["segment_name"]
    pd.testing.assert_series_equal(_segment_names(segments, ids), ids.map(names), check_exact=True)
    shuffled = segments.iloc[[2, 0, 3]]  # another order, one customer not segmented
    pd.testing.assert_series_equal(
        _segment_names(shuffled, ids), ids.map(shuffled.set_index("customer_id")["segment_name"])
    )
