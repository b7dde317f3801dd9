"""`jessl compare`: does a rebuilt table reproduce the reported one?

Both sides are `results/summary.json` files (the DVC metric the `table` rule writes): per `dataset/method`
every cell's mean with its 95 % interval, and `meta` (the params identity, the datasets, the seeds). A number
is reproduced when the two means differ by less than the 95 % interval of their difference, derived from the
two runs' own intervals (each accounts for seeds and the test sample): |Δ| ≤ √(h₁² + h₂²), h = half the
interval's width — the normal-approximation interval of a difference of two independent estimates. No
hand-set tolerance: a noisier table (fewer seeds, fewer test images) tolerates more.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TABLE_PARAMS = ("seeds", "baselines", "methods", "model", "augment", "optim", "pretrain", "evaluate", "datasets")


class CompareError(ValueError):
    """Two tables that cannot be compared (other params, other rows, another dataset, an unreadable file)."""


def identity(params: Any) -> str:
    """sha256 (16 hex digits) of the params that decide table1's numbers (`Params`, resources left out)."""
    from ..runs import RESOURCES  # pretrain keys that never change a number

    data = params.model_dump(mode="json")
    picked = {k: data.get(k) for k in TABLE_PARAMS}
    picked["pretrain"] = {k: v for k, v in (picked["pretrain"] or {}).items() if k not in RESOURCES}
    return hashlib.sha256(json.dumps(picked, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Check:
    """One number of the table: reported and rebuilt means, their difference and the tolerance it had."""

    row: str
    key: str
    reported: float
    rebuilt: float
    tolerance: float

    @property
    def delta(self) -> float:
        return self.rebuilt - self.reported

    @property
    def reproduced(self) -> bool:
        return abs(self.delta) <= self.tolerance + 1e-9

    def line(self) -> str:
        mark = "ok  " if self.reproduced else "FAIL"
        return (f"[{mark}] {self.row} {self.key}: reported {self.reported:.2f}, rebuilt {self.rebuilt:.2f} "
                f"(Δ {self.delta:+.2f}, tolerance ±{self.tolerance:.2f})")


def read_summary(source: str | Path, root: str | Path = ".") -> dict[str, Any]:
    """A summary.json from a path, from git (`git:REV:PATH`), or pinned in dvc.lock and present in the DVC
    cache (`dvc:PATH`, e.g. `dvc:results/summary.json`)."""
    text = str(source)
    try:
        if text.startswith("git:"):
            rev, _, path = text[4:].partition(":")
            raw = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=root, capture_output=True, text=True,
                                 check=True).stdout
        elif text.startswith("dvc:"):
            raw = _dvc_pinned(text[4:], Path(root)).read_text()  # a CompareError when it is not there
        else:
            raw = Path(text).read_text()
        data = json.loads(raw)
    except subprocess.CalledProcessError as err:
        raise CompareError(f"{text}: not in git ({err.stderr.strip()}); name a file or a revision that has "
                           f"it") from None
    except (OSError, ValueError) as err:
        raise CompareError(f"{text}: not a readable summary.json ({err}); give the file `make table` writes "
                           f"(results/summary.json)") from None
    if not isinstance(data, dict) or not isinstance(data.get("meta"), dict):
        raise CompareError(f"{text}: a summary.json without `meta` (written by an older jessl, before intervals); "
                           f"rebuild it with `make table`")
    return data


def _dvc_pinned(path: str, root: Path) -> Path:
    """The DVC cache file of `path` as pinned in `root`/dvc.lock."""
    import yaml

    lock = yaml.safe_load((root / "dvc.lock").read_text())
    for stage in (lock.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            if out.get("path") == path:
                md5 = out["md5"]
                cached = root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
                if not cached.is_file():
                    raise CompareError(f"dvc:{path}: pinned as md5 {md5} in dvc.lock but not in the DVC cache: "
                                       f"`dvc pull {path}` first, or give the reported file")
                return cached
    raise CompareError(f"dvc:{path}: not an output pinned in {root / 'dvc.lock'}; give the reported file")


def _rows(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in summary.items() if k not in ("meta", "beats") and isinstance(v, dict)}


def compare(reported: dict[str, Any], rebuilt: dict[str, Any]) -> list[Check]:
    """Every number with an interval on both sides, checked; a mismatch of params, datasets or rows raises."""
    a, b = reported["meta"], rebuilt["meta"]
    if a.get("datasets") != b.get("datasets"):
        raise CompareError(f"another dataset: reported {a.get('datasets')}, rebuilt {b.get('datasets')}; compare "
                           f"tables of the same profile")
    if a.get("params") != b.get("params"):
        raise CompareError(f"params differ (reported {a.get('params')}, rebuilt {b.get('params')}): the rebuild "
                           f"did not use the reported params.yaml; check it out (git) and rebuild, or compare "
                           f"against a report of these params")
    ra, rb = _rows(reported), _rows(rebuilt)
    if set(ra) != set(rb):
        missing, extra = sorted(set(ra) - set(rb)), sorted(set(rb) - set(ra))
        raise CompareError(f"rows differ: rebuilt lacks {missing or 'none'}, has extra {extra or 'none'}; rebuild "
                           f"every row (snakemake --cores all results/table1.csv)")
    checks = []
    for row in sorted(ra):
        for key in sorted(k for k in ra[row] if f"{k}_low" in ra[row] and f"{k}_high" in ra[row]):
            if key not in rb[row] or f"{key}_low" not in rb[row]:
                raise CompareError(f"{row}: the rebuilt table has no {key} with an interval; rebuild it with this "
                                   f"version of jessl")
            half = [(s[row][f"{key}_high"] - s[row][f"{key}_low"]) / 2 for s in (ra, rb)]
            checks.append(Check(row, key, float(ra[row][key]), float(rb[row][key]), math.hypot(*half)))
    if not checks:
        raise CompareError("no number with an interval to compare; rebuild both tables with this version of jessl")
    return checks


def verdict(checks: list[Check]) -> str:
    """The one verdict line."""
    bad = [c for c in checks if not c.reproduced]
    if not bad:
        return (f"REPRODUCED: {len(checks)}/{len(checks)} numbers within the 95 % interval of their difference "
                f"(seeds and test sample of both runs)")
    worst = max(bad, key=lambda c: abs(c.delta) - c.tolerance)
    return (f"NOT REPRODUCED: {len(bad)} of {len(checks)} numbers outside the 95 % interval of their difference "
            f"(worst: {worst.row} {worst.key} Δ {worst.delta:+.2f}, tolerance ±{worst.tolerance:.2f})")
