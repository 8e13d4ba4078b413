"""Customer covariates of value: experience and attributes that may shift how fast customers leave.

The repeat-buying model with covariates (:class:`cxlib.value.ParetoNBD`) reads them as time-invariant
customer traits, measured once at the end of the calibration period:

- ``unresolved_complaint`` and ``long_wait`` (1 when the customer had one before that date): the
  shared friction definitions of :func:`cxlib.features.friction_features`, as the churn model reads
  them;
- ``nps_class``: the class of the customer's latest answer of the 12 months before it
  (promoter 9-10, passive 7-8, detractor 0-6, or ``no answer``);
- customer attributes (``plan``, ``acquisition_channel`` or any customers column named in
  ``value.covariates``).

They are encoded once by :class:`cxlib.stats.DesignEncoder` (indicators against the most common
level, small levels pooled, collinear terms pruned), so ratios read as in the churn model.

Experience measured at a date is not a trait from birth: a customer who stayed longer had more time
to meet friction, so a static covariate of it is biased towards "harmless". On the synthetic demo,
whose unresolved complaints double the hazard of leaving from the month after, the static covariate
comes out near 1 (``benchmarks/RESULTS-value-covariates.md``). The default covariates are therefore
attributes fixed from the start (plan, acquisition channel); experience measures are used only when
``value.covariates`` names them, and the report says what they can and cannot show. The effect of
friction on leaving is the churn capability's (time-varying, before each cut-off).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.features import friction_features, latest_answers
from cxlib.stats import DesignEncoder

#: Covariates tried when the config names none, in this order (those the data have): customer
#: attributes fixed from the start. Experience measures (:data:`EXPERIENCE_COVARIATES`) are opt-in
#: (``value.covariates``): read as fixed traits they are biased (see the module docstring).
DEFAULT_COVARIATES = ("plan", "acquisition_channel")
#: Covariates built from experience tables (the others are customers columns).
EXPERIENCE_COVARIATES = {
    "unresolved_complaint": "interactions",
    "long_wait": "interactions",
    "nps_class": "surveys",
}
#: Label of customers without an answer in the 12 months before the date.
NO_ANSWER = "no answer"


def nps_classes(surveys: pd.DataFrame, at, ids) -> pd.Series:
    """Class of each customer's latest NPS answer of the 12 months to ``at`` (``no answer`` without one)."""
    answered = surveys.loc[surveys["nps"].notna()] if "nps" in surveys else surveys.iloc[:0]
    latest = latest_answers(answered, pd.Timestamp(at)).set_index("customer_id")["nps"]
    score = latest.reindex(pd.Index(ids))
    out = np.select([score >= 9, score >= 7, score >= 0], ["promoter", "passive", "detractor"], NO_ANSWER)
    return pd.Series(out, index=pd.Index(ids, name="customer_id"), name="nps_class")


def covariate_frame(data, at, covariates=None, long_wait_minutes: float = 20) -> tuple[pd.DataFrame, dict]:
    """The raw covariates of every customer signed up before ``at``, and those that could not be built.

    Parameters
    ----------
    data : CustomerData
    at : Timestamp
        The date they are measured at (the study uses the day after the analysis date).
    covariates : list of str, optional
        Names from :data:`DEFAULT_COVARIATES` or customers columns; None: the defaults the data have.
    long_wait_minutes : float
        A wait longer than this is a long wait (the churn model's setting).

    Returns
    -------
    frame : DataFrame
        Indexed by ``customer_id``: one column per covariate built (0/1 flags, text levels).
    absent : dict
        Covariate -> the table or column it needs and the data lack.
    """
    at = pd.Timestamp(at)
    customers = data["customers"]
    customers = customers.loc[customers["signup_date"] < at]
    ids = pd.Index(customers["customer_id"].to_numpy(), name="customer_id")
    asked = list(DEFAULT_COVARIATES if covariates is None else covariates)
    frame = pd.DataFrame(index=ids)
    absent: dict[str, str] = {}
    friction = None
    for name in asked:
        table = EXPERIENCE_COVARIATES.get(name)
        if table and not data.has(table):
            absent[name] = table
        elif name == "nps_class":
            if "nps" not in data["surveys"]:
                absent[name] = "surveys.nps"
            else:
                frame[name] = nps_classes(data["surveys"], at, ids).to_numpy()
        elif table:
            if friction is None:
                friction = friction_features(data, at, long_wait_minutes).set_index("customer_id")
            if name not in friction:
                absent[name] = {"unresolved_complaint": "interactions.resolved"}.get(
                    name, "interactions.wait_minutes"
                )
            else:
                frame[name] = friction[name].reindex(ids).fillna(0).astype(float).to_numpy()
        elif name in customers:
            frame[name] = customers[name].to_numpy()
        else:
            absent[name] = f"customers.{name}"
    return frame, absent


def encode_covariates(
    frame: pd.DataFrame, reference_levels=None, min_group_size: int | None = 10
) -> tuple[pd.DataFrame, DesignEncoder]:
    """Encode raw covariates as model columns (indicators and flags), with the fitted encoder.

    Text columns become indicators against their most common level (or ``reference_levels``);
    numbers that are not 0/1 flags are standardised; collinear terms and constant columns are dropped.
    """
    numeric = [c for c in frame if pd.api.types.is_numeric_dtype(frame[c]) and frame[c].nunique() > 1]
    categorical = [c for c in frame if c not in numeric and frame[c].nunique(dropna=False) > 1]
    references = dict(reference_levels or {})
    if "nps_class" in categorical and (frame["nps_class"] == "passive").any():
        # compare answers with answers: "no answer" mixes customers who left before any survey with
        # those never asked, so it is a poor reference for what a promoter or a detractor does
        references.setdefault("nps_class", "passive")
    encoder = DesignEncoder(numeric, categorical, references, 10.0, min_group_size).fit(frame)
    design = encoder.transform(frame) if encoder.terms_ else pd.DataFrame(index=frame.index)
    design.index = frame.index
    return design.astype(float), encoder
