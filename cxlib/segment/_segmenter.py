"""Behavioural segments: clustering with evidence for k, stability, profiles, names and charts.

:func:`customer_features` (from :mod:`cxlib.features._customer`, re-exported here) turns the canonical
tables into one row per customer (RFM plus tenure, purchase rate and interval, basket, channel
mix, service contacts, complaints, NPS/CSAT). :class:`Segmenter` clusters them (log of skewed
features, robust scaling, k-means), chooses the number of segments by silhouette on a sample when
it is not given, measures bootstrap stability, orders segments by value, and profiles and names
them. Report tables and sentences are in :mod:`cxlib.segment._report`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, silhouette_score
from sklearn.preprocessing import RobustScaler
from threadpoolctl import threadpool_limits

from cxlib.features._customer import customer_features, features_from_config
from cxlib.report._charts import PALETTE, axis_labels, finish, new_axes, percent_formatter
from cxlib.stats._fitted import FittedModel
from cxlib.stats._intervals import nps_interval
from cxlib.stats._suppression import suppress_small

__all__ = [
    "DEFAULT_FEATURES",
    "NO_PURCHASE_LABEL",
    "Segmenter",
    "customer_features",
    "customer_segments",
    "features_from_config",
]

#: Features whose logarithm is clustered (positive and right-skewed).
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


#: Features clustered when none are configured: how customers buy (purchase rate and spend per
#: month - frequency and monetary value per month of tenure - basket value and channel mix).
#: Service, survey and lifecycle features (contacts, complaints, NPS/CSAT, recency, tenure, raw
#: RFM totals) are profiled per segment but not clustered by default; name them in
#: ``segmentation.features`` to cluster on them. Evidence on the 50,000-customer demo (ARI with
#: the planted segments, customers with 3+ purchases): default 0.87 with k = 4 chosen by
#: silhouette; adding contacts, complaints, NPS and CSAT 0.57 (silhouette then picks k = 7) or
#: 0.51 at k = 4; adding raw RFM, tenure and interval 0.65 (k = 3 chosen) or 0.84 at k = 4.
#: They carry no segment structure, so k-means splits on their noise or on customer age.
DEFAULT_FEATURES = ["orders_per_active_month", "avg_order_value", "spend_per_month", "share_*"]

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

#: Columns of :func:`customer_features` that are not features (ids, dates, scores, outcomes).
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
NO_PURCHASE_LABEL = -1
#: Colours of segments 0, 1, 2, ... (colour-blind palette, neighbouring hues kept apart).
SEGMENT_COLOURS = [PALETTE[i] for i in (0, 1, 2, 4, 9, 5, 6, 8, 3, 7)]


def _expand(patterns, columns) -> list[str]:
    out: list[str] = []
    for pattern in patterns:
        if pattern.startswith("*"):
            found = [c for c in columns if c.endswith(pattern[1:])]
        elif pattern.endswith("*"):
            found = [c for c in columns if c.startswith(pattern[:-1])]
        else:
            found = [pattern] if pattern in columns else []
        out.extend(c for c in found if c not in out)
    return out


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


class Segmenter(FittedModel):
    """Behavioural segments by k-means on robust-scaled features, with evidence, stability and names.

    Preparation: channel shares are shrunk towards the overall mix (two pseudo-orders, so a
    one-order customer is not "100 % web"), positive skewed features are logged, interaction
    rates log1p'd, gaps filled with the median, then each feature is centred on its median,
    divided by its inter-quartile range (``RobustScaler``) and clipped to +-``clip``. Customers
    with at least ``min_orders`` purchases shape the segments; every customer with a purchase is
    then assigned to the nearest segment, and customers without one get label -1 ("No purchase").
    When ``n_segments`` is None, k is the one with the highest silhouette (on a sample) in
    ``k_range``. Segments are numbered by spend per month, highest first (0 = most valuable).

    Parameters
    ----------
    n_segments : int, optional
        Force the number of segments; None chooses it by silhouette.
    k_range : tuple of int
        Smallest and largest k tried.
    features : list of str, optional
        Columns to cluster (``share_*`` expands; a comma-separated string also works);
        None = :data:`DEFAULT_FEATURES`.
    names : dict, optional
        Segment label -> name, overriding the generated names.
    bootstrap_runs : int
        Refits on bootstrap samples used to measure stability (0 = skip).
    min_orders : int
        Purchases a customer needs to shape the segments.
    sample_size : int
        Rows used to choose k and to measure stability (the final fit uses every row).
    clip : float
        Scaled values are clipped to +-clip (robust to outliers).
    min_group_size : int
        Segment averages of fewer customers are suppressed in :attr:`summary`.
    seed : int
        Seed for sampling and k-means.

    Attributes
    ----------
    features_ : list of str
        Columns clustered.
    n_segments_ : int
    k_scores_ : DataFrame
        Per k in ``k_range``: silhouette (on up to 5,000 customers), Calinski-Harabasz and inertia
        (k-means on up to ``sample_size`` customers). Computed even when k is forced.
    best_k_ : int
        The k with the highest silhouette.
    labels_ : Series
        Segment per customer (index = customer_id), -1 = no purchase.
    names_ : dict
        Label -> segment name.
    centers_ : DataFrame
        Segment centres in scaled units (rows = segments, columns = features).
    profiles_ : DataFrame
        Per segment: size, shares, value, frequency, churn, NPS/CSAT, distinguishing features.
        ``nps`` is a Net Promoter Score (% promoters 9-10 minus % detractors 0-6, -100..100) on
        each respondent's latest answer, as in the overview, with ``nps_ci_low``/``nps_ci_high``
        (95%) and ``nps_respondents``; ``mean_likelihood_to_recommend`` is the mean 0-10 answer.
    feature_profile_ : DataFrame
        Per segment, standardised difference of every numeric feature: (segment mean - mean of all
        buyers) / standard deviation, on the log scale for skewed features, winsorised at the 1st
        and 99th percentiles. +-0.5 is a clear difference, +-1 a large one.
    stability_ : DataFrame
        Per segment: mean and minimum bootstrap Jaccard similarity with its best-matching refit
        segment (clusterboot; > 0.75 is stable, < 0.6 is not a real segment).
    stability_ari_ : Series
        Adjusted Rand index between the fitted segments and each bootstrap refit.

    Examples
    --------
    >>> seg = Segmenter(n_segments=4, seed=42).fit(features)  # doctest: +SKIP
    >>> seg.summary_[["name", "customers", "share_of_revenue"]]  # doctest: +SKIP
    """

    def __init__(
        self,
        n_segments: int | None = None,
        k_range: tuple[int, int] = (2, 8),
        features: list[str] | None = None,
        names: dict | None = None,
        bootstrap_runs: int = 20,
        min_orders: int = 2,
        sample_size: int = 20_000,
        clip: float = 3.0,
        min_group_size: int = 10,
        seed: int = 42,
    ):
        self.n_segments = n_segments
        self.k_range = k_range
        self.features = features
        self.names = names
        self.bootstrap_runs = bootstrap_runs
        self.min_orders = min_orders
        self.sample_size = sample_size
        self.clip = clip
        self.min_group_size = min_group_size
        self.seed = seed

    @classmethod
    def config_params(cls, config) -> dict:
        """Parameters from ``config.values["segmentation"]``, ``analysis.min_group_size`` and the seed."""
        seg = config.values["segmentation"]
        params = {
            "n_segments": seg["n_segments"],
            "k_range": tuple(seg["k_range"]),
            "features": seg["features"],
            "names": seg["names"],
            "bootstrap_runs": seg["bootstrap_runs"],
            "min_orders": seg.get("min_orders", 2),
            "sample_size": seg.get("sample_size", 20_000),
            "min_group_size": config.analysis["min_group_size"],
            "seed": config.seed,
        }
        return params

    # ------------------------------------------------------------------ preparation
    def _select(self, df: pd.DataFrame) -> list[str]:
        patterns = self.features or DEFAULT_FEATURES
        if isinstance(patterns, str):  # e.g. papermill -p features "orders_per_active_month,share_*"
            patterns = [p.strip() for p in patterns.split(",") if p.strip()]
        chosen = _expand(patterns, [c for c in df.columns if c not in NOT_FEATURES])
        unknown = [p for p in patterns if not _expand([p], df.columns)]
        if self.features and unknown:
            raise KeyError(
                f"segmentation.features: {', '.join(map(str, unknown))} not in the customer features "
                f"(available: {', '.join(c for c in df.columns if c not in NOT_FEATURES)})"
            )
        chosen = [c for c in chosen if pd.api.types.is_numeric_dtype(df[c]) and df[c].nunique() > 1]
        if not chosen:
            raise ValueError("no usable features to segment on")
        return chosen

    def _raw(self, df: pd.DataFrame, columns: list[str], fit: bool) -> pd.DataFrame:
        """Shrink channel shares, log skewed features (no scaling)."""
        X = df[columns].astype(float).copy()
        shares = [c for c in columns if c.startswith("share_")]
        if shares and "frequency" in df:
            n = df["frequency"].clip(lower=0).to_numpy()[:, None]
            if fit:
                all_shares = [c for c in df.columns if c.startswith("share_")]
                weights = df[all_shares].fillna(0).mul(df["frequency"], axis=0).sum()
                self.channel_mix_ = (weights / max(weights.sum(), 1e-12))[shares]
            X[shares] = (X[shares].fillna(0).to_numpy() * n + 2 * self.channel_mix_.to_numpy()) / (n + 2)
        if fit:
            self.floors_ = {
                c: float(X[c][X[c] > 0].quantile(0.005)) if (X[c] > 0).any() else 1.0
                for c in columns
                if c in LOG_FEATURES
            }
        for c in columns:
            if c in LOG_FEATURES:
                X[c] = np.log(X[c].clip(lower=self.floors_[c]))
            elif c.endswith("_per_month"):
                X[c] = np.log1p(X[c].clip(lower=0))
        return X

    def _scaled(self, df: pd.DataFrame, fit: bool = False) -> np.ndarray:
        X = self._raw(df, self.features_, fit)
        if fit:
            self.medians_ = X.median()
            self.scaler_ = RobustScaler().fit(X.fillna(self.medians_).to_numpy())
        Z = self.scaler_.transform(X.fillna(self.medians_).to_numpy())
        return np.clip(Z, -self.clip, self.clip)

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Scaled feature matrix of ``df`` (rows as given) in the fitted preparation."""
        return self._scaled(df)

    # ------------------------------------------------------------------ fitting
    def _kmeans(self, k: int, n_rows: int, seed: int, n_init: int = 4):
        if n_rows > 200_000:
            return MiniBatchKMeans(
                k, batch_size=8192, n_init=n_init, random_state=seed, max_no_improvement=20
            )
        return KMeans(k, n_init=n_init, random_state=seed)

    def fit(self, df: pd.DataFrame) -> Segmenter:
        """Choose k (unless given), cluster, order, measure stability, profile and name.

        Parameters
        ----------
        df : DataFrame
            One row per customer, indexed by customer_id, e.g. from :func:`customer_features`.
            Not modified.

        Returns
        -------
        Segmenter
            self, fitted.
        """
        # k-means here runs on samples of <= sample_size rows or in mini-batches, where OpenMP start-up
        # and contention cost more than a second thread gains (measured on 2 shared cores: ~140 ms vs ~7 ms per 20k-row k-means run)
        with threadpool_limits(limits=1):
            return self._fit(df)

    def _fit(self, df: pd.DataFrame) -> Segmenter:
        rng = np.random.default_rng(self.seed)
        self.features_ = self._select(df)
        buyers = (df["frequency"] > 0).to_numpy() if "frequency" in df else np.ones(len(df), bool)
        shaping = buyers & ((df["frequency"] >= self.min_orders).to_numpy() if "frequency" in df else True)
        if shaping.sum() < 50 * max(self.k_range[1], self.n_segments or 0):
            shaping = buyers
        self.n_fit_ = int(shaping.sum())
        Z_all = self._scaled(df.loc[shaping], fit=True)
        n = len(Z_all)
        sample = (
            rng.choice(n, size=min(n, self.sample_size), replace=False)
            if n > self.sample_size
            else np.arange(n)
        )
        Z_sample = Z_all[sample]

        scores = []
        low, high = int(self.k_range[0]), int(self.k_range[1])
        sil_rows = sample[: min(len(sample), 5000)]
        for k in range(low, high + 1):
            model = self._kmeans(k, len(Z_sample), self.seed).fit(Z_sample)
            sil = silhouette_score(Z_all[sil_rows], model.predict(Z_all[sil_rows]), random_state=self.seed)
            scores.append(
                {
                    "k": k,
                    "silhouette": sil,
                    "calinski_harabasz": calinski_harabasz_score(Z_sample, model.labels_),
                    "inertia_per_customer": model.inertia_ / len(Z_sample),
                }
            )
        self.k_scores_ = pd.DataFrame(scores).set_index("k")
        self.best_k_ = int(self.k_scores_["silhouette"].idxmax())
        self.n_segments_ = self.best_k_ if self.n_segments is None else int(self.n_segments)

        model = self._kmeans(self.n_segments_, n, self.seed, n_init=10 if n <= 200_000 else 3).fit(Z_all)
        self.model_ = model
        # number segments by spend per month (else by size), highest first
        raw_labels = np.full(len(df), NO_PURCHASE_LABEL)
        Z_buyers = self._scaled(df.loc[buyers])
        raw_labels[buyers] = model.predict(Z_buyers)
        value = df["spend_per_month"] if "spend_per_month" in df else df.get("monetary")
        if value is not None:
            key = pd.Series(value.to_numpy()[buyers]).groupby(raw_labels[buyers]).mean()
        else:
            key = pd.Series(raw_labels[buyers]).value_counts()
        order = key.sort_values(ascending=False).index.to_list()
        self.relabel_ = {int(old): new for new, old in enumerate(order)}
        mapped = np.array([self.relabel_.get(int(v), NO_PURCHASE_LABEL) for v in range(self.n_segments_)])
        labels = np.where(raw_labels >= 0, mapped[np.clip(raw_labels, 0, None)], NO_PURCHASE_LABEL)
        self.labels_ = pd.Series(labels, index=df.index, name="segment")
        centers = np.empty_like(model.cluster_centers_)
        for old, new in self.relabel_.items():
            centers[new] = model.cluster_centers_[old]
        self.centers_ = pd.DataFrame(centers, columns=self.features_).rename_axis("segment")

        self._stability(Z_all[sample], mapped[model.predict(Z_all[sample])], rng)
        shown = sample[: min(len(sample), 3000)]
        self.projection_ = self._project(Z_all[shown], mapped[model.predict(Z_all[shown])])
        self._profile(df)
        self.summary_ = self._summary()
        return self

    def predict(self, df: pd.DataFrame) -> pd.Series:
        """Segment of each customer in ``df`` (nearest fitted segment; -1 without a purchase)."""
        buyers = (df["frequency"] > 0).to_numpy() if "frequency" in df else np.ones(len(df), bool)
        mapped = np.array([self.relabel_[v] for v in range(self.n_segments_)])
        labels = np.full(len(df), NO_PURCHASE_LABEL)
        if buyers.any():
            labels[buyers] = mapped[self.model_.predict(self._scaled(df.loc[buyers]))]
        return pd.Series(labels, index=df.index, name="segment")

    def _stability(self, Z: np.ndarray, reference: np.ndarray, rng: np.random.Generator) -> None:
        """Refit on bootstrap samples; ARI overall and Jaccard of each segment's best match."""
        k = self.n_segments_
        aris, jaccard = [], []
        for _ in range(self.bootstrap_runs):
            rows = rng.integers(0, len(Z), len(Z))
            seed = int(rng.integers(1 << 31))
            refit = self._kmeans(k, len(Z), seed).fit(Z[rows]).predict(Z)
            aris.append(adjusted_rand_score(reference, refit))
            row = []
            for s in range(k):
                members = reference == s
                best = 0.0
                for c in range(k):
                    other = refit == c
                    union = np.logical_or(members, other).sum()
                    best = max(best, np.logical_and(members, other).sum() / union if union else 0.0)
                row.append(best)
            jaccard.append(row)
        self.stability_ari_ = pd.Series(aris, name="ari", dtype=float).rename_axis("run")
        jac = pd.DataFrame(jaccard, columns=range(k), dtype=float)
        self.stability_ = pd.DataFrame(
            {
                "jaccard_mean": jac.mean(),
                "jaccard_min": jac.min(),
                "ari_mean": self.stability_ari_.mean(),
            }
        ).rename_axis("segment")

    # ------------------------------------------------------------------ profiles and names
    def _profile(self, df: pd.DataFrame) -> None:
        labels = self.labels_
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
        self.feature_profile_ = z.groupby(labels[buyers]).mean().rename_axis("segment")

        rows = []
        revenue_total = df["monetary"].clip(lower=0).sum() if "monetary" in df else np.nan
        for s in range(self.n_segments_):
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
                    row[col] = (
                        members[col].mean() if col == "orders_per_active_month" else members[col].median()
                    )
            if "churned" in df:
                row["churn_rate"] = members["churned"].mean()
            if "nps_latest_answer" in df:
                row.update(self._nps(members["nps_latest_answer"]))
            if "csat" in df:
                answered = members["csat"].dropna()
                row["csat_respondents"] = len(answered)
                row["csat"] = answered.mean()  # blanked below when respondents are few
            top = (
                self.feature_profile_.loc[s].abs().sort_values(ascending=False)
                if s in self.feature_profile_.index
                else pd.Series(dtype=float)
            )
            row["distinguishing"] = ", ".join(
                f"{f} {'high' if self.feature_profile_.loc[s, f] > 0 else 'low'}" for f in top.index[:3]
            )
            rows.append(row)
        profiles = pd.DataFrame(rows).set_index("segment")
        generated = self._generate_names()
        overrides = {int(k): str(v) for k, v in (self.names or {}).items()}
        self.names_ = {s: overrides.get(s, generated[s]) for s in range(self.n_segments_)}
        profiles.insert(0, "name", [self.names_[s] for s in profiles.index])
        # too few customers to report: blanked with enough others that totals cannot give them back
        figures = [c for c in profiles.columns if c not in ("name", "distinguishing")]
        profiles = suppress_small(profiles, "customers", self.min_group_size, columns=figures)
        # survey figures rest on respondents, not members: the same rule on respondent counts
        for count, columns in (
            ("nps_respondents", ["nps", "nps_ci_low", "nps_ci_high", "mean_likelihood_to_recommend"]),
            ("csat_respondents", ["csat"]),
        ):
            if count in profiles:
                profiles = suppress_small(profiles, count, self.min_group_size, columns=columns)
        profiles.loc[profiles["customers"].isna(), "distinguishing"] = np.nan
        self.profiles_ = profiles

    def _nps(self, latest_answers: pd.Series) -> dict[str, float]:
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

    def _generate_names(self) -> dict[int, str]:
        """Name each segment from its most distinguishing features, in a fixed word order.

        Up to three words from features with a standardised difference of at least 0.5 (see
        :data:`DESCRIPTORS`); when none reaches 0.5 the strongest word above 0.25 is prefixed
        "moderately". A segment with channel-share features but no dominant channel is
        "multichannel".
        """
        names: dict[int, str] = {}
        for s in range(self.n_segments_):
            if s not in self.feature_profile_.index:
                names[s] = f"Segment {s}"
                continue
            z = self.feature_profile_.loc[s]
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

    def _summary(self) -> pd.DataFrame:
        """One row per segment: name, size, value, churn, NPS/CSAT, stability, what distinguishes it."""
        return self.profiles_.join(
            self.stability_[["jaccard_mean"]].rename(columns={"jaccard_mean": "stability"})
        )

    def _project(self, Z: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
        pca = PCA(n_components=2, random_state=self.seed).fit(Z)
        xy = pca.transform(Z)
        self.projection_variance_ = float(pca.explained_variance_ratio_.sum())
        return pd.DataFrame({"pc1": xy[:, 0], "pc2": xy[:, 1], "segment": labels})

    # ------------------------------------------------------------------ charts
    def _label(self, s: int) -> str:
        return axis_labels([f"{s}: {self.names_[s]}"])[0]

    def plot_k_scores(self, ax=None):
        """Silhouette and Calinski-Harabasz by number of segments; the chosen k is marked."""
        ax = new_axes(ax)
        scores = self.k_scores_
        ax.plot(scores.index, scores["silhouette"], marker="o", color=PALETTE[0], label="Silhouette (left)")
        ax.axvline(self.n_segments_, color=PALETTE[3], linestyle="--", linewidth=1)
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
        if self.n_segments is None:
            title = f"{self.n_segments_} segments separate customers best (highest silhouette)"
        else:
            title = f"{self.n_segments_} segments set in the config; silhouette peaks at {self.best_k_}"
        return finish(ax, title, "Number of segments (k)", "Silhouette (-1 to 1, higher = better)")

    def plot_sizes(self, ax=None):
        """Share of customers vs share of revenue per segment."""
        prof = self.profiles_.iloc[::-1]
        ax = new_axes(ax, figsize=(10, 0.8 * len(prof) + 1.8))
        y = np.arange(len(prof))
        ax.barh(y + 0.2, prof["share_of_customers"], height=0.4, color=PALETTE[7], label="Share of customers")
        ax.barh(y - 0.2, prof["share_of_revenue"], height=0.4, color=PALETTE[0], label="Share of net revenue")
        ax.set_yticks(y, [self._label(s) for s in prof.index])
        ax.xaxis.set_major_formatter(percent_formatter())
        ax.legend(frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, borderaxespad=1.5)
        top = self.profiles_["share_of_revenue"].idxmax()
        title = (
            f"{self.names_[top]} are {self.profiles_.loc[top, 'share_of_customers']:.0%} of customers "
            f"but {self.profiles_.loc[top, 'share_of_revenue']:.0%} of revenue"
        )
        return finish(ax, title, "Share of all customers / of net revenue (%)", None)

    def plot_profile_heatmap(self, ax=None, max_features: int = 24):
        """Standardised difference of each feature per segment (what sets each segment apart)."""
        import seaborn as sns

        prof = self.feature_profile_
        keep = prof.abs().max().sort_values(ascending=False).index[:max_features]
        prof = prof[[c for c in prof.columns if c in keep]].round(1) + 0.0  # no "-0.0" labels
        ax = new_axes(ax, figsize=(max(9.0, 0.65 * prof.shape[1] + 4), max(4.5, 0.6 * len(prof) + 3)))
        sns.heatmap(
            prof.set_axis([self._label(s) for s in prof.index]),
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

    def plot_projection(self, ax=None):
        """Where each segment sits on the first two principal components, as density contours.

        Contours (the densest 25/50/75% of each segment's sampled customers) rather than points,
        so the executive report shows no individual customer.
        """
        import seaborn as sns
        from matplotlib.lines import Line2D

        ax = new_axes(ax, figsize=(9, 5.5))
        proj = self.projection_
        handles = []
        for s in sorted(proj["segment"].unique()):
            part = proj[proj["segment"] == s]
            colour = PALETTE[s % len(PALETTE)]
            if len(part) >= max(self.min_group_size, 20):
                sns.kdeplot(
                    x=part["pc1"],
                    y=part["pc2"],
                    levels=[0.25, 0.5, 0.75, 1.0],
                    fill=True,
                    alpha=0.35,
                    color=colour,
                    ax=ax,
                    warn_singular=False,
                )
                sns.kdeplot(
                    x=part["pc1"],
                    y=part["pc2"],
                    levels=[0.25],
                    color=colour,
                    linewidths=1.2,
                    ax=ax,
                    warn_singular=False,
                )
            handles.append(Line2D([0], [0], color=colour, lw=6, alpha=0.6, label=self._label(s)))
        ax.legend(handles=handles, frameon=False, fontsize=9, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        title = "Segments occupy distinct regions of behaviour (contours hold 75%, 50%, 25% of each)"
        return finish(
            ax,
            title,
            f"Principal component 1 (scaled units; the two components show {self.projection_variance_:.0%} of variance)",
            "Principal component 2 (scaled units)",
        )

    def plot_stability(self, ax=None):
        """Bootstrap Jaccard stability per segment (0.75+ = stable)."""
        stab = self.stability_.iloc[::-1]
        ax = new_axes(ax, figsize=(10, 0.8 * len(stab) + 1.8))
        ax.barh(range(len(stab)), stab["jaccard_mean"], color=PALETTE[0])
        ax.set_yticks(range(len(stab)), [self._label(s) for s in stab.index])
        ax.axvline(0.75, color=PALETTE[3], linestyle="--", linewidth=1)
        ax.set_xlim(0, 1)
        worst = self.stability_["jaccard_mean"].min()
        verdict = "every segment is stable" if worst >= 0.75 else "some segments are not stable"
        title = f"Refitting on {self.bootstrap_runs} bootstrap samples: {verdict}"
        return finish(ax, title, "Mean Jaccard similarity with the refit segment (0-1)", None)


def customer_segments(features: pd.DataFrame, segmenter: Segmenter) -> pd.DataFrame:
    """Per-customer table for later notebooks: segment, its name, RFM values, scores and churn.

    Parameters
    ----------
    features : DataFrame
        From :func:`customer_features` (the frame the segmenter was fitted on).
    segmenter : Segmenter
        Fitted.

    Returns
    -------
    DataFrame
        One row per customer with ``customer_id`` as a column.
    """
    names = {**segmenter.names_, NO_PURCHASE_LABEL: "No purchase"}
    keep = [
        c
        for c in (
            "recency_days",
            "frequency",
            "monetary",
            "r_score",
            "f_score",
            "m_score",
            "rfm_segment",
            "churned",
        )
        if c in features
    ]
    table = features[keep].copy()
    table.insert(0, "segment", segmenter.labels_.reindex(features.index).to_numpy())
    table.insert(1, "segment_name", table["segment"].map(names))
    return table.reset_index()
