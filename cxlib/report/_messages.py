"""The message catalogue: one English template per note code, and the function that fills them.

Computing modules describe what limits a result as :class:`cxlib.stats.Note` (a code and its
values, no prose); reports turn notes into sentences here, so every caveat's wording lives in
:data:`MESSAGES` and a translation replaces this one table. Templates are :meth:`str.format`
strings over the note's values; besides Python's format specifications (``{size:,}``,
``{share:.0%}``, ``{date:%d %b %Y}``) they understand a few of their own:

``{x:label}`` / ``{x:label_lower}``
    The readable name of a feature or term (:func:`cxlib.stats.feature_label`), or lower-cased.
``{x:labels}``
    A list of features or terms as readable names, joined with commas.
``{x:join}``
    A list joined with commas.
``{x:quoted}`` / ``{x:named}``
    A list of names from the data, quoted or not, the first :data:`cxlib.report.MAX_NAMED` named and the
    rest counted (``'a', 'b', 'c', 'd', 'e' and 12 more``).
``{x:group}`` / ``{x:groups}``
    A group (or a list of groups) of retention curves by its reader's name: the value of a
    yes/no flag (the note's ``flag`` is true) reads "With ..." / "Without ..." the flag's
    name (the note's ``column``); see :func:`group_label`.
``{x:one|other}``
    ``one`` when ``x`` (a number, or the length of a list) is 1, else ``other``: singular and
    plural belong to the language, so to the catalogue.

:func:`render` returns plain text. Notes carry names from the data and the config, so callers
escape the sentence where they place it, e.g. :func:`cxlib.report.md_text` in Markdown.

Examples
--------
>>> from cxlib.stats import Note
>>> render(Note("segment.k_forced", {"k": 3, "best_k": 4}))
'k = 3 was set (n_segments); the silhouette is highest at k = 4'
>>> pooled = {"column": "plan", "small": ["trial", "test"], "min_size": 10, "pooled_label": "Other", "size": 12}
>>> render(Note("design.levels_pooled", pooled)).split(";")[0]
"Plan: levels 'trial', 'test' have fewer than 10 customers"
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from typing import Any

from cxlib.exceptions import MissingMessageError
from cxlib.report._sentences import MAX_NAMED
from cxlib.stats._design import feature_label, level_label
from cxlib.stats._notes import Note

#: Note code -> English template (see the module docstring for the format specifications).
MESSAGES: dict[str, str] = {
    # design matrices (cxlib.stats.DesignEncoder): levels pooled, terms left out
    "design.levels_pooled": (
        "{column:label}: {small:level|levels} {small:quoted} {small:has|have} fewer than {min_size} "
        "customers; pooled into '{pooled_label}' ({size:,} customers) before fitting, so no ratio is shown "
        "for a small group"
    ),
    "design.many_levels": (
        "{column:label} has {levels} levels: the {kept} largest enter the models on their own and the "
        "other {pooled} are pooled into '{pooled_label}' ({size:,} customers)"
    ),
    "design.levels_pooled_with": (
        "{column:label}: {small:level|levels} {small:quoted} {small:has|have} fewer than {min_size} "
        "customers; pooled with {joined:quoted} into '{pooled_label}' ({size:,} customers) before fitting, "
        "so no ratio is shown for a small group"
    ),
    "design.reference_pooled": (
        "{column}: configured reference level '{reference}' is pooled (too few customers); using '{used}'"
    ),
    "design.reference_not_found": "{column}: configured reference level not found; using '{used}'",
    "design.constant": "{term:label}: constant in these data, left out",
    "design.duplicate": "{term:label}: identical to {same_as:label}, left out (collinear)",
    "design.linear_combination": "{term:label}: a linear combination of other drivers, left out",
    "design.high_vif": (
        "{term:label}: variance inflation factor {vif:.1f} > {max_vif:g} (collinear with other drivers), "
        "left out"
    ),
    "design.missing_indicator": (
        "{column:label}: {missing:,} of {rows:,} values missing; filled with the {statistic} ({fill:,.3g}) "
        "and given a yes/no term of their own ('{column:label}: missing'), so churn that goes with a "
        "missing value is modelled, not hidden"
    ),
    "design.missing_filled": (
        "{column:label}: {missing:,} of {rows:,} {missing:value|values} missing, filled with the "
        "{statistic} ({fill:,.3g}); fewer than {min_rows} missing, too few for a term of their own"
    ),
    # churn models (cxlib.churn.ChurnDrivers, ChurnPredictor)
    "drivers.form_spline": (
        "{driver:label} enters as a curve (a restricted cubic spline), which fits better than a straight "
        "line (likelihood-ratio test p = {p_value:.2g}, below {alpha:g}); its effect curve shows its shape"
    ),
    "drivers.form_levels": (
        "{driver:label} enters with one effect per value ({levels:join}), which fits better than a "
        "straight line (likelihood-ratio test p = {p_value:.2g}, below {alpha:g})"
    ),
    "drivers.forms_on_sample": (
        "each number's form (straight line, curve or one effect per value) was chosen by likelihood-ratio "
        "tests on a random sample of {sample:,} of the {customers:,} customers (above {threshold:,}); "
        "the model with those forms is fitted on all of them"
    ),
    "drivers.not_converged": "the logistic fit did not converge; treat the ratios as rough",
    "drivers.unstable_separation": (
        "{term:label}: its group (or the group it is compared with) has all or no churners, so its odds "
        "ratio ({estimate:.3g}) is not estimable (separation); not used as a headline"
    ),
    "drivers.unstable_extreme_estimate": (
        "{term:label}: odds ratio {estimate:.3g} is too extreme to be credible (near-separation); "
        "not used as a headline"
    ),
    "drivers.unstable_wide_interval": (
        "{term:label}: its 95% interval ({ci_low:.3g} to {ci_high:.3g}) is too wide to read; not used "
        "as a headline"
    ),
    "drivers.unstable_high_vif": (
        "{term:label}: variance inflation factor {vif:.1f} (collinear with other drivers), so its odds "
        "ratio is unstable; not used as a headline"
    ),
    "drivers.direction_disagrees": (
        "{term:label}: odds ratio {estimate:.3g} after adjustment, but its raw churn rate is {raw_rate:.1%} "
        "against {raw_rate_reference:.1%} for the group it is compared with: the directions disagree, so it "
        "is not used as a headline"
    ),
    "predictor.levels_pooled": (
        "{column:label}: {levels} small level(s) pooled into '{pooled_label}' ({size:,} customers) "
        "before fitting"
    ),
    "predictor.missing_native": (
        "{values:,} missing value(s) in {columns:labels} kept as missing, not imputed: the boosting learns at "
        "each split which side missing values go to"
    ),
    "predictor.tuned": (
        "boosting settings chosen among {candidates} candidates by {folds}-fold cross-validated ROC-AUC on the training "
        "customers, the simplest within one standard error of the best: '{chosen}' ({auc:.3f}; "
        "scikit-learn's default {default_auc:.3f})"
    ),
    "predictor.selection_sample": (
        "the settings were chosen on a random sample of {sample:,} of the {customers:,} training customers "
        "(stratified by churn; model selection needs far fewer rows than the fit)"
    ),
    "predictor.calibrated": (
        "probabilities calibrated ({method}) on out-of-fold scores from {folds}-fold cross-validation; the "
        "final boosting is fitted on all {customers:,} training customers"
    ),
    "predictor.calibrated_holdout": (
        "probabilities calibrated ({method}) on {calibration:,} training customers held out of the boosting's "
        "fit (a random sample stratified by churn), the boosting fitted once on the other {customers:,}: above "
        "{threshold:,} training customers this replaces calibration on {folds}-fold out-of-fold scores, which "
        "takes {folds} more fits of that size"
    ),
    "predictor.fit_sample": (
        "the boosting was fitted on a random sample of {sample:,} of its {customers:,} training customers "
        "(stratified by churn): above {threshold:,} the fit is capped to bound its time"
    ),
    "predictor.recalibrated": (
        "the boosting of the held-out evaluation, not refitted; its probabilities recalibrated ({method}) on "
        "{calibration:,} of the {customers:,} customers of the latest panel, whom it did not see"
    ),
    "predictor.settings_reused": (
        "boosting settings '{chosen}' as chosen for the held-out evaluation (by cross-validated ROC-AUC on "
        "its training customers), not chosen again on these {customers:,} customers"
    ),
    "predictor.importance": (
        "importance is the drop in ROC-AUC on {customers:,} training customers held out of the fit it is "
        "measured with, when one feature is shuffled; its range spans {repeats} shuffles, not sampling "
        "error, and correlated features share their importance"
    ),
    # survival (cxlib.churn.RetentionCurves, ChurnHazards, RemainingLifetime)
    "curves.groups_pooled": (
        "{groups:groups}: fewer than {min_size} customers (alone or with the other small groups), pooled "
        "into '{pooled_label}' ({size:,} customers)"
    ),
    "curves.group_too_small": "{group:group}: fewer than {min_size} customers, not shown",
    "curves.median_not_reached": (
        "a median lifetime 'not reached' (infinite in the summary) means more than half the group was still "
        "a customer after the longest follow-up ({months:.0f} months): the median is longer than the data "
        "can show"
    ),
    "survival.sampled": (
        "fitted on a random sample of {rows:,} of {customers:,} customers (seed {seed}); intervals reflect "
        "the sample"
    ),
    "hazards.not_proportional": (
        "proportional hazards doubtful (test p < 0.01) for {terms:labels}: their hazard ratio is an average "
        "over tenure, larger at some tenures and smaller at others"
    ),
    "hazards.not_converged": "the Cox fit did not converge; treat the hazard ratios as rough",
    "hazards.unstable": (
        "the hazard ratios of {terms:labels} are unstable (an extreme ratio or a very wide interval, "
        "e.g. a group where nobody leaves) and are not read as findings"
    ),
    "lifetime.extrapolated": (
        "the longest tenure in the data is {longest:.0f} months, so the expected months beyond it (up "
        "to {horizon_months}) come from the fitted Weibull curve, not from customers observed that long"
    ),
    "lifetime.horizon": (
        "remaining lifetime counts at most {horizon_months} months ahead and assumes a Weibull hazard in "
        "tenure (fitted shape {shape:.2f})"
    ),
    # groups of retention curves by a yes/no flag
    "group.with": "With {column:label_lower}",
    "group.without": "Without {column:label_lower}",
    # held-out split (cxlib.churn.train_test_panels)
    "split.out_of_time": (
        "out-of-time: trained on customers at {train_at:%d %b %Y} (label window ending at the cut-off), "
        "tested on customers at {test_at:%d %b %Y}"
    ),
    "split.random": "random stratified split: {train_share:.0%} train, {test_share:.0%} test",
    "split.random_short_history": (
        "random stratified split: {train_share:.0%} train, {test_share:.0%} test; not out-of-time because "
        "the training cut-off ({train_at:%d %b %Y}) would have less than {window_days} days of history "
        "(data start {data_start:%d %b %Y})"
    ),
    "split.random_few_churners": (
        "random stratified split: {train_share:.0%} train, {test_share:.0%} test; not out-of-time because "
        "the training panel at {train_at:%d %b %Y} has only {churners} churners (at least {needed} needed)"
    ),
    # segmentation (cxlib.segment.Segmenter)
    "segment.few_shaping": (
        "only {customers:,} customers have {min_orders}+ purchases, fewer than the {needed:,} needed to "
        "shape up to {max_segments} segments: every buyer shapes them"
    ),
    "segment.k_forced": "k = {k} was set (n_segments); the silhouette is highest at k = {best_k}",
    "segment.minibatch": "mini-batch k-means on {customers:,} customers (3 starts): close to, not exactly, k-means",
    "segment.suppressed": (
        "figures of segment(s) {segments:join} suppressed: fewer than {min_size} customers, or hidden so "
        "that a small one cannot be derived"
    ),
    "segment.stability_not_measured": "stability not measured (bootstrap_runs = 0)",
    "segment.unstable": (
        "segment {segment} ({name}): mean bootstrap Jaccard {jaccard:.2f}, below {threshold}: not a "
        "reproducible segment"
    ),
    # key drivers (cxlib.experience.KeyDrivers)
    "drivers.few_answers": (
        "{drivers:named}: fewer than {min_answers} answers (experience.min_answers) or a single value, "
        "left out of the key drivers"
    ),
    "drivers.not_applicable": (
        "ratings coded {codes:join} mean 'not applicable' ({share:.1%} of ratings): read as missing, "
        "never as a low score"
    ),
    "drivers.pairwise": (
        "importances come from the answers each pair of ratings has in common (at least {fewest_pairs:,} of "
        "{respondents:,} respondents): nothing is imputed"
    ),
    "drivers.correlation_repaired": (
        "the correlations of the ratings, each from its own answers, did not fit together (smallest "
        "eigenvalue {smallest_eigenvalue:.2g}); the nearest consistent matrix was used"
    ),
    "drivers.resamples_repaired": (
        "{repaired} of {n_boot} bootstrap resamples needed the same repair of their correlations"
    ),
    "drivers.binary_target": (
        "{target:label} is yes/no: importances split the R² of a straight-line model of it; the logistic "
        "model gives the odds ratios"
    ),
    "drivers.model_not_rated": (
        "in the model, {drivers:named} left unrated or not applicable {drivers:counts|count} as the median "
        "rating with a yes/no 'not rated' term of {drivers:its|their} own"
    ),
    "drivers.model_failed": (
        "the model of {target:label} could not be fitted ({error}): importances are shown without effects"
    ),
    "drivers.model_not_converged": (
        "the logistic model of {target:label} did not converge: its odds ratios are unreliable"
    ),
    # word of mouth (cxlib.experience.ReferralRates)
    "referrals.no_referrals_table": "the data have no referrals table: every referral rate is zero by construction",
    "referrals.no_surveys": "the data have no NPS answers: every customer is in the no-answer class",
    "referrals.no_churn_dates": "churn has no dates here, so exposure runs to the analysis date for every customer",
    "referrals.outside_exposure": (
        "{referrals:,} {referrals:referral|referrals} not counted: {outside_exposure:,} dated outside the "
        "referrer's time as a customer, {undated:,} undated, {unknown_referrer:,} by a referrer not in the "
        "customers table"
    ),
    "referrals.no_events": (
        "no referral from {nps_class} customers in {exposure_months:,.0f} customer-months: the interval is "
        "the exact Poisson one and no rate ratio is shown"
    ),
    # loyalty spend by NPS class (cxlib.impact.loyalty_spend)
    "loyalty.unstable": (
        "the {measure} of {classes:labels} against passives could not be estimated on these data (the fit "
        "did not settle, e.g. on an extreme amount), so it is left out"
    ),
    "loyalty.no_surveys": "the data have no NPS answers: spend cannot be compared by NPS class",
    "loyalty.no_transactions": "the data have no transactions: spend cannot be compared by NPS class",
    "loyalty.no_reference": (
        "only {customers:,} {customers:customer|customers} bought both as {nps_class} and in another NPS class "
        "(at least {min_customers:,} needed): no class can be compared with {nps_class} customers"
    ),
    "loyalty.too_few_customers": (
        "only {customers:,} {customers:customer|customers} bought both as {nps_class} and in another NPS class "
        "(at least {min_customers:,} needed): {nps_class} spend is not estimated"
    ),
    "loyalty.outside_exposure": (
        "{orders:,} {orders:order|orders} dated outside the customer's time as a customer (before sign-up "
        "or after churn) left out"
    ),
    "loyalty.non_positive": "{orders:,} {orders:sale|sales} of zero or less left out of spend per order",
    "loyalty.sampled": (
        "the spend models by NPS class were fitted on a random sample of {sample:,} of the {customers:,} "
        "customers seen in more than one class (seed {seed}); their intervals reflect the sample"
    ),
    "loyalty.not_converged": "the model of {outcome} per month did not converge: treat its ratios as rough",
    "loyalty.model_failed": "spend by NPS class could not be estimated ({error}): too little data to compare",
    # customer value (cxlib.value.BetaGeo, GammaGamma)
    "value.not_converged": "the {model} fit did not converge: treat its parameters and forecasts as rough",
    "value.no_covariance": (
        "the {model} likelihood is not curved at its estimate: its parameters have no standard errors, so "
        "forecasts carry no interval for parameter uncertainty"
    ),
    "value.spend_depends_on_frequency": (
        "spend per purchase is correlated with how often customers buy (Spearman rho {rho:.2f}, p = "
        "{p_value:.2g}, {n:,} repeat customers; the check flags |rho| from {threshold:g}): the Gamma-Gamma "
        "model assumes they are independent, so read its expected spend per customer with care"
    ),
    "value.spend_mean_infinite": (
        "Gamma-Gamma q = {q:.2f} is not above 1: the population's mean spend per purchase is infinite, so "
        "customers without repeat purchases get no expected spend"
    ),
    "value.fit_sample": (
        "the {model} parameters were estimated on a random sample of {sample:,} of the {customers:,} customers "
        "(seed {seed}); every customer is valued with them, and the intervals reflect the sample"
    ),
    # subscription value (cxlib.value.ShiftedBetaGeometric, survival_clv)
    "sbg.not_converged": "the shifted-beta-geometric fit did not converge; treat gamma and delta as rough",
    "sbg.heavy_tail": (
        "gamma is {gamma:.2f}, at most 1: the cohort's mean lifetime is unbounded, so lifetime value is finite "
        "only with a discount rate or a horizon"
    ),
    "value.parameter_draws": (
        "intervals are the middle {level:.0%} of {draws} draws of the survival model's parameters (seed "
        "{seed}): they carry its estimation uncertainty, not uncertainty in margins or in the Weibull form"
    ),
    "value.draw_sample": (
        "the parameter draws were evaluated on a random sample of {sample:,} of the {customers:,} customers "
        "(seed {seed}) and scaled to each group's total; per-customer intervals are given for those "
        "customers only"
    ),
    "value.beyond_observed": (
        "for {customers:,} {customers:customer|customers} ({share:.0%}) the tenure reached plus the "
        "{horizon_months}-month horizon goes beyond the longest tenure observed ({longest:.0f} months): that "
        "part of their value comes from the fitted Weibull curve, not from customers seen that long"
    ),
    # customer value (cxlib.value.ParetoNBD)
    "pnbd.not_converged": (
        "the Pareto/NBD fit stopped after {iterations} iterations without converging; treat its parameters "
        "and rate ratios as rough"
    ),
    "pnbd.covariance_singular": (
        "the Pareto/NBD likelihood is flat in some direction (its information matrix is singular), so its "
        "intervals are not reliable"
    ),
    "pnbd.static_covariates": (
        "{columns:labels} {columns:enters|enter} the Pareto/NBD as {columns:a fixed trait|fixed traits} of "
        "each customer, and a rate ratio compares customers alike in everything else the model sees; a "
        "covariate that builds up over time (complaints, long waits) and is measured at the end of the period "
        "also reflects how long a customer stayed, so its ratio mixes cause and exposure"
    ),
    # the retention lever (cxlib.impact.retention_base, friction_what_if)
    "impact.revenue_unknown": (
        "no revenue per month is known (no value.monthly_revenue column, no transactions): the retention "
        "figures for the {customers:,} active customers count months as a customer, not money"
    ),
    "impact.revenue_missing": (
        "{customers:,} active {customers:customer has|customers have} no revenue per month and {customers:is|are} "
        "left out of the retention figures"
    ),
    "impact.driver_absent": "{driver:label}: not in these data, so no what-if for it",
    "impact.driver_unrated": "{driver:label}: the churn model gives no hazard ratio for it, so no what-if",
    # pilot programme evaluation (cxlib.impact.evaluate_programme)
    "programme.no_table": "the data have no programme table: no pilot measures the programme's effects",
    "programme.several": (
        "the programme table lists several programmes: '{programme}' is evaluated, not {others:quoted}"
    ),
    "programme.no_control": "the programme has no control group, so its effects cannot be estimated",
    "programme.no_treatment": "the programme has no treatment group, so its effects cannot be estimated",
    "programme.unknown_customers": (
        "{customers:,} programme {customers:member is|members are} not in the customers table and left out"
    ),
    "programme.too_few_customers": (
        "the {group} group has {customers:,} {customers:customer|customers}, fewer than the {min_customers} an "
        "estimate needs"
    ),
    "programme.too_few_events": (
        "only {events:,} {events:customer|customers} churned after the start, fewer than the {min_events} a "
        "hazard ratio needs"
    ),
    "programme.churn_undated": "churn has no dates here, so the programme's effect on churn cannot be timed",
    "programme.no_transactions": "the data have no transactions, so the programme's effect on spend is not estimated",
    "programme.not_active_at_start": (
        "{customers:,} programme {customers:member|members} had churned before the start and {customers:is|are} "
        "left out"
    ),
    "programme.assumption_randomised": "'{programme}' assigned customers to treatment and control at random",
    "programme.assumption_no_unmeasured_confounding": (
        "the groups were not formed at random: the estimates hold if enrolment depended on nothing that also "
        "drives churn or spend beyond {covariates:labels}"
    ),
    "programme.propensity_clipped": (
        "{customers:,} {customers:customer has|customers have} an extreme enrolment probability, clipped "
        "before weighting"
    ),
    "programme.imbalance": (
        "after weighting, {covariates:labels} still {covariates:differs|differ} between the groups "
        "(standardised difference of {threshold:g} or more)"
    ),
    # lists of names: what follows the first MAX_NAMED
    "list.more": " and {count:,} more",
}


def _named(items: Iterable, quote: bool) -> str:
    """E.g. "'a', 'b', 'c', 'd', 'e' and 12 more" (``quote``) or "a, b and 1 more"."""
    items = [str(item) for item in items]
    named = ", ".join(f"'{item}'" if quote else item for item in items[:MAX_NAMED])
    more = len(items) - MAX_NAMED
    return named + (MESSAGES["list.more"].format(count=more) if more > 0 else "")


def group_label(group, column: str | None = None, flag: bool = False) -> str:
    """The reader's name of a group of retention curves.

    Parameters
    ----------
    group : object
        The group as :class:`cxlib.churn.RetentionCurves` keys it: a level (a segment name, a
        plan), or ``"1"`` / ``"0"`` for the customers with and without a yes/no flag.
    column : str, optional
        The grouping column (the flag's name).
    flag : bool
        True when ``column`` is a yes/no flag.

    Returns
    -------
    str
        Plain text, e.g. "With unresolved complaint" for ``("1", "unresolved_complaint", True)``;
        any other group is its own name.

    Examples
    --------
    >>> group_label("1", "unresolved_complaint", flag=True)
    'With unresolved complaint'
    >>> group_label("premium", "plan")
    'premium'
    >>> group_label("yes", "international_plan")
    'International plan: yes'
    """
    if column is not None and level_label(column, group) is not None:  # the config names this level
        return level_label(column, group)
    if flag and column is not None and str(group) in ("0", "1"):
        return render(Note("group.with" if str(group) == "1" else "group.without", {"column": column}))
    if column is not None and str(group).strip().lower() in _BARE_VALUES:
        return f"{variable_label(column)}: {group}"  # "yes" alone would not say of what
    return str(group)


#: Group values that mean nothing without their variable's name.
_BARE_VALUES = frozenset({"yes", "no", "true", "false", "y", "n", "0", "1", "unknown"})


def variable_label(column: str | None) -> str:
    """The reader's name of a grouping variable ("Segment" for the segmentation's ``segment_name``).

    Examples
    --------
    >>> variable_label("segment_name")
    'Segment'
    >>> variable_label("acquisition_channel")
    'Acquisition channel'
    >>> variable_label("InternetService")
    'InternetService'
    """
    if column is None:
        return "Group"
    if column == "segment_name":
        return "Segment"
    label = feature_label(column)
    # a column with no label of its own: its name in words, not as code ("international_plan")
    if label != column:
        return label
    words = column.replace("_", " ").strip()
    return words[:1].upper() + words[1:]  # "InternetService" keeps its inner capitals


class _Formatter(string.Formatter):
    """:meth:`str.format` with the catalogue's own format specifications (see the module docstring)."""

    def __init__(self, values: Mapping[str, Any]):
        self.values = values

    def format_field(self, value: Any, format_spec: str) -> str:
        if "|" in format_spec:
            one, other = format_spec.split("|", 1)
            count = len(value) if isinstance(value, list | tuple) else value
            return one if count == 1 else other
        column, flag = self.values.get("column"), bool(self.values.get("flag", False))
        custom = {
            "label": lambda v: feature_label(str(v)),
            "label_lower": lambda v: feature_label(str(v)).lower(),
            "labels": lambda v: ", ".join(feature_label(str(item)) for item in v),
            "join": lambda v: ", ".join(str(item) for item in v),
            "quoted": lambda v: _named(v, quote=True),
            "named": lambda v: _named(v, quote=False),
            "group": lambda v: group_label(v, column, flag),
            "groups": lambda v: _named((group_label(g, column, flag) for g in v), quote=False),
        }
        if format_spec in custom:
            return custom[format_spec](value)
        return super().format_field(value, format_spec)


def render(note: Note) -> str:
    """The sentence of one note, from its template in :data:`MESSAGES` (plain text).

    Parameters
    ----------
    note : Note

    Returns
    -------
    str
        Not escaped: names from the data are in it, so escape it where it is placed.

    Raises
    ------
    cxlib.exceptions.MissingMessageError
        When the code has no template, or the template needs a value the note does not carry.

    Examples
    --------
    >>> from cxlib.stats import Note
    >>> render(Note("design.constant", {"term": "long_wait"}))
    'Long support wait: constant in these data, left out'
    """
    try:
        template = MESSAGES[note.code]
    except KeyError:
        raise MissingMessageError(
            f"no message for note code {note.code!r}: add its template to MESSAGES in cxlib/report/_messages.py"
        ) from None
    try:
        return _Formatter(note.values).vformat(template, (), note.values)
    except (KeyError, IndexError) as missing:
        raise MissingMessageError(
            f"the message {note.code!r} needs the value {missing} that the note does not carry "
            f"(it has {sorted(note.values)})"
        ) from None


def render_all(notes: Iterable[Note]) -> list[str]:
    """:func:`render` of each note, in order.

    Examples
    --------
    >>> from cxlib.stats import Note
    >>> render_all([Note("segment.stability_not_measured")])
    ['stability not measured (bootstrap_runs = 0)']
    """
    return [render(note) for note in notes]
