"""The retention lever's engine: each active customer's survival curve, and its value under a changed hazard.

Under proportional hazards, multiplying a customer's hazard of leaving by ``h`` turns their
survival curve S0(u) into S1(u) = S0(u)^h (Cox 1972; the issue's S1 = S0^exp(beta * delta)). The
curves come from the churn capability's Weibull model (:class:`cxlib.churn.RemainingLifetime`,
fitted on its panel as notebook 04 fits it), read for the customers active at the analysis date
given the tenure each has reached; revenue per month is :func:`cxlib.value.monthly_revenue`.
Months are counted as :func:`cxlib.value.discounted_survival_value` counts them (revenue at the
end of months u = 1..H while still a customer, discounted monthly at the rate equivalent to the
annual one), so the figures agree with notebook 04's customer value.

A Monte Carlo over the hazard ratio needs sum_i M_i S0_i(u)^h for thousands of ratios. Rather
than a pass over every customer per draw, :class:`RetentionBase` tabulates, once, for ratios on a
log-spaced grid (including exactly 1), alive(h)[u] = sum_i S0_i(u)^h and revenue(h)[u] =
sum_i M_i S0_i(u)^h together with their exact derivatives in log h, and answers any ratio by cubic
Hermite interpolation in log h (error of order step^4: below 1e-6 relative on 40 points over
0.25..2, against 0.1% promised; ``tests/test_retention.py`` checks it). Ratios off the grid are
summed exactly.

Examples
--------
>>> curves = 0.95 ** np.arange(13)[None, :].repeat(2, axis=0)  # 2 customers, r = 0.95, 12 months
>>> base = RetentionBase.from_curves(curves, [10.0, 20.0])
>>> bool(np.allclose(base.alive([1.0, 2.0])[:, 1], [2 * 0.95, 2 * 0.95**2]))
True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxlib.stats._notes import Note

#: Hazard ratios the grid covers by default, and its number of points.
DEFAULT_HAZARD_RANGE = (0.1, 10.0)
DEFAULT_GRID_POINTS = 60
#: Survival is floored here before its log is taken, so S^0 = 1 and the log stays finite.
_SURVIVAL_FLOOR = 1e-30
#: Customers x months cells per block when summing over customers: bounded temporaries, and small
#: enough (1 MB of float32) to stay in cache across the ratios (200k-2M cells: 1.9-2.3 s on 300k customers).
_BLOCK_CELLS = 250_000
#: Customers per block when reading curves from the survival model.
_MODEL_BLOCK = 100_000
#: Friction columns of the churn features carried as group labels (flags and counts).
FRICTION_COLUMNS = (
    "unresolved_complaint",
    "long_wait",
    "support_contacts",
    "complaints",
    "cart_abandonments",
)
#: Group columns carried from the customers' features, when present.
GROUP_COLUMNS = ("plan", "region", "acquisition_channel")


@dataclass
class RetentionBase:
    """Active customers' survival curves and revenue, with a grid for fast sums under changed hazards.

    Build it with :func:`retention_base` (from the data) or :meth:`from_curves` (from numbers).

    Attributes
    ----------
    survival : ndarray, float32, customers x (H + 1)
        S0_i(u) for u = 0..H months ahead, given the tenure reached (first column all ones).
    revenue_per_month : ndarray, customers
        M_i.
    groups : DataFrame
        One row per customer, in the same order: ``customer_id`` when known, group labels
        (``segment_name``, ``plan``, ...) and the friction columns of the churn features.
    horizon_months : int
        H.
    hazard_grid : ndarray
        The ratios tabulated (log-spaced, exactly 1 among them).
    model : RemainingLifetime or None
        The fitted survival model (None for hand-made curves).
    driver_scale : dict
        SD of each numeric friction driver on the churn panel (the unit of the Cox model's per-SD
        hazard ratio), for :func:`cxlib.impact.friction_what_if`.
    notes : list of Note
        The survival model's caveats, customers left out for want of revenue, revenue unknown.
    scoring : DataFrame or None
        The churn features of the current customers at the as-of date
        (:func:`cxlib.churn.scoring_features`, all of them) when built from the data: others read
        profiles from it instead of computing the features again (half a minute at 1M customers).
    """

    survival: np.ndarray
    revenue_per_month: np.ndarray
    groups: pd.DataFrame
    horizon_months: int
    hazard_grid: np.ndarray
    model: object = None
    driver_scale: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    scoring: pd.DataFrame | None = field(default=None, repr=False)
    _grids: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_curves(
        cls,
        survival,
        revenue_per_month,
        groups: pd.DataFrame | None = None,
        hazard_range: tuple[float, float] = DEFAULT_HAZARD_RANGE,
        grid_points: int = DEFAULT_GRID_POINTS,
        **extra,
    ) -> RetentionBase:
        """A base from survival curves given as numbers (customers x (H + 1), S(0) = 1) and revenues.

        Raises
        ------
        ValueError
            When the curves are not 2-D with at least two months, leave [0, 1], or the revenues
            do not match them.
        """
        curves = np.asarray(survival, dtype=np.float32)
        if curves.ndim != 2 or curves.shape[1] < 2:
            raise ValueError(
                f"survival has shape {curves.shape}; expected customers x (H + 1) months, H >= 1"
            )
        if not (np.isfinite(curves).all() and curves.min(initial=0) >= 0 and curves.max(initial=1) <= 1):
            raise ValueError("survival: every value must be a probability in [0, 1]")
        revenue = np.broadcast_to(np.asarray(revenue_per_month, dtype=float), (len(curves),)).copy()
        if not np.isfinite(revenue).all():
            raise ValueError(
                "revenue_per_month: every customer needs a finite revenue (drop or fill them first)"
            )
        groups = pd.DataFrame(index=range(len(curves))) if groups is None else groups.reset_index(drop=True)
        if len(groups) != len(curves):
            raise ValueError(f"groups has {len(groups)} rows for {len(curves)} survival curves")
        return cls(
            curves,
            revenue,
            groups,
            curves.shape[1] - 1,
            hazard_grid(*hazard_range, grid_points),
            **extra,
        )

    @property
    def customers(self) -> int:
        """Number of customers in the base."""
        return len(self.survival)

    def alive(self, hazard_ratios, mask=None, exact: bool = False) -> np.ndarray:
        """Expected customers still there u = 0..H months ahead when every hazard is multiplied by h.

        sum_i S0_i(u)^h over the customers in ``mask`` (default all), by interpolation on the grid
        (``exact=False``) or summed over the customers.

        Parameters
        ----------
        hazard_ratios : float or array-like
            h (> 0; 0 allowed with ``exact``).
        mask : array-like of bool, optional
            The customers counted (one flag per customer).
        exact : bool

        Returns
        -------
        ndarray
            len(hazard_ratios) x (H + 1).
        """
        return self._sums(hazard_ratios, mask, exact)[0]

    def revenue(self, hazard_ratios, mask=None, exact: bool = False) -> np.ndarray:
        """Expected revenue in month u = 0..H ahead, sum_i M_i S0_i(u)^h (see :meth:`alive`)."""
        return self._sums(hazard_ratios, mask, exact)[1]

    def _sums(self, hazard_ratios, mask, exact) -> tuple[np.ndarray, np.ndarray]:
        ratios = np.atleast_1d(np.asarray(hazard_ratios, dtype=float))
        if ratios.ndim != 1 or not (np.isfinite(ratios).all() and (ratios >= 0).all()):
            raise ValueError("hazard_ratios: expected finite ratios >= 0, as a number or a 1-D array")
        rows = self._rows(mask)
        if exact:
            values = _power_sums(self.survival, self.revenue_per_month, ratios, rows)
            return values[0], values[2]
        grid = self._grid(rows)
        log_ratio = np.log(np.where(ratios > 0, ratios, np.nan))
        inside = (log_ratio >= grid.log_h[0]) & (log_ratio <= grid.log_h[-1])
        alive = np.empty((len(ratios), self.horizon_months + 1))
        revenue = np.empty_like(alive)
        alive[inside] = _hermite(grid.log_h, grid.alive, grid.alive_slope, log_ratio[inside])
        revenue[inside] = _hermite(grid.log_h, grid.revenue, grid.revenue_slope, log_ratio[inside])
        if (~inside).any():  # off the grid: summed exactly (a few ratios, one pass)
            values = _power_sums(self.survival, self.revenue_per_month, ratios[~inside], rows)
            alive[~inside], revenue[~inside] = values[0], values[2]
        return alive, revenue

    def _rows(self, mask) -> np.ndarray | None:
        if mask is None:
            return None
        flags = np.asarray(mask, dtype=bool)
        if flags.shape != (self.customers,):
            raise ValueError(
                f"mask has shape {flags.shape}; expected one flag per customer ({self.customers},)"
            )
        return np.flatnonzero(flags)

    def _grid(self, rows: np.ndarray | None) -> _Grid:
        key = "all" if rows is None else hashlib.blake2b(rows.tobytes(), digest_size=16).hexdigest()
        if key not in self._grids:
            if len(self._grids) > 32:  # masks come and go: keep the cache bounded
                self._grids.clear()
            sums = _power_sums(self.survival, self.revenue_per_month, self.hazard_grid, rows)
            self._grids[key] = _Grid(np.log(self.hazard_grid), *sums)
        return self._grids[key]

    def discount_weights(self, annual_discount_rate: float) -> np.ndarray:
        """Weight of month u = 0..H in a discounted sum: 0 at u = 0, (1 + d)^-u after.

        As :func:`cxlib.value.discounted_survival_value`: revenue is counted at the end of months
        1..H, discounted monthly at :func:`cxlib.value.periodic_discount_rate` of the annual rate.
        """
        from cxlib.value._subscription import periodic_discount_rate

        rate = periodic_discount_rate(annual_discount_rate, 12)
        weights = (1.0 + rate) ** -np.arange(self.horizon_months + 1, dtype=float)
        weights[0] = 0.0
        return weights


@dataclass(frozen=True)
class _Grid:
    log_h: np.ndarray
    alive: np.ndarray
    alive_slope: np.ndarray
    revenue: np.ndarray
    revenue_slope: np.ndarray


def hazard_grid(low: float = 0.25, high: float = 2.0, points: int = DEFAULT_GRID_POINTS) -> np.ndarray:
    """Hazard ratios evenly spaced in log h from ``low`` to ``high``, with exactly 1 among them.

    The points below and above 1 share the available count in proportion to their stretch of
    log h, so the spacing is nearly even.

    Examples
    --------
    >>> grid = hazard_grid(0.25, 2.0, 40)
    >>> len(grid), float(grid[0]), 1.0 in grid, float(grid[-1])
    (40, 0.25, True, 2.0)
    """
    if not (0 < low < 1 < high) or points < 4:
        raise ValueError(
            f"hazard grid ({low}, {high}, {points} points): expected 0 < low < 1 < high and >= 4 points"
        )
    span_low, span_high = -np.log(low), np.log(high)
    steps_low = max(1, round((points - 1) * span_low / (span_low + span_high)))
    steps_high = max(1, points - 1 - steps_low)
    log_h = np.concatenate(
        [np.linspace(np.log(low), 0.0, steps_low + 1), np.linspace(0.0, np.log(high), steps_high + 1)[1:]]
    )
    grid = np.exp(log_h)
    grid[steps_low] = 1.0
    grid[0], grid[-1] = low, high
    return grid


def _power_sums(survival, revenue, ratios, rows) -> tuple[np.ndarray, ...]:
    """sum_i S_i^h, its derivative in log h, sum_i M_i S_i^h and its derivative, per ratio and month.

    With x = h log S, d/d(log h) S^h = x S^h. Blocks of customers are taken in turn, so the
    temporaries stay near :data:`_BLOCK_CELLS` values whatever the base's size; powers are taken in
    float32 (the curves' precision), summed per block along contiguous memory (numpy's pairwise
    summation, relative error near 1e-7) and the blocks accumulated in float64; numpy's own
    reductions, no BLAS, so the result does not depend on the machine's linear-algebra library.
    """
    months = survival.shape[1]
    out = np.zeros((4, len(ratios), months))
    count = survival.shape[0] if rows is None else len(rows)
    block = max(1, _BLOCK_CELLS // months)
    factors = ratios.astype(np.float32)
    for start in range(0, count, block):
        part = slice(start, start + block) if rows is None else rows[start : start + block]
        # months x customers, so each month's sum runs along contiguous memory (pairwise summation)
        log_s = np.log(np.maximum(survival[part], np.float32(_SURVIVAL_FLOOR))).T.copy()
        money = revenue[part].astype(np.float32)
        x, powered = np.empty_like(log_s), np.empty_like(log_s)
        for k, factor in enumerate(factors):  # in place: no allocation per ratio
            np.multiply(log_s, factor, out=x)
            np.exp(x, out=powered)
            np.multiply(x, powered, out=x)  # the slope x S^h
            out[0, k] += powered.sum(axis=1)
            out[1, k] += x.sum(axis=1)
            powered *= money
            x *= money
            out[2, k] += powered.sum(axis=1)
            out[3, k] += x.sum(axis=1)
    return tuple(out)


def _hermite(knots: np.ndarray, values: np.ndarray, slopes: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Cubic Hermite interpolation of ``values`` (knots x months) with their ``slopes`` at ``points``."""
    k = np.clip(np.searchsorted(knots, points, side="right") - 1, 0, len(knots) - 2)
    step = (knots[k + 1] - knots[k])[:, None]
    s = ((points - knots[k])[:, None]) / step
    s2, s3 = s * s, s * s * s
    h00, h10 = 2 * s3 - 3 * s2 + 1, s3 - 2 * s2 + s
    h01, h11 = -2 * s3 + 3 * s2, s3 - s2
    return h00 * values[k] + h10 * step * slopes[k] + h01 * values[k + 1] + h11 * step * slopes[k + 1]


def retention_base(
    data,
    config,
    segments: pd.DataFrame | None = None,
    hazard_range: tuple[float, float] = DEFAULT_HAZARD_RANGE,
    grid_points: int = DEFAULT_GRID_POINTS,
) -> RetentionBase:
    """Survival curves and revenue per month of every customer active at the analysis date.

    Fits :class:`cxlib.churn.RemainingLifetime` on the churn panel (as
    :func:`cxlib.value.subscription_value` does), reads S(tenure + u) / S(tenure) for u = 0..H
    (H = ``analysis.horizon_months``) for the customers of :func:`cxlib.churn.scoring_features`,
    and their revenue per month (:func:`cxlib.value.monthly_revenue`, from
    ``value.monthly_revenue`` or the last 12 months' purchases). Customers without a revenue are
    left out (a note says how many); without any revenue source each month counts 1 (the value is
    then in months as a customer).

    Parameters
    ----------
    data : CustomerData
    config : Config
    segments : DataFrame, optional
        ``customer_id`` and ``segment_name`` (notebook 01's table): carried as a group label.
    hazard_range : (float, float)
        Hazard ratios the grid covers (others are summed exactly, more slowly).
    grid_points : int

    Returns
    -------
    RetentionBase

    Examples
    --------
    >>> base = retention_base(data, config, segments)  # doctest: +SKIP
    >>> base.revenue([0.9])[0, 1:] @ base.discount_weights(0.08)[1:]  # doctest: +SKIP
    """
    from cxlib.churn import lifetime_fit
    from cxlib.value._subscription_value import monthly_revenue

    horizon = int(config.analysis["horizon_months"])
    fit = lifetime_fit(data, config)  # notebook 02's fit when this run made it (same data and config)
    model, current = fit.model, fit.current
    notes = list(model.caveats_)
    column = config.section("value").get("monthly_revenue")
    if column is None and not data.has("transactions"):
        revenue = pd.Series(1.0, index=pd.Index(current["customer_id"]))
        notes.append(Note("impact.revenue_unknown", {"customers": len(current)}))
    else:
        engine = config.values["data"].get("engine") or "pandas"
        revenue = monthly_revenue(data, column, pd.Index(current["customer_id"]), engine)
    known = revenue.notna().to_numpy()
    if (~known).any():
        notes.append(Note("impact.revenue_missing", {"customers": int((~known).sum())}))
    current = current.loc[known].reset_index(drop=True)
    survival = np.empty((len(current), horizon + 1), dtype=np.float32)
    for start in range(0, len(current), _MODEL_BLOCK):  # float64 only one block at a time
        part = slice(start, start + _MODEL_BLOCK)
        survival[part] = model.conditional_survival(current.iloc[part], horizon)
    groups = current[["customer_id"] + [c for c in GROUP_COLUMNS + FRICTION_COLUMNS if c in current]]
    if segments is not None:
        names = segments.drop_duplicates("customer_id").set_index("customer_id")["segment_name"]
        labels = names.reindex(groups["customer_id"]).astype("string").fillna("unknown").to_numpy()
        groups.insert(1, "segment_name", labels)
    scale = {c: fit.panel_std[c] for c in FRICTION_COLUMNS if c in fit.numeric}
    return RetentionBase.from_curves(
        survival,
        revenue.to_numpy()[known],
        groups,
        hazard_range,
        grid_points,
        model=model,
        driver_scale=scale,
        notes=notes,
        scoring=fit.current,
    )


def retention_gain(
    base: RetentionBase,
    hazard_ratio,
    spend_ratio=1.0,
    margin: float = 1.0,
    annual_discount_rate: float = 0.0,
    mask=None,
) -> pd.DataFrame:
    """Change over the horizon when the hazard is multiplied by h and spend by s, per draw (grid-fast).

    customer-months: sum_{u=1..H} [alive(h)[u] - alive(1)[u]];
    revenue: sum_{u=1..H} d(u) [s revenue(h)[u] - revenue(1)[u]]; margin: ``margin`` x revenue.
    Vectorised over draws: one row per (h, s) pair, for the Monte Carlo.

    Parameters
    ----------
    base : RetentionBase
    hazard_ratio, spend_ratio : float or array-like
        Broadcast against each other (e.g. 10,000 draws of each).
    margin : float
        Margin on revenue (e.g. ``analysis.margin``).
    annual_discount_rate : float
    mask : array-like of bool, optional
        The customers concerned (default all).

    Returns
    -------
    DataFrame
        ``hazard_ratio``, ``spend_ratio``, ``customer_months``, ``revenue``, ``margin``.

    Examples
    --------
    >>> retention_gain(base, [0.9, 0.8], 1.0, 0.3, 0.08)  # doctest: +SKIP
    """
    ratios, spend = np.broadcast_arrays(
        np.atleast_1d(np.asarray(hazard_ratio, dtype=float)),
        np.atleast_1d(np.asarray(spend_ratio, dtype=float)),
    )
    weights = base.discount_weights(annual_discount_rate)
    alive, revenue = base._sums(ratios, mask, False)
    alive0, revenue0 = base._sums(np.ones(1), mask, False)
    months = alive[:, 1:].sum(axis=1) - alive0[0, 1:].sum()
    money = spend * (revenue * weights).sum(axis=1) - (revenue0[0] * weights).sum()
    return pd.DataFrame(
        {
            "hazard_ratio": ratios,
            "spend_ratio": spend,
            "customer_months": months,
            "revenue": money,
            "margin": margin * money,
        }
    )
