"""The executive summary's appendix: how each figure was estimated, and the caveats that apply.

Only what the data given make relevant: no line on NPS without surveys, none on the pilot without
a programme table. The appendix starts on a new printed page.
"""

from __future__ import annotations

from cxlib.executive._inputs import ExecutiveInputs, headline_figures
from cxlib.executive._selection import value_method
from cxlib.report import md_text

#: Starts the appendix on a new printed page (ignored on screen).
PAGE_BREAK = '<div style="break-before: page"></div>'


def _as_of(inputs: ExecutiveInputs) -> str:
    as_of = inputs.settings.get("as_of")
    return f" to {as_of:%d %B %Y}" if as_of is not None else ""


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def method_lines(inputs: ExecutiveInputs) -> list[str]:
    """One line per figure family shown: how it was estimated, naming the notebook (Markdown)."""
    lines = []
    surveys = "surveys" in inputs.present
    if "00_data_overview" in inputs.ran:
        shown = [
            name
            for name, figure in (
                ("customers", "customers"),
                ("revenue", "net_revenue_12m"),
                ("churn", "churn_rate_12m"),
                ("churn", "churn_rate_snapshot"),
                ("churn", "lapse_rate"),
                ("NPS", "nps"),
            )
            if figure in set(headline_figures(inputs)["figure"])
        ]
        nps = (
            "; NPS counts each customer's latest answer and its interval comes from the spread of the answers"
            if "NPS" in shown
            else ""
        )
        churn = "; the churn rate has a Wilson 95% interval" if "churn" in shown else ""
        lines.append(
            f"**{_listed(shown)[:1].upper() + _listed(shown)[1:]}** (data overview, notebook 00): counts and totals over the 12 months"
            f"{_as_of(inputs)} are observed, not estimated{churn}{nps}."
        )
    if "01_segmentation" in inputs.ran:
        lines.append(
            "**Segments** (notebook 01): customers grouped by how they buy (k-means on frequency, basket size, spend "
            "and channel mix), named after what sets each group apart."
        )
    if "02_churn_drivers" in inputs.ran:
        lines.append(
            "**Churn drivers** (notebook 02): one logistic regression of churn on every driver at once; odds ratios "
            "with 95% confidence intervals, and p-values adjusted for testing many drivers (Holm)."
        )
    if surveys and inputs.table("driver_importance") is not None:
        lines.append(
            "**Satisfaction drivers** (notebook 03): each rating's share of the explained variation of the answer "
            "(relative weights), with bootstrap 95% intervals."
        )
    if "clv_total" in set(headline_figures(inputs)["figure"]):
        settings = inputs.settings
        method = value_method(inputs)
        lines.append(
            f"**Customer value** (notebook 04): expected margin ({settings.get('margin_rate', 0):.0%} of revenue) over "
            f"the next {settings.get('horizon_months')} months, discounted at {settings.get('annual_discount_rate', 0):.0%} "
            f"a year{f' ({md_text(method)})' if method else ''}; intervals from the models' parameter uncertainty."
        )
    if inputs.has_case:
        lines.append(
            "**The revenue case** (notebook 05): a Monte Carlo simulation over every uncertain input; an interval runs "
            "from the 2.5th to the 97.5th percentile of the simulations, and each figure carries the weakest evidence "
            "it rests on (randomised pilot, quasi-experiment, observed association or assumption)."
        )
    return lines


def caveat_lines(inputs: ExecutiveInputs) -> list[str]:
    """The caveats that apply to these data (Markdown)."""
    lines = []
    if {"02_churn_drivers", "03_cx_drivers"} & set(inputs.ran):
        lines.append(
            "Associations in observational data are not causes: customers who differ on a driver differ in other "
            "ways too. Only a randomised pilot measures what a change causes."
        )
    if "nps" in set(headline_figures(inputs)["figure"]):
        lines.append(
            "The link between NPS and company growth is disputed (Keiningham et al. 2007, *Journal of Marketing* "
            "71(3)): treat NPS as one signal among others, not as a target."
        )
    summary = inputs.table("impact_summary")
    word_of_mouth = summary is not None and "margin_word_of_mouth" in set(summary["figure"])
    if "surveys" in inputs.present and word_of_mouth:
        lines.append(
            "Stated intentions to recommend overstate actual referrals (Kumar, Petersen and Leone 2007, *Harvard "
            'Business Review*, "How valuable is word of mouth?"); the word-of-mouth lever counts referrals the data '
            "record, not intentions."
        )
    if inputs.has_case and "programme" in inputs.present:
        lines.append(
            "A pilot measures its effects over its own run on its own members; the case assumes they last the whole "
            "horizon and hold for every enrolled customer, which is an assumption."
        )
    if inputs.has_case:
        lines.append(
            "The levers are added without their interaction (customers who stay longer also spend more), so the "
            "total is slightly conservative."
        )
    answers = ", nor are groups with too few survey answers" if "surveys" in inputs.present else ""
    lines.append(
        f"Groups smaller than {inputs.settings.get('min_group_size', 0):,} customers (`analysis.min_group_size`) "
        f"are not shown{answers}, so no one can be singled out."
    )
    return lines


def methods_section(inputs: ExecutiveInputs) -> str:
    """Section 8, the appendix on a new printed page: methods, then caveats (Markdown with one HTML tag)."""
    methods = "\n".join(f"- {line}" for line in method_lines(inputs))
    caveats = "\n".join(f"- {line}" for line in caveat_lines(inputs))
    return (
        f"{PAGE_BREAK}\n\n## Appendix: methods and caveats\n\n**How each figure was estimated**\n\n{methods}\n\n"
        f"**Caveats**\n\n{caveats}"
    )
