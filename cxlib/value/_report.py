"""Reader-facing text, tables and charts of the customer-value report (notebook 04).

Every function takes a :class:`~cxlib.value.ValueStudy` and returns what the notebook displays:
Markdown, styled tables and closed matplotlib figures. A part the data cannot support says in one
sentence what it would need. Names from the data are escaped (:func:`cxlib.report.md_text`, and
:func:`cxlib.report.styled` for tables).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from IPython.display import Markdown

from cxlib.report import (
    md_text,
    money_format,
    plot_summary,
    render_all,
    styled,
    tables_read,
    variable_label,
)
from cxlib.stats import suppress_small
from cxlib.value._study import REASONS, ValueStudy

#: Reader's names of the repeat-buying models.
MODEL_NAMES = {
    "bgnbd": "BG/NBD",
    "pareto_nbd": "Pareto/NBD",
}
#: What each model assumes, and when that fails (shown in the model-check section).
ASSUMPTIONS = {
    "bgnbd": (
        "**BG/NBD** (Fader, Hardie and Lee 2005): while active, a customer buys at a steady random rate "
        "(Poisson); after any purchase they may stop for good with a fixed chance; rates and chances vary "
        "between customers (gamma and beta distributions), independently. It fails when buying is "
        "seasonal or scheduled (subscriptions, paydays), when customers come back after long pauses, or "
        "when leaving is recorded (then use the subscription value)."
    ),
    "pareto_nbd": (
        "**Pareto/NBD** (Schmittlein, Morrison and Colombo 1987): the same steady buying, but a customer "
        "may stop at any moment, not only after a purchase (an exponential lifetime, rates varying by a "
        "gamma distribution). With covariates (as in CLVTools), a customer's rate of leaving is "
        "multiplied by a ratio per covariate. It fails in the same cases as BG/NBD."
    ),
    "gamma_gamma": (
        "**Gamma-Gamma** (Fader and Hardie 2013): what a customer spends per purchase varies around their "
        "own mean, and that mean does not depend on how often they buy (the spend check above tests it)."
    ),
}


def _close(ax):
    import matplotlib.pyplot as plt

    figure = ax.figure
    plt.close(figure)
    return figure


def rounded_money(currency: str):
    """Money to three significant figures ("2.03 million EUR", "645 EUR", "12,300 EUR").

    The currency is written as given: in Markdown pass it through :func:`cxlib.report.md_text` first.
    Sentences quote estimates, and a sixth digit is noise (findings are compared word for word by
    nbval on every machine, and that digit depends on where the optimiser stopped); tables keep whole units.

    Examples
    --------
    >>> [rounded_money("EUR")(v) for v in (2_029_360.4, 2_000_100.0, 645.2, 12_345.0, 123_456_789.0)]
    ['2.03 million EUR', '2.00 million EUR', '645 EUR', '12,300 EUR', '123 million EUR']
    """

    def fmt(amount: float) -> str:
        size = abs(amount)
        if size >= 1e6:
            millions = amount / 1e6
            decimals = max(0, 2 - int(np.floor(np.log10(abs(millions)))))
            return f"{millions:,.{decimals}f} million {currency}"
        if size >= 1e3:
            digits = int(np.floor(np.log10(size))) - 2
            return f"{round(amount, -digits):,.0f} {currency}"
        return f"{amount:,.0f} {currency}"

    return fmt


def _money(study: ValueStudy, amount: float) -> str:
    return rounded_money(md_text(study.settings["currency"]))(amount)


def _money_ci(study: ValueStudy, value: float, low: float, high: float) -> str:
    fmt = rounded_money(md_text(study.settings["currency"]))
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{fmt(value)} (no interval: the models' parameter uncertainty could not be estimated)"
    return f"{fmt(value)} (95% interval {fmt(low)} to {fmt(high)})"


def _range(fmt, value: float, low: float, high: float) -> str:
    """A table cell: value (low to high), or the value alone when there is no interval."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{fmt(value)} (no interval)"
    return f"{fmt(value)} ({fmt(low)} to {fmt(high)})"


def _unit(study: ValueStudy) -> str:
    days = int(study.settings["time_unit_days"])
    return {7: "week", 1: "day"}.get(days, f"{days}-day period")


def _reason(reason: str) -> str:
    return (
        f"the data have no {REASONS[reason]}" if reason.startswith("no_") else f"it needs {REASONS[reason]}"
    )


QUESTIONS = {
    "value": "What are customers worth, and which groups hold the value?",
    "check": "Can the model be trusted? Its forecast against months it did not see",
    "experience": "Does experience change how long customers keep buying?",
    "subscription": "What are subscribers worth, given how long they stay?",
}


def report_intro(study: ValueStudy, data) -> str:
    """What the report reads and which of its questions these data can answer (Markdown)."""
    parts = [tables_read(data, ("customers", "transactions", "interactions", "surveys"))]
    s = study.settings
    lines = [
        "## What these data can answer",
        "",
        f"This report on {md_text(s.get('company') or 'the company')} reads {', '.join(parts)}, as of "
        f"{pd.Timestamp(data.as_of):%d %B %Y}. Value is **gross margin** ({s['margin_rate']:.0%} of revenue before refunds, "
        f"`analysis.margin`) over the next {s['horizon_months']} months (`analysis.horizon_months`), discounted at "
        f"{s['annual_discount_rate']:.0%} a year (`analysis.discount_rate`). Every value has a 95% interval from "
        "the uncertainty of the estimated model parameters (not from chance in what one customer does).",
        "",
    ]
    parts_state = {
        "value": study.unavailable.get("transactional"),
        "check": study.unavailable.get("holdout")
        if study.value is not None
        else study.unavailable.get("transactional"),
        "experience": study.unavailable.get("covariates")
        if study.value is not None
        else study.unavailable.get("transactional"),
        "subscription": study.unavailable.get("subscription"),
    }
    for number, (key, question) in enumerate(QUESTIONS.items(), start=1):
        reason = parts_state[key]
        suffix = f" *Not available: {_reason(reason)}.*" if reason else ""
        if key == "experience":
            question = _experience_question(study)
        lines.append(f"{number}. **{question.split('?')[0]}?**{suffix}")
    return "\n".join(lines)


# ---- value --------------------------------------------------------------------------------------


def value_report(study: ValueStudy) -> list:
    """Total and per-customer value, value by group (table and chart), and how concentrated it is."""
    if study.value is None:
        return []
    from cxlib.value._plots import plot_value_by_group, plot_value_concentration

    out = [Markdown(f"## {QUESTIONS['value']}\n\n{_value_method(study)}"), Markdown(describe_value(study))]
    table = value_table(study)
    if len(table):
        out.append(
            styled(table, caption="Expected lifetime value by group (on margin, discounted; 95% intervals)")
        )
    variable = _main_variable(study)
    if variable is not None:
        shown = _shown_groups(study, variable)
        if len(shown) > 1:
            out.append(_close(plot_value_by_group(shown, variable, study.settings["currency"])))
    out.append(_close(plot_value_concentration(study.value.table["clv"])))
    return out


def _value_method(study: ValueStudy) -> str:
    model = MODEL_NAMES[study.chosen]
    return (
        f"Each customer's expected purchases over the horizon come from their own history (how often, how "
        f"recently, since when they buy) through the {model} model; the spend per purchase from the Gamma-Gamma "
        "model, which pulls a customer's own average towards everyone's by how many purchases it rests on. "
        "Value = expected purchases x expected spend x margin, each month discounted."
    )


def describe_value(study: ValueStudy) -> str:
    """Total value, value per customer, and the customers it cannot value (Markdown bullets)."""
    total = study.by_group["all"].iloc[0]
    table = study.value.table
    lines = [
        f"- **The {int(total['customers']):,} customers with a purchase are worth "
        f"{_money_ci(study, total['total'], total['total_low'], total['total_high'])}** in margin over the next "
        f"{study.settings['horizon_months']} months: {_money(study, total['mean'])} per customer on average.",
        f"- On average a customer is still buying with probability {table['probability_alive'].mean():.0%}, "
        f"and is expected to buy {table['expected_purchases'].mean():.1f} times in the horizon.",
    ]
    if study.cancelled_valued_zero:
        lines.append(
            f"- {study.cancelled_valued_zero:,} of them have cancelled (the data record it): whatever their buying "
            "suggests, they are valued at zero."
        )
    if study.customers_without_purchase:
        lines.append(
            f"- {study.customers_without_purchase:,} customers have not bought yet: with no purchase history "
            "there is nothing to value them on, and they are left out."
        )
    return "\n".join(lines)


def _main_variable(study: ValueStudy) -> str | None:
    for variable in ("segment_name", "plan", "acquisition_channel", "region"):
        if variable in study.by_group and len(study.by_group[variable]) > 1:
            return variable
    return None


def _shown_groups(study: ValueStudy, variable: str) -> pd.DataFrame:
    """Groups with at least ``analysis.min_group_size`` customers (and complementary hiding)."""
    table = study.by_group[variable]
    blanked = suppress_small(table, "customers", study.settings["min_group_size"], columns=["total"])
    return table.loc[blanked["total"].notna()]


def value_table(study: ValueStudy) -> pd.DataFrame:
    """Groups shown for every group variable: customers, total and mean value with intervals."""
    rows = []
    fmt = money_format(study.settings["currency"])
    for variable, table in study.by_group.items():
        if variable == "all" or len(table) < 2:
            continue
        shown = _shown_groups(study, variable)
        for row in shown.itertuples():
            rows.append(
                {
                    "Grouped by": variable_label(variable),
                    "Group": str(row.group),
                    "Customers": f"{row.customers:,}",
                    "Total value": _range(fmt, row.total, row.total_low, row.total_high),
                    "Per customer": _range(fmt, row.mean, row.mean_low, row.mean_high),
                    "Still buying (mean P)": f"{row.probability_alive:.0%}",
                }
            )
    return pd.DataFrame(rows)


# ---- model check --------------------------------------------------------------------------------


def check_report(study: ValueStudy) -> list:
    """Both models against the holdout, the cumulative forecast, P(alive), spend independence, assumptions."""
    if study.value is None:
        return []
    from cxlib.value._plots import plot_alive_grid, plot_cumulative_forecast, plot_holdout_by_frequency

    out = [Markdown(f"## {QUESTIONS['check']}")]
    reason = study.unavailable.get("holdout")
    if reason:
        out.append(
            Markdown(f"**Holdout check: not available.** {_reason(reason)[:1].upper()}{_reason(reason)[1:]}.")
        )
    else:
        out.append(Markdown(describe_holdout(study)))
        out.append(styled(model_table(study), caption="The two repeat-buying models compared"))
        shown_model = study.cumulative["model"].iloc[0]
        out.append(_close(plot_holdout_by_frequency(study.holdout, shown_model)))
        out.append(_close(plot_cumulative_forecast(study.cumulative, _unit(study))))
    age = float(study.summary["T"].median())
    out.append(_close(plot_alive_grid(study.alive, age, _unit(study) + "s")))
    out.append(Markdown(describe_spend(study)))
    out.append(
        Markdown(
            "**What the models assume.**\n\n"
            + "\n".join(f"- {ASSUMPTIONS[name]}" for name in (*study.fits, "gamma_gamma"))
        )
    )
    caveats = render_all([*study.fits[study.chosen].caveats_, *study.spend.caveats_])
    if caveats:
        out.append(Markdown("\n".join(f"- {md_text(text[:1].upper() + text[1:])}." for text in caveats)))
    return out


def holdout_totals(study: ValueStudy) -> pd.DataFrame:
    """Per model: holdout purchases actual vs forecast and the error in percent."""
    table = study.holdout.groupby("model", sort=False)[["actual_total", "expected_total"]].sum()
    table["error_pct"] = 100 * (table["expected_total"] - table["actual_total"]) / table["actual_total"]
    return table.reset_index()


def model_table(study: ValueStudy) -> pd.DataFrame:
    """Log-likelihood on all the data and holdout error of each model, and which one is used."""
    totals = holdout_totals(study).set_index("model") if study.holdout is not None else None
    rows = []
    for name, model in study.fits.items():
        row = {"Model": MODEL_NAMES[name], "Log-likelihood (all data)": f"{model.log_likelihood_:,.1f}"}
        if totals is not None and name in totals.index:
            t = totals.loc[name]
            row["Holdout purchases: forecast"] = f"{t['expected_total']:,.0f}"
            row["Holdout purchases: actual"] = f"{t['actual_total']:,.0f}"
            row["Forecast error"] = f"{t['error_pct']:+.1f}%"
        row["Used for value"] = "yes" if name == study.chosen else "no"
        rows.append(row)
    return pd.DataFrame(rows)


def describe_holdout(study: ValueStudy) -> str:
    """How the held-out months were forecast (Markdown)."""
    calibration = study.calibration
    cal_end = pd.Timestamp(calibration.attrs["calibration_end"])
    totals = holdout_totals(study).set_index("model")
    chosen = study.chosen if study.chosen in totals.index else totals.index[0]
    t = totals.loc[chosen]
    months = study.settings["holdout_months"]
    return (
        f"Both models were fitted on purchases up to {cal_end:%d %B %Y} and asked to forecast the "
        f"{months} months after it (`value.holdout_months`), which they did not see. "
        f"{MODEL_NAMES[chosen]} forecast {t['expected_total']:,.0f} repeat purchases by the "
        f"{len(calibration):,} customers against {t['actual_total']:,.0f} made ({t['error_pct']:+.1f}%). "
        "The value itself uses the model fitted on all the data: "
        + (
            "the one with the higher likelihood (`value.model: best`)."
            if study.settings["model"] == "best"
            else f"{MODEL_NAMES[study.chosen]}, as `value.model` sets."
        )
    )


def describe_spend(study: ValueStudy) -> str:
    """The Gamma-Gamma fit and its independence check (Markdown)."""
    spend = study.spend
    p, q, g = (float(spend.params_[k]) for k in ("p", "q", "gamma"))
    mean = p * g / (q - 1) if q > 1 else float("nan")
    independence = spend.independence_.set_index("method") if "method" in spend.independence_ else None
    text = (
        f"**Spend per purchase.** Gamma-Gamma on the {spend.n_customers_:,} customers with a repeat purchase: "
        f"the average customer's mean spend is {_money(study, mean)} per purchase."
    )
    if independence is not None and "spearman" in independence.index:
        rho = float(independence.loc["spearman", "correlation"])
        pv = float(independence.loc["spearman", "p_value"])
        verdict = (
            "small enough for the model's assumption"
            if abs(rho) < 0.2
            else "not negligible: customers who buy more often spend "
            + ("more" if rho > 0 else "less")
            + " per purchase, which the model does not capture, so read the expected spend of the most and least "
            "frequent buyers with care"
        )
        text += (
            f" The model assumes spend does not depend on how often a customer buys: the rank correlation "
            f"between the two is {rho:+.2f} (p = {pv:.3f}), {verdict}."
        )
    return text


# ---- experience as a covariate -------------------------------------------------------------------


def experience_report(study: ValueStudy) -> list:
    """Rate ratios of leaving for each covariate (table and forest plot)."""
    if study.value is None:
        return []
    out = [Markdown(f"## {_experience_question(study)}")]
    reason = study.unavailable.get("covariates")
    if reason:
        out.append(Markdown(f"**Not available.** {_reason(reason)[:1].upper()}{_reason(reason)[1:]}."))
        return out
    model = study.covariates
    out.append(
        Markdown(
            "Pareto/NBD with covariates (as R's CLVTools fits it) lets each customer's rate of leaving depend on "
            f"{'their experience and attributes' if _has_experience(study) else 'their attributes'}. A ratio of 2 "
            "means customers with that trait stop buying twice as fast as the reference group, all else equal. "
            + (
                "Experience is counted up to the analysis date, and a customer who stayed longer had more time "
                "to meet it, so its ratios lean towards 'harmless': on synthetic data with known effects this "
                "design finds unresolved complaints harmless though they double the rate of leaving. Read them as "
                "**associations, not causes**; the churn report measures the effect of friction on leaving."
                if _has_experience(study)
                else "These are **associations, not causes**."
            )
            + "\n\n"
            + describe_experience(study)
        )
    )
    table = covariate_table(study)
    if len(table):
        out.append(
            styled(table, caption="Rate of leaving (stopping buying): ratio per covariate, 95% intervals")
        )
        rows = model.summary_.loc[model.summary_["term"].str.startswith("dropout:")]
        rows = rows.assign(label=[covariate_label(t) for t in rows["term"]])
        out.append(
            _close(
                plot_summary(
                    rows,
                    title="How much faster (> 1) or slower (< 1) customers stop buying",
                    estimate_name="rate ratio of leaving",
                    null_value=1.0,
                    higher_is="worse",
                )
            )
        )
    if study.what_if is not None:
        fmt = money_format(study.settings["currency"])
        table = pd.DataFrame(
            {
                "Customers who had": [
                    covariate_label(f"dropout:{c}").lower() for c in study.what_if["covariate"]
                ],
                "Customers": [f"{n:,}" for n in study.what_if["customers"]],
                "Value now": [fmt(v) for v in study.what_if["value_before"]],
                "Value had they not": [fmt(v) for v in study.what_if["value_after"]],
                "Change (95% CI)": [
                    f"{fmt(c)} ({fmt(lo)} to {fmt(hi)})"
                    for c, lo, hi in zip(
                        study.what_if["change"],
                        study.what_if["change_low"],
                        study.what_if["change_high"],
                        strict=True,
                    )
                ],
            }
        )
        out.append(
            Markdown(
                "**What-if.** The same model values the customers who had each kind of friction as they are, and "
                "as if they had not had it (everything else unchanged). This reads an association as an effect: "
                "a guide to what is at stake, labelled observational, not a measured result."
            )
        )
        out.append(
            styled(table, caption="Value at stake in friction (on margin over the horizon, discounted)")
        )
    if study.covariates_unstable:
        names = ", ".join(md_text(variable_label(v)) for v in study.covariates_unstable)
        out.append(
            Markdown(
                f"Left out: {names}. In some of its groups almost no customer stopped buying, so the ratio "
                "cannot be estimated on these data (it runs off towards zero)."
            )
        )
    absent = study.covariates_absent if study.settings["covariates"] is not None else {}
    if absent:  # only those the config asked for by name; the defaults the data lack are not news
        out.append(
            Markdown(
                "Covariates not available: "
                + "; ".join(
                    f"{md_text(name)} (the data have no {md_text(need)})" for name, need in absent.items()
                )
                + "."
            )
        )
    return out


def _has_experience(study: ValueStudy) -> bool:
    """Whether an experience measure (friction or NPS class) is among the covariates fitted."""
    from cxlib.value._covariates import EXPERIENCE_COVARIATES

    drivers = set(study.encoder.term_driver_.values()) if study.encoder is not None else set()
    return bool(drivers & set(EXPERIENCE_COVARIATES))


def _experience_question(study: ValueStudy) -> str:
    if not study.has_experience_data or (study.covariates is not None and not _has_experience(study)):
        return "Which customers stop buying sooner?"
    return QUESTIONS["experience"]


def _p_text(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def covariate_table(study: ValueStudy) -> pd.DataFrame:
    """Covariates of leaving: name, what it is compared with, the ratio with its interval, Holm p-value."""
    from cxlib.stats import unit_text

    summary = study.covariates.summary_
    rows = summary.loc[summary["term"].str.startswith("dropout:")]
    units = study.encoder.units_ if study.encoder is not None else {}
    compared = [
        unit_text(units[t.split(":", 1)[1]]) if t.split(":", 1)[1] in units else "" for t in rows["term"]
    ]
    return pd.DataFrame(
        {
            "Covariate": [covariate_label(t) for t in rows["term"]],
            "Compared with": compared,
            "Rate ratio of leaving (95% CI)": [
                f"{e:.2f} ({lo:.2f} to {hi:.2f})"
                for e, lo, hi in zip(rows["estimate"], rows["ci_low"], rows["ci_high"], strict=True)
            ],
            "p (Holm)": [f"{p:.3f}" if p >= 0.001 else "< 0.001" for p in rows["p_adjusted"]],
        }
    )


def describe_experience(study: ValueStudy) -> str:
    """The covariates whose ratio is clearly not 1, with intervals (Markdown bullets)."""
    summary = study.covariates.summary_
    rows = summary.loc[summary["term"].str.startswith("dropout:")]
    clear = rows.loc[rows["p_adjusted"] < 0.05]
    if not len(clear):
        return "- No covariate changes the rate of leaving clearly once the tests are corrected for their number (Holm)."
    lines = []
    for row in clear.sort_values("p_adjusted").itertuples():
        unit = _compared_with(study, row.term)
        lines.append(
            f"- Customers with {md_text(term_phrase(study, row.term))} stop buying at {row.estimate:.2f} times the rate "
            f"{('of ' + md_text(unit)) if unit else 'of customers without it'} (95% CI {row.ci_low:.2f} to "
            f"{row.ci_high:.2f}; p {_p_text(row.p_adjusted)}, Holm)."
        )
    return "\n".join(lines)


def _compared_with(study: ValueStudy, term: str) -> str:
    """Who a covariate is compared with: "customers with plan basic" for a level, "" for a yes/no flag."""
    from cxlib.stats import feature_label

    name = term.split(":", 1)[1]
    encoder = study.encoder
    if encoder is None or name not in encoder.term_driver_:
        return ""
    variable = encoder.term_driver_[name]
    if variable not in encoder.reference_:
        return ""
    return f"customers with {feature_label(variable).lower()} {encoder.reference_[variable]}"


def term_phrase(study: ValueStudy, term: str) -> str:
    """A covariate term for a sentence: "plan premium", "unresolved complaint"."""
    from cxlib.stats import feature_label

    name = term.split(":", 1)[1] if term.startswith(("dropout:", "purchase:")) else term
    variable = study.encoder.term_driver_.get(name) if study.encoder is not None else None
    if variable and name.startswith(f"{variable}: "):
        return f"{feature_label(variable).lower()} {name[len(variable) + 2 :]}"
    return feature_label(name).lower()


def covariate_label(term: str) -> str:
    """The readable name of a covariate term of the Pareto/NBD (``dropout:plan: premium`` -> ``Plan: premium``)."""
    from cxlib.stats import feature_label

    return feature_label(term.split(":", 1)[1] if term.startswith(("dropout:", "purchase:")) else term)


# ---- subscription ---------------------------------------------------------------------------------


def subscription_report(study: ValueStudy) -> list:
    """Survival-based value of subscribers (when churn is contractual)."""
    reason = study.unavailable.get("subscription")
    if reason == "not_contractual":
        return []
    out = [Markdown(f"## {QUESTIONS['subscription']}")]
    if reason:
        out.append(Markdown(f"**Not available.** {_reason(reason)[:1].upper()}{_reason(reason)[1:]}."))
        return out
    from cxlib.value._plots import plot_value_by_group

    value = study.subscription_value
    source = value.settings["revenue_source"]
    in_months = source is None
    if in_months:
        margin_text = (
            "The data give no revenue per month (set `value.monthly_revenue` to a customers column), so value is "
            "counted in **discounted months as a customer**: multiply by a monthly margin to read it as money"
        )
    else:
        revenue = (
            f"the customers column {md_text(source)} (`value.monthly_revenue`)"
            if source != "transactions"
            else "each customer's average monthly spend over their last 12 months of transactions"
        )
        margin_text = f"Their margin per month is {revenue} x {study.settings['margin_rate']:.0%}"
    out.append(
        Markdown(
            "Each active customer's chance of still being a customer month by month comes from the churn "
            "report's survival model (a Weibull model of lifetime with the same drivers), **given the tenure "
            f"they have already reached**. {margin_text}. Value = margin x chance of still being a customer, each "
            f"month discounted. Intervals come from {value.settings['draws']} draws of the survival model's "
            "parameters."
        )
    )
    total = study.subscription_by_group["all"].iloc[0]
    if in_months:
        lines = [
            f"- **An active subscriber is expected to stay {total['mean']:,.1f} discounted months** of the next "
            f"{study.settings['horizon_months']} (95% interval {total['mean_low']:,.1f} to {total['mean_high']:,.1f}), "
            f"over {int(total['customers']):,} active subscribers."
        ]
    else:
        lines = [
            f"- **The {int(total['customers']):,} active subscribers are worth "
            f"{_money_ci(study, total['total'], total['total_low'], total['total_high'])}** in margin over the next "
            f"{study.settings['horizon_months']} months, {_money(study, total['mean'])} each on average."
        ]
    missing = value.settings.get("customers_without_revenue", 0)
    if missing:
        lines.append(f"- {missing:,} active customers have no monthly revenue recorded and are not valued.")
    out.append(Markdown("\n".join(lines)))
    by = value.settings["by"]
    if by is not None:
        table = study.subscription_by_group[by]
        blanked = suppress_small(table, "customers", study.settings["min_group_size"], columns=["total"])
        shown = table.loc[blanked["total"].notna()]
        fmt = (lambda v: f"{v:,.1f}") if in_months else money_format(study.settings["currency"])
        columns = {
            variable_label(by): shown["group"].astype(str).to_numpy(),
            "Customers": [f"{n:,}" for n in shown["customers"]],
        }
        if not in_months:
            columns["Total value"] = [
                f"{fmt(t)} ({fmt(lo)} to {fmt(hi)})"
                for t, lo, hi in zip(shown["total"], shown["total_low"], shown["total_high"], strict=True)
            ]
        columns["Discounted months per customer" if in_months else "Per customer"] = [
            f"{fmt(t)} ({fmt(lo)} to {fmt(hi)})"
            for t, lo, hi in zip(shown["mean"], shown["mean_low"], shown["mean_high"], strict=True)
        ]
        caption = (
            "Expected discounted months as a customer by group (95% intervals)"
            if in_months
            else ("Subscription value by group (on margin, discounted; 95% intervals)")
        )
        out.append(styled(pd.DataFrame(columns), caption=caption))
        if len(shown) > 1:
            out.append(
                _close(plot_value_by_group(shown, by, study.settings["currency"], in_months=in_months))
            )
    if by is None or len(study.subscription_by_group.get(by, [])) < 2:
        from cxlib.value._plots import plot_value_histogram

        histogram = plot_value_histogram(
            study.subscription["clv"], study.settings["currency"], in_months=in_months
        )
        out.append(_close(histogram))
    notes = render_all(value.caveats)
    if notes:
        out.append(Markdown("\n".join(f"- {md_text(text[:1].upper() + text[1:])}." for text in notes)))
    if study.value is not None:
        out.append(
            Markdown(
                "The repeat-buying value above and this one answer different questions: the first infers from "
                "buying alone who is still a customer; this one knows who has cancelled and values the margin "
                "of staying. Where cancellations are recorded, this one is the better guide to a customer's "
                "worth as a subscriber."
            )
        )
    return out


def caveats(study: ValueStudy) -> list[str]:
    """Every model's caveats as sentences."""
    notes = []
    for model in (*study.fits.values(), study.spend, study.covariates):
        if model is not None:
            notes += model.caveats_
    return render_all(notes)
