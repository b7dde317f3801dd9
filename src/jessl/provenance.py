"""Run records: every output gets `<output>.run.json` with its pedigree, and `audit` re-checks it.

A record holds the sha256 of the output and of each input, the resolved params, the code version
(git commit and dirty flag), the environment (python, packages, device, threads), the seed, the
wall time and, for evaluations, the metrics. Inputs that have records of their own are followed,
so any number can be traced back to the raw data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from .io import write_json

PACKAGES = ("torch", "ffcv", "numpy", "numba", "scikit-learn", "snakemake", "dvc", "pydantic")


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def record_path(output: str | Path) -> Path:
    return Path(f"{output}.run.json")


def _rel(path: str | Path) -> str:
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p.resolve())


def code_version(root: str | Path = ".") -> dict[str, Any]:
    """Git commit of the project and whether tracked files differ from it (None outside git)."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    # dvc.lock records output hashes (DVC rewrites it between stages); it is not code or config
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!dvc.lock")
    return {"commit": commit, "dirty": bool(status)}


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
) -> Path:
    """Write the run record of `output` (which must already be complete) atomically beside it."""
    rec = {
        "output": _rel(output),
        "sha256": sha256(output),
        "stage": stage,
        "inputs": {_rel(p): sha256(p) for p in inputs},
        "params": dict(params or {}),
        "seed": seed,
        "code": code_version(),
        "environment": dict(env or environment()),
        "wall_time_s": None if wall_time_s is None else round(wall_time_s, 3),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if metrics is not None:
        rec["metrics"] = dict(metrics)
    path = record_path(output)
    write_json(path, rec)
    return path


def read_record(output: str | Path) -> dict[str, Any]:
    path = record_path(output)
    if not path.exists():
        raise FileNotFoundError(f"{output}: no run record ({path.name}); rebuild it with snakemake")
    return json.loads(path.read_text())


@dataclass
class AuditNode:
    path: str
    record: dict[str, Any] | None
    problems: list[str] = field(default_factory=list)
    inputs: list[AuditNode] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(n.ok for n in self.inputs)

    def to_dict(self) -> dict[str, Any]:
        rec = self.record or {}
        return {
            "path": self.path,
            "ok": self.ok,
            "problems": self.problems,
            "sha256": rec.get("sha256"),
            "stage": rec.get("stage"),
            "code": rec.get("code"),
            "seed": rec.get("seed"),
            "wall_time_s": rec.get("wall_time_s"),
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


def audit(
    output: str | Path,
    expected_sha: str | None = None,
    allow_dirty: bool = False,
    expected_params: Callable[[dict[str, Any]], Mapping[str, Any] | None] | None = None,
) -> AuditNode:
    """Re-hash `output` and, recursively, every input its record names; collect every broken link.

    `expected_params(record)` gives the params the current config would use for that output (or
    None when it cannot tell); a difference means the output is stale.
    """
    path = Path(output)
    node = AuditNode(str(output), None)
    if not path.exists():
        node.problems.append("missing")
        return node
    actual = sha256(path)
    if expected_sha is not None and actual != expected_sha:
        node.problems.append("changed since its consumer's record was written (sha256 mismatch)")
    if not record_path(path).exists():
        if expected_sha is None:
            node.problems.append("no run record")
        return node  # a raw source file: its hash in the consumer's record is the check
    rec = json.loads(record_path(path).read_text())
    node.record = rec
    if rec.get("sha256") != actual:
        node.problems.append("content differs from its run record (sha256 mismatch)")
    if rec.get("code", {}).get("dirty") and not allow_dirty:
        node.problems.append(f"produced from a dirty working tree (commit {rec['code'].get('commit')})")
    want = expected_params(rec) if expected_params else None
    if want is not None:
        diff = params_diff(rec.get("params", {}), dict(want))
        if diff:
            node.problems.append("made with other params than the config now has (stale; rerun snakemake): "
                                 + "; ".join(diff[:5]))
    metrics = rec.get("metrics")
    if metrics is not None and path.suffix == ".json":
        try:
            on_disk = json.loads(path.read_text()).get("metrics")
        except (json.JSONDecodeError, AttributeError):
            on_disk = None
        if on_disk is not None and on_disk != metrics:
            node.problems.append("metrics differ from those in its run record")
    for inp, sha in rec.get("inputs", {}).items():
        node.inputs.append(audit(inp, sha, allow_dirty, expected_params))
    return node


def format_tree(node: AuditNode, indent: str = "") -> str:
    rec = node.record or {}
    mark = "ok " if not node.problems else "BAD"
    bits = [f"{indent}[{mark}] {node.path}"]
    if rec:
        code = rec.get("code") or {}
        env = rec.get("environment") or {}
        bits[0] += (
            f"  sha256={rec.get('sha256', '')[:12]} stage={rec.get('stage')} seed={rec.get('seed')}"
            f" commit={(code.get('commit') or 'none')[:10]}{'+dirty' if code.get('dirty') else ''}"
            f" torch={env.get('packages', {}).get('torch')} device={env.get('device')}"
            f" wall={rec.get('wall_time_s')}s"
        )
    for p in node.problems:
        bits.append(f"{indent}      !! {p}")
    for child in node.inputs:
        bits.append(format_tree(child, indent + "    "))
    return "\n".join(bits)
