"""Turn a feature table into a design matrix that ratio models can read (shared by churn and survival).

Categorical features become one indicator per level against a reference level (the most common
one unless the config names it); continuous features are standardised so that every ratio is
"per standard deviation"; yes/no features stay 0/1. A numeric feature's missing values are filled
with its median (a yes/no feature's with its most common value) and, when enough are missing,
modelled by a yes/no term ``<feature>: missing`` of their own (:func:`missing_plan`), the same at
fit and at transform, each with a caveat. What one unit of each term means is recorded as
data (:class:`Unit`: its kind, the SD, the reference level), and :func:`unit_text` is the one place
that turns it into the short text a summary shows ("per SD of 12.3"), so no code parses that text
back. Before a model sees the matrix, exact duplicates
(e.g. Telco's "No internet service" level, which repeats ``InternetService = No``), linear
dependencies and terms whose variance inflation factor exceeds a threshold are dropped, each with a
caveat (a :class:`cxlib.stats.Note`) that says why.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"plan": ["basic", "premium", "basic"], "tenure_months": [1.0, 5.0, 9.0]})
>>> encoder = DesignEncoder(numeric=["tenure_months"], categorical=["plan"]).fit(frame)
>>> list(encoder.transform(frame).columns)
['tenure_months', 'plan: premium']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.stats._notes import Note
from cxlib.stats._splines import MIN_COUNT_LEVEL_SIZE, SplineBasis, count_levels, count_text
from cxlib.stats._suppression import Pooling, pool_small_groups

#: Readable names of built-in features (extra config columns keep their own names unless the config
#: labels them: ``labels.features``).
FEATURE_LABELS: dict[str, str] = {
    "tenure_months": "Tenure (months)",
    "orders_per_month_12m": "Orders per month (last 12 months)",
    "mean_order_value": "Mean order value",
    "days_since_last_order": "Days since last order",
    "refunded_order_share": "Share of orders refunded",
    "support_contacts": "Support contacts (last 12 months)",
    "complaints": "Complaints (ever)",
    "unresolved_complaint": "Unresolved complaint",
    "nps_class": "NPS class (latest answer)",
    "long_wait": "Long support wait",
    "cart_abandonments": "Abandoned carts (last 12 months)",
    "satisfaction_z": "Survey satisfaction score",
    "no_survey": "Never answered a survey",
    "programme_treatment": "In CX programme (treatment)",
    "plan": "Plan",
    "region": "Region",
    "acquisition_channel": "Acquisition channel",
}


#: Labels the config gives (``labels.features``, ``labels.levels``), set by :func:`set_display_labels`.
_CONFIG_FEATURE_LABELS: dict[str, str] = {}
_CONFIG_TERM_LABELS: dict[tuple[str, str], str] = {}


def set_display_labels(features: dict | None = None, levels: dict | None = None) -> None:
    """Register the config's display labels (replacing any set before); loading a config calls it.

    Parameters
    ----------
    features : dict, optional
        Feature name -> label, e.g. ``{"number_customer_service_calls": "Service calls"}``; it also
        overrides a built-in label.
    levels : dict, optional
        Feature name -> {level: label of the term ``feature: level``}, e.g.
        ``{"international_plan": {"yes": "International plan"}}``.

    Examples
    --------
    >>> set_display_labels({"calls": "Service calls"}, {"intl": {"yes": "International plan"}})
    >>> feature_label("calls"), feature_label("intl: yes"), feature_label("intl: no")
    ('Service calls', 'International plan', 'intl: no')
    >>> set_display_labels()
    """
    _CONFIG_FEATURE_LABELS.clear()
    _CONFIG_FEATURE_LABELS.update({str(k): str(v) for k, v in (features or {}).items()})
    _CONFIG_TERM_LABELS.clear()
    for feature, by_level in (levels or {}).items():
        for level, label in by_level.items():
            _CONFIG_TERM_LABELS[(str(feature), str(level))] = str(label)


def level_label(feature: str, level) -> str | None:
    """The config's display label of one level of ``feature`` (``labels.levels``), or None."""
    return _CONFIG_TERM_LABELS.get((str(feature), str(level)))


def feature_label(name: str) -> str:
    """Readable name of a feature or of a ``feature: level`` term (config labels first)."""
    base, _, level = name.partition(": ")
    if level and (base, level) in _CONFIG_TERM_LABELS:
        return _CONFIG_TERM_LABELS[(base, level)]
    label = _CONFIG_FEATURE_LABELS.get(base) or FEATURE_LABELS.get(base, base)
    return f"{label}: {level}" if level else label


#: Kinds of :class:`Unit`: one standard deviation of a number, a yes/no flag, a level of a category
#: against its reference level, one column of a number's spline (meaningless alone: the driver's
#: effect curve shows them together), and a curved number's highest against its lowest point.
UNIT_KINDS = ("sd", "flag", "level", "spline", "curve")
#: Kinds whose ratios compare two groups of customers (a ratio per SD is on another scale).
CONTRAST_KINDS = ("flag", "level", "curve")
#: Forms a numeric driver may enter a design in: a straight line (per SD), a restricted cubic
#: spline, or one level per count (:mod:`cxlib.stats._splines`).
DRIVER_FORMS = ("linear", "spline", "levels")


@dataclass(frozen=True)
class Unit:
    """What one unit of a design term means, as data.

    Attributes
    ----------
    kind : {"sd", "flag", "level", "spline", "curve"}
        ``"sd"``: one standard deviation of a number; ``"flag"``: yes against no; ``"level"``: this
        level of a category against its reference level; ``"spline"``: one column of a number's
        spline; ``"curve"``: a curved number's value with the highest odds against the value with
        the lowest.
    scale : float
        For ``"sd"``: the SD in the feature's own units, NaN for a score already in SDs (``*_z``);
        for ``"curve"``: the value with the highest odds; NaN otherwise.
    reference : str or None
        For ``"level"``: the reference level; for ``"curve"``: the value with the lowest odds (as
        text); None otherwise.

    Examples
    --------
    >>> unit_text(Unit("sd", 12.34))
    'per SD of 12.3'
    """

    kind: str
    scale: float = float("nan")
    reference: str | None = None


def unit_text(unit: Unit) -> str:
    """The short text a summary shows for ``unit`` ("per SD of 12.3", "yes vs no", "vs basic").

    The one place this text is made; decisions read :class:`Unit` (or a summary's ``unit_kind``),
    never the text, so a report can show it in another language.

    Examples
    --------
    >>> [unit_text(u) for u in (Unit("sd"), Unit("flag"), Unit("level", reference="basic"))]
    ['per SD', 'yes vs no', 'vs basic']
    >>> unit_text(Unit("curve", 52.0, "25"))
    '52 vs 25'
    """
    if unit.kind == "sd":
        return "per SD" if np.isnan(unit.scale) else f"per SD of {readable_number(unit.scale)}"
    if unit.kind == "flag":
        return "yes vs no"
    if unit.kind == "level":
        return f"vs {unit.reference}"
    if unit.kind == "spline":
        return "spline column"
    if unit.kind == "curve":
        return f"{readable_number(unit.scale)} vs {unit.reference}"
    raise ValueError(f"unit kind {unit.kind!r} is not one of {UNIT_KINDS}")


def readable_number(value: float) -> str:
    """Three significant digits, or whole numbers with separators from 100 on (never ``5.7e+04``).

    Examples
    --------
    >>> [readable_number(v) for v in (0.779, 37.42, 57312.4, 1.0)]
    ['0.779', '37.4', '57,312', '1']
    """
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


class DesignEncoder:
    """Encode features as indicator and standardised columns, pruning collinear terms.

    Parameters
    ----------
    numeric : list of str
        Numeric feature columns. Those with two values (0/1) and scores already in standard
        deviations (names ending ``_z``) stay as they are; others are standardised (mean 0,
        SD 1) so that ratios read "per SD".
    categorical : list of str
        Categorical feature columns (text); missing values become the level ``unknown``.
    reference_levels : dict, optional
        Feature -> level that the others are compared with; default: the most common level.
    max_vif : float or None
        Terms whose variance inflation factor exceeds this are dropped, worst first.
    min_group_size : int or None
        Levels held by fewer rows (customers) are pooled into one ``Other (n groups)`` level
        before anything is estimated, with the next smallest level when needed (see
        :func:`cxlib.stats._suppression.pool_small_groups`), so no ratio describes a handful of customers
        and the reference level is never a tiny group. None: no pooling.
    forms : dict, optional
        Numeric feature -> one of :data:`DRIVER_FORMS` (default ``"linear"`` for all):
        ``"spline"`` enters it as restricted cubic spline columns ``"<feature>: curve k"``
        (:class:`cxlib.stats._splines.SplineBasis`; missing values as the median), ``"levels"`` as
        one indicator per count against its most common count (tails pooled, "4 or more":
        :func:`cxlib.stats._splines.count_levels`; missing values as the level ``unknown``).

    Attributes
    ----------
    terms_ : list of str
        Columns of the design matrix after pruning.
    term_driver_ : dict
        Term -> the feature it came from.
    units_ : dict
        Term -> :class:`Unit`: what one unit of it means (shown as "yes vs no", "per SD of 12.3",
        "vs basic" by :func:`unit_text`); :meth:`unit_columns` gives them as summary columns.
    vif_ : DataFrame
        Variance inflation factor of every kept term (NaN for spline columns, which are meant to
        go together; they are never dropped for it).
    splines_ : dict
        Spline feature -> its fitted :class:`cxlib.stats._splines.SplineBasis`.
    count_levels_ : dict
        Count feature entered as levels -> its levels (:func:`cxlib.stats._splines.count_levels`).
    caveats_ : list of Note
        Levels pooled, terms dropped, and why (sentences: :func:`cxlib.report.render`).
    pooling_ : dict
        Categorical feature -> :class:`cxlib.stats._suppression.Pooling` of its small levels.
    missing_ : DataFrame
        Missing values of each numeric feature at fit (:func:`missing_plan`): ``missing``,
        ``rows``, ``fill`` and ``statistic`` (the value and statistic that fill them, at fit and
        at transform alike) and ``indicator`` (whether the term ``<feature>: missing`` models them).
    """

    def __init__(
        self,
        numeric,
        categorical,
        reference_levels=None,
        max_vif: float | None = 10.0,
        min_group_size: int | None = None,
        forms: dict | None = None,
    ):
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.reference_levels = dict(reference_levels or {})
        self.max_vif = max_vif
        self.min_group_size = min_group_size
        self.forms = dict(forms or {})

    def form(self, column: str) -> str:
        """The form ``column`` enters in (:data:`DRIVER_FORMS`; categorical features: ``"levels"``)."""
        return "levels" if column in self.categorical else self.forms.get(column, "linear")

    def fit(self, frame: pd.DataFrame) -> DesignEncoder:
        """Learn levels, scales and which terms to keep from ``frame``."""
        self.levels_: dict[str, list[str]] = {}
        self.reference_: dict[str, str] = {}
        self.scale_: dict[str, tuple[float, float]] = {}
        self.units_: dict[str, Unit] = {}
        self.term_driver_: dict[str, str] = {}
        self.caveats_: list[Note] = []
        self.pooling_: dict[str, Pooling] = {}
        self.missing_ = missing_plan(frame, self.numeric, self.min_group_size)
        self.caveats_ += missing_notes(self.missing_, self.min_group_size)
        self.splines_: dict[str, SplineBasis] = {}
        self.count_levels_: dict[str, list] = {}
        for column in self.categorical:
            text, pooling = pool_small_groups(frame[column], self.min_group_size or 0, column=column)
            sizes = text.value_counts()
            if len(sizes) > MAX_LEVELS:  # e.g. 51 states: the largest levels, the rest as one group
                threshold = int(sizes.sort_values(ascending=False).iloc[MAX_LEVELS - 1]) + 1
                text, pooling = pool_small_groups(
                    frame[column], max(threshold, self.min_group_size or 0), column=column
                )
                self.caveats_.append(
                    Note(
                        "design.many_levels",
                        {
                            "column": column,
                            "levels": int(frame[column].nunique(dropna=False)),
                            "kept": int(text.nunique()) - 1,
                            "pooled": len(pooling.groups),
                            "pooled_label": pooling.label,
                            "size": pooling.size,
                        },
                    )
                )
            elif pooling:
                self.caveats_.append(_pooling_note(column, pooling))
            self.pooling_[column] = pooling
            counts = text.value_counts()
            counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
            reference = self.reference_levels.get(column, counts.index[0])
            if reference in pooling.groups:
                self.caveats_.append(
                    Note(
                        "design.reference_pooled",
                        {"column": column, "reference": reference, "used": counts.index[0]},
                    )
                )
                reference = counts.index[0]
            elif reference not in counts.index:
                reference = counts.index[0]
                self.caveats_.append(
                    Note("design.reference_not_found", {"column": column, "used": reference})
                )
            self.reference_[column] = reference
            self.levels_[column] = [level for level in counts.index if level != reference]
        for column in self.numeric:
            values = frame[column].astype(float)
            filled = values.fillna(self.missing_.loc[column, "fill"])  # as transform will see them
            if self.form(column) == "spline":
                self.splines_[column] = SplineBasis().fit(filled.to_numpy())
            elif self.form(column) == "levels":
                self._fit_count(column, filled)
            binary = set(np.unique(values.dropna())) <= {0.0, 1.0}
            # yes/no flags and scores already in standard deviations (``*_z``) keep their own units
            kept = binary or column.endswith("_z")
            mean, sd = (0.0, 1.0) if kept else (float(values.mean()), float(values.std()) or 1.0)
            self.scale_[column] = (mean, sd)
        self.terms_ = []
        matrix = self._encode(frame, prune=False)
        self.terms_ = self._prune(matrix)
        return self

    def _fit_count(self, column: str, values: pd.Series) -> None:
        """Levels of a count entered as levels; the reference is the configured or the most common."""
        levels = count_levels(values.to_numpy(), max(self.min_group_size or 0, MIN_COUNT_LEVEL_SIZE))
        self.count_levels_[column] = levels
        text = pd.Series(count_text(values.to_numpy(), levels))
        counts = text.value_counts()
        order = [name for name, _ in levels] + (["unknown"] if "unknown" in counts.index else [])
        configured = self.reference_levels.get(column)
        configured = None if configured is None else f"{float(configured):g}"
        reference = configured if configured in counts.index else str(counts.idxmax())
        if configured is not None and configured != reference:
            self.caveats_.append(Note("design.reference_not_found", {"column": column, "used": reference}))
        self.reference_[column] = reference
        self.levels_[column] = [level for level in order if level != reference]

    def level_text(self, frame: pd.DataFrame, column: str) -> np.ndarray:
        """Each row's level of a categorical feature or of a count entered as levels (after pooling)."""
        if column in self.count_levels_:
            return count_text(frame[column].to_numpy(dtype=float), self.count_levels_[column])
        return self.pooling_[column].apply(frame[column]).to_numpy()

    def driver_columns(self, column: str, values) -> dict[str, np.ndarray]:
        """The design columns of one feature for ``values`` (its kept terms only), e.g. for a curve."""
        values = pd.Series(values)
        return {
            name: array for name, array in self._column_terms(column, values).items() if name in self.terms_
        }

    def _column_terms(self, column: str, values: pd.Series) -> dict[str, np.ndarray]:
        """Term name -> values of every term of one feature, recording each term's driver and unit."""
        columns: dict[str, np.ndarray] = {}
        form = self.form(column)
        missing = None
        if column in self.numeric:  # missing numbers: filled (missing_plan), flagged by their own term
            missing = values.isna().to_numpy(dtype=float)
            values = values.astype(float).fillna(self.missing_.loc[column, "fill"])
        if form == "spline":
            basis = self.splines_[column].transform(values.to_numpy(dtype=float))
            for k in range(basis.shape[1]):
                name = f"{column}: curve {k + 1}"
                columns[name] = basis[:, k]
                self.units_.setdefault(name, Unit("spline"))
        elif form == "levels":
            text = (
                self.level_text(pd.DataFrame({column: values}), column)
                if column in self.count_levels_
                else self.pooling_[column].apply(values).to_numpy()
            )
            for level in self.levels_[column]:
                name = f"{column}: {level}"
                columns[name] = (text == level).astype(float)
                self.units_.setdefault(name, Unit("level", reference=self.reference_[column]))
        else:
            mean, sd = self.scale_[column]
            columns[column] = ((values.astype(float) - mean) / sd).fillna(0.0).to_numpy()
            if column.endswith("_z"):
                unit = Unit("sd")
            else:
                unit = Unit("flag") if (mean, sd) == (0.0, 1.0) else Unit("sd", sd)
            self.units_.setdefault(column, unit)
        if missing is not None and self.missing_.loc[column, "indicator"]:
            name = f"{column}{MISSING_SUFFIX}"
            columns[name] = missing
            self.units_.setdefault(name, Unit("flag"))
        for name in columns:
            self.term_driver_.setdefault(name, column)
        return columns

    def _encode(self, frame: pd.DataFrame, prune: bool = True) -> pd.DataFrame:
        columns: dict[str, np.ndarray] = {}
        for column in self.numeric + self.categorical:
            columns.update(self._column_terms(column, frame[column]))
        matrix = pd.DataFrame(columns, index=frame.index)
        return matrix[self.terms_] if prune else matrix

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return the design matrix of ``frame`` (no intercept), with the kept terms only."""
        return self._encode(frame)

    def unit_columns(self, terms) -> dict[str, list]:
        """The unit of each of ``terms`` as summary columns: ``unit`` (text), then its data.

        Returns
        -------
        dict
            ``unit`` (:func:`unit_text`), ``unit_kind``, ``unit_scale`` and ``unit_reference``
            (see :class:`Unit`), one value per term.
        """
        units = [self.units_[term] for term in terms]
        return {
            "unit": [unit_text(u) for u in units],
            "unit_kind": [u.kind for u in units],
            "unit_scale": [u.scale for u in units],
            "unit_reference": [u.reference for u in units],
        }

    def _prune(self, matrix: pd.DataFrame) -> list[str]:
        keep = [c for c in matrix.columns if matrix[c].std() > 0]
        for column in sorted(set(matrix.columns) - set(keep)):
            self.caveats_.append(Note("design.constant", {"term": column}))
        seen: dict[bytes, str] = {}
        for column in list(keep):
            key = np.ascontiguousarray(matrix[column].to_numpy()).tobytes()
            if key in seen:
                keep.remove(column)
                self.caveats_.append(Note("design.duplicate", {"term": column, "same_as": seen[key]}))
            else:
                seen[key] = column
        values = _centred(matrix[keep])
        _, r, pivot = _qr_pivoted(values)
        tol = np.abs(np.diag(r)).max() * max(values.shape) * np.finfo(float).eps * 1e3 if len(keep) else 0
        rank = int((np.abs(np.diag(r)) > tol).sum())
        if rank < len(keep):
            dependent = [keep[i] for i in pivot[rank:]]
            for column in dependent:
                self.caveats_.append(Note("design.linear_combination", {"term": column}))
            keep = [c for c in keep if c not in dependent]
        self.vif_ = self._vif(matrix[keep])
        while self.max_vif is not None and len(self.vif_) and self.vif_["vif"].max() > self.max_vif:
            worst = self.vif_["vif"].idxmax()
            vif = float(self.vif_.loc[worst, "vif"])
            self.caveats_.append(
                Note("design.high_vif", {"term": worst, "vif": vif, "max_vif": self.max_vif})
            )
            keep.remove(worst)
            self.vif_ = self._vif(matrix[keep])
        # a missing-value flag that other drivers already carry (no mean order value = no orders) adds
        # nothing but an unstable ratio: it goes at a lower bar than the drivers themselves
        flags = [t for t in self.vif_.index if t.endswith(MISSING_SUFFIX)]
        while flags and self.vif_.loc[flags, "vif"].max() > MISSING_FLAG_MAX_VIF:
            worst = self.vif_.loc[flags, "vif"].idxmax()
            vif = float(self.vif_.loc[worst, "vif"])
            self.caveats_.append(
                Note("design.high_vif", {"term": worst, "vif": vif, "max_vif": MISSING_FLAG_MAX_VIF})
            )
            keep.remove(worst)
            flags.remove(worst)
            self.vif_ = self._vif(matrix[keep])
        return keep

    def _vif(self, matrix: pd.DataFrame) -> pd.DataFrame:
        """:func:`variance_inflation`, NaN for spline columns (they go together by design)."""
        vif = variance_inflation(matrix)
        spline = [t for t in vif.index if self.units_[t].kind == "spline"]
        vif.loc[spline, "vif"] = np.nan
        return vif


#: Most levels a category enters the models with (reference included): beyond it the largest are
#: kept and the others pooled, so a 51-level state column gives a readable table, not 50 ratios.
MAX_LEVELS = 12

#: Suffix of the term that flags a feature's missing values (``"mean_order_value: missing"``).
MISSING_SUFFIX = ": missing"
#: A missing-value flag whose variance inflation factor exceeds this is left out of the design: its
#: missing values coincide with other drivers (the bar at which reports flag a term as unstable).
MISSING_FLAG_MAX_VIF = 5.0


def fill_value(values: pd.Series) -> tuple[float, str]:
    """The value that fills a numeric feature's missing values, and the statistic it is.

    The median of the values present; for a yes/no (0/1) feature its most common value (``mode``),
    so a flag stays 0 or 1. 0 when no value is present.

    Examples
    --------
    >>> fill_value(pd.Series([1.0, None, 3.0, 10.0]))
    (3.0, 'median')
    >>> fill_value(pd.Series([0.0, 1.0, 1.0, None]))
    (1.0, 'mode')
    """
    present = pd.Series(values, dtype=float).dropna()
    if present.empty:
        return 0.0, "median"
    if set(np.unique(present)) <= {0.0, 1.0}:
        return float(present.mode().iloc[0]), "mode"
    return float(present.median()), "median"


def missing_plan(frame: pd.DataFrame, numeric, min_rows: int | None = None) -> pd.DataFrame:
    """How missing values of each numeric feature are handled in a design matrix.

    Every missing value is filled (:func:`fill_value`); a feature with at least ``min_rows``
    missing values (any, when None) also gets a 0/1 term ``<feature>: missing``, so that churn
    going with a missing value is modelled, not hidden in the fill value. Fewer missing values
    are only filled: a term for a handful of customers would be too vague to read.

    Parameters
    ----------
    frame : DataFrame
    numeric : list of str
    min_rows : int or None

    Returns
    -------
    DataFrame
        Indexed by feature: ``missing``, ``rows``, ``fill``, ``statistic`` (``median`` or
        ``mode``), ``indicator`` (bool).

    Examples
    --------
    >>> frame = pd.DataFrame({"x": [1.0, None, 3.0], "y": [1.0, 2.0, 3.0]})
    >>> plan = missing_plan(frame, ["x", "y"])
    >>> int(plan.loc["x", "missing"]), float(plan.loc["x", "fill"]), bool(plan.loc["x", "indicator"])
    (1, 2.0, True)
    """
    rows = []
    for column in numeric:
        values = frame[column].astype(float)
        missing = int(values.isna().sum())
        fill, statistic = fill_value(values)
        indicator = missing > 0 and missing >= (min_rows or 1) and missing < len(values)
        rows.append([column, missing, len(values), fill, statistic, indicator])
    columns = ["feature", "missing", "rows", "fill", "statistic", "indicator"]
    table = pd.DataFrame(rows, columns=columns).set_index("feature")
    return table.astype({"missing": int, "rows": int, "fill": float, "indicator": bool})


def missing_notes(plan: pd.DataFrame, min_rows: int | None = None) -> list[Note]:
    """A caveat per feature with missing values: how many, the fill, and whether a term models them."""
    notes = []
    for column, row in plan[plan["missing"] > 0].iterrows():
        values = {
            "column": column,
            "missing": int(row["missing"]),
            "rows": int(row["rows"]),
            "fill": float(row["fill"]),
            "statistic": row["statistic"],
        }
        if row["indicator"]:
            notes.append(Note("design.missing_indicator", values))
        else:
            notes.append(Note("design.missing_filled", {**values, "min_rows": int(min_rows or 1)}))
    return notes


def variance_inflation(matrix: pd.DataFrame) -> pd.DataFrame:
    """Variance inflation factor of each column: 1 / (1 - R²) of it on all the others.

    Computed from the inverse correlation matrix, so it costs one small matrix inverse.
    """
    if matrix.shape[1] < 2:
        return pd.DataFrame({"vif": np.ones(matrix.shape[1])}, index=matrix.columns)
    corr = np.corrcoef(matrix.to_numpy(), rowvar=False)
    vif = np.diag(np.linalg.pinv(corr))
    return pd.DataFrame({"vif": vif}, index=matrix.columns)


def _centred(matrix: pd.DataFrame) -> np.ndarray:
    values = matrix.to_numpy(dtype=float)
    if (
        len(values) > 200_000
    ):  # the rank of a random subsample is the rank of the whole, with high probability
        values = values[np.random.default_rng(0).choice(len(values), 200_000, replace=False)]
    return values - values.mean(axis=0)


def _qr_pivoted(values: np.ndarray):
    from scipy.linalg import qr

    if values.shape[1] == 0:
        return None, np.zeros((0, 0)), np.array([], int)
    return qr(values, mode="economic", pivoting=True)


def _pooling_note(column: str, pooling: Pooling) -> Note:
    """The levels of ``column`` pooled before fitting: the small ones, those joined to them, the pool."""
    joined = [g for g in pooling.groups if g not in pooling.small]
    values = {
        "column": column,
        "small": list(pooling.small),
        "min_size": pooling.min_size,
        "pooled_label": pooling.label,
        "size": pooling.size,
    }
    if joined:
        return Note("design.levels_pooled_with", {**values, "joined": joined})
    return Note("design.levels_pooled", values)
