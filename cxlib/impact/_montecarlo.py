"""Monte Carlo over the uncertain inputs: reproducible draws, percentile intervals, a tornado of what matters.

:func:`draw_inputs` draws every :class:`~cxlib.impact.Input` from its distribution (log-normal
estimated ratios, normal estimated differences, triangular assumptions, fixed values), each from its
own random stream derived from the seed and the input's name, so adding an input does not change the
draws of the others. Inputs estimated by one model are drawn jointly from their covariance
(``correlated``; :func:`cxlib.stats.parameter_draws`). The percentile interval of a figure over the
draws is its 95% interval (:func:`interval`).

A tornado (:func:`tornado`) sets one input at a time to the ends of its interval or range, every
other input at its central value, and records how far a result moves: the inputs that matter most
come first (one-way sensitivity analysis, as in health-economic evaluation: Briggs, Claxton and
Sculpher 2006, Decision Modelling for Health Economic Evaluation, ch. 4).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import pandas as pd

from cxlib.impact._inputs import Input
from cxlib.stats import parameter_draws

#: Percentiles of a two-sided 95% interval.
LOW_Q, HIGH_Q = 2.5, 97.5


def _stream(seed: int, name: str) -> np.random.Generator:
    """The random stream of one input: from the seed and a checksum of its name (stable everywhere)."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode())])


def draw_inputs(
    inputs: dict[str, Input],
    n: int,
    seed: int,
    correlated: dict[tuple[str, ...], np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Draw ``n`` values of every input.

    Parameters
    ----------
    inputs : dict of str to Input
    n : int
        Number of draws.
    seed : int
    correlated : dict, optional
        Tuple of input names -> their covariance on the sampling scale (log for log-normal inputs),
        for inputs estimated by one model. Their standard errors are taken from this matrix.

    Returns
    -------
    dict of str to ndarray, shape (n,)
        An input without uncertainty is its value in every draw.
    """
    out: dict[str, np.ndarray] = {}
    for names, covariance in (correlated or {}).items():
        chosen = [inputs[name] for name in names if name in inputs]
        if len(chosen) != len(names) or not all(i.distribution in ("lognormal", "normal") for i in chosen):
            continue
        centre = [np.log(i.value) if i.distribution == "lognormal" else i.value for i in chosen]
        joint = parameter_draws(centre, covariance, n, seed=int(zlib.crc32("|".join(names).encode()) + seed))
        for k, item in enumerate(chosen):
            out[item.name] = np.exp(joint[:, k]) if item.distribution == "lognormal" else joint[:, k]
    for name, item in inputs.items():
        if name in out:
            continue
        if item.distribution == "fixed":
            out[name] = np.full(n, item.value)
        elif item.distribution == "lognormal":
            out[name] = item.value * np.exp(item.se * _stream(seed, name).standard_normal(n))
        elif item.distribution == "normal":
            out[name] = item.value + item.se * _stream(seed, name).standard_normal(n)
        else:
            out[name] = _stream(seed, name).triangular(item.low, item.value, item.high, n)
    return out


def central_values(inputs: dict[str, Input]) -> dict[str, np.ndarray]:
    """Every input at its central value, as one draw (the deterministic case)."""
    return {name: np.array([item.value]) for name, item in inputs.items()}


def interval(draws: np.ndarray) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of ``draws`` (NaN draws ignored; NaN when none is left)."""
    finite = np.asarray(draws, float)
    finite = finite[~np.isnan(finite)]
    if not finite.size:
        return float("nan"), float("nan")
    # no interpolation when a draw is infinite (e.g. payback "never": inf - inf is not a number)
    method = "linear" if np.isfinite(finite).all() else "inverted_cdf"
    low, high = np.percentile(finite, [LOW_Q, HIGH_Q], method=method)
    return float(low), float(high)


def tornado(
    inputs: dict[str, Input], evaluate: Callable[[dict[str, np.ndarray]], float], top: int | None = None
) -> pd.DataFrame:
    """One-way sensitivity: the result with each uncertain input at the ends of its interval, the rest central.

    Parameters
    ----------
    inputs : dict of str to Input
    evaluate : callable
        Inputs as one draw each (:func:`central_values`) -> the result (e.g. NPV).
    top : int, optional
        Keep the inputs with the widest swings.

    Returns
    -------
    DataFrame
        One row per uncertain input, widest swing first: ``input``, ``low_value``, ``high_value``
        (the input's ends), ``result_low``, ``result_high`` (the result there), ``swing``
        (absolute difference) and ``evidence``; ``attrs["central"]`` is the central result.
    """
    centre = central_values(inputs)
    base = float(evaluate(centre))
    rows = []
    for name, item in inputs.items():
        if not item.uncertain:
            continue
        ends = []
        for end in (item.low, item.high):
            values = dict(centre)
            values[name] = np.array([end])
            ends.append(float(evaluate(values)))
        rows.append(
            {
                "input": name,
                "low_value": item.low,
                "high_value": item.high,
                "result_low": ends[0],
                "result_high": ends[1],
                "swing": abs(ends[1] - ends[0]),
                "evidence": item.evidence,
            }
        )
    table = pd.DataFrame(
        rows, columns=["input", "low_value", "high_value", "result_low", "result_high", "swing", "evidence"]
    )
    table = table.sort_values("swing", ascending=False, kind="stable", ignore_index=True)
    if top is not None:
        table = table.head(top).reset_index(drop=True)
    table.attrs["central"] = base
    return table
