"""One contract, every model class (after statsmodels' shared test mixins and scikit-learn's checks).

Each case builds the model from the config, fits it on the 3,000-customer demo and checks the
contract of :mod:`cxlib.stats._fitted`: parameters stored unchanged, ``fit`` returns self, fitted
attributes end in ``_``, a ``summary_`` with the standard columns and coherent intervals,
``caveats_`` as a list of notes the message catalogue renders, ``plot_*`` delegating to a plotting module, and a clear
:class:`cxlib.exceptions.NotFittedError` before ``fit``. A new model class joins by adding a case.
"""

from __future__ import annotations

import ast
import functools
import inspect
from pathlib import Path

import matplotlib
import matplotlib.axes
import matplotlib.figure

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from cxlib.churn import (  # noqa: E402
    ChurnDrivers,
    ChurnHazards,
    ChurnPredictor,
    RemainingLifetime,
    RetentionCurves,
    churn_cutoff,
    churn_panel,
)
from cxlib.exceptions import MissingMessageError, NotFittedError  # noqa: E402
from cxlib.experience import FrictionOnNPS, KeyDrivers, ReferralRates, friction_survey_frame  # noqa: E402
from cxlib.features import (  # noqa: E402
    churn_rule_from_config,
    features_from_config,
    lifetime_table,
    repeat_purchase_summary,
)
from cxlib.report import MESSAGES, render, render_all  # noqa: E402
from cxlib.segment import Segmenter  # noqa: E402
from cxlib.stats import SUMMARY_COLUMNS, FittedModel, Note  # noqa: E402
from cxlib.value import (  # noqa: E402
    BetaGeo,
    GammaGamma,
    ParetoNBD,  # noqa: E402
    ShiftedBetaGeometric,  # noqa: E402
)
from tests.churn_data import demo  # noqa: E402


@functools.cache
def _inputs():
    config, data, _ = demo(3000)
    panel = churn_panel(data, config)
    lifetimes = lifetime_table(data, churn_cutoff(data, config).rule, attributes=["plan"])
    return config, data, panel, features_from_config(data, config), lifetimes


@functools.cache
def _repeat_summary():
    """Frequency, recency and age at the demo's analysis date, for the value models."""
    data = _inputs()[1]
    return repeat_purchase_summary(data["transactions"], data.as_of)


def _panel_args(panel):
    return (panel.frame, panel.numeric, panel.categorical), {}


#: Fader and Hardie (2007), "How to project customer retention": of 1,000 "regular" customers, those
#: still active at the start of years 0-7 (the shifted-beta-geometric model fits cohort counts).
SBG_COUNTS = [1000, 631, 468, 382, 326, 289, 262, 241]


def _repeat_summary_with_social(data):
    """The repeat-purchase summary at the as-of date with a 0/1 column for social acquisition."""
    summary = repeat_purchase_summary(data["transactions"], data.as_of)
    channel = data["customers"].set_index("customer_id")["acquisition_channel"].reindex(summary.index)
    return summary.assign(social=(channel == "social").astype(float))


#: Model class -> (overrides that keep the test fast, inputs -> (fit args, fit kwargs)).
CASES = {
    Segmenter: ({"bootstrap_runs": 2, "k_range": (2, 4)}, lambda c, d, p, f, lt: ((f,), {})),
    ChurnDrivers: ({}, lambda c, d, p, f, lt: _panel_args(p)),
    ChurnPredictor: ({}, lambda c, d, p, f, lt: _panel_args(p)),
    ChurnHazards: ({}, lambda c, d, p, f, lt: _panel_args(p)),
    RemainingLifetime: ({}, lambda c, d, p, f, lt: _panel_args(p)),
    RetentionCurves: ({}, lambda c, d, p, f, lt: ((lt,), {"group_col": "plan"})),
    KeyDrivers: ({"n_boot": 20}, lambda c, d, p, f, lt: ((d["surveys"],), {})),
    FrictionOnNPS: ({}, lambda c, d, p, f, lt: ((friction_survey_frame(d),), {})),
    ReferralRates: ({}, lambda c, d, p, f, lt: ((d, churn_rule_from_config(d, c)), {})),
    BetaGeo: ({}, lambda c, d, p, f, lt: ((_repeat_summary(),), {})),
    GammaGamma: ({}, lambda c, d, p, f, lt: ((_repeat_summary(),), {})),
    ShiftedBetaGeometric: ({}, lambda c, d, p, f, lt: ((SBG_COUNTS,), {})),
    ParetoNBD: (
        {"dropout_covariates": ["social"]},
        lambda c, d, p, f, lt: ((_repeat_summary_with_social(d),), {}),
    ),
}


@functools.cache
def _fitted(cls):
    config, data, panel, features, lifetimes = _inputs()
    overrides, recipe = CASES[cls]
    model = cls.from_config(config, **overrides)
    args, kwargs = recipe(config, data, panel, features, lifetimes)
    before = dict(vars(model))
    returned = model.fit(*args, **kwargs)
    return model, returned, before


def _all_cxlib_modules():
    """Import every module of the package, so a model class anywhere in it is found."""
    import importlib
    import pkgutil

    import cxlib

    for info in pkgutil.walk_packages(cxlib.__path__, "cxlib."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)


def test_every_model_class_is_covered():
    """Every FittedModel subclass defined anywhere in cxlib has a case here."""
    _all_cxlib_modules()

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    defined = {c for c in subclasses(FittedModel) if c.__module__.startswith("cxlib.")}
    assert defined == set(CASES), f"add a case for {sorted(c.__name__ for c in defined - set(CASES))}"


@pytest.mark.parametrize("cls", list(CASES), ids=lambda c: c.__name__)
class TestContract:
    def test_is_a_fitted_model_with_documented_estimate(self, cls):
        assert issubclass(cls, FittedModel)
        assert cls.estimate_name != "estimate", "say what summary_['estimate'] measures"

    def test_init_stores_parameters_unchanged(self, cls):
        defaults = {
            n: p.default for n, p in inspect.signature(cls.__init__).parameters.items() if n != "self"
        }
        model = cls()
        for name, default in defaults.items():
            assert getattr(model, name) is default or getattr(model, name) == default, name
        assert not model.is_fitted

    def test_from_config_uses_the_config_and_overrides(self, cls):
        config = _inputs()[0]
        model = cls.from_config(config)
        assert isinstance(model, cls)
        for name, value in cls.config_params(config).items():
            assert getattr(model, name) == value
        if "seed" in model.get_params():
            assert model.seed == config.seed
        with pytest.raises(TypeError, match="no parameter"):
            cls.from_config(config, not_a_parameter=1)

    def test_use_before_fit_is_a_clear_error(self, cls):
        model = cls()
        with pytest.raises(NotFittedError, match=rf"{cls.__name__} is not fitted yet.*fit"):
            _ = model.summary_
        public = [
            name
            for name, member in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_")
            and name not in ("fit", "from_config", "get_params", "check_is_fitted")
            and name not in vars(FittedModel)
        ]
        for name in public:
            method = getattr(model, name)
            required = [
                p
                for p in inspect.signature(method).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
            with pytest.raises(NotFittedError):
                method(*[None] * len(required))

    def test_fit_returns_self_and_learns_only_underscore_attributes(self, cls):
        model, returned, before = _fitted(cls)
        assert returned is model
        added = set(vars(model)) - set(before)
        assert added, "fit stored nothing"
        public = {k for k in added if not k.startswith("_")}
        assert all(k.endswith("_") for k in public), sorted(k for k in public if not k.endswith("_"))
        assert model.get_params() == {k: before[k] for k in model.get_params()}, "fit changed a parameter"

    def test_summary_has_the_standard_columns_and_coherent_intervals(self, cls):
        model = _fitted(cls)[0]
        summary = model.summary_
        assert isinstance(summary, pd.DataFrame) and len(summary) > 0
        assert list(summary.columns[: len(SUMMARY_COLUMNS)]) == SUMMARY_COLUMNS
        assert summary["term"].is_unique
        est, low, high = (summary[c].astype(float) for c in ("estimate", "ci_low", "ci_high"))
        shown = est.notna() & low.notna() & high.notna()
        assert shown.any(), "no estimate has an interval"
        assert (low[shown] <= est[shown] + 1e-9).all() and (est[shown] <= high[shown] + 1e-9).all()
        for column in ("p_value", "p_adjusted"):
            p = summary[column].dropna().astype(float)
            assert ((p >= 0) & (p <= 1)).all(), column
        both = summary[["p_value", "p_adjusted"]].dropna().astype(float)
        assert (both["p_adjusted"] >= both["p_value"] - 1e-12).all()
        assert summary["label"].map(lambda v: isinstance(v, str) and v != "").all()

    def test_caveats_are_notes_the_catalogue_renders(self, cls):
        caveats = _fitted(cls)[0].caveats_
        assert isinstance(caveats, list) and all(isinstance(c, Note) for c in caveats)
        sentences = render_all(caveats)
        assert all(isinstance(text, str) and text.strip() for text in sentences)

    def test_plots_delegate_to_a_plotting_module(self, cls):
        model = _fitted(cls)[0]
        plots = [n for n, _ in inspect.getmembers(cls, inspect.isfunction) if n.startswith("plot_")]
        source = Path(inspect.getfile(cls)).read_text()
        assert "matplotlib" not in source and "seaborn" not in source
        for name in plots:
            method = getattr(model, name)
            required = [
                p
                for p in inspect.signature(method).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
            if required:  # plots that need data beyond the model are checked by the capability's tests
                continue
            drawn = method()
            drawn = drawn.flat[0] if isinstance(drawn, np.ndarray) else drawn
            assert isinstance(drawn, (matplotlib.axes.Axes, matplotlib.figure.Figure)), name
            plt.close("all")


#: Modules that compute: they import no plotting library and no report machinery (sentences,
#: escaping, HTML), so a message catalogue or an executive summary can reuse their results. That is
#: every module of every subpackage except the presenting ones: ``cxlib.report``, ``cxlib.run``
#: and, inside a capability, its ``_plots``, ``_report`` and ``_findings`` modules. A new capability is covered
#: without editing this test.
PRESENTING_PACKAGES = ("report", "run")
#: Inside a capability, the modules that present: charts, tables for the reader, sentences.
PRESENTING_MODULES = ("_plots", "_report", "_findings")
CXLIB = Path(__file__).resolve().parents[1] / "cxlib"


def _computing_files():
    files = [f for f in sorted(CXLIB.glob("*.py")) if f.name not in ("cli.py",)]  # the cx command prints
    for package in sorted(p for p in CXLIB.iterdir() if (p / "__init__.py").is_file()):
        if package.name in PRESENTING_PACKAGES:
            continue
        files += [f for f in sorted(package.rglob("*.py")) if not f.name.startswith(PRESENTING_MODULES)]
    return files


def test_the_capabilities_are_checked():
    checked = {str(p.relative_to(CXLIB)) for p in _computing_files()}
    assert {
        "churn/_models.py",
        "segment/_segmenter.py",
        "overview/_kpis.py",
        "features/_customer.py",
    } <= checked


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", _computing_files(), ids=lambda p: str(p.relative_to(CXLIB)))
def test_computing_modules_import_no_plotting_and_no_report_machinery(path):
    banned = ("matplotlib", "seaborn", "cxlib.report", "nbconvert", "IPython")
    found = sorted(n for n in _imports(path) if n.split(".")[0] in banned or n.startswith(banned))
    assert not found, f"{path.relative_to(CXLIB)} imports {found}"


def test_importing_every_computing_module_loads_no_matplotlib():
    import subprocess
    import sys

    modules = [
        "cxlib." + str(p.relative_to(CXLIB).with_suffix("")).replace("/", ".")
        for p in _computing_files()
        if p.name != "__init__.py"
    ]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + ("bad = [m for m in ('matplotlib', 'seaborn') if m in sys.modules]\nassert not bad, bad\n")
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_summary_frame_orders_the_standard_columns():
    from cxlib.stats import summary_frame

    table = summary_frame({"term": ["a"], "estimate": [1.0], "extra": [2]})
    assert list(table.columns) == SUMMARY_COLUMNS + ["extra"]
    assert np.isnan(table.loc[0, "p_value"])


# ---- notes: computing modules state facts as data, the catalogue words them ---------------------------

#: Words from which a string literal counts as a sentence (a column name or a code has fewer).
SENTENCE_WORDS = 4


def _is_note_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Name) and node.func.id == "Note")
        or (isinstance(node.func, ast.Attribute) and node.func.attr == "Note")
    )


def _holds_caveats(node: ast.AST) -> bool:
    """``caveats.append(...)``, ``self.caveats_ = ...``, ``return ...`` of a ``*caveat*`` function, and the like."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in ("append", "extend") and "caveat" in ast.unparse(node.func.value)
    if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return any("caveat" in ast.unparse(t) for t in targets) and node.value is not None
    return False


def _prose(node: ast.AST) -> list[str]:
    """f-strings and string literals of :data:`SENTENCE_WORDS` or more words inside ``node``."""
    found = []
    for inner in ast.walk(node):
        if isinstance(inner, ast.JoinedStr):
            found.append(ast.unparse(inner))
        elif isinstance(inner, ast.Constant) and isinstance(inner.value, str):
            if len(inner.value.split()) >= SENTENCE_WORDS:
                found.append(repr(inner.value))
    return found


@pytest.mark.parametrize("path", _computing_files(), ids=lambda p: str(p.relative_to(CXLIB)))
def test_computing_modules_build_no_caveat_sentences(path):
    """Caveats are :class:`Note` (a code and values): no f-string or sentence reaches one (issue 9)."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if _is_note_call(node) or _holds_caveats(node):
            parts = (
                [*node.args, *(k.value for k in node.keywords)]
                if isinstance(node, ast.Call)
                else [node.value]
            )
            found += [f"line {node.lineno}: {text}" for part in parts for text in _prose(part)]
        elif isinstance(node, ast.FunctionDef) and "caveat" in node.name:
            returns = [r.value for r in ast.walk(node) if isinstance(r, ast.Return) and r.value is not None]
            found += [f"line {node.lineno}: {text}" for value in returns for text in _prose(value)]
    assert not found, f"{path.relative_to(CXLIB)} words caveats itself: {found}"


def _literal_codes(expression: ast.AST) -> list[str]:
    """The codes an expression can give: a literal, or literals chosen between (``"a" if x else "b"``)."""
    if isinstance(expression, ast.Constant) and isinstance(expression.value, str):
        return [expression.value]
    if isinstance(expression, ast.IfExp):
        return _literal_codes(expression.body) + _literal_codes(expression.orelse)
    return []


def _note_codes() -> dict[str, list[str]]:
    """Every code a ``Note(...)`` call in cxlib names, with where (a code must be written out)."""
    codes: dict[str, list[str]] = {}
    for path in sorted(CXLIB.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not _is_note_call(node):
                continue
            where = f"{path.relative_to(CXLIB)}:{node.lineno}"
            literals = _literal_codes(node.args[0] if node.args else node.keywords[0].value)
            assert literals, f"{where}: a note's code must be written out, so this test can check it"
            for code in literals:
                codes.setdefault(code, []).append(where)
    return codes


def test_every_note_code_has_a_template_and_every_template_is_used():
    codes = _note_codes()
    assert len(codes) > 20  # the scan found the notes
    missing = {code: where for code, where in codes.items() if code not in MESSAGES}
    assert not missing, f"codes without a template in cxlib.report.MESSAGES: {missing}"
    # "list.more" is the catalogue's own ("... and 12 more"), not a note
    unused = set(MESSAGES) - set(codes) - {"list.more"}
    assert not unused, f"templates no note uses: {sorted(unused)}"


def test_notes_a_demo_fit_cannot_produce_render_too():
    """Rare caveats, rendered from hand-made notes (the fits above render the common ones)."""
    assert (
        render(Note("drivers.not_converged"))
        == "the logistic fit did not converge; treat the ratios as rough"
    )
    assert render(Note("segment.minibatch", {"customers": 1_000_000})) == (
        "mini-batch k-means on 1,000,000 customers (3 starts): close to, not exactly, k-means"
    )


def test_a_note_without_a_template_or_a_value_is_a_clear_error():
    with pytest.raises(MissingMessageError, match=r"no message for note code 'no.such'.*MESSAGES"):
        render(Note("no.such", {}))
    with pytest.raises(MissingMessageError, match=r"'design.constant' needs the value 'term'"):
        render(Note("design.constant", {"column": "x"}))


def test_plural_and_lists_of_names_are_the_catalogue_s():
    one = Note(
        "design.levels_pooled",
        {
            "column": "plan",
            "small": ["trial"],
            "min_size": 10,
            "pooled_label": "Other (2 groups)",
            "size": 14,
        },
    )
    assert render(one).startswith(
        "Plan: level 'trial' has fewer than 10 customers; pooled into 'Other (2 groups)'"
    )
    many = Note(
        "design.levels_pooled_with", {**one.values, "small": [f"l{i}" for i in range(7)], "joined": ["x"]}
    )
    assert render(many).startswith(
        "Plan: levels 'l0', 'l1', 'l2', 'l3', 'l4' and 2 more have fewer than 10 customers; pooled with 'x' into"
    )
