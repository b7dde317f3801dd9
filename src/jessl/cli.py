"""`jessl` command: audit outputs, inspect methods and config, and run pipeline targets via Snakemake."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def _audit(args: argparse.Namespace) -> int:
    from functools import partial

    from .config import ConfigError, expected_params, load
    from .provenance import audit, format_tree

    expect = None
    if Path(args.params).exists():
        try:
            expect = partial(expected_params, load(args.params))
        except ConfigError as err:
            print(f"warning: not checking params against {args.params}: {err}", file=sys.stderr)
    ok = True
    reports = []
    for path in args.paths:
        node = audit(path, allow_dirty=args.allow_dirty, expected_params=expect)
        ok &= node.ok
        reports.append(node)
        if not args.json:
            print(format_tree(node))
    if args.json:
        print(json.dumps([n.to_dict() for n in reports], indent=2, default=str))
    if not ok and not args.json:
        print("audit FAILED: see the [BAD] links above", file=sys.stderr)
    return 0 if ok else 1


def _methods(args: argparse.Namespace) -> int:
    from .methods import METHODS

    for name, m in METHODS.items():
        types = m.hparam_types
        hp = ", ".join(f"{k}={v!r} ({types[k]})" for k, v in m.hparams.items())
        print(f"{name:20s} inputs={m.inputs:7s} {hp}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from .config import ConfigError, load

    try:
        p = load(args.params)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    print(f"{args.params}: ok — datasets {list(p.datasets)}, runs {p.runs}, seeds {p.seeds}")
    return 0


def _run(args: argparse.Namespace) -> int:
    cmd = [sys.executable, "-m", "snakemake", "--cores", args.cores, *args.targets]
    return subprocess.call(cmd, cwd=Path(args.directory))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jessl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    a = sub.add_parser("audit", help="trace outputs back to the raw data and re-check every hash")
    a.add_argument("paths", nargs="+", help="e.g. results/table1.csv")
    a.add_argument("--json", action="store_true", help="machine-readable output")
    a.add_argument("--allow-dirty", action="store_true", help="accept outputs produced from a dirty git tree")
    a.add_argument("--params", default="params.yaml", help="flag outputs made with other params than this file")
    a.set_defaults(fn=_audit)

    m = sub.add_parser("methods", help="list the registered methods, their hyper-parameters and allowed values")
    m.set_defaults(fn=_methods)

    c = sub.add_parser("check", help="validate a params file")
    c.add_argument("params", nargs="?", default="params.yaml")
    c.set_defaults(fn=_check)

    r = sub.add_parser("run", help="build pipeline targets with Snakemake (default: table and figures)")
    r.add_argument("targets", nargs="*", default=[])
    r.add_argument("--cores", default="all")
    r.add_argument("--directory", default=".")
    r.set_defaults(fn=_run)

    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
