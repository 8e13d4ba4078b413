"""Small synthetic files shaped like real exports the suite has never seen, each with its config.

Each writer draws its file from a fixed seed (numpy only, no cxlib), writes it and a YAML config
that uses config keys only (no code) into a folder, and returns an :class:`Export` with the
truths planted in it, computed here from the generated rows, never from the suite:

- :func:`bank_snapshot`: a contractual churn snapshot like a bank's: tenure in whole years, no id
  column, ``Exited`` 0/1, odd feature names (``NumberOfProducts``, ``Geography``,
  ``IsActiveMember``), a peaked age effect and a U-shaped product count;
- :func:`ecommerce_workbook`: an Excel workbook with three sheets (the customers on the third), blanks
  in several features, spellings to merge ("Mobile Phone", "CC", "COD") and a tenure in months with
  blanks that ``drop_missing`` removes;
- :func:`telecom_snapshot`: a yes/no churn snapshot with snake_case names given display labels, a
  tenure in days and a state column of 51 levels;
- :func:`retail_invoices`: a year of invoice lines under other column names (``InvoiceNo``,
  ``StockCode``, ``Quantity``, ``UnitPrice``, ``InvoiceDate``, ``CustomerID``, ``Country``), with
  C-prefixed cancellations, postage lines and lines without a customer; customers come from the
  transactions.

Sizes are the smallest that pass the readiness checks with room to spare (100+ customers, 20+
churned and stayed, 80+ repeat buyers for segmentation up to k = 8), so a full run takes seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

AS_OF = "2025-12-31"


@dataclass
class Export:
    """A written export: its config, its data file(s) and what was planted in it."""

    name: str
    config: Path
    folder: Path
    truth: dict = field(default_factory=dict)
    #: Display labels the reports must show, and the raw names they must not.
    labels: dict = field(default_factory=dict)
    raw_names: tuple = ()
    #: Tables the config supplies and the columns they were given (file columns and the canonical
    #: names mapped onto them; a signup date derived from a tenure or a first order is not given).
    tables: frozenset = frozenset({"customers"})
    columns: frozenset = frozenset()


def _write_config(folder: Path, values: dict) -> Path:
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False, allow_unicode=True))
    return path


def _logistic(x: np.ndarray) -> np.ndarray:
    return np.round(1 / (1 + np.exp(-x)), 12)


# --------------------------------------------------------------------------------------------------
# a. bank churn snapshot
# --------------------------------------------------------------------------------------------------
def bank_snapshot(folder: Path, n: int = 500, seed: int = 1) -> Export:
    """A bank's churn snapshot: no id column, ``Tenure`` in years, ``Exited`` 0/1."""
    rng = np.random.default_rng(seed)
    age = np.clip(np.round(rng.normal(40, 10, n)), 18, 85).astype(int)
    products = rng.choice([1, 2, 3, 4], size=n, p=[0.5, 0.4, 0.07, 0.03])
    active = rng.integers(0, 2, n)
    geography = rng.choice(["France", "Spain", "Germany"], size=n, p=[0.5, 0.25, 0.25])
    tenure_years = rng.integers(0, 11, n)
    # planted: churn peaks in middle age (50-60) and is U-shaped in the product count
    product_effect = np.select([products == 1, products == 2, products == 3], [0.0, -1.2, 1.8], 2.5)
    age_effect = -(((age - 55) / 9.0) ** 2) + 1.0
    logit = -1.0 + age_effect + product_effect - 0.8 * active + 0.6 * (geography == "Germany")
    exited = (rng.random(n) < _logistic(logit)).astype(int)
    frame = pd.DataFrame(
        {
            "CreditScore": np.clip(np.round(rng.normal(650, 95, n)), 350, 850).astype(int),
            "Geography": geography,
            "Gender": rng.choice(["Female", "Male"], size=n),
            "Age": age,
            "Tenure": tenure_years,
            "Balance": np.round(np.where(rng.random(n) < 0.35, 0.0, rng.normal(110_000, 30_000, n)), 2),
            "NumberOfProducts": products,
            "HasCrCard": rng.choice([0, 1], size=n, p=[0.3, 0.7]),
            "IsActiveMember": active,
            "EstimatedSalary": np.round(rng.uniform(1_000, 200_000, n), 2),
            "Exited": exited,
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "Churn_Modelling.csv", index=False)
    config = _write_config(
        folder,
        {
            "company": "Foreign Bank (synthetic)",
            "data": {
                "dir": str(folder),
                "tables": {
                    "customers": {
                        "path": "Churn_Modelling.csv",
                        "id": "row_number",
                        "tenure": {"column": "Tenure", "unit": "years"},
                        "columns": {"churned": "Exited"},
                    }
                },
            },
            "analysis": {"as_of": AS_OF, "churn": {"definition": "contractual"}, "seed": 7},
            "churn_model": {
                "numeric_features": ["CreditScore", "Age", "Balance", "NumberOfProducts", "EstimatedSalary"],
                "categorical_features": ["Geography", "Gender", "IsActiveMember", "HasCrCard"],
                "reference_levels": {"Geography": "France"},
            },
            "labels": {
                "features": {
                    "NumberOfProducts": "Number of products",
                    "IsActiveMember": "Active member",
                    "EstimatedSalary": "Estimated salary",
                    "CreditScore": "Credit score",
                    "HasCrCard": "Has a credit card",
                },
                "levels": {"IsActiveMember": {"0": "Not an active member"}},
            },
        },
    )
    truth = {
        "customers": n,
        "churned": int(exited.sum()),
        "churn_rate": float(exited.mean()),
        "first_id": 2,
        "last_id": n + 1,
        # row 2 of the file (the first data row): its tenure in years, as months before the as-of date
        "first_tenure_months": int(tenure_years[0]) * 12,
        "churn_rate_by_products": {
            int(k): float(v) for k, v in pd.Series(exited).groupby(products).mean().items()
        },
    }
    return Export(
        "bank",
        config,
        folder,
        truth,
        labels={"NumberOfProducts": "Number of products", "IsActiveMember": "Active member"},
        raw_names=("NumberOfProducts", "IsActiveMember", "EstimatedSalary"),
        columns=frozenset(frame.columns) | {"customer_id", "churned"},
    )


# --------------------------------------------------------------------------------------------------
# b. e-commerce workbook
# --------------------------------------------------------------------------------------------------
DEVICE_SPELLINGS = {"Mobile Phone": "Mobile", "Phone": "Mobile"}
PAYMENT_SPELLINGS = {"COD": "Cash on Delivery", "CC": "Credit Card"}
CATEGORY_SPELLINGS = {"Mobile": "Mobile Phone"}


def ecommerce_workbook(
    folder: Path,
    n: int = 600,
    seed: int = 2,
    drop_missing: bool = True,
    level_without_churn: str | None = None,
) -> Export:
    """An e-commerce churn workbook: sheets 'About', 'Data Dict', 'E Comm' (the customers).

    ``level_without_churn`` names an order category whose customers all stayed (none churned):
    a driver level that separates perfectly, as small levels of real exports do.
    """
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 32, n).astype(float)
    device = rng.choice(["Mobile Phone", "Phone", "Mobile", "Computer"], size=n, p=[0.45, 0.15, 0.1, 0.3])
    payment = rng.choice(
        ["Debit Card", "Credit Card", "CC", "E wallet", "UPI", "COD", "Cash on Delivery"],
        size=n,
        p=[0.4, 0.2, 0.1, 0.1, 0.08, 0.07, 0.05],
    )
    category = rng.choice(
        ["Laptop & Accessory", "Mobile Phone", "Mobile", "Fashion", "Grocery", "Others"],
        size=n,
        p=[0.33, 0.2, 0.15, 0.14, 0.1, 0.08],
    )
    complain = rng.choice([0, 1], size=n, p=[0.72, 0.28])
    cashback = np.round(rng.normal(175, 45, n), 2)
    logit = -0.6 - 0.12 * tenure + 1.0 * complain + 0.4 * np.isin(payment, ["COD", "Cash on Delivery"])
    churn = (rng.random(n) < _logistic(logit)).astype(int)
    if level_without_churn is not None:
        churn[category == level_without_churn] = 0
    frame = pd.DataFrame(
        {
            "CustomerID": np.arange(50001, 50001 + n),
            "Churn": churn,
            "Tenure": tenure,
            "PreferredLoginDevice": device,
            "CityTier": rng.choice([1, 2, 3], size=n, p=[0.65, 0.05, 0.3]),
            "WarehouseToHome": np.round(rng.gamma(3, 5, n) + 5).astype(float),
            "PreferredPaymentMode": payment,
            "Gender": rng.choice(["Female", "Male"], size=n, p=[0.4, 0.6]),
            "HourSpendOnApp": rng.integers(1, 5, n).astype(float),
            "PreferedOrderCat": category,
            "SatisfactionScore": rng.integers(1, 6, n),
            "MaritalStatus": rng.choice(["Single", "Married", "Divorced"], size=n, p=[0.3, 0.55, 0.15]),
            "Complain": complain,
            "OrderCount": rng.integers(1, 16, n).astype(float),
            "CashbackAmount": cashback,
        }
    )
    # blanks as a real export has them: several features, and the tenure (dropped via drop_missing)
    holes = {"WarehouseToHome": 0.045, "HourSpendOnApp": 0.045, "OrderCount": 0.045}
    for column, share in holes.items():
        frame.loc[rng.random(n) < share, column] = np.nan
    # planted: blank tenures are not missing at random: churners lack one four times as often
    frame.loc[rng.random(n) < np.where(churn == 1, 0.16, 0.04), "Tenure"] = np.nan
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "E Commerce Dataset.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame(
            {"About": ["E-commerce churn export", "One row per customer", "Churn: 1 = left"]}
        ).to_excel(writer, sheet_name="About", index=False)
        pd.DataFrame({"Variable": list(frame.columns), "Description": ["..."] * len(frame.columns)}).to_excel(
            writer, sheet_name="Data Dict", index=False
        )
        frame.to_excel(writer, sheet_name="E Comm", index=False)
    customers = {
        "path": path.name,
        "sheet": "E Comm",
        "tenure": {"column": "Tenure", "unit": "months"},
        "columns": {"customer_id": "CustomerID", "churned": "Churn"},
        "recode": {
            "PreferredLoginDevice": dict(DEVICE_SPELLINGS),
            "PreferredPaymentMode": dict(PAYMENT_SPELLINGS),
            "PreferedOrderCat": dict(CATEGORY_SPELLINGS),
        },
    }
    if drop_missing:
        customers["drop_missing"] = ["signup_date"]
    config = _write_config(
        folder,
        {
            "company": "Foreign Shop (synthetic)",
            "data": {"dir": str(folder), "tables": {"customers": customers}},
            "analysis": {"as_of": AS_OF, "churn": {"definition": "contractual"}, "seed": 7},
            "churn_model": {
                "numeric_features": ["WarehouseToHome", "HourSpendOnApp", "OrderCount", "CashbackAmount"],
                "categorical_features": [
                    "PreferredLoginDevice",
                    "PreferredPaymentMode",
                    "PreferedOrderCat",
                    "MaritalStatus",
                    "Complain",
                    "CityTier",
                ],
            },
            "labels": {
                "features": {
                    "PreferredLoginDevice": "Login device",
                    "PreferredPaymentMode": "Payment mode",
                    "PreferedOrderCat": "Order category",
                    "WarehouseToHome": "Distance from warehouse",
                    "CashbackAmount": "Cashback",
                },
            },
        },
    )
    kept = frame["Tenure"].notna()
    merged = {
        "PreferredLoginDevice": sorted(set(pd.Series(device).replace(DEVICE_SPELLINGS))),
        "PreferredPaymentMode": sorted(set(pd.Series(payment).replace(PAYMENT_SPELLINGS))),
        "PreferedOrderCat": sorted(set(pd.Series(category).replace(CATEGORY_SPELLINGS))),
    }
    truth = {
        "rows": n,
        "dropped_no_tenure": int((~kept).sum()),
        "customers": int(kept.sum()),
        "churned": int(frame.loc[kept, "Churn"].sum()),
        "churn_rate": float(frame.loc[kept, "Churn"].mean()),
        "dropped_churn_rate": float(frame.loc[~kept, "Churn"].mean()),
        "merged_levels": merged,
        "recoded": {
            "PreferredLoginDevice": int(np.isin(device, list(DEVICE_SPELLINGS)).sum()),
            "PreferredPaymentMode": int(np.isin(payment, list(PAYMENT_SPELLINGS)).sum()),
        },
        "missing": {c: int(frame.loc[kept, c].isna().sum()) for c in ("WarehouseToHome", "HourSpendOnApp")},
    }
    return Export(
        "ecommerce",
        config,
        folder,
        truth,
        labels={"PreferredPaymentMode": "Payment mode", "PreferredLoginDevice": "Login device"},
        raw_names=("PreferredPaymentMode", "PreferredLoginDevice", "PreferedOrderCat"),
        columns=frozenset(frame.columns) | {"customer_id", "churned"},
    )


# --------------------------------------------------------------------------------------------------
# c. telecom snapshot
# --------------------------------------------------------------------------------------------------
STATES = (
    "AK AL AR AZ CA CO CT DC DE FL GA HI IA ID IL IN KS KY LA MA MD ME MI MN MO MS MT NC ND NE NH NJ NM NV "
    "NY OH OK OR PA RI SC SD TN TX UT VA VT WA WI WV WY"
).split()


def telecom_snapshot(folder: Path, n: int = 800, seed: int = 3) -> Export:
    """A telecom churn snapshot: snake_case columns, ``churn`` yes/no, ``account_length`` in days."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["no", "yes"], size=n, p=[0.9, 0.1])
    voicemail = rng.choice(["no", "yes"], size=n, p=[0.72, 0.28])
    calls = rng.poisson(1.5, n)
    day_minutes = np.round(np.clip(rng.normal(180, 54, n), 0, 350), 1)
    logit = -2.4 + 1.9 * (plan == "yes") - 0.7 * (voicemail == "yes") + 0.012 * (day_minutes - 180)
    logit = logit + np.where(calls >= 4, 2.2, 0.0)
    churn = np.where(rng.random(n) < _logistic(logit), "yes", "no")
    frame = pd.DataFrame(
        {
            "state": rng.choice(STATES, size=n),
            "account_length": rng.integers(1, 240, n),
            "area_code": rng.choice(
                ["area_code_408", "area_code_415", "area_code_510"], size=n, p=[0.25, 0.5, 0.25]
            ),
            "international_plan": plan,
            "voice_mail_plan": voicemail,
            "number_vmail_messages": np.where(voicemail == "yes", rng.integers(5, 50, n), 0),
            "total_day_minutes": day_minutes,
            "total_day_charge": np.round(day_minutes * 0.17, 2),
            "total_intl_calls": rng.poisson(4.5, n),
            "number_customer_service_calls": calls,
            "churn": churn,
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "churn_train.csv", index=False)
    labels = {
        "features": {
            "number_customer_service_calls": "Service calls",
            "international_plan": "International plan",
            "voice_mail_plan": "Voice mail plan",
            "total_day_minutes": "Daytime minutes",
            "total_intl_calls": "International calls",
            "area_code": "Area code",
        },
        "levels": {
            "international_plan": {"yes": "Has an international plan"},
            "voice_mail_plan": {"yes": "Has a voice mail plan"},
        },
    }
    config = _write_config(
        folder,
        {
            "company": "Foreign Telecom (synthetic)",
            "data": {
                "dir": str(folder),
                "tables": {
                    "customers": {
                        "path": "churn_train.csv",
                        "id": "row_number",
                        "tenure": {"column": "account_length", "unit": "days"},
                        "columns": {"churned": "churn"},
                    }
                },
            },
            "analysis": {"as_of": AS_OF, "churn": {"definition": "contractual"}, "seed": 7},
            "churn_model": {
                "numeric_features": [
                    "total_day_minutes",
                    "total_intl_calls",
                    "number_customer_service_calls",
                ],
                "categorical_features": ["international_plan", "voice_mail_plan", "area_code"],
            },
            "labels": labels,
        },
    )
    truth = {
        "customers": n,
        "churned": int((churn == "yes").sum()),
        "churn_rate": float((churn == "yes").mean()),
        "states": int(frame["state"].nunique()),
    }
    return Export(
        "telecom",
        config,
        folder,
        truth,
        labels={
            "number_customer_service_calls": "Service calls",
            "international_plan": "Has an international plan",
        },
        raw_names=(
            "number_customer_service_calls",
            "international_plan",
            "total_day_minutes",
            "voice_mail_plan",
        ),
        columns=frozenset(frame.columns) | {"customer_id", "churned"},
    )


# --------------------------------------------------------------------------------------------------
# d. a retailer's year of invoice lines
# --------------------------------------------------------------------------------------------------
def retail_invoices(folder: Path, n_customers: int = 300, seed: int = 4) -> Export:
    """Invoice lines 2024-12-01 .. 2025-11-29 with UCI Online Retail's column names and quirks.

    The export ends the day before the as-of date (2025-11-30), as a monthly export run on the
    last day would.
    """
    rng = np.random.default_rng(seed)
    start, end = pd.Timestamp("2024-12-01"), pd.Timestamp("2025-11-29")
    days = (end - start).days + 1
    lines = []
    invoice = 536365
    products = [f"{c}" for c in rng.integers(20000, 90000, 60)]
    prices = np.round(rng.uniform(0.4, 12.0, 60), 2)
    for customer in range(12346, 12346 + n_customers):
        country = rng.choice(["United Kingdom", "Germany", "France", "EIRE"], p=[0.85, 0.05, 0.05, 0.05])
        first = int(rng.integers(0, 120))
        # planted: 35% stop buying for good somewhere in the first seven months
        last = int(rng.integers(first + 20, 215)) if rng.random() < 0.35 else days - 1
        rate = rng.gamma(4, 0.25 / 4) * 4  # orders per 30 days, mean 1
        n_orders = max(1, rng.poisson(rate * (last - first) / 30))
        order_days = np.sort(rng.integers(first, last + 1, n_orders))
        for day in order_days:
            invoice += 1
            when = start + pd.Timedelta(days=int(day), minutes=int(rng.integers(480, 1080)))
            picks = rng.choice(60, size=int(rng.integers(1, 6)), replace=False)
            for p in picks:
                lines.append(
                    (str(invoice), products[p], int(rng.integers(1, 13)), when, prices[p], customer, country)
                )
            if rng.random() < 0.2:
                lines.append((str(invoice), "POST", 1, when, 18.0, customer, country))
            if rng.random() < 0.05:  # a cancellation of the first line a few days later
                invoice += 1
                p = picks[0]
                later = min(when + pd.Timedelta(days=int(rng.integers(1, 10))), end + pd.Timedelta(hours=23))
                lines.append((f"C{invoice}", products[p], -1, later, prices[p], customer, country))
    frame = pd.DataFrame(
        lines,
        columns=["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"],
    )
    # anonymous lines: walk-in sales with no customer
    anonymous = frame.sample(frac=0.08, random_state=seed).copy()
    anonymous["CustomerID"] = np.nan
    prefix = np.where(anonymous["InvoiceNo"].str.startswith("C"), "C", "")
    anonymous["InvoiceNo"] = [f"{c}{600000 + i}" for i, c in enumerate(prefix)]
    frame = pd.concat([frame, anonymous]).sort_values("InvoiceDate", kind="stable").reset_index(drop=True)
    frame["CustomerID"] = frame["CustomerID"].astype("Int64")
    frame.insert(2, "Description", "ITEM " + frame["StockCode"])
    text = frame.assign(InvoiceDate=frame["InvoiceDate"].dt.strftime("%m/%d/%Y %H:%M"))
    folder.mkdir(parents=True, exist_ok=True)
    text.to_csv(folder / "Online Retail.csv", index=False)
    config = _write_config(
        folder,
        {
            "company": "Foreign Gifts (synthetic)",
            "data": {
                "dir": str(folder),
                "tables": {
                    "customers": {"from_transactions": True},
                    "transactions": {
                        "path": "Online Retail.csv",
                        "date_format": "%m/%d/%Y %H:%M",
                        "columns": {
                            "order_id": "InvoiceNo",
                            "order_date": "InvoiceDate",
                            "amount": {"multiply": ["Quantity", "UnitPrice"]},
                            "is_refund": {"startswith": ["InvoiceNo", "C"]},
                        },
                        "drop_missing": ["customer_id"],
                    },
                },
            },
            "analysis": {
                "as_of": "2025-11-30",
                "currency": "GBP",
                "seed": 7,
                "churn": {"definition": "inactivity", "inactivity_days": 120},
            },
            "segmentation": {"exclude_transactions": {"StockCode": ["POST"]}},
        },
    )
    known = frame.dropna(subset=["CustomerID"])
    truth = {
        "lines": len(frame),
        "anonymous_lines": int(frame["CustomerID"].isna().sum()),
        "customers": int(known["CustomerID"].nunique()),
        "cancellations": int(known["InvoiceNo"].str.startswith("C").sum()),
        "net_revenue": float((known["Quantity"] * known["UnitPrice"]).sum()),
    }
    canonical = {"customer_id", "order_id", "order_date", "amount", "is_refund"}
    return Export(
        "retail",
        config,
        folder,
        truth,
        tables=frozenset({"customers", "transactions"}),
        columns=frozenset(frame.columns) | canonical,
    )


EXPORTS = {
    "bank": bank_snapshot,
    "ecommerce": ecommerce_workbook,
    "telecom": telecom_snapshot,
    "retail": retail_invoices,
}
