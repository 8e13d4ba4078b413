"""Holm's adjustment without statsmodels' garbage collection gives statsmodels' numbers."""

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from cxlib.stats import holm_adjusted


@pytest.mark.parametrize("size", [0, 1, 2, 7, 50])
def test_holm_equals_statsmodels(size):
    rng = np.random.default_rng(size)
    p = rng.uniform(0, 0.2, size) ** 2
    if size > 3:
        p[1] = p[2]  # ties keep statsmodels' order
        p[3] = 1.0
    assert np.array_equal(holm_adjusted(p), multipletests(p, method="holm")[1])


def test_holm_takes_a_series_and_keeps_the_order():
    import pandas as pd

    p = pd.Series([0.04, 0.01, 0.03], index=["b", "a", "c"])
    assert np.array_equal(holm_adjusted(p), multipletests(p, method="holm")[1])
    assert holm_adjusted(p).tolist() == pytest.approx([0.06, 0.03, 0.06])


def test_holm_does_not_collect_garbage(monkeypatch):
    import gc

    calls = []
    monkeypatch.setattr(gc, "collect", lambda *a: calls.append(a) or 0)
    holm_adjusted([0.1, 0.2])
    assert not calls
