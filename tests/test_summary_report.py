"""One table formatter and one forest plot serve every model's ``summary_`` (issue 9).

:func:`cxlib.report.format_summary` and :func:`cxlib.report.plot_summary` read only the standard
columns and the model's ``estimate_name``, ``interval_name``, ``null_value`` and ``higher_is``;
units are data (``unit_kind``, ``unit_scale``, ``unit_reference``), so the ``unit`` text can be
translated without changing any decision. The fitted models come from the contract test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from cxlib.churn import (  # noqa: E402
    ChurnDrivers,
    ChurnHazards,
    ChurnPredictor,
    RemainingLifetime,
    effect_headline,
    format_ratios,
    largest_clear_effect,
)
from cxlib.report import ACCENT, WARNING, format_summary, plot_summary  # noqa: E402
from cxlib.stats import CONTRAST_KINDS, UNIT_KINDS, Unit, unit_text  # noqa: E402
from tests.test_model_contract import CASES, _fitted  # noqa: E402

CXLIB = Path(__file__).resolve().parents[1] / "cxlib"
RATIO_MODELS = [ChurnDrivers, ChurnHazards, RemainingLifetime]


def _heading(text: str) -> str:
    return text[:1].upper() + text[1:]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("cls", list(CASES), ids=lambda c: c.__name__)
def test_format_summary_shows_every_model_under_its_own_estimate_and_interval(cls):
    model = _fitted(cls)[0]
    table = format_summary(model)
    assert table.index.tolist() == model.summary_["label"].astype(str).tolist()
    header = f"{_heading(model.estimate_name)} ({model.interval_name})"
    assert header in table.columns
    assert (table[header] != "").all()
    has_p = model.summary_["p_value"].notna().any()
    assert ("p-value" in table.columns) == has_p and ("p (Holm)" in table.columns) == has_p
    assert len(format_summary(model, top=2)) == min(2, len(model.summary_))


@pytest.mark.parametrize("cls", list(CASES), ids=lambda c: c.__name__)
def test_plot_summary_draws_every_model_on_the_scale_of_its_estimate(cls):
    model = _fitted(cls)[0]
    ax = plot_summary(model, top=5)
    assert len(ax.get_yticks()) == min(5, len(model.summary_))
    xlabel = ax.get_xlabel().replace("\n", " ")
    assert xlabel.startswith(_heading(model.estimate_name)) and model.interval_name in xlabel
    assert ax.get_xscale() == ("log" if model.null_value == 1 else "linear")
    vertical = [line.get_xdata()[0] for line in ax.get_lines() if len(set(line.get_xdata())) == 1]
    assert vertical == ([] if model.null_value is None else [model.null_value])


def test_importance_is_linear_and_says_its_range_is_over_shuffles_not_a_confidence_interval():
    predictor = _fitted(ChurnPredictor)[0]
    assert predictor.interval_name == "range over 5 shuffles"
    assert list(format_summary(predictor).columns) == [
        "Unit",
        "Drop in ROC AUC when shuffled (range over 5 shuffles)",
    ]
    ax = predictor.plot_importance()
    assert ax.get_xscale() == "linear" and "95%" not in ax.get_xlabel()
    assert predictor.summary_["label"].iloc[0] in ax.get_title()


@pytest.mark.parametrize(
    ("cls", "header"),
    [
        (ChurnDrivers, "Odds ratio (95% confidence interval)"),
        (ChurnHazards, "Hazard ratio (95% confidence interval)"),
        (RemainingLifetime, "Time ratio (95% confidence interval)"),
    ],
    ids=lambda v: v if isinstance(v, str) else v.__name__,
)
def test_ratio_tables_and_forest_plots_name_their_ratio(cls, header):
    model = _fitted(cls)[0]
    table = format_ratios(model, top=3)
    assert list(table.columns) == ["Compared with", header, "p-value", "p (Holm)"]
    # a table cut to its first rows says so in its header corner
    assert table.columns.name == f"Driver (first 3 of {len(model.summary_):,} shown)"
    assert format_ratios(model, top=len(model.summary_)).columns.name == "Driver"
    ax = model.plot_forest(top=50)
    assert ax.get_xscale() == "log" and ax.get_xlabel().startswith(header.split(" (")[0])
    assert len(ax.get_yticks()) == len(model.summary_)


def test_format_ratios_keeps_the_order_of_the_rows_given():
    drivers = _fitted(ChurnDrivers)[0]
    ranked = drivers.driver_table()
    table = format_ratios(drivers, top=5, rows=ranked)
    assert table.index.tolist() == ranked["label"].head(5).tolist()
    assert (
        table.iloc[0, 1]
        == f"{ranked['estimate'].iloc[0]:.2f} ({ranked['ci_low'].iloc[0]:.2f}–{ranked['ci_high'].iloc[0]:.2f})"
    )


def _colours(ax) -> list[tuple]:
    """Colour of each row's interval line, bottom row first."""
    return [tuple(c) for c in ax.collections[0].get_edgecolor()]


@pytest.mark.parametrize(
    ("higher_is", "above", "below"), [("worse", WARNING, ACCENT), ("better", ACCENT, WARNING)]
)
def test_clear_effects_are_coloured_by_what_a_higher_estimate_means(higher_is, above, below):
    """A longer lifetime (time ratio > 1) is not drawn in the warning colour; more churn is."""
    table = pd.DataFrame(
        {
            "label": ["above", "below", "unclear"],
            "unit": ["yes vs no"] * 3,
            "estimate": [2.0, 0.5, 1.1],
            "ci_low": [1.5, 0.4, 0.8],
            "ci_high": [2.5, 0.6, 1.4],
        }
    )
    ax = plot_summary(table, null_value=1.0, higher_is=higher_is, estimate_name="time ratio")
    drawn = _colours(ax)[::-1]  # rows are drawn bottom-up
    assert drawn[0] == to_rgba(above) and drawn[1] == to_rgba(below) and drawn[2] != drawn[0]
    assert RemainingLifetime.higher_is == "better" and ChurnHazards.higher_is == "worse"


def test_linear_forest_cuts_unbounded_intervals_and_skips_missing_estimates():
    table = pd.DataFrame(
        {
            "label": ["a", "b", "c"],
            "unit": ["x"] * 3,
            "estimate": [0.02, np.nan, 0.01],
            "ci_low": [-np.inf, np.nan, 0.0],
            "ci_high": [0.03, np.nan, np.nan],
        }
    )
    ax = plot_summary(table, null_value=0.0)
    low, high = ax.get_xlim()
    assert np.isfinite([low, high]).all() and low < 0 < high
    assert "arrows" in ax.get_xlabel()


def test_a_bare_table_must_have_the_standard_columns():
    with pytest.raises(KeyError, match=r"no column\(s\) \['estimate'\]"):
        format_summary(pd.DataFrame({"label": ["a"], "ci_low": [1.0], "ci_high": [2.0]}))
    with pytest.raises(TypeError, match="rows= goes with a model"):
        format_summary(pd.DataFrame(), rows=pd.DataFrame())


# --- units are data -------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", RATIO_MODELS, ids=lambda c: c.__name__)
def test_units_are_recorded_as_data_and_the_text_is_made_from_them(cls):
    model = _fitted(cls)[0]
    summary = model.summary_
    assert set(summary["unit_kind"]) <= set(UNIT_KINDS)
    for _, row in summary.iterrows():
        if row["unit_kind"] == "curve":  # a spline's highest vs lowest point: its unit is the row's data
            unit = Unit("curve", row["unit_scale"], row["unit_reference"])
        else:
            unit = model.encoder_.units_[row["term"]]
        assert (row["unit_kind"], row["unit_reference"]) == (unit.kind, unit.reference)
        assert row["unit"] == unit_text(unit)
        assert (np.isnan(unit.scale) and np.isnan(row["unit_scale"])) or row["unit_scale"] == unit.scale
    levels = summary[summary["unit_kind"] == "level"]
    assert levels["unit_reference"].notna().all()


def test_unit_text_of_each_kind():
    assert unit_text(Unit("sd", 12.34)) == "per SD of 12.3"
    assert unit_text(Unit("sd")) == "per SD"
    assert unit_text(Unit("flag")) == "yes vs no"
    assert unit_text(Unit("level", reference="basic")) == "vs basic"
    with pytest.raises(ValueError, match="not one of"):
        unit_text(Unit("per month"))


def _in_german(table: pd.DataFrame) -> pd.DataFrame:
    """The unit text as a German report would show it, made from the structured columns."""
    words = {
        "sd": lambda r: (
            "je Standardabweichung" + ("" if np.isnan(r["unit_scale"]) else f" von {r['unit_scale']:.3g}")
        ),
        "flag": lambda r: "ja gegenüber nein",
        "level": lambda r: f"gegenüber {r['unit_reference']}",
        "curve": lambda r: f"{r['unit_scale']:.3g} gegenüber {r['unit_reference']}",
    }
    return table.assign(unit=[words[r["unit_kind"]](r) for _, r in table.iterrows()])


def _pick(table: pd.DataFrame) -> tuple:
    row = largest_clear_effect(table)
    headline = effect_headline(table)
    return row.name, row["estimate"], headline.endswith("the largest clear effect")


def test_translated_units_change_no_choice_on_a_clear_per_sd_effect():
    """A clear, large per-SD ratio must not compete with contrasts, whatever language its unit is in."""
    table = pd.DataFrame(
        {
            "term": ["orders", "plan: premium", "complaint"],
            "label": ["Orders per month", "Plan: premium", "Unresolved complaint"],
            "unit": ["per SD of 1.5", "vs basic", "yes vs no"],
            "unit_kind": ["sd", "level", "flag"],
            "unit_scale": [1.5, np.nan, np.nan],
            "unit_reference": [None, "basic", None],
            "estimate": [0.30, 0.55, 1.60],
            "ci_low": [0.25, 0.45, 1.30],
            "ci_high": [0.35, 0.65, 1.90],
            "p_adjusted": [1e-9, 1e-6, 1e-5],
        }
    )
    german = _in_german(table)
    assert german["unit"].iloc[0] == "je Standardabweichung von 1.5"  # no longer starts with "per "
    assert _pick(table) == _pick(german) == (1, 0.55, True)
    assert "(gegenüber basic)" in effect_headline(german)


@pytest.mark.parametrize("cls", [ChurnDrivers, ChurnHazards], ids=lambda c: c.__name__)
def test_translated_units_change_no_finding_of_a_fitted_model(cls):
    model = _fitted(cls)[0]
    table = model.driver_table() if cls is ChurnDrivers else model.summary_
    german = _in_german(table)
    assert (german["unit"] != table["unit"]).all()
    assert _pick(german) == _pick(table)
    shown = format_ratios(model, rows=german)
    assert shown["Compared with"].tolist() == german["unit"].head(15).tolist()
    ax = plot_summary(model, rows=german, top=3)
    ticks = [t.get_text() for t in ax.get_yticklabels()]  # long labels are shortened with "…"
    assert all(" gegenüber " in t or " · je" in t for t in ticks), ticks


def test_contrast_kinds_are_unit_kinds():
    assert set(CONTRAST_KINDS) < set(UNIT_KINDS)


def _reads_unit_text(path: Path) -> list[int]:
    """Lines of ``path`` that call a string method on a ``["unit"]`` value (parsing the text)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute):
            continue
        target = node.value
        if isinstance(target, ast.Call) and getattr(target.func, "id", None) == "str":
            target = target.args[0] if target.args else target  # str(row["unit"]).startswith(...)
        if isinstance(target, ast.Attribute) and target.attr == "str":
            target = target.value  # table["unit"].str.startswith(...)
        elif node.attr not in ("startswith", "endswith", "split", "partition", "find", "__contains__"):
            continue
        if (
            isinstance(target, ast.Subscript)
            and isinstance(target.slice, ast.Constant)
            and target.slice.value == "unit"
        ):
            found.append(node.lineno)
    return found


def test_no_code_parses_the_unit_text():
    found = [
        f"{path.relative_to(CXLIB)}:{line}"
        for path in sorted(CXLIB.rglob("*.py"))
        for line in _reads_unit_text(path)
    ]
    assert not found, f"decide from unit_kind / unit_scale / unit_reference, not the unit text: {found}"


def test_the_unit_text_check_would_catch_the_old_parsing(tmp_path):
    old = tmp_path / "old.py"
    old.write_text(
        'a = table[~table["unit"].str.startswith("per ")]\nb = not str(row["unit"]).startswith("per ")\n'
    )
    assert sorted(_reads_unit_text(old)) == [1, 2]


def test_interval_name_follows_the_models_alpha():
    from cxlib.churn import ChurnDrivers, ChurnPredictor

    assert ChurnDrivers().interval_name == "95% confidence interval"
    assert ChurnDrivers(alpha=0.1).interval_name == "90% confidence interval"
    assert ChurnPredictor().interval_name.startswith("range over")


def test_a_separated_or_extreme_estimate_is_shown_as_not_estimable():
    """An odds ratio of 2.6e18 (a spline end where nobody churns) is no number for a reader."""
    table = pd.DataFrame(
        {
            "label": ["Age", "Plan: premium", "Region: East"],
            "unit": ["54 vs 25", "vs basic", "vs North"],
            "estimate": [2.6e18, 0.55, 1.4],
            "ci_low": [0.0, 0.45, 0.2],
            "ci_high": [8.6e40, 0.65, 9.0],
            "p_value": [0.9, 1e-6, 0.5],
            "p_adjusted": [1.0, 3e-6, 1.0],
            "unstable": [True, False, True],
            "unstable_reasons": ["extreme_estimate, wide_interval", "", "wide_interval"],
        }
    )
    shown = format_summary(table, estimate_name="odds ratio").iloc[:, 1].tolist()
    assert shown[0] == "not estimable (see notes)"
    assert shown[1].startswith("0.55") and shown[2].startswith("1.4")  # a wide interval still reads
