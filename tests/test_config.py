import pandas as pd
import pytest

from cxlib.cli import main
from cxlib.data._config import config_from_dict, load_config
from cxlib.data._load import CustomerData
from cxlib.exceptions import ConfigError

from .conftest import SMALL_CONFIG

#: The smallest valid config: a contractual snapshot, customers only.
SNAPSHOT = {
    "data": {"tables": {"customers": "c.csv"}},
    "analysis": {"as_of": "2025-12-31", "churn": {"definition": "contractual"}},
}

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


# ---- the schema: one declaration per section ------------------------------------------------------


def test_every_key_of_the_schema_has_a_description_and_a_rule():
    from cxlib.data._config_schema import DEFAULTS, schema_keys

    keys = schema_keys()
    assert set(keys) >= {
        "analysis.seed",
        "analysis.churn.definition",
        "churn_model.max_vif",
        "segmentation.k_range",
    }
    for dotted, key in keys.items():
        assert key.description, dotted
        assert key.rule is not None or key.date or dotted == "data.tables", dotted
    assert DEFAULTS["churn_model"]["max_vif"] == 10.0


def test_section_returns_the_checked_values_as_a_copy():
    config = load_config(SMALL_CONFIG, overrides={"churn_model.cutoff": "2025-06-30"})
    settings = config.section("churn_model")
    assert settings["cutoff"] == pd.Timestamp("2025-06-30").date()  # checked and converted
    assert settings["max_vif"] == 10.0
    settings["max_vif"] = 99
    assert config.section("churn_model")["max_vif"] == 10.0
    assert config.section("analysis.churn")["inactivity_days"] == 180


def test_an_unknown_section_is_an_error_with_a_suggestion():
    config = load_config(SMALL_CONFIG)
    with pytest.raises(
        ConfigError, match=r"config section 'churn_modle' does not exist \(did you mean 'churn_model'\?\)"
    ):
        config.section("churn_modle")


def test_a_new_section_is_one_declaration(monkeypatch):
    """Adding a capability's section: defaults, unknown keys and rules all follow from one Section."""
    import cxlib.data._config as config_module
    import cxlib.data._config_schema as schema
    from cxlib.data._config_checks import _integer

    value = schema.Section(
        "Customer value.", {"horizon_years": schema.Key(3, "years forecast", _integer(1, 10))}
    )
    extended = schema.Section(schema.SCHEMA.description, {**schema.SCHEMA.keys, "value": value})
    monkeypatch.setattr(schema, "SCHEMA", extended)
    monkeypatch.setattr(config_module, "SCHEMA", extended)
    monkeypatch.setattr(config_module, "DEFAULTS", extended.defaults())
    assert config_from_dict(MINIMAL).section("value") == {"horizon_years": 3}
    with pytest.raises(ConfigError) as err:
        config_from_dict({**MINIMAL, "value": {"horizon_years": 40, "horizon_yaers": 2}})
    message = str(err.value)
    assert "value.horizon_yaers: unknown key (did you mean 'horizon_years'?)" in message
    assert "value.horizon_years: expected a whole number between 1 and 10, got 40 (a number)" in message


def test_validate_names_key_rule_and_value_for_every_problem_at_once():
    given = {
        **MINIMAL,
        "analysis": {"seed": -1, "churn": {"definition": "sometimes"}},
        "churn_model": {"max_vif": 1, "cutoff": "2025-02-30"},
        "segmentation": {"names": {"one": "Loyal"}},
    }
    with pytest.raises(ConfigError) as err:
        config_from_dict(given)
    message = str(err.value)
    for line in (
        "analysis.seed: expected a whole number between 0 and 4294967295, got -1 (a number)",
        "analysis.churn.definition: expected one of auto, contractual, inactivity, got 'sometimes' (text)",
        "churn_model.max_vif: expected a number > 1, got 1 (a number)",
        "churn_model.cutoff: expected a date written YYYY-MM-DD, got '2025-02-30' (day is out of range for month)",
        "segmentation.names: expected segment number: name (e.g. 1: Loyal regulars), got 'one': 'Loyal'",
    ):
        assert line in message
    assert "5 problem(s)" in message


def test_describe_schema_lists_every_key_with_its_rule_and_default():
    from cxlib.data._config_schema import describe_schema, schema_keys

    text = describe_schema()
    for dotted in schema_keys():
        assert f"\n{dotted}: " in f"\n{text}", dotted
    assert (
        "churn_model.max_vif: drivers with a variance inflation factor above this are dropped (a number > 1; default 10.0)"
        in text
    )


@pytest.mark.parametrize(
    ("derivation", "expected"),
    [
        ({"power": ["Tenure", 2]}, "unknown derivation 'power' (allowed: multiply, add, subtract, divide"),
        (
            {"multiply": ["Tenure"]},
            "multiply expects two or more expressions, e.g. {multiply: [Quantity, UnitPrice]}",
        ),
        ({"divide": ["a", "b", "c"]}, "divide expects two expressions"),
        ({"multiply": [{"months_before_as_of": "t"}, 2]}, "in multiply: months_before_as_of gives a date"),
        (
            {"months_before_as_of": {"multiply": ["Tenure", True]}},
            "months_before_as_of expects an expression in months",
        ),
    ],
)
def test_a_bad_derivation_names_the_key_and_what_the_config_can_write(derivation, expected):
    given = {
        "data": {"tables": {"customers": {"path": "c.csv", "columns": {"signup_date": derivation}}}},
        "analysis": {"as_of": "2025-12-31", "churn": {"definition": "contractual"}},
    }
    with pytest.raises(ConfigError) as err:
        config_from_dict(given)
    message = str(err.value)
    assert "data.tables.customers.columns.signup_date: " in message
    assert expected in message
    assert "a mapping value is a column name or a derivation" in message  # what the config can do
    assert "{days_before_as_of: ...} takes" in message


def test_a_nested_derivation_is_a_valid_config():
    years = {"months_before_as_of": {"multiply": ["Tenure", 12]}}
    given = {
        "data": {"tables": {"customers": {"path": "c.csv", "columns": {"signup_date": years}}}},
        "analysis": {"as_of": "2025-12-31", "churn": {"definition": "contractual"}},
    }
    assert config_from_dict(given).table_spec("customers")["columns"]["signup_date"] == years


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            {"recode": ["COD"]},
            "data.tables.customers.recode: expected column: {value in the file: value to read",
        ),
        (
            {"recode": {"Mode": "Cash"}},
            "data.tables.customers.recode.Mode: expected a mapping of value in the file",
        ),
        (
            {"recode": {"Plan": {True: "yes"}}},
            "data.tables.customers.recode.Plan: True: 'yes': YAML reads unquoted",
        ),
        ({"id": "serial"}, "data.tables.customers.id: expected row_number or null, got 'serial' (text)"),
        (
            {"id": "row_number", "columns": {"customer_id": "Id"}},
            "row_number and columns.customer_id both give",
        ),
    ],
)
def test_bad_recode_and_id_entries_name_the_key_and_the_allowed_forms(entry, expected):
    given = {
        "data": {"tables": {"customers": {"path": "c.csv", **entry}}},
        "analysis": {"as_of": "2025-12-31", "churn": {"definition": "contractual"}},
    }
    with pytest.raises(ConfigError) as err:
        config_from_dict(given)
    assert expected in str(err.value)


def test_only_customers_can_number_their_rows():
    given = {
        "data": {"tables": {"customers": "c.csv", "transactions": {"path": "t.csv", "id": "row_number"}}}
    }
    with pytest.raises(ConfigError, match="data.tables.transactions.id: only the customers table can number"):
        config_from_dict(given)


# ---- display labels ------------------------------------------------------------------------------------


@pytest.fixture
def no_config_labels():
    from cxlib.stats._design import set_display_labels

    yield
    set_display_labels()  # later tests see the built-in labels only


def test_config_labels_name_features_and_levels_in_model_summaries(no_config_labels):
    import numpy as np

    from cxlib.churn import ChurnDrivers
    from cxlib.stats import feature_label

    labels = {
        "features": {"number_customer_service_calls": "Service calls"},
        "levels": {"international_plan": {"yes": "International plan"}},
    }
    config_from_dict({**SNAPSHOT, "labels": labels})
    assert feature_label("number_customer_service_calls") == "Service calls"
    assert feature_label("international_plan: yes") == "International plan"
    assert feature_label("tenure_months") == "Tenure (months)"  # built-in labels stay
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "number_customer_service_calls": rng.poisson(2, 400).astype(float),
            "international_plan": rng.choice(["no", "yes"], 400, p=[0.7, 0.3]),
            "churned": rng.random(400) < 0.3,
        }
    )
    model = ChurnDrivers().fit(frame, ["number_customer_service_calls"], ["international_plan"], "churned")
    assert set(model.summary_["label"]) == {"Service calls", "International plan"}
    config_from_dict(SNAPSHOT)  # a config without labels leaves only the built-in ones
    assert feature_label("number_customer_service_calls") == "number_customer_service_calls"


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"features": ["calls"]}, "labels.features: expected a mapping (key: value), got ['calls'] (a list)"),
        ({"features": {"calls": 3}}, "labels.features: expected feature: label (text)"),
        ({"levels": {"plan": "Premium"}}, "labels.levels.plan: expected a mapping of level: label"),
        ({"levels": {"intl": {True: "International plan"}}}, "labels.levels.intl: True: YAML reads unquoted"),
        ({"level": {}}, "labels.level: unknown key (did you mean 'levels'?)"),
    ],
)
def test_bad_labels_name_the_key_and_the_allowed_form(labels, expected, no_config_labels):
    with pytest.raises(ConfigError) as err:
        config_from_dict({**SNAPSHOT, "labels": labels})
    assert expected in str(err.value)


@pytest.mark.parametrize(
    ("tenure", "expected"),
    [
        (
            {"column": "Tenure", "unit": "decades"},
            "customers.tenure.unit: expected one of days, weeks, months, years",
        ),
        ("Tenure", "customers.tenure: expected {column: Tenure, unit: years}, got 'Tenure' (text)"),
        (
            {"column": "Tenure", "units": "years"},
            "customers.tenure: unknown key units (a tenure has column and unit",
        ),
    ],
)
def test_a_bad_tenure_entry_names_the_key_and_the_allowed_units(tenure, expected):
    given = {**SNAPSHOT, "data": {"tables": {"customers": {"path": "c.csv", "tenure": tenure}}}}
    with pytest.raises(ConfigError) as err:
        config_from_dict(given)
    assert expected in str(err.value)


def test_tenure_and_a_mapped_signup_date_cannot_both_be_given():
    entry = {"path": "c.csv", "tenure": {"column": "T"}, "columns": {"signup_date": "Joined"}}
    with pytest.raises(ConfigError, match="tenure and columns.signup_date both give the signup date"):
        config_from_dict({**SNAPSHOT, "data": {"tables": {"customers": entry}}})


def test_experience_section_defaults_and_rules():
    section = config_from_dict(MINIMAL).section("experience")
    assert section == {
        "target": None,
        "not_applicable": [0],
        "min_answers": 30,
        "repeat_contact_days": 7,
        "loyalty_months": 12,
        "n_boot": 500,
    }
    with pytest.raises(ConfigError) as err:
        config_from_dict({**MINIMAL, "experience": {"not_applicable": 0, "min_answers": 0}})
    message = str(err.value)
    assert "experience.not_applicable: expected a list of numbers (e.g. [0] or [0, 99]), got 0" in message
    assert "experience.min_answers: expected a whole number >= 1, got 0" in message


def test_a_survey_only_config_needs_no_customers_table():
    survey_only = {"data": {"tables": {"surveys": "s.csv"}}, "analysis": {"as_of": "2025-12-31"}}
    assert config_from_dict(survey_only).table_spec("customers") is None
    with_interactions = {**survey_only, "data": {"tables": {"surveys": "s.csv", "interactions": "i.csv"}}}
    with pytest.raises(ConfigError, match="data.tables.customers: required table is not configured"):
        config_from_dict(with_interactions)
