"""Notebooks 04-06's calls at scale, step by step: time, peak memory and (optionally) a profile.

Usage (one heavy process at a time on a shared machine)::

    PYTHONPATH=. .venv/bin/python benchmarks/profile_notebooks_04_06.py RUN_DIR CONFIG [04] [05] [06] [--profile]

``RUN_DIR`` is a run-data folder (``validated/`` from ``cx run``, the ``segments`` table of
notebook 01); tables notebooks 04-05 save go there. Environment: ``VAL_DIRECT=1`` reads
``RUN_DIR/validated`` without the config check of :func:`cxlib.run.load_run_data`;
``VAL_SKIP_FRICTION=1`` skips the impact what-if when notebook 03's ``friction_effects`` table is
missing (otherwise :func:`cxlib.impact.impact_study` runs notebook 03's function itself);
``VAL_STACK=<s>`` dumps the Python stacks every ``s`` seconds to ``VAL_STACKFILE`` (a poor man's
sampling profile of a long step). Results: ``benchmarks/RESULTS-value-scale.md``.
"""

import cProfile
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")
import faulthandler
import resource

from cxlib.data import load_config
from cxlib.run import load_run_data, load_table, save_summary, save_table
from cxlib.run._memory import MemoryWatch  # noqa

faulthandler.dump_traceback_later(
    int(os.environ.get("VAL_STACK", "20")),
    repeat=True,
    file=open(os.environ.get("VAL_STACKFILE", "/tmp/val1m/stacks.txt"), "w"),
)

run_dir, config_path, *which = sys.argv[1:]
profile = "--profile" in which
which = [w for w in which if not w.startswith("--")] or ["04", "05", "06"]
config = load_config(config_path)


def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def step(label, fn, *a, **k):
    t = time.perf_counter()
    if profile:
        pr = cProfile.Profile()
        pr.enable()
    out = fn(*a, **k)
    if profile:
        pr.disable()
        pr.dump_stats(f"/tmp/val1m/{label}.prof")
    print(f"{label:40s} {time.perf_counter() - t:8.1f} s  peak {rss():5.2f} GB", flush=True)
    return out


if os.environ.get("VAL_DIRECT"):
    from cxlib.run._artifacts import load_validated

    data = step("load_validated", load_validated, run_dir)
else:
    data = step("load_run_data", load_run_data, config, run_dir)
print("source", data.source)
if "04" in which:
    from cxlib import value

    segments = step("load segments", load_table, run_dir, "segments", required=False)
    study = step("04 value_study", value.value_study, data, config, segments, holdout_months=-1)
    step("04 intro", value.report_intro, study, data)
    for f in ("value_report", "check_report", "experience_report", "subscription_report"):
        step(f"04 {f}", getattr(value, f), study)
    step("04 findings", value.describe_findings, study)
    tables = step("04 catalog", value.catalog_tables, study)

    def save():
        for name, table in tables.items():
            save_table(run_dir, name, table)
        save_summary(run_dir, "04_customer_value", value.value_headline(study), value.summary_metrics(study))

    step("04 save", save)
    import matplotlib.pyplot as plt

    plt.close("all")
    del study, tables
if "05" in which:
    from cxlib import impact

    fe = load_table(run_dir, "friction_effects", required=False)
    if fe is None and os.environ.get("VAL_SKIP_FRICTION"):
        import pandas as pd

        fe = pd.DataFrame()  # notebook 03's table is missing: the what-if step is skipped, not computed here
        print("friction_effects: skipped (notebook 03 not run at this size)")
    print("friction_effects", None if fe is None else len(fe))
    study = step(
        "05 impact_study",
        impact.impact_study,
        data,
        config,
        load_table(run_dir, "segments", required=False),
        friction_effects=fe,
        programme_cost=-1.0,
        churn_reduction=-1.0,
        n_draws=-1,
    )
    step("05 recommendation", impact.recommendation, study)
    for f in (
        "lever_report",
        "pilot_report",
        "economics_report",
        "targeting_report",
        "what_if_report",
        "kpi_report",
        "assumptions_report",
    ):
        step(f"05 {f}", getattr(impact, f), study)
    step("05 intro", impact.report_intro, study, data)
    step("05 findings", impact.describe_findings, study)
    tables = step("05 catalog", impact.catalog_tables, study)

    def save():
        for name, table in tables.items():
            save_table(run_dir, name, table)
        save_summary(
            run_dir, "05_revenue_impact", impact.impact_headline(study), impact.summary_metrics(study)
        )

    step("05 save", save)
    import matplotlib.pyplot as plt

    plt.close("all")
if "06" in which:
    from cxlib import executive

    inputs = step("06 executive_inputs", executive.executive_inputs, run_dir, config, data.tables, data.as_of)
    for f in (
        "money_section",
        "kpi_tiles",
        "describe_findings",
        "money_details",
        "segment_section",
        "driver_section",
        "assumption_section",
        "links_section",
        "methods_section",
    ):
        step(f"06 {f}", getattr(executive, f), inputs)
    step(
        "06 save",
        save_summary,
        run_dir,
        "06_executive_summary",
        executive.executive_headline(inputs),
        executive.summary_metrics(inputs),
    )
