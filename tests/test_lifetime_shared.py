"""The remaining-lifetime fit is made once per run and read back by later notebooks (02, 04, 05).

Reference: a fresh fit on the same data and config (the fit is seeded, so reading the saved fit
back must give exactly the same model and scoring table).
"""

import numpy as np
import pandas as pd
import pytest

from cxlib.churn import RemainingLifetime, lifetime_fit
from cxlib.data import load_config
from cxlib.run._artifacts import load_validated, save_validated

from .conftest import SMALL_CONFIG


@pytest.fixture()
def run_data(small_data, small_config, tmp_path):
    save_validated(small_data, tmp_path, small_config)
    return load_validated(tmp_path)


def test_saved_fit_is_read_back_instead_of_fitting_again(run_data, small_data, small_config, monkeypatch):
    first = lifetime_fit(run_data, small_config)
    saved = list((run_data.source.parent / "shared").glob("lifetime-*.pkl"))
    assert len(saved) == 1 and not list(saved[0].parent.glob("*.partial"))

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted again")

    monkeypatch.setattr(RemainingLifetime, "fit", no_fit)
    again = lifetime_fit(load_validated(run_data.source.parent), small_config)
    pd.testing.assert_frame_equal(again.current, first.current)
    np.testing.assert_array_equal(again.model.predict(again.current), first.model.predict(first.current))
    assert again.panel_std == first.panel_std and again.numeric == first.numeric
    monkeypatch.undo()
    fresh = lifetime_fit(small_data, small_config)  # no run folder: fitted here, nothing saved
    np.testing.assert_allclose(
        fresh.model.predict(fresh.current), first.model.predict(first.current), rtol=1e-12
    )


def test_another_config_gets_its_own_fit(run_data, small_config):
    lifetime_fit(run_data, small_config)
    other = load_config(SMALL_CONFIG, {"analysis.horizon_months": 24})
    lifetime_fit(run_data, other)
    assert len(list((run_data.source.parent / "shared").glob("lifetime-*.pkl"))) == 2
