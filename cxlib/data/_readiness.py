"""Checks that the data can carry the analyses the config asks for, run by ``cx validate``.

The data contract (:mod:`cxlib.data._contract`) judges each table on its own; here the tables are judged
against the notebooks that will read them, so that a run either stops before the first notebook
with every problem listed, or finishes:

- every column the config names (churn drivers, reference levels, segmentation features,
  transaction exclusions) exists, and numeric drivers hold numbers;
- configured categorical churn drivers have levels worth comparing (no id column, no near-unique codes
  such as postcodes, whose customers would nearly all be pooled into 'Other');
- ``analysis.min_group_size`` is at most half the customers, so groups can be shown side by side;
- there are at least :data:`MIN_CUSTOMERS` customers, and enough buyers with
  ``segmentation.min_orders`` purchases to form the segments;
- the churn panel at the cut-off holds at least :data:`MIN_PER_CLASS` customers who churned and
  as many who stayed (the churn models compare the two);

and plausible but suspicious data gets a warning, shown by ``cx validate`` and in the overview:

- amounts more than :data:`EXTREME_FACTOR` times the median positive amount (a unit or decimal error?);
- no transaction in the ``analysis.active_days`` before the as-of date, or whole calendar months
  without transactions (an incomplete export?);
- a ``segmentation.exclude_transactions`` value that no transaction holds (a misspelling?).
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from cxlib.data._config import Config
from cxlib.data._contract import AMOUNT_LIMIT, ID_COLUMNS
from cxlib.exceptions import ConfigError

#: Fewer customers than this cannot carry segments, group comparisons and churn models.
MIN_CUSTOMERS = 100
#: The churn models need at least this many customers who churned, and as many who stayed.
MIN_PER_CLASS = 20
#: Buyers (with ``segmentation.min_orders`` purchases) needed per segment tried.
BUYERS_PER_SEGMENT = 10
#: An amount above this multiple of the median positive amount is flagged as suspicious.
EXTREME_FACTOR = 1000

#: Segmentation features always computed from transactions (see cxlib.features._customer.customer_features).
PURCHASE_FEATURES = (
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "orders_per_active_month",
    "spend_per_month",
    "avg_order_value",
    "purchase_interval_days",
    "lines_per_order",
    "refunded_amount_share",
)
#: Built-in categorical churn drivers a reference level may be set for.
BUILT_IN_CATEGORIES = ("plan", "region", "acquisition_channel")


def check_readiness(
    config: Config,
    mapped: dict[str, pd.DataFrame],
    tables: dict[str, pd.DataFrame],
    as_of,
    failed: set[str] | frozenset = frozenset(),
    buyers: int | None = None,
) -> tuple[list[str], list[str]]:
    """Judge the loaded tables against the analyses; return (errors, warnings) as readable lines.

    Parameters
    ----------
    config : Config
    mapped : dict of str to DataFrame
        Typed tables indexed as in their file (row ``i`` is spreadsheet row ``i + 2``).
    tables : dict of str to DataFrame
        The same tables tidied (refunds flagged, ``churned`` derived), as the notebooks get them.
    as_of : Timestamp or None
    failed : set of str
        Tables that broke the data contract: their counts are not judged again.
    buyers : int, optional
        Customers with at least ``segmentation.min_orders`` purchases, when the caller has counted
        them already (the engine loader counts them in a query); else counted here.

    Returns
    -------
    errors, warnings : list of str
    """
    errors: list[str] = []
    warnings: list[str] = []
    customers = tables.get("customers")
    transactions = tables.get("transactions")
    if customers is not None:
        _churn_feature_names(config, customers, errors)
        if "customers" not in failed and _min_group_size(config, customers, errors):
            _categorical_levels(config, customers, errors)
        if "customers" in failed:
            pass
        elif len(customers) < MIN_CUSTOMERS:
            errors.append(
                f"customers: {len(customers):,} customers; the analyses need at least {MIN_CUSTOMERS} "
                "(segments, group comparisons and churn models are not meaningful on fewer); "
                "point data.tables.customers at the full customer file."
            )
        elif as_of is not None and not failed & {"transactions", "interactions", "surveys", "programme"}:
            _churn_classes(config, tables, as_of, errors)
    if transactions is not None:
        _segmentation_names(config, tables, errors, warnings)
        if "transactions" not in failed:
            _segmentation_buyers(config, transactions, errors, buyers)
        _extreme_amounts(mapped.get("transactions", transactions), warnings)
        if as_of is not None:
            _data_gaps(config, transactions, as_of, warnings)
    return errors, warnings


def _closest(name: str, available: list[str]) -> str:
    close = difflib.get_close_matches(str(name), [str(a) for a in available], n=1, cutoff=0.5)
    if not close:  # case and separators differ: 'monthlycharges' for 'MonthlyCharges'
        norm = {str(a).lower().replace("_", "").replace(" ", ""): a for a in available}
        close = [
            norm[k] for k in difflib.get_close_matches(str(name).lower().replace("_", ""), list(norm), n=1)
        ]
    return f"closest: '{close[0]}'; " if close else ""


def _churn_feature_names(config: Config, customers: pd.DataFrame, errors: list[str]) -> None:
    settings = config.values["churn_model"]
    columns = [str(c) for c in customers.columns if c not in ("customer_id",)]
    listed = ", ".join(columns)
    for key in ("numeric_features", "categorical_features"):
        for name in settings[key]:
            if name not in customers:
                errors.append(
                    f"churn_model.{key}: '{name}' is not a column of the customers table "
                    f"({_closest(name, columns)}available: {listed}); fix the name in the config."
                )
            elif key == "numeric_features":
                _numeric_values(customers, name, errors)
    categories = list(BUILT_IN_CATEGORIES) + list(settings["categorical_features"])
    for name in settings["reference_levels"]:
        if name not in categories:
            errors.append(
                f"churn_model.reference_levels: '{name}' is not a categorical driver "
                f"({_closest(name, categories)}drivers: {', '.join(categories)}); name a driver, "
                "or add the column to churn_model.categorical_features."
            )


def _min_group_size(config: Config, customers: pd.DataFrame, errors: list[str]) -> bool:
    """Groups must be able to hold ``analysis.min_group_size`` customers: at least two of them."""
    size = config.analysis["min_group_size"]
    limit = len(customers) // 2
    if size <= limit or len(customers) < MIN_CUSTOMERS:  # too few customers is reported on its own
        return True
    errors.append(
        f"analysis.min_group_size: {size:,} is more than half of the {len(customers):,} customers, so no "
        f"two groups could be shown side by side and every figure would be suppressed; set it to at most "
        f"{limit:,} (10 is the usual choice)."
    )
    return False


def _categorical_levels(config: Config, customers: pd.DataFrame, errors: list[str]) -> None:
    """A configured categorical driver needs levels big enough to compare: ids and codes have none.

    A column is refused when more than half of the customers are in levels below
    ``analysis.min_group_size``, or when it has more levels than customers / min_group_size: pooling
    would put most customers into one 'Other' group. The built-in drivers (plan, region, channel)
    are not judged: the model pools their small levels and says so.
    """
    size = config.analysis["min_group_size"]
    fix = "remove it from churn_model.categorical_features"
    for name in dict.fromkeys(config.values["churn_model"]["categorical_features"]):
        if name not in customers:
            continue  # a misspelled name is reported by _churn_feature_names
        where = f"churn_model.categorical_features: '{name}'"
        if name in ID_COLUMNS:
            errors.append(
                f"{where} is an id column: every customer is a level of its own, so it cannot be a churn "
                f"driver; {fix}."
            )
            continue
        levels = customers[name].astype("string").str.strip().fillna("unknown").value_counts()
        in_small = int(levels[levels < size].sum())
        if in_small > len(customers) / 2 or len(levels) > len(customers) / size:
            errors.append(
                f"{where} has {len(levels):,} levels for {len(customers):,} customers; {in_small:,} customers "
                f"({in_small / len(customers):.0%}) are in levels of fewer than {size} (analysis.min_group_size), "
                "so most would be pooled into one 'Other' group and no level could be compared: bucket it into "
                f"a few larger groups (e.g. a postcode area instead of a postcode) in the customers file, or {fix}."
            )


def _numeric_values(customers: pd.DataFrame, name: str, errors: list[str]) -> None:
    """A numeric driver must hold numbers (blanks are allowed: they become unknown)."""
    values = customers[name]
    if pd.api.types.is_numeric_dtype(values):
        return
    try:  # every value reads as a number as it is (spaces around numbers are read too): none is bad
        pd.to_numeric(values)
        return
    except (ValueError, TypeError):
        pass
    text = values.astype("string").str.strip()
    bad = text.notna() & (text != "") & pd.to_numeric(text, errors="coerce").isna()
    if bad.any():
        rows = [int(i) + 2 for i in customers.index[bad]]
        shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
        examples = ", ".join(repr(v) for v in dict.fromkeys(text[bad].head(50)))
        errors.append(
            f"customers.{name}: {len(rows):,} rows: values are not numbers, but churn_model.numeric_features "
            f"lists it (rows {shown}; e.g. {examples[:80]}); list it under categorical_features instead, "
            "or fix the values."
        )


def _churn_classes(config: Config, tables: dict, as_of, errors: list[str]) -> None:
    """The churn panel must hold both who churned and who stayed, enough of each."""
    from cxlib.churn._panel import churn_cutoff, churn_labels  # churn imports io, which imports this
    from cxlib.data._load import CustomerData

    data = CustomerData(tables=tables, as_of=pd.Timestamp(as_of))
    try:
        design = churn_cutoff(data, config)
    except ConfigError as err:
        errors.append(str(err))
        return
    labels = churn_labels(data, design)
    churned = int(labels["churned"].sum())
    stayed = len(labels) - churned
    if churned >= MIN_PER_CLASS and stayed >= MIN_PER_CLASS:
        return
    if design.definition == "snapshot":
        where = f"customers.churned: of the {len(labels):,} customers"
    else:
        column = "churn_date" if design.definition == "contractual" else "order_date"
        table = "customers" if design.definition == "contractual" else "transactions"
        where = (
            f"{table}.{column} ({design.definition} churn): of the {len(labels):,} customers at risk at the "
            f"cut-off {design.cutoff:%Y-%m-%d}"
        )
    if stayed == 0 and churned:
        hint = "every one churned: check the churn mapping (is another date mapped as the churn date?)"
    elif churned == 0 and stayed:
        hint = "none churned: check that churn dates or labels are mapped and filled"
    else:
        hint = "too few to compare"
    errors.append(
        f"{where}, {churned:,} churned and {stayed:,} stayed; the churn models need at least "
        f"{MIN_PER_CLASS} of each ({hint}); or move churn_model.cutoff / label_window_days."
    )


def _segment_features(tables: dict) -> list[str]:
    """Feature names :func:`cxlib.features._customer.customer_features` can produce from these tables."""
    from cxlib.features._customer import _slug

    names = list(PURCHASE_FEATURES)
    tx = tables["transactions"]
    if "channel" in tx:
        names += [f"share_{_slug(c)}" for c in sorted(tx["channel"].dropna().unique(), key=str)]
    if "interactions" in tables:
        kinds = tables["interactions"]["kind"].dropna().unique()
        names += [f"{_slug(k)}_per_month" for k in sorted(kinds, key=str)]
    surveys = tables.get("surveys")
    if surveys is not None:
        names += [s for s in ("nps", "csat") if s in surveys and surveys[s].notna().any()]
    return names


def _segmentation_names(config: Config, tables: dict, errors: list[str], warnings: list[str]) -> None:
    settings = config.values["segmentation"]
    patterns = settings["features"]
    if isinstance(patterns, str):
        patterns = [p.strip() for p in patterns.split(",") if p.strip()]
    available = _segment_features(tables) if patterns else []
    for pattern in patterns or []:
        stem = pattern.strip("*")
        found = [
            f
            for f in available
            if (pattern.endswith("*") and f.startswith(stem))
            or (pattern.startswith("*") and f.endswith(stem))
            or f == pattern
        ]
        if not found:
            errors.append(
                f"segmentation.features: '{pattern}' matches no customer feature "
                f"({_closest(pattern, available)}available: {', '.join(available)}); fix the name in the config."
            )
    transactions = tables["transactions"]
    columns = [str(c) for c in transactions.columns]
    for column, excluded in settings["exclude_transactions"].items():
        if column not in columns:
            errors.append(
                f"segmentation.exclude_transactions: '{column}' is not a column of the transactions table "
                f"({_closest(column, columns)}available: {', '.join(columns)}); fix the name in the config."
            )
        else:
            _unmatched_exclusions(column, excluded, transactions[column], warnings)


def _unmatched_exclusions(column: str, excluded: list, values: pd.Series, warnings: list[str]) -> None:
    """An excluded value that no transaction holds leaves out nothing: a misspelling, most likely.

    Values are compared as text, as :func:`cxlib.features.window_transactions` does. Values of id
    columns are not quoted: warnings reach the overview report, which carries no personal data.
    """
    present = set(values.dropna().astype(str).unique())
    unmatched = [str(v) for v in excluded if str(v) not in present]
    if not unmatched:
        return
    fix = "fix it in the config, or remove it if nothing needs leaving out."
    if column in ID_COLUMNS:
        warnings.append(
            f"segmentation.exclude_transactions.{column}: {len(unmatched)} of the {len(excluded)} values "
            f"match no transaction, so they leave nothing out; {fix}"
        )
        return
    by_lower = {p.lower(): p for p in sorted(present)}
    for value in unmatched:
        close = difflib.get_close_matches(value, sorted(present), n=3, cutoff=0.6)
        close += [
            by_lower[m] for m in difflib.get_close_matches(value.lower(), list(by_lower), n=3, cutoff=0.6)
        ]
        hint = ", ".join(f"'{c}'" for c in dict.fromkeys(close))
        warnings.append(
            f"segmentation.exclude_transactions.{column}: '{value}' matches no transaction, so it leaves "
            f"nothing out ({f'closest: {hint}' if hint else f'the column has {len(present):,} other values'}); "
            f"{fix}"
        )


def _segmentation_buyers(
    config: Config, transactions: pd.DataFrame, errors: list[str], buyers: int | None = None
) -> None:
    settings = config.values["segmentation"]
    most = settings["n_segments"] or max(settings["k_range"])
    per_segment = max(BUYERS_PER_SEGMENT, config.analysis["min_group_size"])
    needed = buyers_needed(config)
    if buyers is None:
        buyers = count_buyers(transactions, settings["min_orders"])
    if buyers < needed:
        errors.append(
            f"transactions: {buyers:,} customers have at least {settings['min_orders']} purchases "
            f"(segmentation.min_orders); up to {most} segments need at least {needed:,} "
            f"({per_segment:,} per segment"
            + (", analysis.min_group_size" if per_segment > BUYERS_PER_SEGMENT else "")
            + "); lower segmentation.min_orders or k_range"
            + (" or analysis.min_group_size" if per_segment > BUYERS_PER_SEGMENT else "")
            + ", or supply more transaction history."
        )


def buyers_needed(config: Config) -> int:
    """Buyers (customers with ``segmentation.min_orders`` purchases) the segmentation needs.

    A segment smaller than ``analysis.min_group_size`` is suppressed: each must be able to reach it.
    """
    settings = config.values["segmentation"]
    most = settings["n_segments"] or max(settings["k_range"])
    return max(BUYERS_PER_SEGMENT, config.analysis["min_group_size"]) * most


def count_buyers(transactions: pd.DataFrame, min_orders: int) -> int:
    """Customers with at least ``min_orders`` distinct purchases (orders, else days) in canonical transactions.

    Computed on integer codes (a missing order id counts as one order of its own), which is many
    times faster than pairing the text ids.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["1", "2", "3"],
    ...                    "order_date": pd.to_datetime(["2024-01-01"] * 3), "amount": [5.0, 5.0, 5.0],
    ...                    "is_refund": [False] * 3})
    >>> count_buyers(tx, 2)
    1
    """
    sales = transactions.loc[~transactions["is_refund"] & (transactions["amount"] > 0)]
    order = sales["order_id"] if "order_id" in sales else sales["order_date"].dt.normalize()
    customer_codes, _ = pd.factorize(sales["customer_id"], use_na_sentinel=True)
    order_codes, order_levels = pd.factorize(order, use_na_sentinel=False)  # a missing order is one order
    kept = customer_codes >= 0  # groupby leaves out missing customer ids
    pairs = customer_codes[kept].astype(np.int64) * max(len(order_levels), 1) + order_codes[kept]
    per_customer = np.bincount(np.unique(pairs) // max(len(order_levels), 1))
    return int((per_customer >= min_orders).sum())


def _extreme_amounts(transactions: pd.DataFrame, warnings: list[str]) -> None:
    amounts = transactions["amount"]
    purchases = amounts[amounts > 0]
    if purchases.empty:
        return
    median = float(purchases.median())
    # amounts beyond AMOUNT_LIMIT are errors already (cxlib.data._contract)
    extreme = (amounts.abs() > EXTREME_FACTOR * median) & (amounts.abs() < AMOUNT_LIMIT)
    if not extreme.any():
        return
    rows = [int(i) + 2 for i in transactions.index[extreme]]
    shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
    examples = ", ".join(f"{v:,.2f}" for v in amounts[extreme].head(3))
    share = float(purchases[extreme].sum() / purchases.sum())
    warnings.append(
        f"transactions.amount: {len(rows):,} {'row' if len(rows) == 1 else 'rows'}: amounts are more than "
        f"{EXTREME_FACTOR:,} times the median positive amount ({median:,.2f}) (rows {shown}; e.g. {examples}); they make {share:.0%} of gross revenue: "
        "check for a unit, decimal-separator or export error, and remove them if they are not real orders."
    )


def _data_gaps(config: Config, transactions: pd.DataFrame, as_of, warnings: list[str]) -> None:
    dates = transactions["order_date"].dropna()
    if dates.empty:
        return
    as_of = pd.Timestamp(as_of).normalize()
    last = dates.max().normalize()
    active_days = config.analysis["active_days"]
    gap = (as_of - last).days
    if gap > active_days:
        warnings.append(
            f"transactions.order_date: no transaction in the {gap:,} days before the as-of date "
            f"{as_of:%Y-%m-%d} (the last is dated {last:%Y-%m-%d}), so no customer counts as active "
            f"(analysis.active_days = {active_days}): check that the export is complete, or set "
            "analysis.as_of to the end of the data."
        )
    # months as counts since 1970-01, counted with bincount: no period object per transaction
    months = dates.to_numpy().astype("datetime64[M]").astype(np.int64)
    first = int(months.min())
    present = np.flatnonzero(np.bincount(months - first)) + first
    every = pd.period_range(
        pd.Period(np.datetime64(first, "M"), freq="M"),
        pd.Period(np.datetime64(int(months.max()), "M"), freq="M"),
    )
    empty = every.difference(pd.PeriodIndex.from_ordinals(present, freq="M"))
    if len(empty):
        shown = ", ".join(str(m) for m in empty[:6]) + (", ..." if len(empty) > 6 else "")
        warnings.append(
            f"transactions.order_date: {len(empty)} calendar month(s) between {every[0]} and {every[-1]} have "
            f"no transactions ({shown}): check that the export is complete; trends and rates across the gap "
            "understate activity."
        )
