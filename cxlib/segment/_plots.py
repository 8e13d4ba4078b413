"""Charts of the segmentation capability, drawn from fitted results with the suite's theme.

Every function takes ``ax=None`` and returns the ``Axes``; titles state the finding, axes carry
units. The :class:`~cxlib.segment._segmenter.Segmenter` ``plot_*`` methods delegate here, so the
model module itself draws nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from cxlib.report._charts import PALETTE, axis_labels, finish, new_axes, percent_formatter
from cxlib.segment._segmenter import STABLE_JACCARD
from cxlib.stats._suppression import suppress_small

#: Colours of segments 0, 1, 2, ... (colour-blind palette, neighbouring hues kept apart).
SEGMENT_COLOURS = [PALETTE[i] for i in (0, 1, 2, 4, 9, 5, 6, 8, 3, 7)]


def _label(segmenter, s: int) -> str:
    """Axis label of segment ``s``: its number and name, shortened to fit."""
    return axis_labels([f"{s}: {segmenter.names_[s]}"])[0]


def plot_k_scores(segmenter, ax: Axes | None = None) -> Axes:
    """Silhouette and Calinski-Harabasz by number of segments; the chosen k is marked.

    Parameters
    ----------
    segmenter : Segmenter
        Fitted.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    ax = new_axes(ax)
    scores = segmenter.k_scores_
    ax.plot(scores.index, scores["silhouette"], marker="o", color=PALETTE[0], label="Silhouette (left)")
    ax.axvline(segmenter.n_segments_, color=PALETTE[3], linestyle="--", linewidth=1)
    ax.set_ylim(0, max(0.05, scores["silhouette"].max() * 1.25))
    twin = ax.twinx()
    twin.plot(
        scores.index,
        scores["calinski_harabasz"],
        marker="s",
        color=PALETTE[2],
        label="Calinski-Harabasz (right)",
    )
    twin.set_ylabel("Calinski-Harabasz index (higher = better)")
    twin.grid(False)
    twin.set_ylim(0, scores["calinski_harabasz"].max() * 1.25)
    lines = ax.get_lines()[:1] + twin.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], loc="lower right", frameon=False)
    ax.set_xticks(list(scores.index))
    if segmenter.n_segments is None:
        title = f"{segmenter.n_segments_} segments separate customers best (highest silhouette)"
    else:
        title = f"{segmenter.n_segments_} segments set in the config; silhouette peaks at {segmenter.best_k_}"
    return finish(ax, title, "Number of segments (k)", "Silhouette (-1 to 1, higher = better)")


def plot_sizes(segmenter, ax: Axes | None = None) -> Axes:
    """Share of customers vs share of net revenue per segment (bars side by side).

    Parameters
    ----------
    segmenter : Segmenter
        Fitted.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    profiles = segmenter.profiles_
    prof = profiles.iloc[::-1]
    ax = new_axes(ax, figsize=(10, 0.8 * len(prof) + 1.8))
    y = np.arange(len(prof))
    ax.barh(y + 0.2, prof["share_of_customers"], height=0.4, color=PALETTE[7], label="Share of customers")
    ax.barh(y - 0.2, prof["share_of_revenue"], height=0.4, color=PALETTE[0], label="Share of net revenue")
    ax.set_yticks(y, [_label(segmenter, s) for s in prof.index])
    ax.xaxis.set_major_formatter(percent_formatter())
    ax.legend(frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, borderaxespad=1.5)
    top = profiles["share_of_revenue"].idxmax()
    title = (
        f"{segmenter.names_[top]} are {profiles.loc[top, 'share_of_customers']:.0%} of customers "
        f"but {profiles.loc[top, 'share_of_revenue']:.0%} of revenue"
    )
    return finish(ax, title, "Share of all customers / of net revenue (%)", None)


def plot_profile_heatmap(segmenter, ax: Axes | None = None, max_features: int = 24) -> Axes:
    """Standardised difference of each feature per segment (what sets each segment apart).

    Parameters
    ----------
    segmenter : Segmenter
        Fitted.
    ax : Axes, optional
    max_features : int
        The features with the largest differences shown, in their column order.

    Returns
    -------
    Axes
    """
    prof = segmenter.feature_profile_
    keep = prof.abs().max().sort_values(ascending=False).index[:max_features]
    prof = prof[[c for c in prof.columns if c in keep]].round(1) + 0.0  # no "-0.0" labels
    ax = new_axes(ax, figsize=(max(9.0, 0.65 * prof.shape[1] + 4), max(4.5, 0.6 * len(prof) + 3)))
    sns.heatmap(
        prof.set_axis([_label(segmenter, s) for s in prof.index]),
        ax=ax,
        cmap="RdBu_r",
        vmin=-2,
        vmax=2,
        annot=True,
        fmt=".1f",
        cbar_kws={"label": "SD from the average buyer"},
    )
    ax.set_xticklabels(
        [t.get_text().replace("_", " ") for t in ax.get_xticklabels()], rotation=40, ha="right"
    )
    strongest = prof.abs().max().sort_values(ascending=False).index[:3]
    title = "Segments differ most in " + ", ".join(c.replace("_", " ") for c in strongest)
    return finish(ax, title, "Feature (log scale for money, counts and days)", None)


def plot_projection(segmenter, ax: Axes | None = None) -> Axes:
    """Where each segment sits on the first two principal components, as density contours.

    Contours (the densest 25/50/75% of each segment's sampled customers) rather than points,
    so the executive report shows no individual customer.

    Parameters
    ----------
    segmenter : Segmenter
        Fitted.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    ax = new_axes(ax, figsize=(9, 5.5))
    proj = segmenter.projection_
    handles = []
    for s in sorted(proj["segment"].unique()):
        part = proj[proj["segment"] == s]
        colour = PALETTE[s % len(PALETTE)]
        if len(part) >= max(segmenter.min_group_size, 20):
            contours = {"x": part["pc1"], "y": part["pc2"], "color": colour, "ax": ax, "warn_singular": False}
            sns.kdeplot(levels=[0.25, 0.5, 0.75, 1.0], fill=True, alpha=0.35, **contours)
            sns.kdeplot(levels=[0.25], linewidths=1.2, **contours)
        handles.append(Line2D([0], [0], color=colour, lw=6, alpha=0.6, label=_label(segmenter, s)))
    ax.legend(handles=handles, frameon=False, fontsize=9, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    title = "Segments occupy distinct regions of behaviour (contours hold 75%, 50%, 25% of each)"
    return finish(
        ax,
        title,
        "Principal component 1 (scaled units; the two components show "
        f"{segmenter.projection_variance_:.0%} of variance)",
        "Principal component 2 (scaled units)",
    )


def plot_stability(segmenter, ax: Axes | None = None) -> Axes:
    """Bootstrap Jaccard stability per segment (0.75 or more = stable).

    Parameters
    ----------
    segmenter : Segmenter
        Fitted.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    stab = segmenter.stability_.iloc[::-1]
    ax = new_axes(ax, figsize=(10, 0.8 * len(stab) + 1.8))
    ax.barh(range(len(stab)), stab["jaccard_mean"], color=PALETTE[0])
    ax.set_yticks(range(len(stab)), [_label(segmenter, s) for s in stab.index])
    ax.axvline(STABLE_JACCARD, color=PALETTE[3], linestyle="--", linewidth=1)
    ax.set_xlim(0, 1)
    worst = segmenter.stability_["jaccard_mean"].min()
    verdict = "every segment is stable" if worst >= STABLE_JACCARD else "some segments are not stable"
    title = f"Refitting on {segmenter.bootstrap_runs} bootstrap samples: {verdict}"
    if not len(segmenter.stability_ari_):  # bootstrap_runs = 0: no bars, and no verdict either
        title = "Stability not measured (no bootstrap refits: bootstrap_runs is 0)"
    return finish(ax, title, "Mean Jaccard similarity with the refit segment (0-1)", None)


def plot_rfm_heatmap(
    rfm: pd.DataFrame, ax: Axes | None = None, min_group_size: int = 10, currency: str = "EUR"
) -> Axes:
    """Mean net spend by recency score (rows) and frequency score (columns); cell text = spend and customers.

    Cells with fewer than ``min_group_size`` customers are left blank, with enough other cells
    that none can be derived (:func:`cxlib.stats._suppression.suppress_small`).

    Parameters
    ----------
    rfm : DataFrame
        Output of :func:`cxlib.segment.rfm_table` (or the customer features, which hold it).
    ax : Axes, optional
    min_group_size : int
    currency : str

    Returns
    -------
    Axes
    """
    ax = new_axes(ax)
    scored = rfm.dropna(subset=["r_score", "f_score"]).astype({"r_score": int, "f_score": int})
    grouped = scored.groupby(["r_score", "f_score"])
    count = grouped.size().unstack().reindex(index=range(5, 0, -1), columns=range(1, 6))
    spend = grouped["monetary"].mean().unstack().reindex(index=range(5, 0, -1), columns=range(1, 6))
    cells = suppress_small(count.stack().rename("customers").to_frame(), "customers", min_group_size)
    shown = cells["customers"].unstack().reindex(index=count.index, columns=count.columns).notna()
    spend, count = spend.where(shown), count.where(shown)
    if not shown.to_numpy().any():  # a min_group_size near the number of customers hides every cell
        ax.set_axis_off()
        title = f"No recency-frequency cell holds {min_group_size:,} customers: every cell is suppressed"
        return finish(ax, title, None, None)
    labels = [
        ["" if pd.isna(s) else f"{s:,.0f}\nn={int(n):,}" for s, n in zip(srow, nrow, strict=True)]
        for srow, nrow in zip(spend.to_numpy(), count.to_numpy(), strict=True)
    ]
    sns.heatmap(
        spend,
        ax=ax,
        cmap="Blues",
        annot=np.array(labels, dtype=object),
        fmt="",
        annot_kws={"fontsize": 9},
        cbar_kws={"label": f"Mean net spend per customer ({currency})"},
    )
    best = spend.stack().idxmax()
    title = f"Spend concentrates in R{best[0]}/F{best[1]}: mean net spend by recency and frequency score"
    return finish(
        ax, title, "Frequency score (1 = fewest purchases, 5 = most)", "Recency score (5 = most recent)"
    )
