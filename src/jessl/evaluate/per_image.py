"""The per-test-image scores an evaluation stores beside its metrics (`metrics.json`, key `per_image`).

Format: `{"n": n_test, "<probe>_top1": {"of": R, "counts": base64(uint8[n_test])}, ...}`: per test image
(in the test split's order) the number of fits out of R that classified it right: R = 1 for the linear
and k-NN probes, R = the few-label probe's draws. Its score in [0, 1] is counts / R; the probe's top-1 is
100 × the mean score. Compact (4 characters per 3 images) and exact. `jessl.report.tables.per_image` reads
it (with the error messages); this module only encodes and decodes.
"""

from __future__ import annotations

import base64

import numpy as np


def encode(counts: np.ndarray, of: int) -> dict[str, object]:
    """One probe's per-image counts (each 0 … `of`, `of` ≤ 255) as stored in `metrics.json`."""
    c = np.asarray(counts, dtype=int)
    if not 1 <= of <= 255 or c.min(initial=0) < 0 or c.max(initial=0) > of:
        raise ValueError(f"per-image counts must lie in 0 … of ≤ 255 (of = {of})")
    return {"of": int(of), "counts": base64.b64encode(c.astype(np.uint8).tobytes()).decode("ascii")}


def decode(stored: dict[str, object]) -> np.ndarray:
    """Per-image scores in [0, 1] (float) from `encode`'s output."""
    of = int(stored["of"])  # type: ignore[call-overload]
    counts = np.frombuffer(base64.b64decode(str(stored["counts"]), validate=True), dtype=np.uint8)
    if of < 1 or counts.max(initial=0) > of:
        raise ValueError(f"per-image counts exceed of = {of}")
    return counts.astype(float) / of
