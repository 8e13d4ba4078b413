"""Behavioural segments: clustering with evidence for k, stability, profiles and names.

:func:`customer_features` (from :mod:`cxlib.features._customer`, re-exported here) turns the canonical
tables into one row per customer (RFM plus tenure, purchase rate and interval, basket, channel
mix, service contacts, complaints, NPS/CSAT). :class:`Segmenter` clusters them (log of skewed
features, robust scaling, k-means), chooses the number of segments by silhouette on a sample when
it is not given, measures bootstrap stability, orders segments by value, and profiles and names
them (:mod:`cxlib.segment._profiles`). Charts are drawn by :mod:`cxlib.segment._plots`, report
tables and sentences built by :mod:`cxlib.segment._report`, the run tables by
:mod:`cxlib.segment._tables`.
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
from cxlib.segment._profiles import (
    LOG_FEATURES,
    NOT_FEATURES,
    feature_differences,
    generated_names,
    segment_profiles,
)
from cxlib.stats._fitted import FittedModel, summary_frame
from cxlib.stats._intervals import wilson_interval
from cxlib.stats._notes import Note

__all__ = [
    "DEFAULT_FEATURES",
    "NO_PURCHASE_LABEL",
    "Segmenter",
    "customer_features",
    "features_from_config",
    "segmentation_overrides",
]

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

NO_PURCHASE_LABEL = -1
#: Mean bootstrap Jaccard below which a segment is not a reproducible pattern (clusterboot).
UNSTABLE_JACCARD = 0.6
#: Mean bootstrap Jaccard at or above which a segment is stable (Hennig's clusterboot guidance).
STABLE_JACCARD = 0.75


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
        Segment figures of fewer customers (or survey respondents) are suppressed in
        :attr:`profiles_` and :attr:`summary_`.
    seed : int
        Seed for sampling and k-means.

    Attributes
    ----------
    features_ : list of str
        Columns clustered.
    n_fit_ : int
        Customers who shaped the segments.
    shaping_min_orders_ : int
        Purchases they needed: ``min_orders``, or 1 when too few customers have that many (caveat
        ``segment.few_shaping``).
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
    summary_ : DataFrame
        One row per segment, standard columns first (:data:`cxlib.stats.SUMMARY_COLUMNS`): ``term``
        the segment number as text, ``label`` its name, ``estimate`` its share of all customers
        with a 95% Wilson interval (``ci_low``, ``ci_high``), p-values NaN (nothing is tested),
        ``unit`` "share of customers"; then ``segment``, the :attr:`profiles_` columns and
        ``stability`` (mean bootstrap Jaccard). See :func:`cxlib.segment.segment_summary` for the run table.
    caveats_ : list of Note
        Short facts that limit the result (sentences from :func:`cxlib.report.render`): k set away from the best silhouette, too few customers
        with ``min_orders`` purchases, unstable segments (Jaccard < 0.6), suppressed segments,
        stability not measured, mini-batch k-means on very large data.

    Examples
    --------
    >>> seg = Segmenter(n_segments=4, seed=42).fit(features)  # doctest: +SKIP
    >>> seg.summary_[["term", "label", "estimate", "ci_low", "ci_high", "share_of_revenue"]]  # doctest: +SKIP
    """

    estimate_name = "share of customers"

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
            "min_orders": seg["min_orders"],
            "sample_size": seg["sample_size"],
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
        self.check_is_fitted()
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
        caveats = []
        needed = 50 * max(self.k_range[1], self.n_segments or 0)
        if shaping.sum() < needed:
            caveats.append(
                Note(
                    "segment.few_shaping",
                    {
                        "customers": int(shaping.sum()),
                        "min_orders": self.min_orders,
                        "needed": needed,
                        "max_segments": needed // 50,
                    },
                )
            )
            shaping = buyers
        self.n_fit_ = int(shaping.sum())
        # purchases a customer needed to shape the segments: 1 when too few repeat buyers (above)
        self.shaping_min_orders_ = 1 if shaping is buyers else self.min_orders
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
        if self.n_segments_ != self.best_k_:
            caveats.append(Note("segment.k_forced", {"k": self.n_segments_, "best_k": self.best_k_}))
        if n > 200_000:
            caveats.append(Note("segment.minibatch", {"customers": n}))

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
        self.summary_ = self._summary(len(df))
        suppressed = self.profiles_.index[self.profiles_["customers"].isna()]
        if len(suppressed):
            caveats.append(
                Note(
                    "segment.suppressed",
                    {"segments": [int(s) for s in suppressed], "min_size": self.min_group_size},
                )
            )
        self.caveats_ = caveats + self._stability_caveats()
        return self

    def predict(self, df: pd.DataFrame) -> pd.Series:
        """Segment of each customer in ``df`` (nearest fitted segment; -1 without a purchase)."""
        self.check_is_fitted()
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

    # ------------------------------------------------------------------ profiles, names, summary
    def _profile(self, df: pd.DataFrame) -> None:
        self.feature_profile_ = feature_differences(df, self.labels_)
        generated = generated_names(self.feature_profile_, self.n_segments_)
        overrides = {int(k): str(v) for k, v in (self.names or {}).items()}
        self.names_ = {s: overrides.get(s, generated[s]) for s in range(self.n_segments_)}
        self.profiles_ = segment_profiles(
            df, self.labels_, self.names_, self.feature_profile_, self.min_group_size
        )

    def _summary(self, n_customers: int) -> pd.DataFrame:
        """One row per segment: its share of customers with a Wilson interval, then its profile.

        The estimate is the segment's share of all customers (``share_of_customers``; customers
        without a purchase are in the denominator but in no segment), with its 95% Wilson
        interval; the extra columns are the profile and the mean bootstrap Jaccard (``stability``).
        """
        stability = self.stability_[["jaccard_mean"]].rename(columns={"jaccard_mean": "stability"})
        table = self.profiles_.join(stability).reset_index()
        shares = [
            wilson_interval(int(n), n_customers) if pd.notna(n) else (np.nan, np.nan, np.nan)
            for n in table["customers"]
        ]
        estimate, low, high = (list(column) for column in zip(*shares, strict=True))
        rows = table.assign(
            term=table["segment"].astype(str),
            label=table["name"].astype(str),
            estimate=estimate,
            ci_low=low,
            ci_high=high,
            unit=self.estimate_name,
        )
        return summary_frame(rows, extra=list(table.columns))

    def _stability_caveats(self) -> list[Note]:
        """Short facts on what limits the segments' stability (empty when nothing does)."""
        if not self.bootstrap_runs:
            return [Note("segment.stability_not_measured")]
        weak = self.stability_["jaccard_mean"] < UNSTABLE_JACCARD
        return [
            Note(
                "segment.unstable",
                {"segment": s, "name": self.names_[s], "jaccard": jaccard, "threshold": UNSTABLE_JACCARD},
            )
            for s, jaccard in self.stability_.loc[weak, "jaccard_mean"].items()
        ]

    def _project(self, Z: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
        pca = PCA(n_components=2, random_state=self.seed).fit(Z)
        xy = pca.transform(Z)
        self.projection_variance_ = float(pca.explained_variance_ratio_.sum())
        return pd.DataFrame({"pc1": xy[:, 0], "pc2": xy[:, 1], "segment": labels})

    # ------------------------------------------------------------------ charts (cxlib.segment._plots)
    def _plots(self):
        """The plotting module, imported on first use so that fitting loads no plotting library."""
        self.check_is_fitted()
        from cxlib.segment import _plots

        return _plots

    def plot_k_scores(self, ax=None):
        """Silhouette and Calinski-Harabasz by number of segments; the chosen k is marked."""
        return self._plots().plot_k_scores(self, ax=ax)

    def plot_sizes(self, ax=None):
        """Share of customers vs share of net revenue per segment."""
        return self._plots().plot_sizes(self, ax=ax)

    def plot_profile_heatmap(self, ax=None, max_features: int = 24):
        """Standardised difference of each feature per segment (what sets each segment apart)."""
        return self._plots().plot_profile_heatmap(self, ax=ax, max_features=max_features)

    def plot_projection(self, ax=None):
        """Where each segment sits on the first two principal components, as density contours."""
        return self._plots().plot_projection(self, ax=ax)

    def plot_stability(self, ax=None):
        """Bootstrap Jaccard stability per segment (0.75 or more = stable)."""
        return self._plots().plot_stability(self, ax=ax)


def segmentation_overrides(
    n_segments: int | None = None, features: list[str] | None = None, bootstrap_runs: int | None = None
) -> dict:
    """Config overrides (dotted keys) for the segmentation settings given, leaving the others as configured.

    For notebook parameters whose ``None`` means "as in the config".

    Examples
    --------
    >>> segmentation_overrides(n_segments=3)
    {'segmentation.n_segments': 3}
    """
    given = {"n_segments": n_segments, "features": features, "bootstrap_runs": bootstrap_runs}
    return {f"segmentation.{key}": value for key, value in given.items() if value is not None}
