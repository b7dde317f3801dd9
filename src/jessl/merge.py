"""The one deep merge of the project: profile layers (`jessl.profiles`) and a row's partial blocks over the
global ones (`jessl.runs.resolve`)."""

from __future__ import annotations

from typing import Any

DROP = "drop"  # `KEY: drop` removes the mapping `base` has at KEY (a layer drops an inherited row)


class MergeError(ValueError):
    """A merge that would lose a mapping; the message names the key."""


def deep_merge(base: Any, over: Any, *, where: str = "") -> Any:
    """`over` on top of `base`: mappings merged key by key, anything else (lists too) replaced; neither is
    modified. A `null` over a non-empty mapping is an error (it would discard what `base` set there); `drop`
    over a mapping removes it."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            if value == DROP:
                if not isinstance(base.get(key), dict):
                    raise MergeError(f"{where}{key}: drop removes a mapping an earlier layer set, but none set "
                                     f"{where}{key}; remove the line")
                del out[key]
                continue
            out[key] = deep_merge(base[key], value, where=f"{where}{key}.") if key in base else value
        return out
    if over is None and isinstance(base, dict) and base:
        key = where.rstrip(".")
        raise MergeError(f"{key}: null would discard the mapping an earlier layer set there; remove the key to keep "
                         f"it, give the keys to change, or write `{key.split('.')[-1]}: {DROP}` to remove it")
    return over
