"""Non-linear drivers of the interpretable churn model: which form each number takes, and its effect curve.

A number enters :class:`cxlib.churn.ChurnDrivers` as a straight line on the log-odds scale (an odds
ratio per SD) unless a flexible form fits clearly better: a whole-number count with 3 to 8 values
(:func:`cxlib.stats._splines.is_count`) may enter as one level per count, any other number with
enough distinct values as a restricted cubic spline (:class:`cxlib.stats._splines.SplineBasis`).
:func:`choose_forms` decides by a likelihood-ratio test of the flexible form against the straight
line, one driver at a time with all others linear, at level :data:`FORM_ALPHA` (a truly linear
driver is given a curve in 1% of samples). Yes/no flags and scores already in standard deviations
(``*_z``) stay as they are.

:func:`effect_curves` shows each number on its own scale: the churn probability predicted when
every customer is given that value, averaged over customers as they are (marginal
standardisation), with a 95% interval by the delta method; :func:`curve_contrasts` turns a spline's
curve into one comparable ratio (its highest against its lowest point), so reports can rank a
curved driver with the yes/no and level contrasts. No sentences here
(:func:`cxlib.churn.describe_effects` words the curves).

Examples
--------
>>> forms = choose_forms(frame, y, ["Age", "Products"], [], encoder_params={})  # doctest: +SKIP
>>> forms.set_index("driver")["form"].to_dict()  # doctest: +SKIP
{'Age': 'spline', 'Products': 'levels'}
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import special, stats

from cxlib.stats._design import (
    DesignEncoder,
    Unit,
    feature_label,
    readable_number,
    unit_text,
    variance_inflation,
)
from cxlib.stats._splines import MAX_COUNT_LEVELS, is_count, spline_knots

#: Level of the likelihood-ratio test that gives a number a flexible form instead of a straight line.
FORM_ALPHA = 0.01
#: Customers an effect curve averages its predictions over (a seeded sample of the training rows
#: above that: the curve's shape depends little on it, its cost linearly).
CURVE_ROWS = 2_000
#: Points of a curve over a number that is not a small whole number (between its 1st and 99th
#: percentiles); whole numbers with at most :data:`MAX_CURVE_VALUES` values there get one point each.
CURVE_POINTS = 41
MAX_CURVE_VALUES = 80


def candidate_form(values, name: str = "") -> str | None:
    """The flexible form a numeric driver could take: ``"levels"``, ``"spline"`` or None (stays linear).

    Examples
    --------
    >>> candidate_form([1, 2, 3, 4, 2, 1]), candidate_form([0, 1, 1]), candidate_form(range(100))
    ('levels', None, 'spline')
    """
    values = np.asarray(values, float)
    present = np.unique(values[~np.isnan(values)])
    if set(present) <= {0.0, 1.0} or name.endswith("_z"):
        return None
    if is_count(values):
        return "levels"
    if len(present) > MAX_COUNT_LEVELS:
        # too many ties for three distinct knots: no spline (checked without building its columns)
        return "spline" if len(spline_knots(values)) >= 3 else None
    return None


def _log_likelihood(
    design: pd.DataFrame, y: np.ndarray, start: pd.Series | None = None
) -> tuple[float, int, pd.Series]:
    """Maximised log-likelihood of a logistic fit on ``design`` plus an intercept, its parameters and their values.

    ``start``: values to start Newton's method from (by name; others start at 0). Starting from a
    nested model's estimates reaches the same maximum in fewer steps.
    """
    design = sm.add_constant(design, has_constant="add")
    start_params = None
    if start is not None:
        start_params = start.reindex(design.columns).fillna(0.0).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation: the likelihood still rises, the test stays valid
        # the rank check (an SVD of the design) only sets df_model, which the test does not use
        model = sm.Logit(y, design, check_rank=False)
        result = model.fit(start_params=start_params, method="newton", maxiter=100, disp=0)
    return float(result.llf), design.shape[1], result.params


def choose_forms(
    frame: pd.DataFrame,
    y: np.ndarray,
    numeric,
    categorical,
    encoder_params: dict,
    alpha: float = FORM_ALPHA,
    test: bool = True,
) -> pd.DataFrame:
    """Choose each numeric driver's form by a likelihood-ratio test against a straight line.

    For every numeric driver with a :func:`candidate_form`, the model with that driver flexible
    (all others linear) is compared with the all-linear model: the flexible form is kept when the
    likelihood-ratio test gives p < ``alpha`` (chi-square with the extra parameters as degrees of
    freedom; the straight line is nested in the spline, and in the levels unless a tail is pooled,
    where the test is approximate).

    Parameters
    ----------
    frame : DataFrame
        Training rows (features).
    y : array of 0/1
    numeric, categorical : list of str
    encoder_params : dict
        ``reference_levels``, ``max_vif`` and ``min_group_size`` of the :class:`DesignEncoder`.
    alpha : float
        :data:`FORM_ALPHA`.
    test : bool
        False: only list the candidates; every driver stays linear.

    Returns
    -------
    DataFrame
        One row per numeric driver: driver, label, candidate (the flexible form tried, or None),
        lr_chi2, df and p_value of the test (NaN when nothing was tried), collinear (the flexible
        form would push another term's variance inflation factor above ``max_vif``, so the driver
        stays linear whatever the test says: :func:`_makes_collinear`), form (the chosen one of
        :data:`cxlib.stats.DRIVER_FORMS`).
    """
    numeric, categorical = list(numeric), list(categorical)
    candidates = {c: candidate_form(frame[c].to_numpy(dtype=float), c) for c in numeric}
    rows = []
    base = None
    for driver in numeric:
        row = {"driver": driver, "label": feature_label(driver), "candidate": candidates[driver]}
        row.update(lr_chi2=np.nan, df=np.nan, p_value=np.nan, collinear=False, form="linear")
        if test and candidates[driver] is not None:
            if base is None:
                encoder = DesignEncoder(numeric, categorical, **encoder_params).fit(frame)
                linear = encoder.transform(frame)
                base = _log_likelihood(linear, y)
            # the driver's flexible columns in place of its straight line, the rest as pruned before
            alone = DesignEncoder(
                [driver],
                [],
                forms={driver: candidates[driver]},
                max_vif=None,
                min_group_size=encoder_params.get("min_group_size"),
            ).fit(frame)
            others = [t for t in linear.columns if encoder.term_driver_[t] != driver]
            design = pd.concat([linear[others], alone.transform(frame)], axis=1)
            collinear = _makes_collinear(design, others, encoder_params.get("max_vif"))
            try:
                llf, k, _ = _log_likelihood(design, y, start=base[2])
            except (np.linalg.LinAlgError, ValueError):  # a singular flexible design: keep the line
                rows.append(row)
                continue
            chi2, df = max(2 * (llf - base[0]), 0.0), k - base[1]
            row["collinear"] = collinear
            if df > 0 and collinear:
                row.update(lr_chi2=chi2, df=df, p_value=float(stats.chi2.sf(chi2, df)))
            elif df > 0:
                p_value = float(stats.chi2.sf(chi2, df))
                row.update(lr_chi2=chi2, df=df, p_value=p_value)
                row["form"] = candidates[driver] if p_value < alpha else "linear"
        rows.append(row)
    columns = ["driver", "label", "candidate", "lr_chi2", "df", "p_value", "collinear", "form"]
    return pd.DataFrame(rows, columns=columns)


def _makes_collinear(design: pd.DataFrame, others: list[str], max_vif: float | None) -> bool:
    """Whether a driver's flexible columns push another term's variance inflation above ``max_vif``.

    A curve can mimic another driver (Telco's monthly charges are nearly a sum of the services
    taken, so a curve in them reproduces the fibre-optic level): the design would then drop that
    driver's term, and the curve would carry an effect that belongs to both. Such a driver stays a
    straight line.
    """
    if max_vif is None or not others:
        return False
    vif = variance_inflation(design)["vif"]
    return bool((vif[others] > max_vif).any())


def curve_grid(values) -> np.ndarray:
    """Points an effect curve over a number is drawn at (see :data:`CURVE_POINTS`)."""
    values = np.asarray(values, float)
    present = values[~np.isnan(values)]
    low, high = np.quantile(present, [0.01, 0.99])
    inside = np.unique(present[(present >= low) & (present <= high)])
    if len(inside) <= MAX_CURVE_VALUES and np.all(inside == np.round(inside)):
        return inside
    return np.linspace(low, high, CURVE_POINTS)


def effect_curves(
    encoder: DesignEncoder,
    params: pd.Series,
    cov: pd.DataFrame,
    frame: pd.DataFrame,
    y: np.ndarray,
    drivers,
    alpha: float = 0.05,
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Each driver's effect curve: predicted churn by its value, others as the customers have them.

    At each value (each level of a count entered as levels), every customer of a seeded sample of
    at most :data:`CURVE_ROWS` training rows is given that value and the predicted churn
    probabilities are averaged; the interval is the delta method's (gradient
    ``mean(p (1 - p) x)``), clipped to 0-1.

    Parameters
    ----------
    encoder : DesignEncoder
        Fitted, with ``params`` and ``cov`` from a logistic fit on its design plus ``const``.
    params : Series
    cov : DataFrame
    frame : DataFrame
        The training rows.
    y : array of 0/1
        Their outcome (for the observed rates).
    drivers : list of str
        Numeric drivers to draw.
    alpha : float

    Returns
    -------
    curves : dict
        Driver -> DataFrame with value (a number, or a level name for levels), churn_probability,
        ci_low, ci_high, n (training customers at that value: for a number drawn at grid points,
        those nearest to it), observed_rate (their churn rate), log_odds (the driver's own part of
        the linear predictor) and se_log_odds.
    own_terms : dict
        Driver -> (its design columns at each point, the covariance of its coefficients), for
        :func:`curve_contrasts`.
    """
    y = np.asarray(y, float)
    rows = np.arange(len(frame))
    if len(rows) > CURVE_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(len(frame), CURVE_ROWS, replace=False))
    design = sm.add_constant(encoder.transform(frame.iloc[rows]), has_constant="add")
    design = design[params.index]
    z = stats.norm.ppf(1 - alpha / 2)
    curves, own_terms = {}, {}
    for driver in drivers:
        values = frame[driver].to_numpy(dtype=float)
        if encoder.form(driver) == "levels":
            levels = encoder.count_levels_[driver]
            points = [held[0] for _, held in levels]
            names = [name for name, _ in levels]
            text = encoder.level_text(frame, driver)
            groups = [text == name for name in names]
        else:
            points = list(curve_grid(values))
            names = points
            groups = _nearest(values, np.asarray(points))
        terms = [t for t in params.index if encoder.term_driver_.get(t) == driver]
        own_cov = cov.loc[terms, terms].to_numpy()
        table = []
        for point, name, members in zip(points, names, groups, strict=True):
            columns = encoder.driver_columns(driver, np.full(len(design), point))
            x = design.copy()
            for term, column in columns.items():
                x[term] = column
            probability = special.expit(x.to_numpy() @ params.to_numpy())
            gradient = (probability * (1 - probability)) @ x.to_numpy() / len(x)
            se = float(np.sqrt(max(gradient @ cov.to_numpy() @ gradient, 0.0)))
            own = np.array([columns[t][0] for t in terms])
            mean = float(probability.mean())
            table.append(
                {
                    "value": name,
                    "churn_probability": mean,
                    "ci_low": max(mean - z * se, 0.0),
                    "ci_high": min(mean + z * se, 1.0),
                    "n": int(members.sum()),
                    "observed_rate": float(y[members].mean()) if members.any() else np.nan,
                    "log_odds": float(own @ params[terms].to_numpy()),
                    "se_log_odds": float(np.sqrt(max(own @ own_cov @ own, 0.0))),
                    "_x": own,
                }
            )
        curve = pd.DataFrame(table)
        own_terms[driver] = (np.vstack(curve.pop("_x").to_numpy()), own_cov)
        curves[driver] = curve
    return curves, own_terms


def _nearest(values: np.ndarray, points: np.ndarray) -> list[np.ndarray]:
    """Masks of the values nearest to each point (missing values belong to none)."""
    edges = (points[1:] + points[:-1]) / 2
    index = np.searchsorted(edges, values)
    present = ~np.isnan(values)
    return [present & (index == i) for i in range(len(points))]


def curve_contrasts(
    curves: dict[str, pd.DataFrame],
    own_terms: dict,
    frame: pd.DataFrame,
    y: np.ndarray,
    drivers,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """One ratio per spline driver: the odds at its curve's highest point against its lowest.

    Only points between the 5th and 95th percentiles compete (the spline's outer knots: where the
    data are dense); the interval is the delta method's for the difference of the two points'
    log odds. The maximum and minimum are chosen from the fitted curve, so the ratio is the
    largest contrast the curve shows: whether the driver matters at all is its joint test.
    The raw churn rates beside it are those of the customers within 5% of the 5th-95th percentile
    range of each point.

    Returns
    -------
    DataFrame
        One row per driver: term (= driver), label, estimate, ci_low, ci_high, the unit columns
        (``unit_kind`` "curve", ``unit_scale`` the highest point, ``unit_reference`` the lowest),
        driver, raw_n, raw_rate, raw_n_reference, raw_rate_reference, raw_direction,
        agrees_with_raw.
    """
    y = np.asarray(y, float)
    z = stats.norm.ppf(1 - alpha / 2)
    rows = []
    for driver in drivers:
        curve = curves[driver]
        values = frame[driver].to_numpy(dtype=float)
        low, high = np.nanquantile(values, [0.05, 0.95])
        points = curve["value"].to_numpy(dtype=float)
        eligible = np.flatnonzero((points >= low) & (points <= high))
        if len(eligible) < 2:
            eligible = np.arange(len(points))
        log_odds = curve["log_odds"].to_numpy()
        top = eligible[np.argmax(log_odds[eligible])]
        bottom = eligible[np.argmin(log_odds[eligible])]
        x, own_cov = own_terms[driver]
        difference = x[top] - x[bottom]
        estimate = float(log_odds[top] - log_odds[bottom])
        se = float(np.sqrt(max(difference @ own_cov @ difference, 0.0)))
        window = (high - low) / 20
        near_top = np.abs(values - points[top]) <= window
        near_bottom = np.abs(values - points[bottom]) <= window
        # a count or whole-number driver is named at whole values ("1 vs 72 months", not "1.02 vs 72")
        whole = bool(np.all(np.mod(values[np.isfinite(values)], 1) == 0))
        shown = np.round(points) if whole else points
        unit = Unit("curve", float(shown[top]), readable_number(float(shown[bottom])))
        raw_rate, raw_reference = _rate(y[near_top]), _rate(y[near_bottom])
        direction = np.sign(raw_rate - raw_reference) if np.isfinite(raw_rate - raw_reference) else 0
        rows.append(
            {
                "term": driver,
                "label": feature_label(driver),
                "estimate": np.exp(estimate),
                "ci_low": np.exp(estimate - z * se),
                "ci_high": np.exp(estimate + z * se),
                "unit": unit_text(unit),
                "unit_kind": unit.kind,
                "unit_scale": unit.scale,
                "unit_reference": unit.reference,
                "driver": driver,
                "raw_n": int(near_top.sum()),
                "raw_rate": raw_rate,
                "raw_n_reference": int(near_bottom.sum()),
                "raw_rate_reference": raw_reference,
                "raw_direction": int(direction),
                # the curve's ratio is >= 1 by construction: it agrees when the raw rates rise too
                "agrees_with_raw": bool(direction > 0 or estimate == 0),
            }
        )
    return pd.DataFrame(rows)


def _rate(y: np.ndarray) -> float:
    return float(y.mean()) if len(y) else np.nan


#: A curve "peaks" (or "dips") when its highest (lowest) point lies inside the range shown and is at
#: least this much (relatively) above (below) both ends; its peak range holds the points within
#: :data:`PEAK_BAND` of the way from the higher end to the peak.
SHAPE_MIN_RELATIVE = 0.10
PEAK_BAND = 0.25


def curve_shape(curve: pd.DataFrame) -> dict:
    """The shape of a number's effect curve as data: where it peaks, dips, rises or falls.

    Only points between the 5th and 95th percentiles of the customers (by the curve's ``n``) are
    read, where the data are dense.

    Parameters
    ----------
    curve : DataFrame
        An effect curve of a number (:meth:`cxlib.churn.ChurnDrivers.effect_curve`).

    Returns
    -------
    dict
        ``kind``: "peak", "dip", "rises" or "falls"; ``at`` (the value of the highest point for
        a peak, of the lowest for a dip, of the far end otherwise) with ``probability``, ``ci_low``
        and ``ci_high`` there; ``range`` (lowest and highest value of the points within
        :data:`PEAK_BAND` of a peak or dip); ``start`` (for a peak or a dip: the last value before
        it where the curve is still within 10% of the way from the near end to it);
        ``low_end`` and ``high_end``: (value, probability) at either end.

    Examples
    --------
    >>> curve = pd.DataFrame({"value": [20, 30, 40, 50, 60, 70], "n": [10] * 6,
    ...                       "churn_probability": [0.05, 0.05, 0.08, 0.12, 0.11, 0.06],
    ...                       "ci_low": 0.0, "ci_high": 1.0})
    >>> shape = curve_shape(curve)
    >>> shape["kind"], shape["at"], shape["range"], shape["start"]
    ('peak', 50.0, (50.0, 60.0), 30.0)
    """
    share = curve["n"].cumsum() / max(curve["n"].sum(), 1)
    inside = curve[(share >= 0.05) & (share.shift(fill_value=0) <= 0.95)]
    if len(inside) < 3:
        inside = curve
    values = inside["value"].to_numpy(dtype=float)
    p = inside["churn_probability"].to_numpy(dtype=float)
    ends = (float(p[0]), float(p[-1]))
    top, bottom = int(np.argmax(p)), int(np.argmin(p))
    shape: dict = {"low_end": (float(values[0]), ends[0]), "high_end": (float(values[-1]), ends[1])}
    if 0 < top < len(p) - 1 and p[top] >= (1 + SHAPE_MIN_RELATIVE) * max(ends):
        kind, extreme, near = "peak", top, max(ends)
    elif 0 < bottom < len(p) - 1 and p[bottom] <= (1 - SHAPE_MIN_RELATIVE) * min(ends):
        kind, extreme, near = "dip", bottom, min(ends)
    else:
        kind = "rises" if p[-1] >= p[0] else "falls"
        extreme = len(p) - 1
    if kind in ("peak", "dip"):
        close = np.abs(p - p[extreme]) <= PEAK_BAND * abs(p[extreme] - near)
        first = last = extreme
        while first > 0 and close[first - 1]:
            first -= 1
        while last < len(p) - 1 and close[last + 1]:
            last += 1
        shape["range"] = (float(values[first]), float(values[last]))
        moved = np.abs(p[: first + 1] - p[0]) <= 0.10 * abs(p[extreme] - p[0])
        shape["start"] = float(values[np.flatnonzero(moved)[-1]])
    row = inside.iloc[extreme]
    shape.update(
        kind=kind,
        at=float(values[extreme]),
        probability=float(row["churn_probability"]),
        ci_low=float(row["ci_low"]),
        ci_high=float(row["ci_high"]),
    )
    return shape
