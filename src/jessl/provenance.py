"""Run records: every output gets `<output>.run.json` with its pedigree, and `audit` re-checks it.

A record is split in two:

- `<output>.run.json`, beside the output and hashed by DVC with it, holds only what is a function of
  the inputs: the sha256 of the output and of each input, the resolved params, the seed, the stage,
  the code identity (git tree ids of `src/`, `workflow/` and the `Snakefile`, and whether those paths
  differ from them), package versions, device, the deterministic flag and deterministic metrics. A
  rebuild on the same platform at the same code therefore writes the same bytes, and `dvc.lock` does
  not change.
- `logs/records/<output>.json` (untracked, like the rest of logs/) holds the facts of this one run:
  creation time, wall time, the git commit, host platform, threads, absolute paths, throughput.

Paths in records are relative to the project root (the folder holding `dvc.yaml`/`params.yaml`).
A raw file shipped inside an installed package is named by the package instead
(`pkg:scikit-learn/sklearn/datasets/data/digits.csv.gz`, with the version), so the record does not
depend on where the virtualenv lives; the audit finds that file wherever the package is installed.
Raw inputs are marked `"raw": true`; every other input must have a record of its own, which the audit
follows, so any number can be traced back to the raw data. An image folder's raw files are listed with
their hashes in its manifest (`data.manifest`); the audit re-hashes each file a manifest lists.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import platform
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from .io import sha256, write_json

PACKAGES = ("torch", "ffcv", "numpy", "numba", "scikit-learn", "snakemake", "dvc", "pydantic")
ROOT_MARKERS = ("dvc.yaml", "params.yaml")
CODE_PATHS = ("src", "workflow", "Snakefile")  # what the code identity covers (not dvc.lock, README, …)
SIDE_RECORDS = Path("logs") / "records"
VOLATILE_ENV = ("platform", "threads")  # environment facts that say nothing about the output's bytes
PKG_PREFIX = "pkg:"


class RecordError(ValueError):
    """A run record that cannot be read; the message names the file and the fix."""


def record_path(output: str | Path) -> Path:
    return Path(f"{output}.run.json")


def project_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above `start` holding dvc.yaml or params.yaml; failing that, the cwd
    if `start` lies under it, else `start`'s own folder."""
    p = Path(start if start is not None else ".").absolute()
    for d in (p, *p.parents):
        if d.is_dir() and any((d / m).is_file() for m in ROOT_MARKERS):
            return d.resolve()
    cwd = Path.cwd().resolve()
    return cwd if p.resolve().is_relative_to(cwd) else (p if p.is_dir() else p.parent).resolve()


def side_record_path(key: str, root: str | Path) -> Path:
    """Where the volatile half of the record of the output named `key` lives."""
    return Path(root) / SIDE_RECORDS / f"{key.lstrip('/')}.json"


# --- identities of files ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _top_level_distributions() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def _site_dirs() -> list[Path]:
    dirs = []
    for entry in sys.path:
        p = Path(entry or ".")
        if p.name in ("site-packages", "dist-packages") and p.is_dir():
            dirs.append(p.resolve())
    return dirs


def package_identity(path: str | Path) -> tuple[str, str, str] | None:
    """(distribution, version, path inside site-packages) for a file shipped in an installed package."""
    p = Path(path).resolve()
    for site in _site_dirs():
        try:
            inner = p.relative_to(site)
        except ValueError:
            continue
        if len(inner.parts) < 2:
            return None
        for dist in _top_level_distributions().get(inner.parts[0], []):
            try:
                return dist, metadata.version(dist), inner.as_posix()
            except metadata.PackageNotFoundError:
                continue
    return None


def resolve_package_file(key: str) -> tuple[Path | None, str | None]:
    """`pkg:<distribution>/<path>` → (the file where that distribution is installed here, its version)."""
    dist_name, _, inner = key.removeprefix(PKG_PREFIX).partition("/")
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        return None, None
    return Path(str(dist.locate_file(inner))), dist.version


def file_key(path: str | Path, root: str | Path) -> str:
    """How a record names a file: `pkg:…` inside an installed package, else relative to the project root.

    A file outside both (e.g. a dataset folder configured elsewhere) keeps its absolute path: it does not
    move with the project.
    """
    pkg = package_identity(path)
    if pkg:
        return f"{PKG_PREFIX}{pkg[0]}/{pkg[2]}"
    p = Path(path).absolute()
    try:
        return p.relative_to(Path(root).absolute()).as_posix()
    except ValueError:
        pass
    try:
        return p.resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(p.resolve())


def locate(key: str, root: str | Path) -> Path | None:
    """The file a record key names, on this machine (None: its package is not installed)."""
    if key.startswith(PKG_PREFIX):
        return resolve_package_file(key)[0]
    return Path(root) / key


# --- code and environment --------------------------------------------------------------------------
def _git(root: str | Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def code_identity(root: str | Path = ".") -> dict[str, Any]:
    """Git object ids of the code paths at HEAD and whether the working tree differs from them.

    Unlike the commit, these do not change when only dvc.lock, README or params are committed, so a
    fresh clone of a later commit records the same identity. None values outside git.
    """
    ident: dict[str, Any] = {p: None for p in CODE_PATHS}
    if _git(root, "rev-parse", "--is-inside-work-tree") != "true":
        return {**ident, "dirty": None}
    present = [p for p in CODE_PATHS if (Path(root) / p).exists()]
    for p in present:
        ident[p] = _git(root, "rev-parse", f"HEAD:./{p}")
    status = _git(root, "status", "--porcelain", "--untracked-files=normal", "--", *present) if present else ""
    ident["dirty"] = None if status is None else bool(status)
    return ident


def code_version(root: str | Path = ".") -> dict[str, Any]:
    """Git commit of the project and whether the code paths differ from it (None outside git)."""
    commit = _git(root, "rev-parse", "HEAD")
    return {"commit": commit, "dirty": code_identity(root)["dirty"] if commit else None}


def environment(device: str = "cpu", threads: int | None = None) -> dict[str, Any]:
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    env: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": versions,
        "device": device,
        "threads": threads,
    }
    if device.startswith("cuda"):
        import torch

        env["cuda"] = torch.version.cuda
        env["gpu"] = torch.cuda.get_device_name()
        env["deterministic"] = False  # cuDNN/cuBLAS kernels may reorder reductions
    else:
        env["deterministic"] = True
    return env


# --- writing and reading records -------------------------------------------------------------------
def write_record(
    output: str | Path,
    *,
    stage: str,
    inputs: Iterable[str | Path],
    params: Mapping[str, Any] | None = None,
    seed: int | None = None,
    wall_time_s: float | None = None,
    metrics: Mapping[str, Any] | None = None,
    env: Mapping[str, Any] | None = None,
    volatile: Mapping[str, Any] | None = None,
    raw_inputs: Iterable[str | Path] = (),
) -> Path:
    """Write the run record of `output` (which must already be complete) atomically beside it.

    `raw_inputs` are raw sources (no record of their own); a file inside an installed package always is.
    `volatile` holds facts of this run only (throughput, resumed epoch, …): they go to the untracked side
    record with the wall time, commit, platform, threads and absolute paths; a metrics key also given in
    `volatile` is left out of the hashed record.
    """
    root = project_root(output)
    key = file_key(output, root)
    volatile = dict(volatile or {})
    entries: dict[str, dict[str, Any]] = {}
    where: dict[str, str] = {}
    for paths, raw in ((inputs, False), (raw_inputs, True)):
        for p in paths:
            k = file_key(p, root)
            entry: dict[str, Any] = {"sha256": sha256(p), "raw": raw or k.startswith(PKG_PREFIX)}
            if k.startswith(PKG_PREFIX):
                entry["version"] = metadata.version(k.removeprefix(PKG_PREFIX).partition("/")[0])
            entries[k] = entry
            where[k] = str(Path(p).resolve())
    full_env = dict(env or environment())
    rec: dict[str, Any] = {
        "output": key,
        "sha256": sha256(output),
        "stage": stage,
        "inputs": entries,
        "params": dict(params or {}),
        "seed": seed,
        "code": code_identity(root),
        "environment": {k: v for k, v in full_env.items() if k not in VOLATILE_ENV},
    }
    if metrics is not None:
        rec["metrics"] = {k: v for k, v in metrics.items() if k not in volatile}
    path = record_path(output)
    write_json(path, rec)
    side = {
        "output": key,
        "record": str(path.resolve()),
        "path": str(Path(output).resolve()),
        "inputs": where,
        "cwd": str(Path.cwd()),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "wall_time_s": None if wall_time_s is None else round(wall_time_s, 3),
        "commit": _git(root, "rev-parse", "HEAD"),
        "host": platform.node(),
        "environment": {k: full_env[k] for k in VOLATILE_ENV if k in full_env},
        **volatile,
    }
    write_json(side_record_path(key, root), side)
    return path


def _load(path: Path, output: str | Path) -> dict[str, Any]:
    try:
        rec = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RecordError(f"{path}: run record is not valid JSON (truncated or edited?); "
                          f"rebuild it: snakemake --cores 1 -f {output}") from None
    if not isinstance(rec, dict):
        raise RecordError(f"{path}: run record is not a JSON object; rebuild it: snakemake --cores 1 -f {output}")
    return rec


def read_record(output: str | Path) -> dict[str, Any]:
    path = record_path(output)
    if not path.exists():
        raise FileNotFoundError(f"{output}: no run record ({path.name}); rebuild it with snakemake")
    return _load(path, output)


def read_side_record(output: str | Path, root: str | Path | None = None) -> dict[str, Any] | None:
    """The volatile half of `output`'s record, when this machine built it (None otherwise)."""
    root = project_root(output) if root is None else root
    path = side_record_path(file_key(output, root), root)
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


# --- audit -----------------------------------------------------------------------------------------
@dataclass(eq=False)
class AuditNode:
    path: str
    record: dict[str, Any] | None
    problems: list[str] = field(default_factory=list)
    inputs: list[AuditNode] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # made with other params than the config: rerun
    side: dict[str, Any] | None = None
    raw: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and not self.stale and all(n.ok for n in self.inputs)

    def walk(self) -> Iterable[AuditNode]:
        """Every distinct node once, depth first."""
        seen: set[int] = set()
        todo = [self]
        while todo:
            n = todo.pop()
            if id(n) in seen:
                continue
            seen.add(id(n))
            yield n
            todo.extend(reversed(n.inputs))

    def to_dict(self) -> dict[str, Any]:
        rec = self.record or {}
        side = self.side or {}
        return {
            "path": self.path,
            "ok": self.ok,
            "raw": self.raw,
            "problems": self.problems + self.stale,
            "sha256": rec.get("sha256"),
            "stage": rec.get("stage"),
            "code": rec.get("code"),
            "commit": side.get("commit"),
            "seed": rec.get("seed"),
            "wall_time_s": side.get("wall_time_s"),
            "environment": rec.get("environment"),
            "params": rec.get("params"),
            "metrics": rec.get("metrics"),
            "inputs": [n.to_dict() for n in self.inputs],
        }


def params_diff(recorded: Any, current: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested mappings, as 'key: old → new'."""
    if isinstance(recorded, Mapping) and isinstance(current, Mapping):
        out = []
        for k in sorted(set(recorded) | set(current), key=str):
            out += params_diff(recorded.get(k), current.get(k), f"{prefix}{k}.")
        return out
    if recorded != current and not (isinstance(recorded, list | tuple) and list(recorded) == list(current or [])):
        return [f"{prefix.rstrip('.')}: {recorded!r} → {current!r}"]
    return []


@dataclass
class _Audit:
    root: Path
    allow_dirty: bool
    expected_params: Callable[[dict[str, Any]], Mapping[str, Any] | None] | None
    hashes: dict[Path, str] = field(default_factory=dict)
    nodes: dict[tuple[str, str | None, bool], AuditNode] = field(default_factory=dict)

    def sha(self, path: Path) -> str:
        path = path.resolve()
        if path not in self.hashes:
            self.hashes[path] = sha256(path)
        return self.hashes[path]


def _entry(value: Any) -> dict[str, Any]:
    # records written before inputs carried raw marks hold a bare sha256: such inputs are not raw
    return dict(value) if isinstance(value, Mapping) else {"sha256": value, "raw": False}


MISSING = "missing"


def _rebuild(key: str) -> str:
    return f"rebuild it: snakemake --cores 1 -f {key}"


def _audit(key: str, expected: Mapping[str, Any] | None, ctx: _Audit,
           select: Callable[[str], bool] | None = None) -> AuditNode:
    want_sha = None if expected is None else expected.get("sha256")
    raw = bool(expected and expected.get("raw"))
    memo = (key, want_sha, raw)
    if select is None and memo in ctx.nodes:
        return ctx.nodes[memo]
    node = AuditNode(key, None, raw=raw)
    if select is None:
        ctx.nodes[memo] = node
    path = locate(key, ctx.root)
    if path is None:
        pkg = key.removeprefix(PKG_PREFIX).partition("/")[0]
        node.problems.append(f"package {pkg} is not installed here (recorded {expected and expected.get('version')});"
                             f" install it to re-check this raw input")
        return node
    if not path.is_file():
        node.problems.append(f"{MISSING}; restore it from the DVC cache (`dvc checkout`) or " + _rebuild(key))
        return node
    actual = ctx.sha(path)
    if want_sha is not None and actual != want_sha:
        msg = "changed since its consumer's record was written (sha256 mismatch)"
        if key.startswith(PKG_PREFIX):
            installed = resolve_package_file(key)[1]
            if expected and installed != expected.get("version"):
                msg += f"; recorded version {expected.get('version')}, installed {installed}"
        node.problems.append(msg)
    rp = record_path(path)
    if not rp.exists():
        if not raw:
            rel = key if key.startswith(PKG_PREFIX) else record_path(key).as_posix()
            node.problems.append(f"no run record ({rel}): a broken link, only raw inputs may lack one; "
                                 + _rebuild(key))
        return node  # a raw source: its hash in the consumer's record is the check
    try:
        rec = _load(rp, key)
    except RecordError as err:
        node.problems.append(str(err))
        return node
    node.record = rec
    node.side = read_side_record(path, ctx.root)
    if rec.get("sha256") != actual:
        node.problems.append("content differs from its run record (sha256 mismatch)")
    code = rec.get("code") or {}
    if code.get("dirty") and not ctx.allow_dirty:
        node.problems.append(f"produced from a dirty working tree ({format_code(code)}); commit the code and "
                             f"rebuild, or pass --allow-dirty")
    want = ctx.expected_params(rec) if ctx.expected_params else None
    if want is not None:
        diff = params_diff(rec.get("params", {}), dict(want))
        if diff:
            node.stale.append("made with other params than the config now has (stale; rerun snakemake): "
                              + "; ".join(diff[:5]))
    if rec.get("stage") == "manifest":  # an image folder's files, listed with their hashes: re-hash them
        from .data.manifest import problems

        node.problems += problems(path, ctx.root)
    metrics = rec.get("metrics")
    if metrics is not None and path.suffix == ".json":
        try:
            on_disk = json.loads(path.read_text()).get("metrics")
        except (json.JSONDecodeError, AttributeError):
            on_disk = None
        if on_disk is not None and on_disk != metrics:
            node.problems.append("metrics differ from those in its run record")
    for inp, value in (rec.get("inputs") or {}).items():
        if select is None or select(inp):
            node.inputs.append(_audit(inp, _entry(value), ctx))
    return node


def audit(
    output: str | Path,
    allow_dirty: bool = False,
    expected_params: Callable[[dict[str, Any]], Mapping[str, Any] | None] | None = None,
    root: str | Path | None = None,
    select: Callable[[str], bool] | None = None,
) -> AuditNode:
    """Re-hash `output` and, recursively, every input its record names; collect every broken link.

    Paths in records resolve from the project root (found from `output` unless given). Only inputs
    marked raw may lack a record. `expected_params(record)` gives the params the current config would use
    for that output (or None when it cannot tell); a difference means the output is stale. `select(key)`
    keeps only some of `output`'s own inputs (e.g. one table row's chain).
    """
    root_path = Path(root).resolve() if root is not None else project_root(output)
    return _audit(file_key(output, root_path), None, _Audit(root_path, allow_dirty, expected_params), select)


def audit_summary(nodes: Iterable[AuditNode]) -> tuple[bool, str]:
    """(ok, one verdict line) over the distinct files of one or more audit trees."""
    seen: dict[int, AuditNode] = {}
    for top in nodes:
        for n in top.walk():
            seen[id(n)] = n
    files = {n.path for n in seen.values() if not any(p.startswith(MISSING) for p in n.problems)}
    broken = sum(1 for n in seen.values() if n.problems)
    stale = sum(1 for n in seen.values() if n.stale)
    ok = not broken and not stale
    head = "audit OK" if ok else "audit FAILED"
    tail = "" if ok else " (see the [BAD] lines above)"
    return ok, f"{head}: {len(files)} files re-hashed, {broken} broken links, {stale} stale{tail}"


def table_rows(path: str | Path) -> list[dict[str, str]] | None:
    """The rows of a results table (a CSV with a method column: table1, table2_transfer, table3_spectrum,
    convergence), else None."""
    path = Path(path)
    if path.suffix != ".csv" or not path.is_file():
        return None
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        if "method" not in (reader.fieldnames or ()):
            return None
    return rows


def is_table1(rows: list[dict[str, str]]) -> bool:
    """Whether these rows have table1's layout (report.tables owns it)."""
    from .report.tables import is_table1 as layout

    return layout(rows)


def _row_filter(r: dict[str, str], column: str) -> tuple[str | None, list[str]]:
    """(the metric key in the evaluation records whose mean over the row's records is this cell — None for an
    interval bound or a column that is no metric —, path fragments an input of this row's cell contains)."""
    from .report.tables import parse_column

    col = parse_column(column)
    parts = [f"/{col.pair}/"] if col.pair else []
    if r.get("dataset"):
        parts.append(f"/{r['dataset']}/")
    if r.get("pct"):  # convergence: the kept checkpoints' evaluations, or (100 %) the final ones
        parts.append("/eval/" if r["pct"] == "100" else f"/pct{r['pct']}.json")
    return (col.metric if col.bound == "mean" else None), parts


def table_coverage(rows: list[dict[str, str]], datasets: Iterable[str], runs: Iterable[str],
                   seeds: Iterable[int], source: str) -> list[str]:
    """A table's rows against the config: configured runs it lacks, rows not configured, other seeds."""
    seed_set = ";".join(str(s) for s in sorted(seeds))
    want = [(d, m) for d in datasets for m in runs]
    have = {(r["dataset"], r["method"]): r["seed"] for r in rows}
    fmt = lambda keys: ", ".join(f"{d}/{m}" for d, m in keys)  # noqa: E731
    missing = [k for k in want if k not in have]
    extra = [k for k in have if k not in want]
    seeds_off = [f"{d}/{m} (seeds {have[d, m]}, configured {seed_set})" for d, m in want
                 if (d, m) in have and have[d, m] != seed_set]
    out = []
    if missing:
        out.append(f"lacks runs configured in {source}: {fmt(missing)} (stale; rerun snakemake)")
    if extra:
        out.append(f"has rows not configured in {source}: {fmt(extra)} (stale; rerun snakemake)")
    if seeds_off:
        out.append(f"has rows with other seeds than {source}: {', '.join(seeds_off)} (stale; rerun snakemake)")
    return out


def row_inputs(table: str | Path, root: str | Path, method: str) -> set[str]:
    """The inputs of a table's record that belong to one method's row (its evaluation files)."""
    try:
        inputs = read_record(table).get("inputs") or {}
    except (FileNotFoundError, RecordError):
        return set()  # the audit itself reports the missing or unreadable record

    def mine(key: str) -> bool:
        try:
            return json.loads((Path(root) / key).read_text()).get("method") == method
        except (OSError, ValueError, AttributeError):
            return f"/{method}/" in f"/{key}"

    return {k for k in inputs if mine(k)}


def row_answer(node: AuditNode, rows: list[dict[str, str]], column: str | None) -> list[str]:
    """Lines giving the audited table rows (or one column of them); for a metric column, the metric
    records of the row's chain must average to the table's number, else `node` gets a problem."""
    lines = []
    for r in rows:
        method = r["method"]
        where = ", ".join(f"{fmt}".format(r[k]) for k, fmt in (("dataset", "{}"), ("pct", "{} % of the epochs"),
                                                              ("seed", "seed {}"), ("seeds", "seeds {}")) if r.get(k))
        if column is None:
            lines.append(f"{node.path} {method} ({where}): " + ", ".join(f"{k}={v}" for k, v in r.items()))
            continue
        lines.append(f"{node.path} {method} {column} = {r[column]} ({where})")
        metric, parts = _row_filter(r, column)
        if metric is None:
            continue
        found = []
        for n in node.inputs:
            value = ((n.record or {}).get("metrics") or {}).get(metric)
            if isinstance(value, int | float) and all(p in f"/{n.path}" for p in parts):
                found.append(value)
                lines.append(f"    from {n.path}: {value}")
        if not found:
            continue
        mean = round(sum(found) / len(found), 2)
        try:
            same = abs(float(r[column]) - mean) < 0.0051
        except ValueError:
            same = False
        if not same:
            node.problems.append(f"{method} {column} is {r[column]} in the table but its metric records give "
                                 f"{mean}; rebuild it: snakemake --cores 1 -f {node.path}")
    return lines


def format_code(code: Mapping[str, Any]) -> str:
    ids = ",".join(f"{p}@{code[p][:10]}" for p in CODE_PATHS if code.get(p))
    if not ids and code.get("commit"):  # a record from before code identities
        ids = f"commit@{code['commit'][:10]}"
    return (ids or "no-git") + ("+dirty" if code.get("dirty") else "")


def format_tree(node: AuditNode, indent: str = "", _shown: set[int] | None = None) -> str:
    """The audit as an indented tree; a file already shown (shared inputs) is referred to, not repeated."""
    shown = set() if _shown is None else _shown
    mark = "ok " if node.ok else "BAD"
    line = f"{indent}[{mark}] {node.path}"
    if id(node) in shown:
        return line + "  (shown above)"
    shown.add(id(node))
    rec = node.record or {}
    if rec:
        env = rec.get("environment") or {}
        side = node.side or {}
        line += (
            f"  sha256={rec.get('sha256', '')[:12]} stage={rec.get('stage')} seed={rec.get('seed')}"
            f" code={format_code(rec.get('code') or {})}"
            f" torch={env.get('packages', {}).get('torch')} device={env.get('device')}"
        )
        if side.get("commit"):
            line += f" commit={side['commit'][:10]}"
        if side.get("wall_time_s") is not None:
            line += f" wall={side['wall_time_s']}s"
    elif node.raw and not node.problems:
        line += "  (raw input, hash matches its consumer's record)"
    bits = [line] + [f"{indent}      !! {p}" for p in node.problems + node.stale]
    for child in node.inputs:
        bits.append(format_tree(child, indent + "    ", shown))
    return "\n".join(bits)
