"""Profiles composed from layers: `config/<name>.yaml` lists the layers under it in `defaults:`.

A layer is a YAML mapping in `config/` (e.g. `base`, `recipes/cifar`); its optional top-level
`defaults: [layer, ...]` names the layers it is built on, applied in order, and the layer's own keys
come last (solo-learn / Hydra's `_self_` last). Mappings are deep-merged; everything else (lists,
numbers, strings) is replaced by the later layer. A missing layer, a cycle, a layer reached twice,
a key written twice in one layer and a `null` that would wipe an earlier mapping are errors. Top-level
keys that start with `x-` hold blocks a layer reuses through YAML anchors (`&name` / `*name`) and are
dropped from the result.

`jessl profile NAME` writes the resolved profile to `params.yaml`, the one file Snakemake and DVC read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .merge import MergeError, deep_merge
from .yamlio import read_yaml

CONFIG_DIR = "config"
NOT_PROFILES = ("base",)  # layers at the top of config/ that are not profiles of their own


class ProfileError(ConfigError):
    """A profile that cannot be composed; the message names the layer and the fix."""


def available(config_dir: str | Path = CONFIG_DIR) -> list[str]:
    """Profile names: the YAML files at the top of `config_dir`, less the shared layers."""
    return sorted(p.stem for p in Path(config_dir).glob("*.yaml") if p.stem not in NOT_PROFILES)


def merge(base: Any, over: Any) -> Any:
    """`over` on top of `base` (`jessl.merge.deep_merge`), a lost mapping as a `ProfileError`."""
    try:
        return deep_merge(base, over)
    except MergeError as err:
        raise ProfileError(str(err)) from None


def layers(name: str, config_dir: str | Path = CONFIG_DIR) -> list[str]:
    """The layers of `name` in the order they apply (its defaults first, itself last)."""
    order: list[str] = []
    _walk(name, Path(config_dir), order, stack=[], named_by=None)
    return order


def _layer_path(name: str, config_dir: Path, named_by: str | None) -> Path:
    path = config_dir / f"{name}.yaml"
    if not isinstance(name, str) or not name or name.startswith(("/", ".")) or ".." in Path(name).parts:
        raise ProfileError(f"{config_dir}/{named_by}.yaml: defaults: {name!r} is not a layer name; "
                           f"name a file under {config_dir}/ without .yaml, e.g. 'base' or 'recipes/cifar'")
    if not path.is_file():
        if named_by is None:
            raise ProfileError(f"{path}: no such profile; available: {', '.join(available(config_dir))}")
        known = sorted(str(p.relative_to(config_dir).with_suffix("")) for p in config_dir.rglob("*.yaml"))
        raise ProfileError(f"{config_dir}/{named_by}.yaml: defaults names {name!r}, but {path} does not exist; "
                           f"layers: {', '.join(known)}")
    return path


def _read_layer(path: Path) -> tuple[list[str], dict[str, Any]]:
    data = read_yaml(path)  # a key written twice in one layer is an error here
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: a layer must be a mapping at the top level, got {type(data).__name__}")
    data = dict(data)
    data = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
    defaults = data.pop("defaults", [])
    if not isinstance(defaults, list) or not all(isinstance(d, str) for d in defaults):
        raise ProfileError(f"{path}: defaults must be a list of layer names, e.g. [base, recipes/cifar]; "
                           f"got {defaults!r}")
    return defaults, data


def _walk(name: str, config_dir: Path, order: list[str], stack: list[str], named_by: str | None) -> None:
    if name in stack:
        cycle = " → ".join([*stack[stack.index(name):], name])
        raise ProfileError(f"{config_dir}/{named_by}.yaml: defaults form a cycle ({cycle}); remove one of them")
    path = _layer_path(name, config_dir, named_by)
    if name in order:
        raise ProfileError(f"{path}: layer reached twice while composing ({' → '.join([*stack, name])}); "
                           f"list each layer once in the whole defaults tree")
    defaults, _ = _read_layer(path)
    for d in defaults:
        _walk(d, config_dir, order, [*stack, name], named_by=name)
    order.append(name)


def resolve(name: str, config_dir: str | Path = CONFIG_DIR) -> dict[str, Any]:
    """The profile `name` with all its layers merged (plain data, not yet validated)."""
    config_dir = Path(config_dir)
    out: dict[str, Any] = {}
    for layer in layers(name, config_dir):
        _, data = _read_layer(config_dir / f"{layer}.yaml")
        try:
            out = merge(out, data)
        except ProfileError as err:
            raise ProfileError(f"{config_dir}/{layer}.yaml: {err}") from None
    return out


class _Dumper(yaml.SafeDumper):
    """Writes a block a layer reuses through a YAML anchor in full each time (no &id001 in params.yaml)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def header(name: str, config_dir: str | Path = CONFIG_DIR) -> str:
    chain = ", ".join(f"{Path(config_dir).name}/{layer}.yaml" for layer in layers(name, config_dir))
    return (f"# Generated by `jessl profile {name}` from {chain}.\n"
            f"# Snakemake and DVC both read this file. Do not edit it by hand: edit those layers and rerun\n"
            f"# `jessl profile {name}` (or pick another profile: `jessl profile --list`).\n")


def render(name: str, config_dir: str | Path = CONFIG_DIR) -> str:
    """The text of `params.yaml` for profile `name`: a header naming its layers, then the resolved YAML."""
    body = yaml.dump(resolve(name, config_dir), Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=110,
                     allow_unicode=True)
    return header(name, config_dir) + body


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    """Dotted keys at which two parsed configs differ (a key on one side only counts)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in dict.fromkeys([*a, *b])
                for d in (differences(a.get(k), b.get(k), f"{where}{k}.") if k in a and k in b else [f"{where}{k}"])]
    return [] if a == b else [where.rstrip(".") or "(top level)"]


def check_same(config: dict[str, Any], params: dict[str, Any], source: str = "params.yaml") -> None:
    """Refuse a Snakemake `config` that is not exactly `source`: `--configfile X` and `--config k=v` merge
    into it (its datasets and rows stay) and DVC, which reads only `source`, would not see them."""
    if "defaults" in params:
        raise ProfileError(
            f"{source} has `defaults:`: it is a profile's top layer (config/NAME.yaml), not the composed profile; "
            f"write the composed one with `jessl profile NAME` (e.g. `jessl profile cifar10`)"
        )
    diff = differences(config, params)
    if diff:
        shown = ", ".join(diff[:6]) + (f" (+{len(diff) - 6} more)" if len(diff) > 6 else "")
        raise ProfileError(
            f"the configuration differs from {source} at {shown}: --configfile/--config are merged into "
            f"{source} (its datasets and method rows stay) and DVC reads {source} only, so they are refused. "
            f"Write the profile to {source} instead: `jessl profile NAME` (e.g. `jessl profile cifar10`), "
            f"or edit {source}; then run snakemake without --configfile/--config"
        )
