"""Command line: ``cx synth``, ``cx validate``, ``cx run``.

Errors the user can fix (config, data, parameters, a failing notebook) print one clear message
and exit with status 1, without a traceback. SIGINT and SIGTERM print one line and exit with
128 + the signal number (130, 143).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path

import yaml

from cxlib.data._config_checks import strict_yaml_load
from cxlib.exceptions import CxError


def _parse_params(pairs: list[str]) -> dict:
    params = {}
    for pair in pairs:
        if "=" not in pair:
            raise CxError(f"-p expects name=value, got '{pair}'")
        name, value = pair.split("=", 1)
        try:  # typed: 4 -> int, false -> bool, [a, b] -> list; dates stay text
            params[name.strip()] = strict_yaml_load(value)
        except yaml.YAMLError as err:
            raise CxError(f"-p {name.strip()}: the value '{value}' is not valid YAML: {err}") from err
    return params


def _synth(args) -> None:
    from cxlib.data._demo_folder import write_demo

    out = write_demo(args.out, n_customers=args.customers, seed=args.seed, pilot=args.pilot)
    referred = json.loads((out / "ground_truth.json").read_text())["n_customers_referred"]
    print(
        f"wrote a synthetic company of {args.customers + referred:,} customers ({args.customers:,} "
        f"acquired through its channels and {referred:,} referred by them; seed {args.seed}) to {out}"
    )


def _validate(args) -> None:
    from cxlib.data._config import load_config
    from cxlib.data._load import load_data

    data = load_data(load_config(args.config))
    as_of = data.as_of.date() if data.as_of is not None else "not set (set analysis.as_of in the config)"
    print(f"OK: {', '.join(f'{k} ({len(v):,} rows)' for k, v in data.tables.items())}; as of {as_of}")
    for note in data.notes:
        print(f"  note: {note}")
    for warning in data.warnings:
        print(f"  warning: {warning}")


def _run(args) -> None:
    from cxlib.run._runner import discover_notebooks, run_suite

    notebooks = discover_notebooks(Path(args.notebooks)) if args.notebooks else None
    if args.only:
        wanted = {w.strip() for w in args.only.split(",")}
        notebooks = [
            nb for nb in (notebooks or discover_notebooks()) if nb.stem[:2] in wanted or nb.stem in wanted
        ]
    run_suite(
        args.config,
        args.out,
        notebooks=notebooks,
        params=_parse_params(args.param),
        log=lambda line: print(line, flush=True),
        run_data=args.run_data,
        memory_check=not args.no_memory_check,
        progress=sys.stderr.isatty(),
    )


def _clean(args) -> None:
    from cxlib.run._publish import Destination, Store, check_destination

    dest = Destination.for_out(args.out, args.run_data)
    check_destination(dest, action="clean")
    if dest.store.exists():
        with Store(dest, log=print) as store:
            store.remove_all()
    print(f"removed the reports cx-suite wrote to {dest.out} and {dest.run_data}")


def build_parser() -> argparse.ArgumentParser:
    """The ``cx`` argument parser."""
    parser = argparse.ArgumentParser(prog="cx", description="cx-suite: customer-experience analytics reports")
    sub = parser.add_subparsers(dest="command", required=True)
    synth = sub.add_parser("synth", help="generate the synthetic demo company with its ground truth")
    synth.add_argument(
        "--customers",
        type=int,
        default=50_000,
        help="customers acquired through channels other than referral (referred friends come on top)",
    )
    synth.add_argument("--seed", type=int, default=42)
    synth.add_argument("--out", default="data/demo")
    synth.add_argument(
        "--pilot",
        choices=["randomised", "targeted"],
        default="randomised",
        help="how the pilot programme's groups are formed: randomised 50/50 (default), or targeted at premium "
        "and frequent customers (a non-randomised pilot; the rule is written to ground_truth.json)",
    )
    synth.set_defaults(func=_synth)
    validate = sub.add_parser("validate", help="load and check the data a config points at")
    validate.add_argument("--config", required=True)
    validate.set_defaults(func=_validate)
    run = sub.add_parser("run", help="run every notebook and render the HTML reports")
    run.add_argument("--config", required=True)
    run.add_argument("--out", default="reports", help="report folder: HTML and aggregates (default: reports)")
    run.add_argument(
        "--run-data",
        help="folder for per-customer tables and executed notebooks, for analysts (default: <out>-data)",
    )
    run.add_argument("--notebooks", help="folder of numbered notebooks (default: the suite's own)")
    run.add_argument("--only", help="comma-separated notebook numbers or names, e.g. 00,01")
    run.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="notebook parameter (YAML-typed value); must exist in a notebook",
    )
    run.add_argument(
        "--no-memory-check",
        action="store_true",
        help="run even when the input is estimated to need more memory than is available",
    )
    run.set_defaults(func=_run)
    clean = sub.add_parser("clean", help="remove the reports and run data a run published (nothing else)")
    clean.add_argument("--out", default="reports")
    clean.add_argument("--run-data")
    clean.set_defaults(func=_clean)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cx`` command."""
    args = build_parser().parse_args(argv)
    # papermill/nbclient log kernel trouble (e.g. "Kernel died" after an interrupt) through the
    # 'papermill' logger; the runner reports failures itself, in one message
    logging.getLogger("papermill").addHandler(logging.NullHandler())
    try:
        args.func(args)
    except CxError as err:
        print(f"cx {args.command}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as err:
        for signum in (signal.SIGINT, signal.SIGTERM):  # a second signal must not add a traceback
            signal.signal(signum, signal.SIG_IGN)
        signum = getattr(err, "signum", signal.SIGINT)
        outcome = (
            "the new reports were published; the next run finishes removing the previous ones"
            if getattr(err, "published", False)
            else "previous reports left untouched"
        )
        print(f"cx {args.command}: interrupted by {signal.Signals(signum).name}; {outcome}", file=sys.stderr)
        return 128 + signum
    return 0


if __name__ == "__main__":
    sys.exit(main())
