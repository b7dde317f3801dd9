"""End-to-end cost of the embedded pipeline, per rule, from Snakemake's `benchmark:` files.

Either builds TARGET from a clean output tree in a temporary copy of the project and times it, or (with
`--from DIR`) only summarises the `logs/benchmarks/` of a project that has already run.
Usage: python bench/bench_pipeline.py [--target results/table1.csv] [--cores 2] [--from DIR]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def copy_project(dest: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for f in files:
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, dest / f)
    return dest


def summarise(project: Path) -> list[tuple[str, int, float, float]]:
    """(rule, jobs, summed job seconds, slowest job seconds) from logs/benchmarks/<rule>/…/*.tsv."""
    per_rule: dict[str, list[float]] = defaultdict(list)
    for tsv in sorted((project / "logs" / "benchmarks").rglob("*.tsv")):
        rule = tsv.relative_to(project / "logs" / "benchmarks").parts[0]
        if rule == "report":
            rule = tsv.stem
        with tsv.open() as f:
            per_rule[rule] += [float(r["s"]) for r in csv.DictReader(f, delimiter="\t")]
    return sorted(((r, len(s), sum(s), max(s)) for r, s in per_rule.items()), key=lambda t: -t[2])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", default="results/table1.csv")
    ap.add_argument("--cores", default="2")
    ap.add_argument("--from", dest="source", type=Path, help="summarise this project's logs/benchmarks only")
    args = ap.parse_args()
    wall = None
    if args.source is None:
        with tempfile.TemporaryDirectory() as tmp:
            project = copy_project(Path(tmp) / "proj")
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "snakemake", "--cores", args.cores, "--quiet", "all", args.target],
                           cwd=project, check=True)
            wall = time.perf_counter() - t0
            rows = summarise(project)
    else:
        rows = summarise(args.source)
    total = sum(r[2] for r in rows)
    what = f"target {args.target}, {args.cores} cores: wall {wall:.0f} s" if wall else f"jobs run in {args.source}"
    print(f"embedded pipeline, {what}; summed job time {total:.0f} s\n")
    print("| rule | jobs | summed s | share | slowest job s |\n|---|---|---|---|---|")
    for rule, n, s, slowest in rows:
        print(f"| {rule} | {n} | {s:.1f} | {100 * s / total:.0f} % | {slowest:.1f} |")
    if wall:
        print(f"\nparallel efficiency: {total / wall / int(args.cores):.2f} (summed job time / wall / cores)")


if __name__ == "__main__":
    main()
