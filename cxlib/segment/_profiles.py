"""What each segment is: standardised feature differences, per-segment profiles and generated names.

Used by :class:`cxlib.segment._segmenter.Segmenter` once customers have their segment labels.
Pure functions of the customer features and the labels; nothing here draws or writes sentences
(segment names are labels, built from :data:`DESCRIPTORS`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.stats._intervals import nps_interval
from cxlib.stats._suppression import suppress_small

#: Features whose logarithm is clustered and profiled (positive and right-skewed).
LOG_FEATURES = (
    "frequency",
    "monetary",
    "orders_per_active_month",
    "avg_order_value",
    "spend_per_month",
    "purchase_interval_days",
    "lines_per_order",
    "recency_days",
    "tenure_days",
)

#: Columns of :func:`cxlib.features.customer_features` that are not features (ids, dates, scores, outcomes).
NOT_FEATURES = (
    "first_purchase",
    "last_purchase",
    "r_score",
    "f_score",
    "m_score",
    "fm_score",
    "rfm_segment",
    "churned",
    "active_months",
    "nps_latest_answer",
)

#: Words for a segment name: feature -> (word when high, word when low); order = word order.
DESCRIPTORS: dict[str, tuple[str | None, str | None]] = {
    "spend_per_month": ("high-value", "low-value"),
    "monetary": ("high-value", "low-value"),
    "orders_per_active_month": ("frequent", "occasional"),
    "frequency": ("frequent", "occasional"),
    "purchase_interval_days": ("occasional", "frequent"),
    "avg_order_value": ("big-basket", "small-basket"),
    "lines_per_order": ("wide-basket", "narrow-basket"),
    "recency_days": ("lapsed", "recently active"),
    "tenure_days": ("long-standing", "new"),
    "share_*": ("{}-first", None),
    "support_contact_per_month": ("service-heavy", None),
    "complaint_per_month": ("complaining", None),
    "refunded_amount_share": ("return-prone", None),
    "nps": ("promoter", "detractor"),
    "csat": ("satisfied", "dissatisfied"),
}


def feature_differences(df: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Per segment, the standardised difference of every numeric feature from the average buyer.

    (segment mean - mean of all buyers) / standard deviation, on the log scale for skewed
    features (:data:`LOG_FEATURES`, ``log1p`` for ``*_per_month`` rates), winsorised at the 1st and
    99th percentiles. +-0.5 is a clear difference, +-1 a large one.

    Parameters
    ----------
    df : DataFrame
        Customer features, one row per customer (not modified).
    labels : Series
        Segment per customer, aligned with ``df``; negative labels (no purchase) are left out.

    Returns
    -------
    DataFrame
        Rows = segments (index ``segment``), columns = features.
    """
    buyers = labels >= 0
    numeric = [
        c
        for c in df.columns
        if c not in NOT_FEATURES and pd.api.types.is_numeric_dtype(df[c]) and df[c].nunique() > 1
    ]
    z = pd.DataFrame(index=df.index[buyers.to_numpy()])
    for c in numeric:
        x = df.loc[buyers.to_numpy(), c].astype(float)
        if c in LOG_FEATURES:
            x = np.log(x.clip(lower=x[x > 0].quantile(0.005) if (x > 0).any() else 1.0))
        elif c.endswith("_per_month"):
            x = np.log1p(x.clip(lower=0))
        x = x.clip(x.quantile(0.01), x.quantile(0.99))
        z[c] = (x - x.mean()) / (x.std() if x.std() > 0 else 1.0)
    return z.groupby(labels[buyers]).mean().rename_axis("segment")


def segment_profiles(
    df: pd.DataFrame,
    labels: pd.Series,
    names: dict[int, str],
    differences: pd.DataFrame,
    min_group_size: int = 10,
) -> pd.DataFrame:
    """Per segment: size, shares, value, frequency, churn, NPS/CSAT and its distinguishing features.

    ``nps`` is a Net Promoter Score (% promoters 9-10 minus % detractors 0-6, -100..100) on each
    respondent's latest answer, with ``nps_ci_low``/``nps_ci_high`` (95%) and ``nps_respondents``;
    ``mean_likelihood_to_recommend`` is the mean 0-10 answer. Segments of fewer than
    ``min_group_size`` customers (and survey figures of fewer respondents) are blanked, with enough
    others that totals cannot give them back.

    Parameters
    ----------
    df : DataFrame
        Customer features (not modified).
    labels : Series
        Segment per customer, aligned with ``df``.
    names : dict
        Segment label -> name, one per segment 0, 1, ...
    differences : DataFrame
        From :func:`feature_differences`.
    min_group_size : int

    Returns
    -------
    DataFrame
        Indexed by ``segment``; ``name`` first.
    """
    rows = []
    revenue_total = df["monetary"].clip(lower=0).sum() if "monetary" in df else np.nan
    for s in range(len(names)):
        members = df.loc[(labels == s).to_numpy()]
        row = {"segment": s, "customers": len(members), "share_of_customers": len(members) / len(df)}
        if "monetary" in df:
            row["share_of_revenue"] = members["monetary"].clip(lower=0).sum() / max(revenue_total, 1e-12)
            if {"frequency", "avg_order_value"} <= set(df.columns):
                orders = members["frequency"].sum()
                gross = (members["avg_order_value"] * members["frequency"]).sum()
                row["avg_order_value"] = gross / orders if orders else np.nan
            row["revenue_per_customer"] = members["monetary"].mean()
        for col in ("orders_per_active_month", "purchase_interval_days", "recency_days", "tenure_days"):
            if col in df:
                row[col] = members[col].mean() if col == "orders_per_active_month" else members[col].median()
        if "churned" in df:
            row["churn_rate"] = members["churned"].mean()
        if "nps_latest_answer" in df:
            row.update(_nps(members["nps_latest_answer"]))
        if "csat" in df:
            answered = members["csat"].dropna()
            row["csat_respondents"] = len(answered)
            row["csat"] = answered.mean()  # blanked below when respondents are few
        top = (
            differences.loc[s].abs().sort_values(ascending=False)
            if s in differences.index
            else pd.Series(dtype=float)
        )
        row["distinguishing"] = ", ".join(
            f"{f} {'high' if differences.loc[s, f] > 0 else 'low'}" for f in top.index[:3]
        )
        rows.append(row)
    profiles = pd.DataFrame(rows).set_index("segment")
    profiles.insert(0, "name", [names[s] for s in profiles.index])
    # too few customers to report: blanked with enough others that totals cannot give them back
    figures = [c for c in profiles.columns if c not in ("name", "distinguishing")]
    profiles = suppress_small(profiles, "customers", min_group_size, columns=figures)
    # survey figures rest on respondents, not members: the same rule on respondent counts
    for count, columns in (
        ("nps_respondents", ["nps", "nps_ci_low", "nps_ci_high", "mean_likelihood_to_recommend"]),
        ("csat_respondents", ["csat"]),
    ):
        if count in profiles:
            profiles = suppress_small(profiles, count, min_group_size, columns=columns)
    profiles.loc[profiles["customers"].isna(), "distinguishing"] = np.nan
    return profiles


def _nps(latest_answers: pd.Series) -> dict[str, float]:
    """Net Promoter Score of one segment on its members' latest 0-10 answers, as the overview's.

    Segments with few respondents are blanked afterwards by ``suppress_small`` on
    ``nps_respondents`` (the one small-group rule), not here.
    """
    answered = latest_answers.dropna()
    nps, low, high = nps_interval(answered)
    return {
        "nps_respondents": len(answered),
        "nps": nps,
        "nps_ci_low": low,
        "nps_ci_high": high,
        "mean_likelihood_to_recommend": answered.mean(),
    }


def generated_names(differences: pd.DataFrame, n_segments: int) -> dict[int, str]:
    """Name each segment from its most distinguishing features, in a fixed word order.

    Up to three words from features with a standardised difference of at least 0.5 (see
    :data:`DESCRIPTORS`); when none reaches 0.5 the strongest word above 0.25 is prefixed
    "moderately". A segment with channel-share features but no dominant channel is
    "multichannel". Repeated names get a number.

    Parameters
    ----------
    differences : DataFrame
        From :func:`feature_differences`.
    n_segments : int

    Returns
    -------
    dict
        Segment label -> name, e.g. ``{0: "High-value frequent customers", ...}``.
    """
    names: dict[int, str] = {}
    for s in range(n_segments):
        if s not in differences.index:
            names[s] = f"Segment {s}"
            continue
        z = differences.loc[s]
        words = _words(z, threshold=0.5, limit=3)
        if not words:
            words = [(k, f"moderately {w}") for k, w in _words(z, threshold=0.25, limit=1)]
        shares = [f for f in z.index if f.startswith("share_")]
        if shares and not any(z[f] >= 0.5 for f in shares):
            words.append((_word_rank("share_"), "multichannel"))
        text = " ".join(w for _, w in sorted(words)) or "mainstream"
        names[s] = f"{text[0].upper()}{text[1:]} customers"
    seen: dict[str, int] = {}
    for s, name in names.items():
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[s] = f"{name} ({seen[name]})"
    return names


def _word_rank(feature: str) -> int:
    for i, key in enumerate(DESCRIPTORS):
        if key == feature or (key.endswith("*") and feature.startswith(key[:-1])):
            return i
    return len(DESCRIPTORS)


def _words(z: pd.Series, threshold: float, limit: int) -> list[tuple[int, str]]:
    """Descriptor words of the strongest features with |z| >= threshold (no repeated idea)."""
    words: list[tuple[int, str]] = []
    for feature in z.abs().sort_values(ascending=False).index:
        if abs(z[feature]) < threshold or len(words) >= limit:
            break
        high, low = _descriptor(feature)
        word = high if z[feature] > 0 else low
        if word and not any(word.split("-")[-1] == w.split("-")[-1] for _, w in words):
            words.append((_word_rank(feature), word))
    return words


def _descriptor(feature: str):
    if feature in DESCRIPTORS:
        return DESCRIPTORS[feature]
    for key, words in DESCRIPTORS.items():
        if key.endswith("*") and feature.startswith(key[:-1]):
            high = words[0].format(feature[len(key) - 1 :].replace("_", " ")) if words[0] else None
            return high, words[1]
    if feature in NOT_FEATURES or feature.endswith("_per_month") or feature.startswith("rating_"):
        return None, None
    readable = feature.replace("_", " ")
    return f"high-{readable}", f"low-{readable}"  # a user's own feature
