"""Key drivers of satisfaction: relative weights with bootstrap intervals, a model, performance.

:class:`KeyDrivers` answers "which touchpoints matter most for NPS (or CSAT, or a satisfied
flag), and how sure are we?" in three parts:

- **importance**: Johnson's (2000) relative weights (:mod:`cxlib.experience._relative_weights`;
  Tonidandel & LeBreton 2011), built for correlated ratings: each driver's share of the linear
  model's R², non-negative and adding up to R² exactly. They come from pairwise-complete
  correlations, so a respondent who left one touchpoint unrated still counts for the others and
  nothing is imputed. A percentile bootstrap over respondents (Efron & Tibshirani 1993) gives 95%
  intervals on each weight, on R² and on each driver's rank, and the share of resamples in which a
  driver ranks first;
- **direction and size**: a model with intervals, per rating point: OLS with HC3
  heteroscedasticity-robust standard errors (MacKinnon & White 1985; a rating scale's residuals
  are not homoscedastic) for a numeric target, logistic regression (odds ratios) for a yes/no
  flag (statsmodels). Unanswered and not-applicable ratings enter the model as the driver's median
  plus a yes/no "not rated" term per driver (missing-indicator method): complete cases would drop
  every respondent who skipped any touchpoint (over half when a service is used by few, e.g.
  support), and the indicator keeps the not-rated group's own level out of the slope.
  p-values are Holm-adjusted over the drivers;
- **performance**: the mean rating and the top-2-box share (the two highest points of the scale)
  over the answers given, with the share not applicable and the share left blank.

Rating codes the caller lists as "not applicable" (default 0: on a 1-5 scale it means the service
was not used, never "very bad") are read as missing before anything is computed.
:func:`importance_performance` places each driver in a quadrant of importance against performance.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm

from cxlib.data._contract import RATING_PREFIX
from cxlib.experience._relative_weights import (
    PairwiseSums,
    bootstrap_weights,
    nearest_correlation,
    relative_weights,
)
from cxlib.stats._design import feature_label
from cxlib.stats._fitted import FittedModel, summary_frame
from cxlib.stats._multitest import holm_adjusted
from cxlib.stats._notes import Note

#: Targets looked for, in order, when none is given.
DEFAULT_TARGETS = ("nps", "csat", "satisfied")
#: Quadrants of the importance-performance matrix: (importance high?, performance high?) -> code.
QUADRANTS = {
    (True, False): "fix",
    (True, True): "maintain",
    (False, False): "secondary",
    (False, True): "surplus",
}


def rating_columns(surveys: pd.DataFrame) -> list[str]:
    """The survey's per-touchpoint rating columns (``rating_<touchpoint>``), in file order.

    Examples
    --------
    >>> rating_columns(pd.DataFrame(columns=["nps", "rating_delivery", "rating_value"]))
    ['rating_delivery', 'rating_value']
    """
    return [c for c in surveys.columns if str(c).startswith(RATING_PREFIX)]


def driver_label(column: str) -> str:
    """Readable name of a rating column: the config's label, else the touchpoint's name.

    Examples
    --------
    >>> driver_label("rating_inflight_wifi")
    'Inflight wifi'
    """
    label = feature_label(column)
    if label != column:
        return label
    name = column[len(RATING_PREFIX) :] if column.startswith(RATING_PREFIX) else column
    name = name.replace("_", " ").strip()
    return name[:1].upper() + name[1:]


def choose_target(surveys: pd.DataFrame, target: str | None = None) -> str:
    """The target column: ``target`` when given, else the first of nps, csat, satisfied with answers.

    Raises
    ------
    ValueError
        When the given target is not a column, or no default target has answers.
    """
    if target is not None:
        if target not in surveys:
            raise ValueError(
                f"experience.target: '{target}' is not a survey column (columns: {', '.join(map(str, surveys.columns))})"
            )
        return target
    for name in DEFAULT_TARGETS:
        if name in surveys and surveys[name].notna().any():
            return name
    raise ValueError("surveys: no nps, csat or satisfied answers to explain; set experience.target")


def _is_binary(values: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(values):
        return True
    present = pd.to_numeric(values, errors="coerce").dropna().unique()
    return len(present) <= 2 and set(present) <= {0, 1}


def _quantiles(draws: np.ndarray, alpha: float, whole: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval per column; ``whole`` keeps observed values (ranks stay whole numbers)."""
    if len(draws) == 0:
        return np.full(draws.shape[1], np.nan), np.full(draws.shape[1], np.nan)
    low, high = ("lower", "higher") if whole else ("linear", "linear")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN
        return (
            np.nanquantile(draws, alpha / 2, axis=0, method=low),
            np.nanquantile(draws, 1 - alpha / 2, axis=0, method=high),
        )


class KeyDrivers(FittedModel):
    """Which ratings drive a satisfaction target: relative weights, ranks, a model, performance.

    Parameters
    ----------
    target : str, optional
        Survey column explained: ``"nps"``, ``"csat"`` or a yes/no column such as ``"satisfied"``;
        None = nps when answered, else csat, else satisfied (:func:`choose_target`).
    ratings : list of str, optional
        Rating columns (drivers); None = every ``rating_`` column.
    not_applicable : tuple of numbers
        Rating codes read as "not applicable" (missing), e.g. 0 on a 1-5 scale.
    n_boot : int
        Bootstrap resamples of respondents (0 = no intervals on weights and ranks).
    min_answers : int
        A rating with fewer answers than this is left out (with a note).
    alpha : float
        1 - confidence level of every interval.
    seed : int
        Seeds the bootstrap.

    Attributes
    ----------
    summary_ : DataFrame
        One row per driver, by importance: ``estimate`` = raw weight (share of R², in R² units)
        with its bootstrap interval; ``p_value``/``p_adjusted`` = the model's test that the
        driver's coefficient is zero (Holm over drivers); then ``share`` (% of R²) with
        ``share_low``/``share_high`` (bootstrap, each resample's weights over its own R²), ``rank``,
        ``rank_low``, ``rank_high``, ``share_first``, ``effect`` with ``effect_low``/``effect_high``
        (model, per rating point: points of the target, or an odds ratio), ``mean_rating``,
        ``top2_share``, ``answers``, ``not_applicable_share``, ``blank_share``.
    r2_, r2_ci_ : float, (float, float)
        R² of the linear model on all ratings (from the correlations) and its bootstrap interval.
    n_ : int
        Respondents with a target answer.
    target_, binary_ : str, bool
    effect_name_ : str
        What ``effect`` measures ("change per rating point" or "odds ratio per rating point").
    boot_weights_ : ndarray, shape (n_boot, drivers)
        The resampled raw weights (columns in ``summary_["term"]``'s original order, see ``drivers_``).
    drivers_ : list of str
    model_ : statsmodels results or None
        The OLS (HC3) or logistic fit; None when it could not be fitted (see ``caveats_``).
    caveats_ : list of Note

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ratings = pd.DataFrame(rng.integers(1, 6, size=(300, 3)), columns=["rating_a", "rating_b", "rating_c"])
    >>> surveys = ratings.assign(nps=(2 * ratings["rating_a"] + ratings["rating_b"]).clip(0, 10))
    >>> model = KeyDrivers(n_boot=50).fit(surveys)
    >>> model.summary_["term"].tolist()[0]
    'rating_a'
    """

    estimate_name = "relative weight (share of R²)"
    null_value = 0.0
    higher_is = None

    def __init__(
        self,
        target: str | None = None,
        ratings: list[str] | None = None,
        not_applicable: tuple | list = (0,),
        n_boot: int = 500,
        min_answers: int = 30,
        alpha: float = 0.05,
        seed: int = 42,
    ):
        self.target = target
        self.ratings = ratings
        self.not_applicable = not_applicable
        self.n_boot = n_boot
        self.min_answers = min_answers
        self.alpha = alpha
        self.seed = seed

    @classmethod
    def config_params(cls, config) -> dict:
        """Target, not-applicable codes, answers needed and resamples from ``experience``; the seed."""
        section = config.section("experience")
        return {
            "target": section["target"],
            "not_applicable": section["not_applicable"],
            "n_boot": section["n_boot"],
            "min_answers": section["min_answers"],
            "seed": config.seed,
        }

    def fit(self, surveys: pd.DataFrame) -> KeyDrivers:
        """Estimate weights, intervals, ranks, the model and performance from survey answers.

        Parameters
        ----------
        surveys : DataFrame
            One row per answer with the target and the rating columns (not modified).

        Returns
        -------
        KeyDrivers
            self, fitted.
        """
        target = choose_target(surveys, self.target)
        answered = surveys[surveys[target].notna()]
        binary = _is_binary(answered[target])
        y = answered[target].astype(float).to_numpy()
        candidates = list(self.ratings) if self.ratings is not None else rating_columns(surveys)
        raw = answered[candidates].apply(pd.to_numeric, errors="coerce")
        codes = list(self.not_applicable or [])
        not_applicable = raw.isin(codes)
        blank = raw.isna()
        ratings = raw.mask(not_applicable)
        counts = ratings.notna().sum()
        few = [c for c in candidates if counts[c] < self.min_answers or ratings[c].nunique() < 2]
        drivers = [c for c in candidates if c not in few]
        if len(drivers) < 2:
            raise ValueError(
                f"surveys: {len(drivers)} rating column(s) with at least {self.min_answers} answers "
                f"(experience.min_answers); key drivers need two or more"
            )
        caveats = []
        if few:
            caveats.append(
                Note(
                    "drivers.few_answers",
                    {
                        "columns": few,
                        "drivers": [driver_label(c) for c in few],
                        "min_answers": self.min_answers,
                    },
                )
            )
        if codes and not_applicable[drivers].to_numpy().any():
            caveats.append(
                Note(
                    "drivers.not_applicable",
                    {"codes": list(codes), "share": float(not_applicable[drivers].to_numpy().mean())},
                )
            )

        values = np.column_stack([ratings[drivers].to_numpy(dtype=float), y])
        sums = PairwiseSums(values)
        corr, pairs = sums.correlation()
        if np.isnan(corr).any():
            names = [*drivers, target]
            broken = [
                f"{names[j]} and {names[k]}"
                for j, k in zip(*np.nonzero(np.isnan(corr)), strict=True)
                if j < k
            ]
            raise ValueError(
                f"surveys: {len(broken)} pair(s) of columns have fewer than two answers in common or no spread "
                f"among them ({'; '.join(broken[:5])}); leave one of each pair out of the ratings"
            )
        corr, smallest = nearest_correlation(corr)
        if smallest < 1e-8:
            caveats.append(Note("drivers.correlation_repaired", {"smallest_eigenvalue": smallest}))
        if not sums.complete:
            caveats.append(
                Note("drivers.pairwise", {"fewest_pairs": int(pairs[:-1, :-1].min()), "respondents": len(y)})
            )
        if binary:
            caveats.append(Note("drivers.binary_target", {"target": target}))
        weights = relative_weights(corr)
        r2 = float(weights.sum())

        boot = np.full((0, len(drivers)), np.nan)
        if self.n_boot > 0:
            # resample customers, not answers, when the survey says who answered
            clusters = pd.factorize(answered["customer_id"])[0] if "customer_id" in answered else None
            boot, repaired = bootstrap_weights(sums, self.n_boot, self.seed, clusters=clusters)
            if repaired:
                caveats.append(
                    Note("drivers.resamples_repaired", {"repaired": repaired, "n_boot": self.n_boot})
                )
        ranks = _ranks(weights)
        boot_ranks = _ranks(boot)
        weight_low, weight_high = _quantiles(boot, self.alpha)
        rank_low, rank_high = _quantiles(boot_ranks, self.alpha, whole=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            share_low, share_high = _quantiles(100 * boot / boot.sum(axis=1, keepdims=True), self.alpha)
        r2_low, r2_high = _quantiles(boot.sum(axis=1, keepdims=True), self.alpha)

        try:
            model, effect_name, indicators = _model(ratings[drivers], y, binary, self.min_answers)
        except (np.linalg.LinAlgError, ValueError) as err:  # e.g. a singular design: weights still stand
            model, effect_name, indicators = None, "", []
            caveats.append(Note("drivers.model_failed", {"target": target, "error": type(err).__name__}))
        if indicators:
            caveats.append(
                Note(
                    "drivers.model_not_rated",
                    {"columns": indicators, "drivers": [driver_label(c) for c in indicators]},
                )
            )
        if model is not None and binary and not model.mle_retvals.get("converged", True):
            caveats.append(Note("drivers.model_not_converged", {"target": target}))
        effect, low, high, p_values = (np.full(len(drivers), np.nan) for _ in range(4))
        p_adjusted = p_values
        if model is not None:
            conf = model.conf_int(self.alpha)
            effect = model.params[drivers].to_numpy()
            low, high = conf.loc[drivers, 0].to_numpy(), conf.loc[drivers, 1].to_numpy()
            if binary:
                effect, low, high = np.exp(effect), np.exp(low), np.exp(high)
            p_values = model.pvalues[drivers].to_numpy()
            p_adjusted = holm_adjusted(p_values)

        answers = ratings[drivers].notna().sum()
        top = ratings[drivers].max().max()
        summary = pd.DataFrame(
            {
                "term": drivers,
                "label": [driver_label(d) for d in drivers],
                "estimate": weights,
                "ci_low": weight_low,
                "ci_high": weight_high,
                "p_value": p_values,
                "p_adjusted": p_adjusted,
                "unit": "share of R²",
                "share": 100 * weights / r2 if r2 > 0 else np.nan,
                "share_low": share_low,
                "share_high": share_high,
                "rank": ranks,
                "rank_low": rank_low,
                "rank_high": rank_high,
                "share_first": (boot_ranks == 1).mean(axis=0) if len(boot) else np.nan,
                "effect": effect,
                "effect_low": low,
                "effect_high": high,
                "effect_null": 1.0 if binary else 0.0,  # no effect: odds ratio 1, difference 0
                "mean_rating": ratings[drivers].mean().to_numpy(),
                "top2_share": (ratings[drivers] >= top - 1).sum().to_numpy() / answers.to_numpy(),
                "answers": answers.to_numpy(),
                "not_applicable_share": not_applicable[drivers].mean().to_numpy(),
                "blank_share": blank[drivers].mean().to_numpy(),
            }
        ).sort_values("rank", kind="stable")
        self.summary_ = summary_frame(summary)
        self.r2_ = r2
        self.r2_ci_ = (float(r2_low[0]), float(r2_high[0]))
        self.n_ = len(y)
        self.target_ = target
        self.binary_ = binary
        self.effect_name_ = effect_name
        self.drivers_ = drivers
        self.boot_weights_ = boot
        self.model_ = model
        self.caveats_ = caveats
        return self

    def importance_performance(self, threshold: str = "mean") -> pd.DataFrame:
        """The importance-performance table of the fitted drivers (see :func:`importance_performance`)."""
        self.check_is_fitted()
        return importance_performance(self.summary_, threshold=threshold)

    def plot_importance(self, ax=None):
        """Bar chart of each driver's share of R² with its bootstrap interval; returns the Axes."""
        self.check_is_fitted()
        from cxlib.experience._plots_drivers import plot_importance

        return plot_importance(self.summary_, r2=self.r2_, ax=ax)

    def plot_matrix(self, ax=None, threshold: str = "mean"):
        """The importance-performance matrix with its quadrant lines; returns the Axes."""
        self.check_is_fitted()
        from cxlib.experience._plots_drivers import plot_importance_performance

        return plot_importance_performance(self.importance_performance(threshold), ax=ax)


def _ranks(weights: np.ndarray) -> np.ndarray:
    """Rank 1 = largest weight, along the last axis (ties share the better rank); NaN rows stay NaN."""
    ranks = (weights[..., None, :] > weights[..., :, None]).sum(axis=-1) + 1.0
    return np.where(np.isnan(weights).any(axis=-1, keepdims=True), np.nan, ranks)


def _model(ratings: pd.DataFrame, y: np.ndarray, binary: bool, min_unrated: int):
    """OLS (HC3) or logit on ratings, unrated answers as the median plus a "not rated" term each."""
    design = ratings.fillna(ratings.median())
    indicators = []
    for column in ratings.columns:
        missing = ratings[column].isna()
        # a handful of unrated answers gets no term of its own (its odds would be unidentifiable)
        if min_unrated <= missing.sum() <= len(missing) - min_unrated:
            flag = missing.astype(float)
            if not any(
                (design[other] == flag).all() for other in design.columns if other.endswith(": not rated")
            ):
                design[f"{column}: not rated"] = flag
                indicators.append(column)
    design = sm.add_constant(design, has_constant="add")
    if binary:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter; a separated fit shows in its intervals
            model = sm.Logit(y, design).fit(disp=0, maxiter=100)
        return model, "odds ratio per rating point", indicators
    return sm.OLS(y, design).fit(cov_type="HC3"), "change per rating point", indicators


def importance_performance(summary: pd.DataFrame, threshold: str = "mean") -> pd.DataFrame:
    """Place each driver in a quadrant of importance (share of R²) against performance (mean rating).

    Parameters
    ----------
    summary : DataFrame
        :attr:`KeyDrivers.summary_` (``term``, ``label``, ``share``, ``share_low``,
        ``share_high``, ``mean_rating``, ``top2_share``).
    threshold : {"mean", "median"}
        The quadrant lines: the mean (default; the usual choice since Martilla & James 1977) or the
        median importance and performance over the drivers shown.

    Returns
    -------
    DataFrame
        ``term, label, importance`` (% of R²), ``importance_low/high`` (% of R², bootstrap),
        ``performance`` (mean rating), ``top2_share``, ``quadrant`` (``fix`` = high importance and
        low performance, ``maintain`` = high and high, ``secondary`` = low and low, ``surplus`` =
        low importance, high performance), and the two lines ``importance_line`` and
        ``performance_line``.

    Examples
    --------
    >>> s = pd.DataFrame({"term": ["a", "b"], "label": ["A", "B"], "share": [70.0, 30.0],
    ...                   "share_low": [60.0, 20.0], "share_high": [80.0, 40.0],
    ...                   "mean_rating": [3.0, 4.0], "top2_share": [0.3, 0.7]})
    >>> importance_performance(s)["quadrant"].tolist()
    ['fix', 'surplus']
    """
    if threshold not in ("mean", "median"):
        raise ValueError(f"threshold: expected mean or median, got {threshold!r}")
    table = pd.DataFrame(
        {
            "term": summary["term"],
            "label": summary["label"],
            "importance": summary["share"],
            "importance_low": summary["share_low"],
            "importance_high": summary["share_high"],
            "performance": summary["mean_rating"],
            "top2_share": summary["top2_share"],
        }
    ).reset_index(drop=True)
    # relative weights are never negative: a rating whose model effect is clearly against the target
    # (higher rating, lower satisfaction) is flagged, so no one invests in it on its weight alone
    if {"effect_high", "effect_null"} <= set(summary.columns):
        table["against"] = (
            summary["effect_high"].to_numpy(float) < summary["effect_null"].to_numpy(float)
        ).tolist()
    else:
        table["against"] = False
    importance_line = float(getattr(table["importance"], threshold)())
    performance_line = float(getattr(table["performance"], threshold)())
    table["quadrant"] = [
        QUADRANTS[(bool(i > importance_line), bool(p > performance_line))]
        for i, p in zip(table["importance"], table["performance"], strict=True)
    ]
    table["importance_line"] = importance_line
    table["performance_line"] = performance_line
    return table
