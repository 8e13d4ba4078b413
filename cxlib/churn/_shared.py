"""The remaining-lifetime model and today's scoring table: fitted once per run, shared by notebooks.

Notebooks 02 (churn), 04 (customer value) and 05 (revenue impact) each need the same Weibull
remaining-lifetime model (:class:`cxlib.churn.RemainingLifetime`) fitted on the churn panel, and
the customers' features at the as-of date (:func:`cxlib.churn.scoring_features`). On a million
customers building the panel, fitting and scoring take about two minutes each time. The first
notebook of a run to need them saves them in the run data (``shared/``, beside the validated
tables); the others read them back. The fit is seeded, so the same validated data, config and
seed give the same model: reading it back changes no number. Data that do not come from a run
folder (no :attr:`~cxlib.data.CustomerData.source`) are fitted on every call.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

#: Folder of the run data (beside ``validated``) holding the shared fits.
SHARED = "shared"


@dataclass
class LifetimeFit:
    """The fitted remaining-lifetime model with what its users read of the panel and of today.

    Attributes
    ----------
    model : RemainingLifetime
        Fitted on the churn panel at the config's cut-off.
    current : DataFrame
        :func:`cxlib.churn.scoring_features` at the as-of date (one row per current customer).
    numeric : list of str
        The panel's numeric feature columns.
    panel_std : dict
        Standard deviation of each numeric column over the panel's customers.
    """

    model: object
    current: pd.DataFrame
    numeric: list[str] = field(default_factory=list)
    panel_std: dict[str, float] = field(default_factory=dict)


def lifetime_fit(data, config, panel=None) -> LifetimeFit:
    """The run's remaining-lifetime model and scoring table: read back when saved, else fitted and saved.

    Parameters
    ----------
    data : CustomerData
        The validated tables (from :func:`cxlib.run.load_run_data` to share within a run).
    config : Config
        The model's settings (``churn_model``, ``analysis``); a config with other values (e.g. a
        notebook's cut-off parameter) gets its own fit.
    panel : ChurnPanel, optional
        The churn panel at the config's cut-off, when the caller has built it; otherwise built
        here (:func:`cxlib.churn.churn_panel`), only if no saved fit exists.

    Returns
    -------
    LifetimeFit

    Examples
    --------
    >>> fit = lifetime_fit(data, config)  # doctest: +SKIP
    >>> fit.model.predict(fit.current)[:3]  # doctest: +SKIP
    """
    from cxlib.churn._panel import churn_panel, scoring_features
    from cxlib.churn._survival import RemainingLifetime

    path = _saved_path(data, config)
    if path is not None and path.is_file():
        try:
            with path.open("rb") as handle:
                fit = pickle.load(handle)  # the run's own file, written below
            if isinstance(fit, LifetimeFit):
                return fit
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
            pass  # unreadable (e.g. written by another version): fitted again below
    if panel is None:
        panel = churn_panel(data, config)
    model = RemainingLifetime.from_config(config).fit(
        panel.frame, panel.numeric, panel.categorical, entry_col=panel.entry_col
    )
    fit = LifetimeFit(
        model=model,
        current=scoring_features(data, config),
        numeric=list(panel.numeric),
        panel_std={c: float(panel.frame[c].std()) for c in panel.numeric},
    )
    if path is not None:
        _save(fit, path)
    return fit


def _saved_path(data, config) -> Path | None:
    """``<run data>/shared/lifetime-<key>.pkl``: the key digests the config's values and the saved data's record."""
    source = getattr(data, "source", None)
    if source is None:
        return None
    record = Path(source) / "data.json"
    if not record.is_file():
        return None
    digest = hashlib.sha256(json.dumps(config.values, sort_keys=True, default=str).encode("utf-8"))
    digest.update(record.read_bytes())
    return Path(source).parent / SHARED / f"lifetime-{digest.hexdigest()[:20]}.pkl"


def _save(fit: LifetimeFit, path: Path) -> None:
    """Written whole or not at all (a temporary file renamed); a read-only folder only skips saving."""
    partial = path.with_suffix(f".{os.getpid()}.partial")
    try:
        path.parent.mkdir(exist_ok=True)
        with partial.open("wb") as handle:
            pickle.dump(fit, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)
