"""The one deep merge of the project: profile layers (`jessl.profiles`) and a row's partial blocks over the
global ones (`jessl.runs.resolve`)."""

from __future__ import annotations

from typing import Any


class MergeError(ValueError):
    """A merge that would lose a mapping; the message names the key."""


def deep_merge(base: Any, over: Any, *, where: str = "") -> Any:
    """`over` on top of `base`: mappings merged key by key, anything else (lists too) replaced; neither is
    modified. A `null` over a non-empty mapping is an error (it would discard what `base` set there)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = deep_merge(base[key], value, where=f"{where}{key}.") if key in base else value
        return out
    if over is None and isinstance(base, dict) and base:
        raise MergeError(f"{where.rstrip('.')}: null would discard the mapping an earlier layer set there; "
                         f"remove the key to keep it, or give the keys to change")
    return over
