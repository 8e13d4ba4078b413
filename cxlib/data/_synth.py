"""Seeded synthetic company with planted, documented ground truth.

The generator simulates a membership retailer month by month: customers sign up, buy with a
segment-specific rate and basket, meet touchpoints (delivery, product, support, digital, value)
whose quality is correlated, contact support, complain, wait, answer surveys (non-randomly),
refer friends (more if they are promoters), and cancel with a proportional hazard driven by
named factors. A pilot CX programme is randomised among active customers part-way through.

Everything planted is written to ``ground_truth.json`` beside the tables (see ``data/README.md``);
the raw tables look like a real export: their own column names, refunds, a few duplicate rows,
missing optional fields.

Examples
--------
>>> from cxlib.data._synth import generate
>>> demo = generate(n_customers=500, seed=1)
>>> sorted(demo.tables)
['customers', 'interactions', 'programme', 'referrals', 'surveys', 'transactions']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

AS_OF = pd.Timestamp("2025-12-31")
N_MONTHS = 36
START = pd.Timestamp("2023-01-01")

SEGMENTS = pd.DataFrame(
    {
        "name": [
            "Occasional bargain hunters",
            "Regular mainstream",
            "High-value frequent",
            "Big-basket occasional",
        ],
        "share": [0.40, 0.30, 0.12, 0.18],
        "orders_per_month": [0.55, 1.5, 4.4, 0.65],
        "mean_order_value": [22.0, 45.0, 75.0, 150.0],
        "base_monthly_hazard": [0.045, 0.027, 0.015, 0.033],
        # order channel mix: web, app, store
        "p_web": [0.70, 0.30, 0.20, 0.25],
        "p_app": [0.10, 0.30, 0.70, 0.05],
        "p_store": [0.20, 0.40, 0.10, 0.70],
        # plan mix: basic, standard, premium
        "p_basic": [0.70, 0.40, 0.15, 0.30],
        "p_standard": [0.25, 0.45, 0.45, 0.40],
        "p_premium": [0.05, 0.15, 0.40, 0.30],
    }
)

TOUCHPOINTS = ["delivery", "product", "support", "digital", "value"]
#: Weights of each touchpoint's experience in latent satisfaction (sum to 1).
SATISFACTION_WEIGHTS = {"delivery": 0.34, "product": 0.26, "support": 0.18, "digital": 0.13, "value": 0.09}
TOUCHPOINT_CORRELATION = 0.35
#: Centre of each touchpoint's 1-5 rating (before noise, rounding and clipping): how well the company
#: performs there. Delivery matters most and scores lowest, so an importance-performance matrix has
#: a clear "invest first" touchpoint; digital matters little and scores well.
RATING_CENTRES = {"delivery": 3.3, "product": 4.0, "support": 3.4, "digital": 3.9, "value": 3.6}
SATISFACTION_NOISE_SD = 0.25  # idiosyncratic part of latent satisfaction, before standardising

#: Planted log hazard ratios of monthly cancellation (proportional hazards, cloglog link).
HAZARD_RATIOS = {
    "unresolved_complaint": 2.0,  # from the month after a complaint is left unresolved
    "long_wait": 1.5,  # from the month after a wait of more than 20 minutes
    "satisfaction_per_sd": 0.75,  # per +1 SD of latent satisfaction
    "plan_standard": 0.85,  # vs basic
    "plan_premium": 0.65,  # vs basic
    "acquisition_social": 1.30,  # vs every other acquisition channel
    "programme_treatment": 0.75,  # pilot, from its start
}
#: Planted non-linear effects, outside :data:`HAZARD_RATIOS` (which holds one ratio per effect).
#: Age: hazard ratio at each knot age, linear in between (``np.interp``, exact arithmetic) and flat
#: beyond the ends: none up to 35, rising to 2.2 at 47, a plateau to 58, back to none at 70 (churn
#: peaks in middle age, the shape linear terms cannot show).
AGE_HAZARD_KNOTS = {18: 1.0, 35: 1.0, 47: 2.2, 58: 2.2, 70: 1.0, 85: 1.0}
AGE_MEAN, AGE_SD, AGE_RANGE = 45.0, 14.0, (18, 85)
#: Number of products held (1-5): share of customers and hazard ratio against 2 products, irregular
#: and U-shaped (one product and four or more churn most; three a little more than two).
PRODUCTS_SHARE = {1: 0.34, 2: 0.34, 3: 0.18, 4: 0.09, 5: 0.05}
PRODUCTS_HAZARD_RATIOS = {1: 1.8, 2: 1.0, 3: 1.3, 4: 2.4, 5: 3.2}
#: The age and products ratios average about 1.62 and 1.56 over customers: scaling both by 0.4
#: (about 1 / (1.62 x 1.56)) keeps the segments' base hazards those of a typical customer and the
#: overall churn level where it was before these effects were planted.
NONLINEAR_HAZARD_SCALE = 0.4
WEIBULL_SHAPE = 0.75  # < 1: hazard falls with tenure
LONG_WAIT_MINUTES = 20
PROGRAMME_START = pd.Timestamp("2025-04-01")
PROGRAMME_SPEND_UPLIFT = 1.08
PROGRAMME_SHARE = 0.15  # of customers active at the start, split 50/50
#: Pilot designs :func:`generate` can plant: a randomised pilot (the default), or a targeted one.
PILOT_DESIGNS = ("randomised", "targeted")
#: Targeted pilot: every customer active 3+ months at the start is listed, and is enrolled
#: (treatment; the others are the control group) with probability
#: ``expit(intercept + premium * [plan is premium] + log_orders * log(1 + orders))``, ``orders``
#: being the customer's orders in the 3 calendar months before the start. Both are visible in the
#: data and both go with lower churn and higher spend (premium plans churn less, frequent buyers are
#: mostly the high-value segment), so a naive treated-vs-control comparison flatters the programme.
TARGETED_PILOT_LOGIT = {"intercept": -2.8, "premium": 1.5, "log_orders": 1.0}
TARGETED_PILOT_MONTHS_BEFORE = 3
#: Referrals per active month by the NPS class of the customer's latest survey answer (from the first
#: day of the month after the answer); customers who have not answered yet refer at the "no_answer"
#: rate. Each referral is a friend who signs up on the referral date (acquisition channel "referral").
REFERRAL_RATE_BY_LATEST_NPS_CLASS = {
    "promoter": 0.030,
    "passive": 0.012,
    "detractor": 0.004,
    "no_answer": 0.010,
}
NPS_CLASSES = ("no_answer", "detractor", "passive", "promoter")
#: Loyal customers spend more per order: an order placed in a month when the customer's latest NPS
#: class (as at the start of the month, as for referrals) is promoter has its amount multiplied by
#: this; order counts do not change.
PROMOTER_SPEND_UPLIFT = 1.15
#: An unresolved complaint dated before the first day of the answer's month lowers the answer's latent
#: score by this many NPS points (before rounding and clipping to 0-10); CSAT by half as many points
#: of its 1-5 scale (the same shift of the latent mood, 0.9 / 1.8 of it).
NPS_EFFECT_UNRESOLVED_COMPLAINT = -1.5
#: Support ratings are "not applicable" for 55% of answers and written as this code (the survey's own
#: N/A answer), other ratings are skipped (blank) for 8%.
NOT_APPLICABLE_CODE = 0
REGIONS = ["North", "South", "East", "West", "Central"]
REGION_P = [0.22, 0.20, 0.18, 0.22, 0.18]
REGION_MEAN_WAIT = {"North": 6.0, "South": 7.0, "East": 14.0, "West": 6.0, "Central": 8.0}
REGION_P_RESOLVED = {"North": 0.75, "South": 0.72, "East": 0.55, "West": 0.75, "Central": 0.70}
#: Channels of customers not acquired by referral; referred friends come from the referral process.
ACQUISITION = ["organic", "paid_search", "social", "partner"]
ACQUISITION_P = [0.37, 0.30, 0.21, 0.12]
STABLE_DECIMALS = 12
SEASONALITY = np.array([0.80, 0.85, 0.95, 1.0, 1.0, 0.95, 0.9, 0.95, 1.0, 1.05, 1.25, 1.5])


@dataclass
class SyntheticCompany:
    """Output of :func:`generate`.

    Attributes
    ----------
    tables : dict of str to DataFrame
        Raw tables as a company would export them (their own column names).
    truth : dict
        Planted parameters, written as ``ground_truth.json``.
    customer_truth : DataFrame
        Per-customer latent values (segment, satisfaction, NPS category, cancellation).
    """

    tables: dict[str, pd.DataFrame]
    truth: dict
    customer_truth: pd.DataFrame


def _stable(values, decimals: int = STABLE_DECIMALS):
    """Round a continuous value before it decides a draw, so the demo is identical on every CPU.

    Transcendental functions (``np.exp``, ``np.log``, ``**``) may differ in the last bit between
    the vector instructions of two CPUs (AVX2 vs AVX-512 loops). Rounding to 12 decimals before a
    value is compared with a uniform draw or a threshold makes such a difference change a draw only
    if the value lies within one last bit of a rounding boundary: vanishingly unlikely, and the
    fingerprint test in ``tests/test_synth.py`` would catch it. Plain ``+ - * /`` and ``sqrt`` are
    exactly rounded by IEEE 754, so they need no rounding.
    """
    return np.round(values, decimals)


def _equicorrelated_normals(rng: np.random.Generator, n: int, k: int, rho: float) -> np.ndarray:
    """``n`` draws of ``k`` standard normals with pairwise correlation ``rho``, without linear algebra.

    Each column is ``sqrt(rho) * common + sqrt(1 - rho) * own``: the same distribution as
    ``rng.multivariate_normal`` with an equicorrelated covariance, but built by element-wise
    arithmetic, whereas ``multivariate_normal`` factorises the covariance with an SVD whose output
    depends on the machine's BLAS/LAPACK kernel (seed 42 gave three different demos on three CPUs).
    """
    common = rng.standard_normal(n)
    own = rng.standard_normal((n, k))
    return np.sqrt(rho) * common[:, None] + np.sqrt(1 - rho) * own


def _satisfaction_sd() -> float:
    """Population SD of the weighted touchpoint experience plus noise (weights w, correlation rho)."""
    w = [SATISFACTION_WEIGHTS[t] for t in TOUCHPOINTS]
    rho = TOUCHPOINT_CORRELATION
    variance = (1 - rho) * sum(x * x for x in w) + rho * sum(w) ** 2 + SATISFACTION_NOISE_SD**2
    return float(np.sqrt(variance))


def _latent_customers(rng: np.random.Generator, n: int) -> pd.DataFrame:
    segment = rng.choice(len(SEGMENTS), size=n, p=SEGMENTS["share"].to_numpy())
    seg = SEGMENTS.iloc[segment].reset_index(drop=True)
    plan_u = rng.random(n)
    plan = np.where(
        plan_u < seg["p_basic"],
        "basic",
        np.where(plan_u < seg["p_basic"] + seg["p_standard"], "standard", "premium"),
    )
    experience = _equicorrelated_normals(rng, n, len(TOUCHPOINTS), TOUCHPOINT_CORRELATION)
    satisfaction_raw = rng.normal(0, SATISFACTION_NOISE_SD, n)
    for j, tp in enumerate(TOUCHPOINTS):  # element-wise, in a fixed order: no BLAS kernel decides the sum
        satisfaction_raw = satisfaction_raw + SATISFACTION_WEIGHTS[tp] * experience[:, j]
    # standardised by the known population SD (not the sample's): "per SD" means the same at every size
    satisfaction = _stable(satisfaction_raw / _satisfaction_sd())
    true_nps = _stable(7.2 + 1.8 * satisfaction)
    # signups grow over time (more recent months get more new customers); 3%/month, rounded weights
    month_w = _stable(1.03 ** np.arange(N_MONTHS - 1, dtype=float))
    signup_month = rng.choice(N_MONTHS - 1, size=n, p=month_w / month_w.sum())
    frame = pd.DataFrame(
        {
            "segment": segment,
            "plan": plan,
            "region": rng.choice(REGIONS, size=n, p=REGION_P),
            "acquisition_channel": rng.choice(ACQUISITION, size=n, p=ACQUISITION_P),
            "satisfaction": satisfaction,
            "nps_category": np.where(
                true_nps >= 8.5, "promoter", np.where(true_nps <= 6.5, "detractor", "passive")
            ),
            "signup_month": signup_month,
            "signup_day_frac": rng.random(n),
            # customer-level heterogeneity around the segment's rate and basket
            "rate": seg["orders_per_month"].to_numpy() * rng.gamma(8.0, 1 / 8.0, n),
            "basket": seg["mean_order_value"].to_numpy() * rng.lognormal(-0.02, 0.2, n),
        }
    )
    for j, tp in enumerate(TOUCHPOINTS):
        frame[f"experience_{tp}"] = experience[:, j]
    # whole years, so the age effect below is exact arithmetic on integers
    frame["age"] = np.clip(np.round(rng.normal(AGE_MEAN, AGE_SD, n)), *AGE_RANGE).astype(int)
    frame["products"] = rng.choice(list(PRODUCTS_SHARE), size=n, p=list(PRODUCTS_SHARE.values()))
    return frame


def age_hazard_ratio(age) -> np.ndarray:
    """Planted hazard ratio of each age (:data:`AGE_HAZARD_KNOTS`, linear between the knots)."""
    return np.interp(np.asarray(age, float), list(AGE_HAZARD_KNOTS), list(AGE_HAZARD_KNOTS.values()))


def _log_hazard(cust: pd.DataFrame) -> np.ndarray:
    """Time-invariant part of the log hazard (segment base, satisfaction, plan, acquisition, age, products)."""
    hr = HAZARD_RATIOS
    base = np.log(SEGMENTS["base_monthly_hazard"].to_numpy()[cust["segment"]])
    products = cust["products"].map(PRODUCTS_HAZARD_RATIOS).to_numpy(dtype=float)
    return (
        base
        + np.log(NONLINEAR_HAZARD_SCALE * age_hazard_ratio(cust["age"]) * products)
        + np.log(hr["satisfaction_per_sd"]) * cust["satisfaction"].to_numpy()
        + np.log(hr["plan_standard"]) * (cust["plan"] == "standard").to_numpy()
        + np.log(hr["plan_premium"]) * (cust["plan"] == "premium").to_numpy()
        + np.log(hr["acquisition_social"]) * (cust["acquisition_channel"] == "social").to_numpy()
    )


def _events(rng, idx, counts, month_start, days, lo_frac, hi_frac):
    """Expand per-customer counts into event rows with a day inside each customer's live window."""
    rows = np.repeat(idx, counts)
    frac = lo_frac[rows] + rng.random(rows.size) * (hi_frac[rows] - lo_frac[rows])
    dates = month_start + pd.to_timedelta(np.floor(frac * days).astype(int), unit="D")
    return rows, dates


def _simulate(  # noqa: C901
    rng: np.random.Generator,
    cust: pd.DataFrame,
    n_base: int,
    programme_members: dict,
    pilot: str = "randomised",
) -> dict:
    """Month by month: cancellations, orders, friction, survey answers and referrals.

    ``cust`` holds ``n_base`` customers acquired through the other channels, then a reserve of
    referral-acquired friends: a referral activates the next friend, who signs up on the referral
    date and from then on buys, contacts, cancels and refers like everyone else.
    """
    n = len(cust)
    signup_month = cust["signup_month"].to_numpy().copy()
    signup_frac = cust["signup_day_frac"].to_numpy().copy()
    next_friend = n_base
    latest_class = np.zeros(n, np.int8)  # index into NPS_CLASSES, as at the start of the month
    class_rate = np.array([REFERRAL_RATE_BY_LATEST_NPS_CLASS[c] for c in NPS_CLASSES])
    static_eta = _log_hazard(cust)
    unresolved = np.zeros(n, bool)
    long_wait = np.zeros(n, bool)
    churn_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    alive_months = np.zeros(n)
    treated = np.zeros(n, bool)
    out = {k: [] for k in ("orders", "contacts", "complaints", "carts", "surveys", "referrals")}
    region = cust["region"].to_numpy()
    mean_wait = np.vectorize(REGION_MEAN_WAIT.get)(region)
    p_resolved = np.vectorize(REGION_P_RESOLVED.get)(region)
    s = cust["satisfaction"].to_numpy()
    rate = cust["rate"].to_numpy()
    months = pd.date_range(START, periods=N_MONTHS, freq="MS")
    prog_month = months.get_loc(PROGRAMME_START)
    for m, month_start in enumerate(months):
        days = month_start.days_in_month
        alive = (signup_month <= m) & np.isnat(churn_date)
        if m == prog_month:
            if pilot == "targeted":
                recent = out["orders"][-TARGETED_PILOT_MONTHS_BEFORE:]
                orders_before = np.bincount(np.concatenate([o[0] for o in recent]), minlength=n)
                assigned = _assign_targeted(
                    rng, signup_month, alive, m, cust["plan"].to_numpy(), orders_before
                )
            else:
                assigned = _assign_programme(rng, signup_month, alive, m)
            programme_members.update(assigned)
            treated[programme_members["treatment"]] = True
        eta = (
            static_eta
            + np.log(HAZARD_RATIOS["unresolved_complaint"]) * unresolved
            + np.log(HAZARD_RATIOS["long_wait"]) * long_wait
            + np.log(HAZARD_RATIOS["programme_treatment"]) * treated
        )
        u_churn, u_day = rng.random(n), rng.random(n)
        lo, hi = np.zeros(n), np.ones(n)
        # cancellations of this month's customers, then referrals, whose friends sign up on the
        # referral date and may cancel or refer (friends of friends) in the rest of the month
        pool = np.flatnonzero(alive)
        while pool.size:
            lo[pool] = np.where(signup_month[pool] == m, signup_frac[pool], 0.0)
            tenure = np.maximum(m - signup_month[pool] + (1 - lo[pool]), 1e-3)
            # Weibull cumulative hazard increment over the rest of the month, scaled by the covariates
            d_h = (
                tenure**WEIBULL_SHAPE - np.maximum(tenure - (1 - lo[pool]), 0) ** WEIBULL_SHAPE
            ) / WEIBULL_SHAPE
            p_churn = _stable(1 - np.exp(-d_h * np.exp(eta[pool])))
            leaving = pool[u_churn[pool] < p_churn]
            hi[leaving] = lo[leaving] + u_day[leaving] * (1 - lo[leaving])
            churn_date[leaving] = (
                month_start + pd.to_timedelta(np.floor(hi[leaving] * days), unit="D")
            ).to_numpy()
            # referrals at the rate of each referrer's class at the start of the month
            n_referrals = rng.poisson(_stable(class_rate[latest_class[pool]] * (hi[pool] - lo[pool])))
            rows_r, dates_r = _events(rng, pool, n_referrals, month_start, days, lo, hi)
            friends = np.arange(next_friend, next_friend + rows_r.size)
            if friends.size and friends[-1] >= n:
                raise RuntimeError("the reserve of referred friends ran out; enlarge it in generate()")
            next_friend += rows_r.size
            signup_month[friends] = m
            # the friend signs up on the referral date (mid-day, so floor(frac * days) is that day)
            signup_frac[friends] = ((dates_r - month_start).days.to_numpy() + 0.5) / days
            out["referrals"].append((rows_r, friends, dates_r))
            alive[friends] = True
            pool = friends
        idx = np.flatnonzero(alive)
        exposure = np.where(alive, hi - lo, 0.0)
        alive_months += exposure
        # orders
        season = SEASONALITY[month_start.month - 1]
        n_orders = rng.poisson(_stable(rate[idx] * season * exposure[idx]))
        rows, dates = _events(rng, idx, n_orders, month_start, days, lo, hi)
        out["orders"].append((rows, dates, treated[rows].copy(), latest_class[rows].copy()))
        # service contacts, complaints, cart abandonment: friction rises as satisfaction falls
        n_contacts = rng.poisson(_stable(0.10 * np.exp(-0.35 * s[idx]) * exposure[idx]))
        rows, dates = _events(rng, idx, n_contacts, month_start, days, lo, hi)
        # waits as exported (0.1 minute), so "more than 20 minutes" is the rule a reader can check
        waits = np.round(rng.lognormal(_stable(np.log(mean_wait[rows]) - 0.3), 0.75), 1)
        out["contacts"].append((rows, dates, waits))
        long_wait[rows[waits > LONG_WAIT_MINUTES]] = True
        unresolved_at_start = unresolved.copy()  # complaints of earlier months: what shapes answers
        n_complaints = rng.poisson(_stable(0.025 * np.exp(-0.7 * s[idx]) * exposure[idx]))
        rows, dates = _events(rng, idx, n_complaints, month_start, days, lo, hi)
        resolved = rng.random(rows.size) < p_resolved[rows]
        out["complaints"].append((rows, dates, resolved))
        unresolved[rows[~resolved]] = True
        n_carts = rng.poisson(
            _stable(0.08 * np.exp(-0.4 * cust["experience_digital"].to_numpy()[idx]) * exposure[idx])
        )
        out["carts"].append(_events(rng, idx, n_carts, month_start, days, lo, hi))
        # surveys: engaged customers, very (un)happy customers and recent complainers answer more
        complained_now = np.zeros(n, bool)
        complained_now[rows] = True
        p_answer = 0.012 * rate**0.4 * (1 + 0.8 * (np.abs(s) > 1)) * (1 + 1.5 * complained_now)
        answers = rng.random(idx.size) < _stable(np.clip(p_answer[idx] * exposure[idx], 0, 1))
        rows, dates = _events(rng, idx[answers], np.ones(answers.sum(), int), month_start, days, lo, hi)
        moment = s[rows] + rng.normal(0, 0.45, rows.size)  # today's mood
        hurt = NPS_EFFECT_UNRESOLVED_COMPLAINT * unresolved_at_start[rows]
        nps = np.clip(np.round(_stable(7.2 + 1.8 * moment + hurt)), 0, 10).astype(int)
        csat = np.clip(np.round(_stable(3.9 + 0.9 * moment + 0.5 * hurt)), 1, 5).astype(int)
        out["surveys"].append((rows, dates, nps, csat))
        latest_class[rows] = np.where(nps >= 9, 3, np.where(nps >= 7, 2, 1))  # from next month
    return {
        "out": out,
        "churn_date": churn_date,
        "alive_months": alive_months,
        "n_used": next_friend,
        "signup_month": signup_month,
        "signup_frac": signup_frac,
    }


def _assign_programme(rng, signup_month, alive, month) -> dict:
    eligible = np.flatnonzero(alive & (signup_month <= month - 3))
    chosen = rng.choice(eligible, size=int(PROGRAMME_SHARE * eligible.size), replace=False)
    treat = rng.random(chosen.size) < 0.5
    return {"treatment": chosen[treat], "control": chosen[~treat]}


def _assign_targeted(rng, signup_month, alive, month, plan, orders_before) -> dict:
    """Targeted pilot (:data:`TARGETED_PILOT_LOGIT`): everyone eligible is listed, enrolment by propensity."""
    eligible = np.flatnonzero(alive & (signup_month <= month - 3))
    coef = TARGETED_PILOT_LOGIT
    logit = (
        coef["intercept"]
        + coef["premium"] * (plan[eligible] == "premium")
        + coef["log_orders"] * _stable(np.log1p(orders_before[eligible]))
    )
    propensity = _stable(1 / (1 + np.exp(-logit)))
    treat = rng.random(eligible.size) < propensity
    return {"treatment": eligible[treat], "control": eligible[~treat]}


def _rating(rng, latent, noise=0.6, centre=3.7, scale=0.9):
    return np.clip(np.round(centre + scale * (latent + rng.normal(0, noise, latent.size))), 1, 5)


def generate(n_customers: int = 50_000, seed: int = 42, pilot: str = "randomised") -> SyntheticCompany:
    """Simulate a membership retailer with planted effects.

    Parameters
    ----------
    n_customers : int
        Customers who sign up over the three years to 2025-12-31 (50,000 gives about 1M transactions).
    seed : int
        Same seed, same tables.
    pilot : {"randomised", "targeted"}
        How the pilot programme's groups are formed: randomised (:data:`PROGRAMME_SHARE` of customers
        active 3+ months at the start, 50/50), or targeted at premium and frequent customers
        (:data:`TARGETED_PILOT_LOGIT`; a non-randomised pilot whose naive comparison is biased).

    Returns
    -------
    SyntheticCompany
    """
    if pilot not in PILOT_DESIGNS:
        raise ValueError(f"pilot must be one of {', '.join(PILOT_DESIGNS)}, got {pilot!r}")
    rng = np.random.default_rng(seed)
    # the customers acquired through other channels, then a reserve of friends for referrals to bring
    cust = _latent_customers(rng, 2 * n_customers)
    cust.loc[n_customers:, "acquisition_channel"] = "referral"
    cust.loc[n_customers:, "signup_month"] = N_MONTHS  # not signed up until a referral brings them
    members: dict = {}
    sim = _simulate(rng, cust, n_customers, members, pilot)
    out = sim["out"]
    cust = cust.iloc[: sim["n_used"]].copy()
    cust["signup_month"] = sim["signup_month"][: sim["n_used"]]
    cust["signup_day_frac"] = sim["signup_frac"][: sim["n_used"]]
    churn_date = sim["churn_date"][: sim["n_used"]]
    ids = np.array([f"C{i:06d}" for i in rng.permutation(len(cust)) + 1])
    months = pd.date_range(START, periods=N_MONTHS, freq="MS")
    first_day = months[cust["signup_month"].to_numpy()]
    signup = first_day + pd.to_timedelta(
        np.floor(cust["signup_day_frac"].to_numpy() * first_day.days_in_month), unit="D"
    )
    tables = {
        "customers": _customers_table(rng, ids, cust, signup, churn_date),
        "transactions": _transactions_table(rng, ids, cust, out["orders"]),
        "interactions": _interactions_table(rng, ids, out),
        "surveys": _surveys_table(rng, ids, cust, out["surveys"]),
        "programme": pd.DataFrame(
            {
                "CustomerID": np.concatenate([ids[members["treatment"]], ids[members["control"]]]),
                "Programme": "Priority care pilot",
                "Group": ["treatment"] * len(members["treatment"]) + ["control"] * len(members["control"]),
                "StartDate": PROGRAMME_START.date().isoformat(),
            }
        ),
        "referrals": _referrals_table(ids, out["referrals"]),
    }
    customer_truth = pd.DataFrame(
        {
            "customer_id": ids,
            "segment": cust["segment"],
            "segment_name": SEGMENTS["name"].to_numpy()[cust["segment"]],
            "satisfaction": cust["satisfaction"].round(4),
            "nps_category": cust["nps_category"],
            "orders_per_month": cust["rate"].round(4),
            "mean_order_value": cust["basket"].round(2),
            "churn_date": churn_date,
        }
    )
    return SyntheticCompany(
        tables=tables,
        truth=_truth(n_customers, seed, tables, referred=len(cust) - n_customers, pilot=pilot),
        customer_truth=customer_truth,
    )


def _customers_table(rng, ids, cust, signup, churn_date) -> pd.DataFrame:
    region = cust["region"].astype(object).to_numpy()
    region[rng.random(len(cust)) < 0.03] = None  # missing optional field, as in real exports
    return pd.DataFrame(
        {
            "CustomerID": ids,
            "SignupDate": signup.strftime("%Y-%m-%d"),
            "Plan": cust["plan"],
            "Region": region,
            "AcquisitionChannel": cust["acquisition_channel"],
            "Age": cust["age"],
            "Products": cust["products"],
            "ChurnDate": pd.Series(churn_date).dt.strftime("%Y-%m-%d").to_numpy(),
        }
    ).sort_values("SignupDate", kind="stable", ignore_index=True)


def _transactions_table(rng, ids, cust, orders) -> pd.DataFrame:
    rows = np.concatenate([o[0] for o in orders])
    dates = pd.DatetimeIndex(np.concatenate([o[1].to_numpy() for o in orders]))
    treated = np.concatenate([o[2] for o in orders]).astype(bool)
    promoter = np.concatenate([o[3] for o in orders]) == NPS_CLASSES.index("promoter")
    seg = cust["segment"].to_numpy()[rows]
    season = np.where(dates.month == 12, 1.10, 1.0)
    amount = cust["basket"].to_numpy()[rows] * rng.lognormal(-0.18, 0.6, rows.size) * season
    # x * 1.0 is exact, so orders outside the pilot and outside promoter months keep their amounts
    loyalty = np.where(promoter, PROMOTER_SPEND_UPLIFT, 1.0)
    amount = np.round(amount * np.where(treated, PROGRAMME_SPEND_UPLIFT, 1.0) * loyalty, 2) + 0.0
    probs = SEGMENTS[["p_web", "p_app", "p_store"]].to_numpy()[seg]
    channel = np.array(["web", "app", "store"], dtype=object)[
        (rng.random(rows.size)[:, None] > probs.cumsum(1)).sum(1)
    ]
    channel[rng.random(rows.size) < 0.02] = None
    sales = pd.DataFrame(
        {"CustomerID": ids[rows], "OrderDate": dates, "Amount": amount, "Channel": channel, "Type": "sale"}
    ).sort_values("OrderDate", kind="stable", ignore_index=True)
    sales.insert(0, "OrderID", [f"O{i:07d}" for i in range(1, len(sales) + 1)])
    # refunds: 4% of orders are partly or wholly returned within 30 days
    refunded = sales.sample(frac=0.04, random_state=rng.integers(1 << 31))
    refunds = refunded.assign(
        OrderDate=refunded["OrderDate"] + pd.to_timedelta(rng.integers(1, 31, len(refunded)), unit="D"),
        Amount=-np.round(refunded["Amount"] * rng.choice([0.5, 1.0], len(refunded), p=[0.3, 0.7]), 2),
        Type="refund",
    )
    refunds = refunds[refunds["OrderDate"] <= AS_OF]
    table = pd.concat([sales, refunds], ignore_index=True)
    dupes = table.sample(frac=0.0015, random_state=rng.integers(1 << 31))  # exported twice
    table = pd.concat([table, dupes]).sort_values(["OrderDate", "OrderID"], kind="stable", ignore_index=True)
    table["OrderDate"] = table["OrderDate"].dt.strftime("%Y-%m-%d")
    return table


def _interactions_table(rng, ids, out) -> pd.DataFrame:
    def frame(parts, kind, channels, p_channels):
        rows = np.concatenate([p[0] for p in parts])
        dates = pd.DatetimeIndex(np.concatenate([p[1].to_numpy() for p in parts]))
        stamp = dates + pd.to_timedelta(rng.integers(8 * 3600, 21 * 3600, rows.size), unit="s")
        return pd.DataFrame(
            {
                "CustomerID": ids[rows],
                "Timestamp": stamp,
                "Channel": rng.choice(channels, rows.size, p=p_channels),
                "Kind": kind,
            }
        ), parts

    contacts, parts = frame(
        out["contacts"], "support_contact", ["phone", "chat", "email"], [0.45, 0.35, 0.20]
    )
    contacts["WaitMinutes"] = np.round(np.concatenate([p[2] for p in parts]), 1)
    contacts.loc[contacts["Channel"] == "email", "WaitMinutes"] = np.nan
    complaints, parts = frame(out["complaints"], "complaint", ["phone", "email", "social"], [0.5, 0.35, 0.15])
    complaints["Resolved"] = np.where(np.concatenate([p[2] for p in parts]), "yes", "no")
    carts, _ = frame(out["carts"], "cart_abandoned", ["web", "app"], [0.6, 0.4])
    table = pd.concat([contacts, complaints, carts], ignore_index=True)
    table = table.sort_values("Timestamp", kind="stable", ignore_index=True)
    table["Timestamp"] = table["Timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return table[["CustomerID", "Timestamp", "Channel", "Kind", "Resolved", "WaitMinutes"]]


def _surveys_table(rng, ids, cust, parts) -> pd.DataFrame:
    rows = np.concatenate([p[0] for p in parts])
    dates = pd.DatetimeIndex(np.concatenate([p[1].to_numpy() for p in parts]))
    table = pd.DataFrame(
        {
            "CustomerID": ids[rows],
            "ResponseDate": dates.strftime("%Y-%m-%d"),
            "NPS": np.concatenate([p[2] for p in parts]),
            "CSAT": np.concatenate([p[3] for p in parts]),
        }
    )
    for tp in TOUCHPOINTS:
        rating = _rating(rng, cust[f"experience_{tp}"].to_numpy()[rows], centre=RATING_CENTRES[tp])
        if tp == "support":  # asked of everyone; "not applicable" (no support contact) is its own code
            rating = np.where(rng.random(rows.size) < 0.55, NOT_APPLICABLE_CODE, rating)
        else:  # skipped questions are left blank
            rating = np.where(rng.random(rows.size) < 0.08, np.nan, rating)
        table[f"Rating_{tp.capitalize()}"] = rating
    return table.sort_values("ResponseDate", kind="stable", ignore_index=True)


def _referrals_table(ids, parts) -> pd.DataFrame:
    """One row per referral: the referrer, the friend it brought and the day the friend signed up."""
    referrer = np.concatenate([p[0] for p in parts])
    friend = np.concatenate([p[1] for p in parts])
    dates = pd.DatetimeIndex(np.concatenate([p[2].to_numpy() for p in parts]))
    return pd.DataFrame(
        {"ReferrerID": ids[referrer], "ReferredID": ids[friend], "ReferralDate": dates.strftime("%Y-%m-%d")}
    ).sort_values("ReferralDate", kind="stable", ignore_index=True)


def _truth(n_customers: int, seed: int, tables: dict, referred: int, pilot: str = "randomised") -> dict:
    truth = {
        "generator": "cxlib.data.generate",
        "n_customers": n_customers,
        "n_customers_referred": referred,
        "seed": seed,
        "as_of": AS_OF.date().isoformat(),
        "window": [START.date().isoformat(), AS_OF.date().isoformat()],
        "segments": SEGMENTS[
            ["name", "share", "orders_per_month", "mean_order_value", "base_monthly_hazard"]
        ].to_dict(orient="records"),
        "churn": {
            "model": "monthly proportional hazards (cloglog), Weibull baseline in tenure",
            "weibull_shape": WEIBULL_SHAPE,
            "hazard_ratios": HAZARD_RATIOS,
            "age_hazard_ratio": {
                "column": "Age",
                "knots": {str(age): ratio for age, ratio in AGE_HAZARD_KNOTS.items()},
                "shape": "linear between knots, flat beyond; peak plateau 47-58",
                "age": f"round(N({AGE_MEAN:g}, {AGE_SD:g})) clipped to {AGE_RANGE[0]}..{AGE_RANGE[1]}",
            },
            "products_hazard_ratios": {
                "column": "Products",
                "reference": 2,
                "scale_of_both": NONLINEAR_HAZARD_SCALE,
                "ratios": {str(k): v for k, v in PRODUCTS_HAZARD_RATIOS.items()},
                "share": {str(k): v for k, v in PRODUCTS_SHARE.items()},
            },
            "long_wait_minutes": LONG_WAIT_MINUTES,
        },
        "satisfaction": {
            "touchpoint_weights": SATISFACTION_WEIGHTS,
            "touchpoint_correlation": TOUCHPOINT_CORRELATION,
            "nps": "round(7.2 + 1.8 * (satisfaction + N(0, 0.45)) + unresolved effect) clipped to 0..10",
            "csat": "round(3.9 + 0.9 * (satisfaction + N(0, 0.45)) + 0.5 * unresolved effect) clipped to 1..5",
            "nps_effect_unresolved_complaint": NPS_EFFECT_UNRESOLVED_COMPLAINT,
            "csat_effect_unresolved_complaint": 0.5 * NPS_EFFECT_UNRESOLVED_COMPLAINT,
            "unresolved_complaint_rule": "an unresolved complaint dated before the first day of the answer's month",
            "rating_centres": RATING_CENTRES,
            "rating": "round(centre + 0.9 * (experience + N(0, 0.6))) clipped to 1..5",
            "rating_not_applicable_code": NOT_APPLICABLE_CODE,
            "rating_not_applicable": {"support": 0.55},
            "rating_skipped_blank": {tp: 0.08 for tp in TOUCHPOINTS if tp != "support"},
        },
        "referrals": {
            "monthly_rate_by_latest_nps_class": REFERRAL_RATE_BY_LATEST_NPS_CLASS,
            "rule": "referrals per active month at the class of the latest answer given before the month "
            "(promoter 9-10, passive 7-8, detractor 0-6; no_answer before any answer); each referral is "
            "a friend who signs up on the referral date, acquisition channel 'referral'",
        },
        "loyalty": {
            "spend_multiplier_by_latest_nps_class": {
                c: PROMOTER_SPEND_UPLIFT if c == "promoter" else 1.0
                for c in REFERRAL_RATE_BY_LATEST_NPS_CLASS
            },
            "order_rate_multiplier_by_latest_nps_class": dict.fromkeys(
                REFERRAL_RATE_BY_LATEST_NPS_CLASS, 1.0
            ),
            "rule": "each order's amount is multiplied by the multiplier of the customer's NPS class as at "
            "the start of the order's month (the class of the latest answer given before the month, as for "
            "referrals); order counts do not depend on the class",
        },
        "programme": {
            "name": "Priority care pilot",
            "start_date": PROGRAMME_START.date().isoformat(),
            "churn_hazard_ratio": HAZARD_RATIOS["programme_treatment"],
            "spend_multiplier": PROGRAMME_SPEND_UPLIFT,
            "assignment": f"random {PROGRAMME_SHARE:.0%} of customers active 3+ months at the start, 50/50",
        },
        "data_quality": {
            "refund_share_of_orders": 0.04,
            "duplicate_row_share": 0.0015,
            "missing_region_share": 0.03,
            "missing_channel_share": 0.02,
        },
        "row_counts": {name: int(len(t)) for name, t in tables.items()},
    }
    if pilot == "targeted":  # only then, so the default ground_truth.json stays byte for byte the same
        truth["programme"].update(
            design="targeted",
            assignment=(
                "every customer active 3+ months at the start is listed; enrolled (treatment) with "
                "probability expit(intercept + premium * [plan is premium] + log_orders * log(1 + orders in "
                f"the {TARGETED_PILOT_MONTHS_BEFORE} calendar months before the start)), the others are the "
                "control group"
            ),
            assignment_logit=TARGETED_PILOT_LOGIT,
            assignment_months_before=TARGETED_PILOT_MONTHS_BEFORE,
        )
    return truth
