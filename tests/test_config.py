import pandas as pd
import pytest

from cxlib.cli import main
from cxlib.data._config import config_from_dict, load_config
from cxlib.data._load import CustomerData
from cxlib.exceptions import ConfigError

from .conftest import SMALL_CONFIG

MINIMAL = {"data": {"tables": {"customers": "c.csv", "transactions": "t.csv"}}}


def test_demo_config_loads_with_defaults_filled():
    config = load_config(SMALL_CONFIG)
    assert config.seed == 42
    assert config.analysis["churn"]["inactivity_days"] == 180
    assert config.table_path("transactions").name == "transactions.csv"


def test_unknown_key_is_an_error_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"analysis\.sed: unknown key \(did you mean 'seed'\?\)"):
        config_from_dict({**MINIMAL, "analysis": {"sed": 3}})


def test_unknown_table_and_table_key_are_errors():
    given = {
        "data": {
            "tables": {
                "customers": {"path": "c.csv", "colums": {}},
                "transactions": "t.csv",
                "survey": "s.csv",
            }
        }
    }
    with pytest.raises(ConfigError) as err:
        config_from_dict(given)
    message = str(err.value)
    assert "data.tables.customers.colums: unknown key (did you mean 'columns'?)" in message
    assert "data.tables.survey: unknown table (did you mean 'surveys'?)" in message


def test_all_problems_are_listed_at_once():
    given = {
        "data": {"tables": {}},
        "analysis": {"margin": 3, "as_of": "31/12/2025", "churn": {"definition": "x"}},
    }
    with pytest.raises(ConfigError) as err:
        config_from_dict(given)
    message = str(err.value)
    for fragment in (
        "customers: required",
        "transactions: required",
        "analysis.margin",
        "analysis.as_of",
        "analysis.churn.definition",
    ):
        assert fragment in message
    assert "5 problem(s)" in message


def test_transactions_optional_for_contractual_churn():
    config = config_from_dict(
        {
            "data": {"tables": {"customers": "c.csv"}},
            "analysis": {"as_of": "2025-12-31", "churn": {"definition": "contractual"}},
        }
    )
    assert config.table_spec("transactions") is None


def test_as_of_required_without_transactions():
    given = {"data": {"tables": {"customers": "c.csv"}}, "analysis": {"churn": {"definition": "contractual"}}}
    with pytest.raises(ConfigError) as err:
        config_from_dict(given)
    assert str(err.value) == (
        "config has 1 problem(s):\n  - analysis.as_of: required when no transactions table is configured "
        "(it cannot default to the latest transaction); write the analysis date as YYYY-MM-DD, "
        "e.g. as_of: 2025-12-31"
    )


def test_cli_validate_reports_a_missing_as_of_date_without_a_traceback(monkeypatch, capsys):
    customers = pd.DataFrame({"customer_id": ["C1"], "signup_date": [pd.Timestamp("2024-01-01")]})
    monkeypatch.setattr("cxlib.data._config.load_config", lambda path: None)
    monkeypatch.setattr(
        "cxlib.data._load.load_data", lambda config: CustomerData({"customers": customers}, as_of=None)
    )
    assert main(["validate", "--config", "any.yaml"]) == 0
    assert (
        capsys.readouterr().out
        == "OK: customers (1 rows); as of not set (set analysis.as_of in the config)\n"
    )


def test_overrides_set_dotted_keys():
    config = load_config(SMALL_CONFIG, overrides={"analysis.seed": 7})
    assert config.seed == 7
