"""The executive summary's chart: the money waterfall by lever, with intervals and evidence labels.

It is the revenue-impact report's waterfall (:func:`cxlib.impact.plot_waterfall`), drawn from the
case's machine-readable summary with each step's 95% interval and what it rests on.
"""

from __future__ import annotations

import pandas as pd

from cxlib.impact._evidence import EVIDENCE_LABELS
from cxlib.impact._plots import plot_waterfall
from cxlib.report import new_axes

#: Shorter than the revenue report's: the chart shares its page with the tiles and findings.
FIGSIZE = (8.0, 2.0)


def plot_money_waterfall(waterfall: pd.DataFrame, currency: str, title: str, ax=None):
    """Margin by lever, minus the cost, to the net value: error bars for the 95% intervals, evidence on each bar.

    Parameters
    ----------
    waterfall : DataFrame
        :func:`cxlib.executive.waterfall_table`.
    currency : str
    title : str
        The finding (plain text).

    Returns
    -------
    Axes
    """
    ax = new_axes(ax, figsize=FIGSIZE)
    ax = plot_waterfall(waterfall, currency, title=title, ax=ax, evidence_labels=EVIDENCE_LABELS)
    ax.grid(axis="x", visible=False)  # vertical lines through the bars read as part of them
    return ax
