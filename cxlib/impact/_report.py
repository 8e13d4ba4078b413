"""Reader-facing text, tables and charts of the revenue-impact report (notebook 05).

Every function takes an :class:`~cxlib.impact.ImpactStudy` and returns what the notebook displays:
Markdown, styled tables and closed matplotlib figures. Conclusion first: the recommendation and the
money, then how the pilot was read, what the programme is worth lever by lever, whether it pays,
where to start, what less friction would be worth, and the assumptions. Every money figure carries
its 95% interval and the strength of evidence it rests on. Names from the data and the config are
escaped (:func:`cxlib.report.md_text`, :func:`cxlib.report.styled`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from IPython.display import Markdown

from cxlib.impact._economics import decision
from cxlib.impact._evidence import EVIDENCE_LABELS
from cxlib.impact._study import REASONS, ImpactStudy
from cxlib.report import closed_figure, md_text, render, styled, tables_read
from cxlib.value._report import rounded_money

LEVER_NAMES = {
    "loyalty": "More revenue per loyal customer",
    "retention": "Revenue protected by lower churn and longer lifetimes",
    "word_of_mouth": "New customers won by word of mouth",
    "total": "Total",
}
SOURCE_NAMES = {
    "pilot": "the pilot",
    "promoters": "promoters' spend against passives' (within customers) x the assumed share moved",
    "config": "the config (an assumption)",
    "customer_value": "the customer-value results",
}


def safe_money(currency: str):
    """:func:`cxlib.value.rounded_money`, with words for what is not a finite amount.

    Examples
    --------
    >>> fmt = safe_money("EUR")
    >>> fmt(1234.0), fmt(float("inf")), fmt(float("nan"))
    ('1,230 EUR', 'no upper bound', 'not estimated')
    """
    fmt = rounded_money(currency)

    def money(amount: float) -> str:
        if np.isfinite(amount):
            return fmt(amount)
        if np.isnan(amount):
            return "not estimated"
        return "no upper bound" if amount > 0 else "no lower bound"

    return money


def _fmt(study: ImpactStudy):
    return safe_money(md_text(study.settings["currency"]))


def money_range(study: ImpactStudy, value: float, low: float, high: float) -> str:
    """``1.23 million EUR (95% interval 0.80 million EUR to 1.70 million EUR)`` (Markdown-safe)."""
    return f"{_money(study, value)} (95% interval {money_interval(study, low, high)})"


def _money(study: ImpactStudy, value: float) -> str:
    return _fmt(study)(value) if np.isfinite(value) else "no finite amount"


def money_interval(study: ImpactStudy, low: float, high: float) -> str:
    """``0.80 million EUR to 1.70 million EUR``; an infinite end says there is no bound."""
    if np.isnan(low) or np.isnan(high):
        return "not estimated"
    if not np.isfinite(high):
        return f"{_money(study, low)} or more, with no upper bound"
    return f"{_money(study, low)} to {_money(study, high)}"


def evidence_label(code: str) -> str:
    """The reader's name of an evidence code, e.g. *randomised pilot*."""
    return EVIDENCE_LABELS[code]


def noun(study: ImpactStudy) -> str:
    """What the report calls the investment: the *programme* when the data hold its pilot, else the *initiative*.

    Without a programme table the report must not speak of a programme the data do not record; what
    it values is then a planned CX initiative.
    """
    return "programme" if study.settings.get("has_programme") else "initiative"


def _reason(reason: str) -> str:
    return (
        f"the data have no {REASONS[reason]}" if reason.startswith("no_") else f"it needs {REASONS[reason]}"
    )


def _row(study: ImpactStudy, figure: str) -> pd.Series | None:
    table = study.case.summary.set_index("figure") if study.case is not None else None
    return table.loc[figure] if table is not None and figure in table.index else None


def verdict_text(code: str, investment: str = "programme") -> str:
    """The verdict of :func:`cxlib.impact.decision` in words, bold (Markdown).

    Examples
    --------
    >>> verdict_text("fund", "initiative")
    '**Fund the initiative.**'
    """
    return {
        "fund": f"**Fund the {investment}.**",
        "fund_where_it_pays": "**Fund it in the segments that pay first, and measure as it runs.**",
        "do_not_fund": "**Do not fund it as planned:** at this cost it more likely loses money than makes it.",
        "no_costs": "**No costs were given**, so the return on investment cannot be judged.",
    }[code]


def recommendation(study: ImpactStudy) -> str:
    """The conclusion, first: fund or not, the money with its interval, and what it rests on (Markdown)."""
    if study.case is None:
        reason = study.unavailable.get("case", "no_base")
        return f"## Recommendation\n\nThe revenue case cannot be built: {_reason(reason)}."
    s = study.settings
    case = study.case
    total = _row(study, "margin_total")
    lines = ["## Recommendation", ""]
    enrolled = f"{study.enrolled:,} active customers"
    if case.has_costs:
        npv, roi = _row(study, "npv"), _row(study, "roi")
        p = case.p_roi_positive
        verdict = verdict_text(decision(p, case.has_costs), noun(study))
        payback = _row(study, "payback_month")
        pays = (
            f"It pays back in month {payback['value']:.0f}."
            if np.isfinite(payback["value"])
            else f"It does not pay back within {s['horizon_months']} months at the central inputs."
        )
        lines += [
            f"{verdict} Over {s['horizon_months']} months, enrolling {enrolled} is expected to return "
            f"{money_range(study, npv['value'], npv['low'], npv['high'])} net on margin, after costs of "
            f"{_fmt(study)(_row(study, 'cost')['value'])}: a return on investment of {roi['value']:.0%} "
            f"({roi['low']:.0%} to {roi['high']:.0%}). The {noun(study)} returns more than it costs in {p:.0%} of "
            f"{len(case.draws['npv']):,} simulations. {pays}",
        ]
    else:
        lines += [
            f"Enrolling {enrolled} is expected to add {money_range(study, total['value'], total['low'], total['high'])} "
            f"of margin over {s['horizon_months']} months. **No costs were given** "
            "(`impact.cost_fixed`, `impact.cost_per_customer_year`), so the return on investment cannot be judged: "
            f"the {noun(study)} pays if it costs less than this.",
        ]
    lines += ["", _evidence_sentence(study)]
    return "\n".join(lines)


def pilot_scope(study: ImpactStudy) -> str:
    """The assumption that carries a pilot's effects to every enrolled customer over the horizon (Markdown)."""
    months = study.settings.get("pilot_months", float("nan"))
    span = f"over about {months:.0f} months" if np.isfinite(months) else "over its own run"
    return (
        f"the pilot measured its effects {span} on its own members; the case assumes they last the whole "
        f"{study.settings['horizon_months']} months and hold for every enrolled customer. The label *randomised pilot* "
        "speaks for the effect, not for that extrapolation, which is an assumption."
    )


def _evidence_sentence(study: ImpactStudy) -> str:
    table = study.case.by_evidence
    total = float(table["value"].sum())
    if total == 0:
        return ""
    parts = [
        f"{_fmt(study)(row.value)} ({row.value / total:.0%}) on {evidence_label(row.evidence)}"
        for row in table.itertuples()
    ]
    return "Of the margin, " + ", ".join(parts) + "."


def report_intro(study: ImpactStudy, data) -> str:
    """What the report reads, the money settings, and the parts these data cannot support (Markdown)."""
    s = study.settings
    parts = [tables_read(data)]
    lines = [
        "## What this report rests on",
        "",
        f"This report on {md_text(s.get('company') or 'the company')} reads {', '.join(parts)}, as of "
        f"{pd.Timestamp(data.as_of):%d %B %Y}. Money is **gross margin** ({s['margin_rate']:.0%} of revenue, "
        f"`analysis.margin`) over the next {s['horizon_months']} months, discounted at "
        f"{s['annual_discount_rate']:.0%} a year; never revenue alone. Every figure has a 95% interval from "
        f"{int(s['n_draws']):,} Monte Carlo simulations over every uncertain input, and a label saying what it rests "
        "on: *randomised pilot*, *quasi-experiment*, *observed association* or *assumption* (the weakest input of "
        "the figure decides).",
    ]
    missing = [
        f"- {label}: not available, as {_reason(study.unavailable[key])}."
        for key, label in (
            ("programme", "Pilot evaluation (so churn and spend effects are assumptions)"),
            ("loyalty", "Promoters' spend (so the spend effect is an assumption)"),
            ("word_of_mouth", "Word of mouth (lever 3 is left out)"),
            ("economics", "Return on investment"),
            ("what_if", "Friction what-ifs"),
            ("by_group", "Breakdown by segment"),
        )
        if key in study.unavailable
    ]
    if missing:
        lines += ["", "Not available from these data:", "", *missing]
    notes = [md_text(render(n) if hasattr(n, "code") else str(n)) for n in study.notes]
    if notes:
        lines += ["", "Notes on the data:", "", *(f"- {text}" for text in notes)]
    return "\n".join(lines)


# ---- levers -------------------------------------------------------------------------------------


def lever_table(study: ImpactStudy) -> pd.DataFrame:
    """One row per lever and the total: revenue and margin with intervals, and the evidence."""
    fmt = _fmt(study)
    rows = []
    for lever in ("loyalty", "retention", "word_of_mouth", "total"):
        margin, revenue = _row(study, f"margin_{lever}"), _row(study, f"revenue_{lever}")
        if margin is None:
            continue
        rows.append(
            {
                "Lever": LEVER_NAMES[lever],
                "Revenue (present value)": f"{fmt(revenue['value'])} ({fmt(revenue['low'])} to {fmt(revenue['high'])})",
                "Margin (present value)": f"{fmt(margin['value'])} ({fmt(margin['low'])} to {fmt(margin['high'])})",
                "Rests on": evidence_label(margin["evidence"]),
            }
        )
    return pd.DataFrame(rows)


def lever_report(study: ImpactStudy) -> list:
    """The three levers: table, waterfall, and how each was computed."""
    if study.case is None:
        return []
    from cxlib.impact._plots import plot_waterfall

    s = study.settings
    out = [
        Markdown(f"## What is the {noun(study)} worth, lever by lever?\n\n" + describe_levers(study)),
        styled(
            lever_table(study),
            caption="The three levers of CX revenue (95% intervals; present value on margin)",
        ),
        closed_figure(plot_waterfall(study.case.waterfall, s["currency"])),
    ]
    out.append(styled(evidence_table(study), caption="The margin split by what it rests on (95% intervals)"))
    if study.shift_value is not None and len(study.shift_value):
        out += [Markdown(describe_shift(study)), styled(shift_table(study), caption=_shift_caption(study))]
    if study.by_group is not None and len(study.by_group):
        out += [Markdown(describe_groups(study)), styled(group_table(study), caption=_group_caption(study))]
    return out


def describe_levers(study: ImpactStudy) -> str:
    """How each lever was computed and from what (Markdown bullets)."""
    i = study.inputs
    fmt = _fmt(study)
    h = i["hazard_ratio"]
    lines = []
    if study.sources.get("spend") == "pilot":
        r = i["spend_ratio"]
        lines.append(
            f"- **Loyalty:** the pilot measured spend {r.value - 1:+.1%} per customer under the {noun(study)} "
            f"({r.low - 1:+.1%} to {r.high - 1:+.1%}, {evidence_label(r.evidence)}), applied to the enrolled customers' "
            "current revenue."
        )
    elif study.sources.get("spend") == "promoters":
        q, shift = i["promoter_spend_ratio"], i["promoter_shift"]
        lines.append(
            f"- **Loyalty:** a customer spends {q.value - 1:+.0%} a month while a promoter (NPS 9-10) against their own "
            f"months as a passive ({q.low - 1:+.0%} to {q.high - 1:+.0%}, {evidence_label(q.evidence)}); the {noun(study)} is "
            f"assumed to turn {shift.value:.0%} ({shift.low:.0%} to {shift.high:.0%}) of non-promoters into promoters "
            "(`impact.promoter_shift`)."
        )
    else:
        r = i["spend_ratio"]
        lines.append(
            f"- **Loyalty:** spend per customer assumed {r.value - 1:+.1%} ({r.low - 1:+.1%} to {r.high - 1:+.1%}, "
            "`impact.spend_uplift`)."
        )
    if "pilot" in (study.sources.get("hazard_ratio"), study.sources.get("spend")):
        lines.append(f"- **Beyond the pilot:** {pilot_scope(study)}")
    source = (
        f"the pilot ({evidence_label(h.evidence)})"
        if study.sources.get("hazard_ratio") == "pilot"
        else "an assumption (`impact.churn_reduction`)"
    )
    lines.append(
        f"- **Retention:** the churn hazard under the {noun(study)} is {h.value:.2f} times today's ({h.low:.2f} to "
        f"{h.high:.2f}), from {source}; each customer's survival curve from the churn model becomes S(t)^{h.value:.2f}, "
        "and the months gained are valued at their current spend."
    )
    if "referral_rate_gain" in i:
        g, v = i["referral_rate_gain"], i["referred_value"]
        cac = i.get("cac")
        saved = (
            f" plus {fmt(cac.value)} of acquisition cost saved each (`impact.cac`)"
            if cac is not None and cac.value > 0
            else ""
        )
        lines.append(
            f"- **Word of mouth:** a promoter brings {g.value * 12:.2f} more referred customers a year than a passive "
            f"({g.low * 12:.2f} to {g.high * 12:.2f}, {evidence_label(g.evidence)}); each is worth {fmt(v.value)} on margin"
            f"{saved}."
        )
    extra = "the extra spend and referrals" if "referral_rate_gain" in i else "the extra spend"
    lines.append(
        f"\nThe levers are added without their interaction ({extra} of customers who stay longer because of the "
        f"{noun(study)}), so the total is slightly conservative."
    )
    return "\n".join(lines)


def evidence_table(study: ImpactStudy) -> pd.DataFrame:
    """The levers' margin summed by strength of evidence, strongest first."""
    fmt = _fmt(study)
    table = study.case.by_evidence
    return pd.DataFrame(
        {
            "Rests on": table["evidence"].map(evidence_label),
            "Levers": [
                ", ".join(LEVER_NAMES[lever].lower() for lever in levers.split(", "))
                for levers in table["levers"]
            ],
            "Margin (present value)": [
                f"{fmt(v)} ({fmt(lo)} to {fmt(hi)})"
                for v, lo, hi in zip(table["value"], table["low"], table["high"], strict=True)
            ],
        }
    )


def _shift_caption(study: ImpactStudy) -> str:
    from cxlib.impact._study import SHIFTED

    return (
        f"What moving {SHIFTED} customers from passive to promoter is worth over the horizon (95% intervals)"
    )


def shift_table(study: ImpactStudy) -> pd.DataFrame:
    """Margin of moving customers from passive to promoter, by lever."""
    fmt = _fmt(study)
    table = study.shift_value
    return pd.DataFrame(
        {
            "Lever": table["lever"].map(LEVER_NAMES),
            "Margin (present value)": [
                f"{fmt(v)} ({fmt(lo)} to {fmt(hi)})"
                for v, lo, hi in zip(table["value"], table["low"], table["high"], strict=True)
            ],
            "Rests on": table["evidence"].map(evidence_label),
        }
    )


def describe_shift(study: ImpactStudy) -> str:
    """What one promoter more is worth (Markdown)."""
    from cxlib.impact._study import SHIFTED

    total = float(study.shift_value["value"].sum())
    return (
        f"**What a promoter is worth.** Turning {SHIFTED} passives into promoters, with nothing else changed, adds "
        f"about {_fmt(study)(total)} of margin over {study.settings['horizon_months']} months "
        f"({_fmt(study)(total / SHIFTED)} a customer): promoters spend more each month than they did as passives and bring "
        "more referred customers. This is the yardstick for any plan that raises NPS."
        if "word_of_mouth" in set(study.shift_value["lever"])
        else f"**What a promoter is worth.** Turning {SHIFTED} passives into promoters, with nothing else changed, adds "
        f"about {_fmt(study)(total)} of margin over {study.settings['horizon_months']} months "
        f"({_fmt(study)(total / SHIFTED)} a customer), as promoters spend more each month than they did as passives."
    )


def group_table(study: ImpactStudy) -> pd.DataFrame:
    """Margin of the levers per group of the enrolled (segment or plan), with intervals."""
    fmt = _fmt(study)
    table = study.by_group
    out = pd.DataFrame(
        {
            "Group": table["group"].astype(str),
            "Customers": table["customers"].map("{:,}".format),
            "Margin, all levers": [
                f"{fmt(v)} ({fmt(lo)} to {fmt(hi)})"
                for v, lo, hi in zip(
                    table["margin_total"], table["margin_total_low"], table["margin_total_high"], strict=True
                )
            ],
            "Per customer": table["per_customer"].map(fmt),
        }
    )
    return out


def _group_caption(study: ImpactStudy) -> str:
    from cxlib.report import variable_label

    return (
        f"{noun(study).capitalize()} margin by {variable_label(study.group_variable).lower()} (95% intervals)"
    )


def describe_groups(study: ImpactStudy) -> str:
    """Which group gains most per customer (Markdown)."""
    from cxlib.report import variable_label

    table = study.by_group.sort_values("per_customer", ascending=False)
    top = table.iloc[0]
    name = variable_label(study.group_variable).lower()
    return (
        f"Per enrolled customer the {noun(study)} is worth most in {name} **{md_text(top['group'])}** "
        f"({_fmt(study)(top['per_customer'])} each), least in {name} **{md_text(table.iloc[-1]['group'])}** "
        f"({_fmt(study)(table.iloc[-1]['per_customer'])})."
    )


# ---- pilot --------------------------------------------------------------------------------------


def pilot_report(study: ImpactStudy) -> list:
    """How the pilot was evaluated: effects with intervals, the naive comparison, balance, the assumption."""
    programme = study.programme
    if programme is None or not len(programme.effects):
        return []
    from cxlib.impact._report_pilot import pilot_parts

    return pilot_parts(study)


# ---- economics ----------------------------------------------------------------------------------


def economics_report(study: ImpactStudy) -> list:
    """Does it pay: costs, NPV, ROI, payback with intervals, the spread of the NPV and the tornado."""
    case = study.case
    if case is None or not case.has_costs:
        return []
    from cxlib.impact._plots import plot_npv_spread, plot_tornado

    fmt = _fmt(study)
    rows = []
    for figure, label in (
        ("margin_total", "Incremental margin (present value)"),
        ("cost", "Cost (present value)"),
        ("npv", "Net present value"),
        ("roi", "Return on investment"),
        ("payback_month", "Payback (months)"),
        ("cost_per_retained", "Cost per extra customer retained"),
    ):
        row = _row(study, figure)
        if row is None:
            continue
        if figure == "roi":
            text = f"{row['value']:.0%} ({row['low']:.0%} to {row['high']:.0%})"
        elif figure == "payback_month":
            text = _payback_text(row, study.settings["horizon_months"])
        else:
            text = f"{_money(study, row['value'])} ({money_interval(study, row['low'], row['high'])})"
        rows.append(
            {"Figure": label, "Value (95% interval)": text, "Rests on": evidence_label(row["evidence"])}
        )
    top = case.tornado.iloc[0] if len(case.tornado) else None
    words = (
        f"The input that moves the result most is **{_input_name(top['input'], study)}**: across its range the NPV runs from "
        f"{fmt(min(top['result_low'], top['result_high']))} to {fmt(max(top['result_low'], top['result_high']))}."
        if top is not None
        else ""
    )
    return [
        Markdown(
            "## Does it pay?\n\nCosts are the config's (`impact.cost_fixed` once, `impact.cost_per_customer_year` for each "
            "enrolled customer while they stay), set against the incremental **margin**. " + words
        ),
        styled(pd.DataFrame(rows), caption=f"Economics of the {noun(study)} on margin (95% intervals)"),
        closed_figure(plot_npv_spread(case.draws["npv"], study.settings["currency"])),
        closed_figure(plot_tornado(case.tornado, study.settings["currency"])),
    ]


def _payback_text(row, horizon: int) -> str:
    def month(value):
        return f"month {value:.0f}" if np.isfinite(value) else f"after month {horizon}"

    return f"{month(row['value'])} ({month(row['low'])} to {month(row['high'])})"


def _input_name(name: str, study: ImpactStudy) -> str:
    from cxlib.impact._plots import INPUT_LABELS

    return INPUT_LABELS.get(name, name).lower().replace("programme", noun(study))


# ---- targeting, what-ifs, assumptions, KPIs -----------------------------------------------------


def targeting_report(study: ImpactStudy) -> list:
    """Which groups to enrol first, and the expected-return curve."""
    if study.targeting is None or study.targeting_groups is None or len(study.targeting_groups) < 2:
        return []  # one group: nothing to rank
    from cxlib.impact._report_more import targeting_parts

    return targeting_parts(study)


def what_if_report(study: ImpactStudy) -> list:
    """What less friction would be worth (observational)."""
    if study.what_if is None or not len(study.what_if):
        return []
    from cxlib.impact._report_more import what_if_parts

    return what_if_parts(study)


def assumptions_report(study: ImpactStudy) -> list:
    """Every input with its value, range or interval, what it rests on and where it comes from."""
    if not study.inputs:
        return []
    from cxlib.impact._report_more import assumption_parts

    return assumption_parts(study)


def kpi_report(study: ImpactStudy) -> list:
    """The seed KPIs beside the lever each feeds."""
    from cxlib.impact._report_more import kpi_parts

    return kpi_parts(study)
