"""`jessl` command: audit outputs, inspect methods and config, compose profiles, and run pipeline targets."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def _audit(args: argparse.Namespace) -> int:
    from functools import partial

    from .config import ConfigError, expected_params, load, read_yaml
    from .provenance import (
        audit,
        audit_summary,
        format_tree,
        is_table1,
        project_root,
        row_answer,
        row_inputs,
        table_coverage,
    )
    from .provenance import table_rows as read_rows

    if (args.column or args.pct is not None) and not args.row:
        print(f"error: {'--column' if args.column else '--pct'} needs --row (the method whose number to trace)",
              file=sys.stderr)
        return 2
    if args.params is not None and not Path(args.params).is_file():
        print(f"error: --params {args.params}: no such file; give the path of the params file "
              f"(default: params.yaml at the project root)", file=sys.stderr)
        return 2
    if args.params is not None:
        try:
            layer = _layer_of(Path(args.params), read_yaml(args.params))
        except ConfigError:
            layer = None  # reported when the file is loaded below
        if layer is not None:
            print(f"error: --params {args.params} {layer}", file=sys.stderr)
            return 2
    configs: dict[Path, object] = {}
    reports, answers = [], []
    for given in args.paths:
        root = project_root(given)
        source = Path(args.params) if args.params is not None else root / "params.yaml"
        if source not in configs:
            configs[source] = None
            try:
                configs[source] = load(source) if source.is_file() else None
            except ConfigError as err:
                if args.params is not None:
                    print(f"error: {err}", file=sys.stderr)
                    return 2
                print(f"warning: not checking params against {source}: {err}", file=sys.stderr)
        cfg = configs[source]
        rows = read_rows(given)
        select = chosen = None
        if args.row is not None:
            if rows is None:
                print(f"error: --row {args.row}: {given} is not a results table (a CSV with a method column); "
                      f"audit results/table1.csv", file=sys.stderr)
                return 2
            chosen = [r for r in rows if r["method"] == args.row]
            if not chosen:
                names = ", ".join(dict.fromkeys(r["method"] for r in rows))
                print(f"error: {given}: no row for method {args.row!r}; its rows: {names}", file=sys.stderr)
                return 2
            if args.pct is not None:
                if "pct" not in chosen[0]:
                    print(f"error: --pct: {given} has no pct column (only results/convergence.csv has one)",
                          file=sys.stderr)
                    return 2
                pcts = list(dict.fromkeys(r["pct"] for r in chosen))
                chosen = [r for r in chosen if r["pct"] == str(args.pct)]
                if not chosen:
                    print(f"error: {given}: no {args.row} row at --pct {args.pct}; its pcts: {', '.join(pcts)} "
                          f"(100 = the final checkpoint)", file=sys.stderr)
                    return 2
            if args.column is not None and args.column not in chosen[0]:
                print(f"error: {given}: no column {args.column!r}; its columns: {', '.join(chosen[0])}",
                      file=sys.stderr)
                return 2
            select = row_inputs(given, root, args.row).__contains__
        expect = partial(expected_params, cfg) if cfg is not None else None
        node = audit(given, allow_dirty=args.allow_dirty, expected_params=expect, root=root, select=select)
        if rows is not None and cfg is not None and chosen is None and is_table1(rows):
            node.stale.extend(table_coverage(rows, cfg.table_datasets, cfg.runs, cfg.seeds, str(source)))
        if chosen is not None:
            answers += row_answer(node, chosen, args.column)
        reports.append(node)
    ok, verdict = audit_summary(reports)
    if args.json:
        print(json.dumps([n.to_dict() for n in reports], indent=2, default=str))
        print(verdict, file=sys.stderr)
    else:
        for line in answers:
            print(line)
        shown: set[int] = set()
        for node in reports:
            print(format_tree(node, _shown=shown))
        print(verdict)
    return 0 if ok else 1


def _methods(args: argparse.Namespace) -> int:
    from .methods import METHODS

    for name, m in METHODS.items():
        types = m.hparam_types
        hp = ", ".join(f"{k}={v!r} ({types[k]})" for k, v in m.hparams.items())
        print(f"{name:20s} inputs={m.inputs:7s} {hp}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from .config import ConfigError, load, read_yaml
    from .data import sizes

    try:
        data = read_yaml(args.params)
        layer = _layer_of(Path(args.params), data)
        if layer is not None:
            print(f"{args.params} {layer}", file=sys.stderr)
            return 1
        p = load(args.params)
        sizes.check(p, Path(args.params).parent, str(args.params))
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    print(f"{args.params}: ok — datasets {list(p.datasets)}, runs {p.runs}, seeds {p.seeds}")
    return 0


def _layer_of(path: Path, data: object) -> str | None:
    """What to say of a layer of config/ given where a composed params file belongs (None: not a layer)."""
    from . import profiles

    top = next((d for d in path.resolve().parents if d.name == profiles.CONFIG_DIR), None)
    if top is None:
        if isinstance(data, dict) and "defaults" in data:
            return (f"is a profile layer (it has `defaults:`), not a composed params file; run "
                    f"`jessl profile {path.stem}` (writes params.yaml), then `jessl check`")
        return None
    name = path.resolve().relative_to(top).with_suffix("").as_posix()
    if name in profiles.available(top):
        return (f"is a profile layer, not a composed params file; run `jessl profile {name}` (writes params.yaml), "
                f"then `jessl check`")
    return (f"is a shared layer of {top.name}/, not a composed params file; compose a profile that uses it: "
            f"`jessl profile NAME` (profiles: {', '.join(profiles.available(top))}), then `jessl check`")


def _profile(args: argparse.Namespace) -> int:
    from . import profiles
    from .config import ConfigError, validate
    from .io import write_text

    if args.list:
        print("\n".join(profiles.available(args.config_dir)))
        return 0
    if args.name is None:
        print(f"error: name a profile, e.g. `jessl profile cifar10`; available: "
              f"{', '.join(profiles.available(args.config_dir))}", file=sys.stderr)
        return 2
    # `config/cifar10.yaml` or `cifar10.yaml` name the profile cifar10 too
    args.name = args.name.removeprefix(f"{Path(args.config_dir).as_posix().rstrip('/')}/").removesuffix(".yaml")
    try:
        text = profiles.render(args.name, args.config_dir)
        p = validate(profiles.resolve(args.name, args.config_dir), f"{args.config_dir}/{args.name}.yaml (resolved)")
        profiles.check_overwrite(Path(args.output), args.config_dir, force=args.force)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    write_text(args.output, text)
    print(f"{args.output}: profile {args.name} — datasets {list(p.datasets)}, {len(p.methods)} methods, "
          f"seeds {p.seeds}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from .report.compare import CompareError, compare, read_summary, verdict

    try:
        checks = compare(read_summary(args.reported), read_summary(args.rebuilt))
    except CompareError as err:
        print(f"compare: error: {err}", file=sys.stderr)
        return 2
    for c in checks:
        if args.verbose or not c.reproduced:
            print(c.line())
    print(verdict(checks))
    return 0 if all(c.reproduced for c in checks) else 1


def _run(args: argparse.Namespace) -> int:
    cmd = [sys.executable, "-m", "snakemake", "--cores", args.cores, *args.targets]
    return subprocess.call(cmd, cwd=Path(args.directory))


def _table_columns() -> str:
    """The columns --column can name, from the tables' own definitions."""
    from .report import tables

    probes = [k for k, _ in tables.PROBES]
    return "\n".join([
        "columns of the results tables (--column):",
        f"  results/table1.csv           {', '.join(c for c in tables.COLUMNS if c != 'method')},",
        "                               linear_{q}pct_top1 per evaluate.label_fractions q",
        f"  results/table2_transfer.csv  {{source}}_to_{{target}}_{{probe}}, probe one of {', '.join(probes)}",
        "                               (e.g. digits_to_mnist5k_linear_top1; transfer: in params.yaml), seeds",
        f"  results/table3_spectrum.csv  {', '.join(c for c in tables.SPECTRUM_COLUMNS if c != 'method')}",
        f"  results/convergence.csv      {', '.join(c for c in tables.CONVERGENCE_COLUMNS if c != 'method')}",
        "                               (one row per % of the epochs: pick one with --pct)",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jessl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    a = sub.add_parser("audit", help="trace outputs back to the raw data and re-check every hash",
                       epilog=_table_columns() if "audit" in (sys.argv if argv is None else argv) else None,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # the tables' import: audit only
    a.add_argument("paths", nargs="+", help="e.g. results/table1.csv")
    a.add_argument("--json", action="store_true", help="machine-readable output")
    a.add_argument("--allow-dirty", action="store_true", help="accept outputs produced from a dirty git tree")
    a.add_argument("--params", default=None,
                   help="flag outputs made with other params than this file (default: the project's params.yaml)")
    a.add_argument("--row", help="trace one row of a results table: the method, e.g. simclr")
    a.add_argument("--column", help="with --row: the number to trace, e.g. linear_top1 (columns: below)")
    a.add_argument("--pct", type=int, help="with --row, in convergence.csv: the checkpoint kept at this %% of the "
                                           "epochs (100 = the final one), e.g. 50")
    a.set_defaults(fn=_audit)

    m = sub.add_parser("methods", help="list the registered methods, their hyper-parameters and allowed values")
    m.set_defaults(fn=_methods)

    c = sub.add_parser("check", help="validate a params file")
    c.add_argument("params", nargs="?", default="params.yaml")
    c.set_defaults(fn=_check)

    pr = sub.add_parser("profile", help="compose a profile from config/ and write it as params.yaml")
    pr.add_argument("name", nargs="?", help="e.g. cifar10 (config/cifar10.yaml and the layers it names)")
    pr.add_argument("-o", "--output", default="params.yaml", help="where to write it (default: params.yaml)")
    pr.add_argument("--config-dir", default="config", help="folder of the profiles and layers (default: config)")
    pr.add_argument("--list", action="store_true", help="list the profiles")
    pr.add_argument("--force", action="store_true",
                    help="overwrite an output edited by hand (a layer under config/ is never overwritten)")
    pr.set_defaults(fn=_profile)

    cp = sub.add_parser("compare", help="judge a rebuilt table against the reported one (reproduced or not, per "
                                        "number, within the two runs' intervals)")
    cp.add_argument("reported", nargs="?", default="dvc:results/summary.json",
                    help="the reported summary.json: a path, git:REV:PATH, or dvc:PATH (pinned in dvc.lock, read "
                         "from the DVC cache; the default, dvc:results/summary.json)")
    cp.add_argument("rebuilt", nargs="?", default="results/summary.json",
                    help="the rebuilt summary.json (default: results/summary.json)")
    cp.add_argument("-v", "--verbose", action="store_true", help="one line per number, not only the failures")
    cp.set_defaults(fn=_compare)

    r = sub.add_parser("run", help="build pipeline targets with Snakemake (default: table and figures)")
    r.add_argument("targets", nargs="*", default=[])
    r.add_argument("--cores", default="all")
    r.add_argument("--directory", default=".")
    r.set_defaults(fn=_run)

    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
