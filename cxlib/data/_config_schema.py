"""The config schema: one declaration per section, with each key's default, rule and meaning.

Every section of the YAML config (``company``, ``data``, ``analysis``, ``segmentation``,
``churn_model``, ...) is one :class:`Section` in :data:`SCHEMA`; each key is a :class:`Key` with
its default, its rule (type, range or allowed values) and a one-line description. From this one
declaration come the defaults (:data:`DEFAULTS`), the strict check of unknown keys, the type and
range checks that ``cx validate`` and :func:`~cxlib.data._config.load_config` run (every problem
listed at once, naming the key, the rule and the value), :meth:`Config.section
<cxlib.data._config.Config.section>` that notebooks and the library read, and
:func:`describe_schema` for people. A new capability adds its section with one ``Section(...)``
entry in :data:`SCHEMA`.

Why hand-written rules and not pydantic (which is well kept and a field standard, and is already
installed as a dependency of pandera): the messages are the product here. A rule below says in
plain words what it expects ("a whole number >= 1", "one of auto, contractual, inactivity") and
the message adds the value and its kind ("got True (yes/no)"); the tests pin those sentences.
pydantic's errors ("Input should be greater than or equal to 1 [type=greater_than_equal, ...]")
would have to be translated back, type by type, into the same sentences; its lax mode turns
``"5"`` into 5 and ``True`` passes as an integer unless every field is strict; and the YAML dates
are kept as text by the loader so the message can say what is wrong with them, which pydantic
would parse its own way. The rules are a dozen small functions (:mod:`cxlib.data._config_checks`);
a schema of dataclasses keeps them declarative, introspectable and free of a hard dependency that
this package would otherwise only get transitively.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cxlib.data._config_checks import (
    _assumption,
    _check_exclusions,
    _check_feature_labels,
    _check_level_labels,
    _check_segment_names,
    _choice,
    _integer,
    _k_range,
    _kind,
    _list_of_numbers,
    _list_of_text,
    _mapping,
    _number,
    _text,
    _what_ifs,
    parse_date,
)

_Rule = Callable[[Any], tuple[bool, str]]


@dataclass(frozen=True)
class Key:
    """One config key.

    Attributes
    ----------
    default : object
        Value when the config does not give one.
    description : str
        One line: what the key means (shown by :func:`describe_schema`).
    rule : callable, optional
        ``rule(value) -> (ok, what was expected)``; None when the key is checked elsewhere (the
        ``data.tables`` entries, see :func:`cxlib.data._config_checks.check_table_entry`).
    date : bool
        A date written YYYY-MM-DD (or null), converted to ``datetime.date`` when valid.
    items : callable, optional
        ``items(value, problems)``: a finer check of a mapping's entries, appending one line per
        problem (run when ``rule`` passes).
    """

    default: Any
    description: str
    rule: _Rule | None = None
    date: bool = False
    items: Callable[[Any, list[str]], None] | None = None

    def expected(self) -> str:
        """What the rule expects, in words."""
        if self.date:
            return "a date written YYYY-MM-DD" + (" or null" if self.default is None else "")
        return self.rule(self.default)[1] if self.rule else ""


@dataclass(frozen=True)
class Section:
    """A section of the config: a mapping of keys (and sub-sections).

    Attributes
    ----------
    description : str
        One line: what the section configures.
    keys : dict
        Key name -> :class:`Key` or a nested :class:`Section`.
    owner : str
        The modules and notebooks that read it.
    """

    description: str
    keys: dict[str, Key | Section] = field(default_factory=dict)
    owner: str = ""

    def defaults(self) -> dict[str, Any]:
        """Every key's default (nested sections as dicts)."""
        return {
            name: entry.defaults() if isinstance(entry, Section) else copy.deepcopy(entry.default)
            for name, entry in self.keys.items()
        }


#: Keys of one table's entry under ``data.tables`` (their values are checked by check_table_entry).
TABLE_ENTRY = Section(
    "How one input table is read and mapped onto the data contract.",
    {
        "path": Key(None, "file path, relative to data.dir (CSV, Parquet, or Excel)"),
        "columns": Key({}, "canonical name -> the file's column name (or a derivation)"),
        "sheet": Key(None, "Excel sheet name or index"),
        "date_format": Key(None, 'strftime format of date columns, e.g. "%d/%m/%Y"; null = ISO / inferred'),
        "true_values": Key(
            {}, "canonical yes/no column -> extra values read as yes, e.g. {is_refund: [refund]}"
        ),
        "encoding": Key(None, "text encoding of a CSV, e.g. latin-1"),
        "separator": Key(None, "CSV field separator; null = comma"),
        "drop_missing": Key(
            [], "canonical columns whose empty rows are dropped (with a note) instead of failing"
        ),
        "from_transactions": Key(
            False, "customers only: build the table from transactions (first order = signup)"
        ),
        "recode": Key(
            {},
            'column -> {value in the file: value to read instead}, e.g. {Device: {"Mobile Phone": Mobile}}; '
            "applied before validation, counted in the data notes",
        ),
        "tenure": Key(
            None,
            "customers only: {column: Tenure, unit: years} derives signup_date that long before as_of "
            "(unit days, weeks, months or years; default months)",
        ),
        "id": Key(
            None,
            "customers only: row_number = a file without an id column gets each row's number as its id "
            "(stated in the data notes); null = customer_id is a column",
        ),
    },
)

#: The whole config: one section per capability, each declared once.
SCHEMA = Section(
    "The cx-suite config.",
    {
        "company": Key("Demo company", "company name shown in report titles", _text()),
        "data": Section(
            "Where the input files are and how they map onto the data contract.",
            {
                "dir": Key(
                    ".", "folder the table paths are relative to (relative to the config file)", _text()
                ),
                "tables": Key({}, "table name -> its file entry (see TABLE_ENTRY)"),
                "engine": Key(
                    "duckdb",
                    "engine for the transaction and interaction rows: duckdb (embedded, the default: the "
                    "input files are read and validated in DuckDB, with the pandas loader's result and "
                    "problem report, and the notebooks' per-customer tables, the churn drivers at each "
                    "cut-off and the overview's figures are queries over the run's validated Parquet files), "
                    "pandas (everything in pandas), or spark (the feature definitions of cxlib.engine on "
                    "Apache Spark; files are loaded as with duckdb)",
                    _choice("pandas", "duckdb", "spark"),
                ),
                "spark_master": Key(
                    None,
                    "Spark master URL for data.engine: spark, e.g. spark://host:7077; null = local[2] "
                    "(Spark inside this process)",
                    _text(optional=True),
                ),
            },
            owner="cxlib.data",
        ),
        "analysis": Section(
            "Settings every analysis shares: date, money, seed, churn definition, small groups.",
            {
                "as_of": Key(None, "analysis date; null = the latest transaction date", date=True),
                "currency": Key("EUR", "currency code shown with amounts", _text()),
                "seed": Key(42, "the one seed that drives every random step", _integer(0, 2**32 - 1)),
                "active_days": Key(
                    90, "a customer with a purchase in the last N days is active", _integer(1)
                ),
                "min_group_size": Key(10, "groups smaller than this are suppressed in reports", _integer(1)),
                "churn": Section(
                    "How churn is defined.",
                    {
                        "definition": Key(
                            "auto",
                            "contractual (churn date/label), inactivity (no purchase for N days), or auto",
                            _choice("auto", "contractual", "inactivity"),
                        ),
                        "inactivity_days": Key(
                            180, "days without a purchase after which a customer has churned", _integer(1)
                        ),
                    },
                ),
                "margin": Key(0.30, "gross margin on revenue when transactions carry none", _number(0, 1)),
                "discount_rate": Key(0.08, "annual discount rate, for CLV and NPV", _number(0, 1)),
                "horizon_months": Key(
                    36, "horizon of lifetime and value forecasts, in months", _integer(1, 1200)
                ),
            },
            owner="every notebook",
        ),
        "segmentation": Section(
            "Behavioural segments: how many, from which features, how stability is measured.",
            {
                "n_segments": Key(
                    None,
                    "number of segments; null = chosen by evidence from k_range",
                    _integer(2, 50, optional=True),
                ),
                "k_range": Key([2, 8], "smallest and largest number of segments tried", _k_range),
                "features": Key(
                    None,
                    "features clustered; null = purchase behaviour (rate, spend, basket, channel mix)",
                    _list_of_text(optional=True, comma_text=True),
                ),
                "names": Key(
                    {},
                    "segment number -> name shown in reports (overrides generated names)",
                    _mapping(),
                    items=_check_segment_names,
                ),
                "bootstrap_runs": Key(20, "refits used to measure the segments' stability", _integer(0)),
                "min_orders": Key(
                    2,
                    "purchases a customer needs to shape the segments (all buyers are assigned)",
                    _integer(1),
                ),
                "sample_size": Key(
                    20000,
                    "customers used to choose k and measure stability (the fit uses all)",
                    _integer(100),
                ),
                "exclude_transactions": Key(
                    {},
                    "transaction column -> values left out of RFM, e.g. {StockCode: [POST]}",
                    _mapping(),
                    items=_check_exclusions,
                ),
            },
            owner="cxlib.segment (notebooks/01_segmentation.ipynb)",
        ),
        "churn_model": Section(
            "Churn drivers, prediction and survival: cut-off, label window, features, collinearity.",
            {
                "cutoff": Key(
                    None,
                    "features use data before it, the label the window after; null = as_of - label_window_days",
                    date=True,
                ),
                "label_window_days": Key(
                    180, "days after the cut-off in which leaving counts as churn", _integer(1)
                ),
                "test_size": Key(
                    0.25,
                    "share of customers held out to evaluate the models",
                    _number(0, 1, open_low=True, open_high=True),
                ),
                "numeric_features": Key(
                    [],
                    "extra customer columns used as numeric drivers, e.g. [MonthlyCharges]",
                    _list_of_text(),
                ),
                "categorical_features": Key(
                    [], "extra customer columns used as categorical drivers, e.g. [Contract]", _list_of_text()
                ),
                "reference_levels": Key(
                    {},
                    "categorical driver -> level the ratios compare against; default the most common",
                    _mapping(),
                ),
                "long_wait_minutes": Key(
                    20, "a support wait longer than this counts as a long wait", _number(0)
                ),
                "max_vif": Key(
                    10.0,
                    "drivers with a variance inflation factor above this are dropped",
                    _number(1, open_low=True),
                ),
            },
            owner="cxlib.churn (notebooks/02_churn_drivers.ipynb)",
        ),
        "experience": Section(
            "Customer experience: survey target, not-applicable codes, answers per group, friction windows.",
            {
                "target": Key(
                    None,
                    "what the key drivers explain: nps, csat or a yes/no survey column such as satisfied; "
                    "null = nps when the surveys have it, else csat, else satisfied",
                    _text(optional=True),
                ),
                "not_applicable": Key(
                    [0],
                    "rating codes that mean 'not applicable' (e.g. 0 on a 1-5 scale): read as missing, "
                    "never as a low score",
                    _list_of_numbers(),
                ),
                "min_answers": Key(
                    30, "groups (segments, channels, periods) with fewer answers are not shown", _integer(1)
                ),
                "repeat_contact_days": Key(
                    7, "a contact within this many days of the previous one is a repeat contact", _integer(1)
                ),
                "loyalty_months": Key(
                    12,
                    "months after sign-up a customer must still be a customer to count as loyal; every funnel stage is "
                    "counted within this window (journey funnel)",
                    _integer(1),
                ),
                "n_boot": Key(
                    500,
                    "bootstrap resamples (of customers) for intervals on key-driver importances and ranks",
                    _integer(0),
                ),
            },
            owner="cxlib.experience (notebooks/03_cx_drivers.ipynb)",
        ),
        "value": Section(
            "Customer value: the lifetime-value models, their covariates, holdout check and intervals.",
            {
                "model": Key(
                    "best",
                    "transaction model of repeat buying: bgnbd, pareto_nbd, or best (the one with the higher "
                    "likelihood on the data; both have four parameters)",
                    _choice("best", "bgnbd", "pareto_nbd"),
                ),
                "time_unit_days": Key(
                    7, "days in one time unit of the repeat-buying models (7: weeks)", _integer(1, 31)
                ),
                "holdout_months": Key(
                    6,
                    "months before the analysis date held out to check the forecast (0: no check); the "
                    "value itself is fitted on all the data",
                    _integer(0, 120),
                ),
                "covariates": Key(
                    None,
                    "customer attributes (and, opt-in, experience measures: unresolved_complaint, long_wait, "
                    "nps_class) that may shift the rate of leaving in the value model; null = plan and "
                    "acquisition_channel where the data have them; [] = none",
                    _list_of_text(optional=True),
                ),
                "monthly_revenue": Key(
                    None,
                    "customers column with each customer's revenue per month (e.g. MonthlyCharges), for "
                    "subscription value; null = average monthly spend from the transactions",
                    _text(optional=True),
                ),
                "n_draws": Key(
                    200,
                    "draws of the model parameters from their estimated uncertainty, for value intervals",
                    _integer(20, 5000),
                ),
            },
            owner="cxlib.value (notebooks/04_customer_value.ipynb)",
        ),
        "impact": Section(
            "Revenue impact of a CX programme: its costs, the assumptions the data cannot give (each a number "
            "or [low, most likely, high]), the pilot's design and the Monte Carlo.",
            {
                "programme_design": Key(
                    "observational",
                    "how the programme table's treatment and control groups were formed: randomised (a "
                    "randomised pilot) or observational (propensity weighting; stated as a quasi-experiment)",
                    _choice("randomised", "observational"),
                ),
                "churn_reduction": Key(
                    [0.05, 0.10, 0.20],
                    "assumed relative fall of the churn hazard under the programme (0.10: 10% lower), used "
                    "when no pilot measures it",
                    _assumption(0, 0.9, optional=False),
                ),
                "spend_uplift": Key(
                    [0.0, 0.02, 0.05],
                    "assumed relative rise of spend per customer under the programme, used when no pilot "
                    "measures it",
                    _assumption(-0.5, 2, optional=False),
                ),
                "promoter_shift": Key(
                    [0.02, 0.05, 0.10],
                    "assumed share of enrolled non-promoters the programme turns into promoters (drives the "
                    "loyalty-spend and word-of-mouth levers)",
                    _assumption(0, 1, optional=False),
                ),
                "cac": Key(
                    None,
                    "acquisition cost of one new customer (currency), saved for each customer won by word of "
                    "mouth; null = not counted",
                    _assumption(0, None),
                ),
                "referred_value": Key(
                    None,
                    "value on margin of one referred customer (currency); null = estimated from the "
                    "customer-value results",
                    _assumption(0, None),
                ),
                "cost_fixed": Key(
                    None,
                    "one-off cost of the programme (currency); null = no costs given, so no ROI",
                    _assumption(0, None),
                ),
                "cost_per_customer_year": Key(
                    None,
                    "running cost per enrolled customer and year (currency), paid while they stay",
                    _assumption(0, None),
                ),
                "target_segments": Key(
                    None,
                    "segment names the programme enrols; null = every active customer",
                    _list_of_text(optional=True),
                ),
                "budget": Key(
                    None,
                    "budget for enrolment (currency), marked on the targeting curve",
                    _assumption(0, None),
                ),
                "what_if": Key(
                    None,
                    "friction what-ifs, e.g. [{driver: unresolved_complaint, change: -0.2}, {driver: "
                    "complaints, change: -0.5}] (a flag: relative change of the share flagged; a number: change "
                    "in its unit); null = each friction flag in the data 20% less often",
                    _what_ifs(),
                ),
                "n_draws": Key(10000, "Monte Carlo draws", _integer(100, 1_000_000)),
            },
            owner="cxlib.impact (notebooks/05_revenue_impact.ipynb)",
        ),
        "labels": Section(
            "Display labels of features and of feature levels in tables, charts and sentences.",
            {
                "features": Key(
                    {},
                    'feature -> label, e.g. {number_customer_service_calls: "Service calls"}',
                    _mapping(),
                    items=_check_feature_labels,
                ),
                "levels": Key(
                    {},
                    'feature -> {level: label of that term}, e.g. {international_plan: {"yes": "International plan"}}',
                    _mapping(),
                    items=_check_level_labels,
                ),
            },
            owner="cxlib.stats.feature_label (every report)",
        ),
    },
)

#: Every key the config may hold, with its default (derived from :data:`SCHEMA`).
DEFAULTS: dict[str, Any] = SCHEMA.defaults()

#: Keys allowed in one table's entry under ``data.tables``, with their defaults.
TABLE_KEYS: dict[str, Any] = TABLE_ENTRY.defaults()


def schema_keys(section: Section | None = None, prefix: str = "") -> dict[str, Key]:
    """Every key of ``section`` (default: the whole schema) by dotted name, e.g. ``"analysis.seed"``."""
    section = SCHEMA if section is None else section
    keys = {}
    for name, entry in section.keys.items():
        if isinstance(entry, Section):
            keys.update(schema_keys(entry, f"{prefix}{name}."))
        else:
            keys[f"{prefix}{name}"] = entry
    return keys


def schema_section(dotted: str) -> Section | None:
    """The section at a dotted name (``"churn_model"``, ``"analysis.churn"``), or None."""
    node: Key | Section = SCHEMA
    for part in dotted.split("."):
        if not isinstance(node, Section) or part not in node.keys:
            return None
        node = node.keys[part]
    return node if isinstance(node, Section) else None


def _get(values: dict, dotted: str) -> Any:
    node = values
    for part in dotted.split("."):
        node = node[part]
    return node


def _set(values: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = values
    for part in parents:
        node = node[part]
    node[leaf] = value


def check_sections(values: dict, problems: list[str]) -> None:
    """Check every key against its rule; convert date keys to dates. Problems are appended.

    Parameters
    ----------
    values : dict
        The config merged over :data:`DEFAULTS` (unknown keys already reported).
    problems : list of str
        Receives one line per problem: ``"<key>: expected <rule>, got <value> (<kind>)"``.
    """
    for dotted, key in schema_keys().items():
        value = _get(values, dotted)
        if key.date:
            if value is None:
                continue
            date, why = parse_date(value)
            if date is None:
                problems.append(f"{dotted}: expected a date written YYYY-MM-DD, got {value!r}{why}")
            else:
                _set(values, dotted, date)
        elif key.rule is not None:
            ok, expected = key.rule(value)
            if not ok:
                problems.append(f"{dotted}: expected {expected}, got {value!r} ({_kind(value)})")
            elif key.items is not None:
                key.items(value, problems)


def describe_schema(section: Section | None = None, prefix: str = "") -> str:
    """The schema as text, one line per key: name, meaning, rule and default.

    Examples
    --------
    >>> print(describe_schema().splitlines()[0])
    company: company name shown in report titles (text; default 'Demo company')
    """
    section = SCHEMA if section is None else section
    lines = []
    for name, entry in section.keys.items():
        if isinstance(entry, Section):
            owner = f" Read by {entry.owner}." if entry.owner else ""
            lines.append(f"{prefix}{name}: {entry.description}{owner}")
            lines.append(describe_schema(entry, f"{prefix}{name}."))
        else:
            rule = entry.expected()
            rule = f"{rule}; " if rule else ""
            lines.append(f"{prefix}{name}: {entry.description} ({rule}default {entry.default!r})")
    return "\n".join(lines)
