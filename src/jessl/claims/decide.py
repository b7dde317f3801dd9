"""Each claim's effect per seed, its interval and its `Verdict` (`jessl.stats.decide` against the margin that
params.yaml declares in `claims.margins`); `results/claims.json` and the labels a markdown file shows.

The tests are the papers' words: "as good as" is an equivalence or a non-inferiority test, "faster" or
"moves together" a superiority test. Two accuracies on the same test images (claims 2, 5) get the paired
bootstrap over seeds × test images of their per-image scores (`paired_verdict`); an angle, an average over
checkpoints or a correlation (claims 1, 3, 4) a t-interval over its per-seed values (`verdict`,
`stats.seed_interval`), where fewer than 2 seeds give no interval: inconclusive.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .catalogue import ORDER, claim
from .verdict import Verdict

# claim key → (test, unit of its effect and margin, what is compared)
TESTS: dict[str, tuple[str, str, str]] = {
    "spectral": ("equivalence", "degrees", "largest principal angle between linear encoders trained with the real "
                 "VICReg and SimCLR losses and the closed-form subspace (worst size and loss per seed) − 0"),
    "duality": ("equivalence", "points", "test linear top-1 of tuned SimCLR − tuned VICReg (each chosen on the "
                "validation split over an equal sweep)"),
    "convergence": ("superiority", "points", "FroSSL's mean linear top-1 over the kept early checkpoints − the best "
                    "other method's (equal steps)"),
    "hsic_infonce": ("superiority", "Pearson r", "r(InfoNCE, SSL-HSIC) − r(InfoNCE, SSL-HSIC on shuffled pairs) "
                     "across checkpoints, mean over the runs with and without a target"),
    "ablation": ("non_inferiority", "points", "linear top-1 of SimCLR with one negative, noise-only views and the "
                 "smallest batch − the full recipe"),
}


def verdict(key: str, per_seed: Sequence[float], margin: float, compared: str | None = None) -> Verdict:
    """The `Verdict` of claim `key` from its per-seed effects (see the module)."""
    from .. import stats

    test, unit, what = TESTS[key]
    values = [float(v) for v in per_seed]
    if len(values) < 2:
        effect = values[0] if values else 0.0
        return Verdict(claim(key).number, "inconclusive", effect, effect, effect, margin, test, len(values),
                       f"{compared or what} (1 seed: no interval)", unit)
    iv = stats.seed_interval(values)
    return Verdict(claim(key).number, stats.decide(iv, margin, test), iv.mean, iv.low, iv.high, margin, test,
                   iv.n_seeds, compared or what, unit)


def sentence(v: Verdict) -> str:
    """The verdict line of a claim's section (the label comes from the data)."""
    return (f"**Verdict: {v.verdict.replace('_', ' ')}** — {v.test.replace('_', '-')} test of {v.compared}: "
            f"{v.effect:+.2f} [{v.low:+.2f}, {v.high:+.2f}] {v.unit} (95 % interval, {v.n_seeds} seeds) against "
            f"a margin of {v.margin:g} {v.unit}." + (" Inconclusive is an answer: the interval straddles the margin "
                                                     "at this scale." if v.verdict == "inconclusive" else ""))


def write_json(path: str | Path, verdicts: Sequence[Verdict]) -> None:
    """`results/claims.json`: {claim key: the verdict's fields}, in the claims' order."""
    from dataclasses import asdict

    from ..io import write_json as atomic

    by = {ORDER[v.claim - 1]: asdict(v) for v in sorted(verdicts, key=lambda v: v.claim)}
    atomic(path, by)


def read_json(path: str | Path) -> dict[str, Verdict]:
    return {k: Verdict(**v) for k, v in json.loads(Path(path).read_text()).items()}


PROSE = re.compile(r"claim\s+(\d)\b[^\n]*?\b(not[ _]reproduced|reproduced|inconclusive)\b", re.IGNORECASE)
ITEM = re.compile(r"^[ \t]*[-*][ \t]+\*\*(\d)[ \t]*[—–-][ \t]*([^.*\n]+)", re.MULTILINE)


def labels_in_markdown(text: str) -> dict[int, str]:
    """Claim number → its label: a list item opening with "**N — <label>" (whatever the label says, so a
    hand-written "consistent" shows as one), else the first verdict word after "Claim N" on a line. Verdict
    words come as reproduced / not_reproduced / inconclusive."""
    out: dict[int, str] = {}
    for m in ITEM.finditer(text):
        out.setdefault(int(m.group(1)), "_".join(m.group(2).lower().replace(",", " ").split()))
    for m in PROSE.finditer(text):
        out.setdefault(int(m.group(1)), m.group(2).lower().replace(" ", "_"))
    return out


def label_mismatches(text: str, verdicts: Mapping[str, Verdict]) -> list[str]:
    """Every claim whose label in `text` differs from its verdict (one line each; [] when they agree)."""
    by_number = {v.claim: v.verdict for v in verdicts.values()}
    return [f"claim {n}: the markdown says {label!r}, results/claims.json says {by_number.get(n)!r}"
            for n, label in sorted(labels_in_markdown(text).items()) if by_number.get(n) != label]


def _per_seed(values: Mapping[int, list[float]], reduce=max) -> list[float]:
    return [reduce(v) for _, v in sorted(values.items())]


def spectral_effects(rows: Sequence[Mapping[str, Any]]) -> list[float]:
    """Claim 1 per seed: the largest principal angle over sizes and real losses (rows of part a_trained)."""
    by: dict[int, list[float]] = {}
    for r in rows:
        if r["part"] == "a_trained":
            by.setdefault(int(r["seed"]), []).append(float(r["max_angle_deg"]))
    return _per_seed(by)


def hsic_effects(rows: Sequence[Mapping[str, Any]]) -> list[float]:
    """Claim 4 per seed: `hsic_infonce.effect` of each run (method) of that seed, averaged over the runs."""
    from ..analysis.hsic_infonce import effect

    runs: dict[int, dict[str, list[Mapping[str, Any]]]] = {}
    for r in rows:
        runs.setdefault(int(r["seed"]), {}).setdefault(str(r["method"]), []).append(r)
    return [sum(effect(rs) for rs in by.values()) / len(by) for _, by in sorted(runs.items())]


def _top1(e: Mapping[str, Any], key: str = "linear_top1") -> float:
    return float(e["metrics"][key])


def choose_on_validation(entries: Sequence[Mapping[str, Any]], row: str) -> str:
    """The point of `row`'s sweep with the best validation top-1 (`val_linear_top1`, mean over seeds; ties: the
    first name). Reads no test metric."""
    pts: dict[str, list[float]] = {}
    for e in entries:
        if e.get("row") == row and "sweep" in (e.get("roles") or []):
            pts.setdefault(e["method"], []).append(_top1(e, "val_linear_top1"))
    if not pts:
        raise ValueError(f"claims.duality: no sweep point of {row!r} with a validation probe among the evaluations")
    return max(sorted(pts), key=lambda v: sum(pts[v]) / len(pts[v]))


def _by_seed(entries: Sequence[Mapping[str, Any]], method: str, kept: bool = False) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {}
    for e in entries:
        if e["method"] == method and ("pct" in e) == kept:
            out.setdefault(int(e["seed"]), []).append(_top1(e))
    return out


def duality_effects(entries: Sequence[Mapping[str, Any]], pair: Sequence[str]) -> tuple[list[float], dict[str, str]]:
    """Claim 2 per seed: test top-1 of `pair[0]`'s chosen point − `pair[1]`'s (each chosen on validation)."""
    chosen = {row: choose_on_validation(entries, row) for row in pair}
    a, b = (_by_seed(entries, chosen[row]) for row in pair)
    return [a[s][0] - b[s][0] for s in sorted(set(a) & set(b))], chosen


def convergence_effects(entries: Sequence[Mapping[str, Any]], frossl: str, others: Sequence[str]) -> list[float]:
    """Claim 3 per seed: FroSSL's mean linear top-1 over the kept checkpoints − the highest such mean among
    `others` (variants trained with the same epochs and batch size: equal steps)."""
    early = {m: {s: sum(v) / len(v) for s, v in _by_seed(entries, m, kept=True).items()} for m in [frossl, *others]}
    seeds = sorted(set.intersection(*(set(v) for v in early.values())))
    return [early[frossl][s] - max(early[o][s] for o in others) for s in seeds]


def ablation_effects(entries: Sequence[Mapping[str, Any]], variant: str, full: str) -> list[float]:
    """Claim 5 per seed: linear top-1 of `variant` − the full recipe's."""
    a, b = _by_seed(entries, variant), _by_seed(entries, full)
    return [a[s][0] - b[s][0] for s in sorted(set(a) & set(b))]


def paired_verdict(key: str, a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]], margin: float,
                   compared: str, probe: str = "linear_top1") -> Verdict:
    """The `Verdict` of claim `key` on mean(a) − mean(b) in points, from the evaluations' per-test-image scores
    (`report.tables.per_image_matrix`): `stats.difference_interval`, paired on the test images, a bootstrap over
    seeds × test images (with 1 seed the test images alone, said in `compared`)."""
    from .. import stats
    from ..report.tables import per_image_matrix

    test, unit, _ = TESTS[key]
    iv = stats.difference_interval(per_image_matrix(list(a), probe), per_image_matrix(list(b), probe), paired=True)
    how = "bootstrap over seeds × test images" if iv.n_seeds > 1 else "test-image bootstrap only, 1 seed"
    return Verdict(claim(key).number, stats.decide(iv, margin, test), iv.mean, iv.low, iv.high, margin, test,
                   iv.n_seeds, f"{compared} (interval: {how})", unit)


def finals(entries: Sequence[Mapping[str, Any]], method: str) -> list[Mapping[str, Any]]:
    """`method`'s evaluations of its final checkpoints (not the kept ones), one per seed."""
    return [e for e in entries if e["method"] == method and "pct" not in e]
