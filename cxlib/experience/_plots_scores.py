"""Charts of NPS by group and over time, drawn with the suite's theme (:mod:`cxlib.report._charts`).

Each ``plot_*`` takes ``ax=None`` and returns the ``Axes``, or ``None`` when nothing can be shown
(no group or period has enough answers). Titles state the finding; axes carry units. Hidden
groups and periods (too few answers) are left out and counted in the axis label.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from cxlib.experience._scores import GroupScores, PeriodScores
from cxlib.report import _charts as charts
from cxlib.report._messages import variable_label

#: Adjusted p-value below which a title calls a difference clear.
_CLEAR_P = 0.05
#: Colours of the grouping variables: the house palette's most distinct hues first.
_COLOURS = [charts.PALETTE[i] for i in (0, 2, 4, 1, 7, 9)]


def _hidden_note(hidden: int, min_answers: int, what: str = "group") -> str:
    """Say how many groups are left out: the small ones and those hidden with them (complementary hiding)."""
    if not hidden:
        return ""
    if hidden == 1:
        return f" (1 {what} not shown: fewer than {min_answers} answers)"
    return f" ({hidden} {what}s not shown: fewer than {min_answers} answers, or hidden with one that has)"


def plot_nps_by_group(
    scores: GroupScores, variable: str | None = None, ax: Axes | None = None
) -> Axes | None:
    """NPS per group with its 95% interval (horizontal), a dashed line at the overall NPS.

    Parameters
    ----------
    scores : GroupScores
        From :func:`cxlib.experience.scores_by_group`.
    variable : str, optional
        One grouping variable (its name titles the group axis); default every variable, coloured
        by variable with a legend titled "Grouped by".
    ax : Axes, optional

    Returns
    -------
    Axes or None
        None when no group of ``variable`` is shown.
    """
    table = scores.table if variable is None else scores.table[scores.table["variable"] == variable]
    hidden = int((~table["shown"].astype(bool)).sum())
    shown = table[table["shown"].astype(bool) & table["nps"].notna()]
    if shown.empty:
        return None
    shown = (
        shown.sort_values(["variable", "nps"], kind="stable")
        if variable is None
        else shown.sort_values("nps")
    )
    ax = charts.new_axes(ax, figsize=(7.5, 0.4 * len(shown) + 1.8))
    y = np.arange(len(shown))
    nps, low, high = (shown[c].to_numpy(dtype=float) for c in ("nps", "nps_low", "nps_high"))
    variables = list(dict.fromkeys(shown["variable"]))
    for index, name in enumerate(variables):
        mine = (shown["variable"] == name).to_numpy()
        ax.errorbar(
            nps[mine],
            y[mine],
            xerr=np.vstack([nps[mine] - low[mine], high[mine] - nps[mine]]),
            fmt="o",
            color=_COLOURS[index % len(_COLOURS)] if variable is None else charts.ACCENT,
            ecolor=charts.NEUTRAL,
            capsize=3,
            label=variable_label(name),
        )
    overall = float(scores.overall["nps"].iloc[0])
    if np.isfinite(overall):
        ax.axvline(overall, color=charts.NEUTRAL, linestyle="--", linewidth=1)
    ax.set_yticks(list(y), charts.axis_labels(shown["group"]))
    ax.grid(axis="y", visible=False)
    if variable is None and len(variables) > 1:
        ax.legend(title="Grouped by", loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    ylabel = variable_label(variable) if variable is not None else None
    xlabel = "NPS (points, -100 to 100; 95% interval; dashed: all respondents)"
    return charts.finish(
        ax, _group_title(shown, variable, overall), xlabel + _hidden_note(hidden, scores.min_answers), ylabel
    )


def _group_title(shown: pd.DataFrame, variable: str | None, overall: float) -> str:
    """Name the group whose NPS differs most clearly from the other respondents (Holm-adjusted)."""
    clear = shown[shown["nps_p_adjusted"] < _CLEAR_P]
    what = f"by {variable_label(variable).lower()}" if variable is not None else "by group"
    if clear.empty:
        return f"NPS {what}: no group differs clearly from the other respondents"
    row = clear.loc[(clear["nps"] - overall).abs().idxmax()]
    direction = "above" if row["nps"] > overall else "below"
    name = charts.axis_labels([row["group"]])[0]
    return f"NPS {what}: {name} stands {direction} the rest ({row['nps']:.0f} vs {overall:.0f} overall)"


def plot_nps_over_time(scores: PeriodScores, ax: Axes | None = None) -> Axes | None:
    """NPS per period with its 95% interval as a band; partial periods drawn as open circles.

    Returns
    -------
    Axes or None
        None when no period is shown.
    """
    table = scores.table
    shown = table[table["shown"].astype(bool) & table["nps"].notna()]
    if shown.empty:
        return None
    hidden = int(table["answers"].isna().sum())  # hidden periods; empty ones (0 answers) are not
    ax = charts.new_axes(ax)
    # the middle of each period, so months and quarters sit where they happened
    middle = (shown["period_start"] + (shown["period_end"] - shown["period_start"]) / 2).to_numpy()
    nps, low, high = (shown[c].to_numpy(dtype=float) for c in ("nps", "nps_low", "nps_high"))
    ax.fill_between(middle, low, high, color=charts.ACCENT, alpha=0.2, linewidth=0, label="95% interval")
    ax.plot(middle, nps, color=charts.ACCENT, linewidth=1.5)
    partial = shown["partial"].to_numpy(dtype=bool)
    ax.plot(middle[~partial], nps[~partial], "o", color=charts.ACCENT, label="NPS")
    if partial.any():
        ax.plot(middle[partial], nps[partial], "o", mfc="white", color=charts.ACCENT, label="partial period")
    ax.axhline(0, color=charts.NEUTRAL, linewidth=0.8)
    # one tick per shown period, named as the tables name it ("2024Q3"), thinned to at most 8
    step = max(1, int(np.ceil(len(shown) / 8)))
    ax.set_xticks(middle[::step], shown["period"].astype(str).to_numpy()[::step])
    ax.legend(loc="best", fontsize="small")
    unit = "quarter" if scores.freq == "quarter" else "month"
    xlabel = f"{unit} (each customer's latest answer per {unit})" + _hidden_note(
        hidden, scores.min_answers, unit
    )
    return charts.finish(ax, _time_title(shown, unit), xlabel, "NPS (points)")


def _time_title(shown: pd.DataFrame, unit: str) -> str:
    """Name the latest clear change between consecutive periods (Holm-adjusted), if any."""
    clear = shown[shown["nps_change_p_adjusted"] < _CLEAR_P]
    if clear.empty:
        return f"NPS shows no clear change from one {unit} to the next"
    last = clear.iloc[-1]
    verb = "rose" if last["nps_change"] > 0 else "fell"
    return f"NPS {verb} by {abs(last['nps_change']):.0f} points in {last['period']}"
