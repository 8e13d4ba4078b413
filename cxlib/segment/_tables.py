"""Tables the segmentation hands to later notebooks through the run folder.

``segments``: one row per customer (segment number and name, RFM values and scores, churn);
``segment_summary``: one row per segment (the profile and stability of
:attr:`cxlib.segment.Segmenter.summary_`, without its standard estimate columns).
"""

from __future__ import annotations

import pandas as pd

from cxlib.segment._segmenter import NO_PURCHASE_LABEL, Segmenter
from cxlib.stats._fitted import SUMMARY_COLUMNS

#: Feature columns copied into the per-customer run table (:func:`customer_segments`).
CUSTOMER_COLUMNS = (
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "churned",
)


def customer_segments(features: pd.DataFrame, segmenter: Segmenter) -> pd.DataFrame:
    """Per-customer table for later notebooks: segment, its name, RFM values, scores and churn.

    Parameters
    ----------
    features : DataFrame
        From :func:`cxlib.features.customer_features` (the frame the segmenter was fitted on).
    segmenter : Segmenter
        Fitted.

    Returns
    -------
    DataFrame
        One row per customer with ``customer_id`` as a column.
    """
    names = {**segmenter.names_, NO_PURCHASE_LABEL: "No purchase"}
    keep = [c for c in CUSTOMER_COLUMNS if c in features]
    table = features[keep].copy()
    table.insert(0, "segment", segmenter.labels_.reindex(features.index).to_numpy())
    table.insert(1, "segment_name", table["segment"].map(names))
    return table.reset_index()


def segment_summary(segmenter: Segmenter) -> pd.DataFrame:
    """Per-segment table for later notebooks (the run table ``segment_summary``).

    The per-segment columns of :attr:`Segmenter.summary_` without the standard estimate columns:
    ``segment``, ``name``, ``customers``, shares, value, churn, NPS/CSAT, ``distinguishing`` and
    ``stability``.

    Parameters
    ----------
    segmenter : Segmenter
        Fitted.

    Returns
    -------
    DataFrame
        One row per segment, ``segment`` as a column.
    """
    return segmenter.summary_.drop(columns=SUMMARY_COLUMNS)
