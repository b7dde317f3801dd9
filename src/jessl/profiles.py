"""Profiles composed from layers: `config/<name>.yaml` lists the layers under it in `defaults:`.

A layer is a YAML mapping in `config/` (e.g. `base`, `recipes/cifar`); its optional top-level
`defaults: [layer, ...]` names the layers it is built on, applied in order, and the layer's own keys
come last (solo-learn / Hydra's `_self_` last). Mappings are deep-merged; everything else (lists,
numbers, strings) is replaced by the later layer. A missing layer, a cycle, a layer reached twice,
a key written twice in one layer and a `null` that would wipe an earlier mapping are errors; `KEY: drop`
removes a mapping an earlier layer set (e.g. `methods: {byol: drop}` drops an inherited row). Top-level
keys that start with `x-` hold blocks a layer reuses through YAML anchors (`&name` / `*name`) and are
dropped from the result.

`jessl profile NAME` writes the resolved profile to `params.yaml`, the one file Snakemake and DVC read, with a
header naming the profile and the digest of what it wrote. The Snakefile refuses a `params.yaml` whose layers
have changed since (`check_current`); a hand edit of `params.yaml` makes the file the user's own (the digest no
longer matches): Snakemake runs it as it is and `jessl profile` overwrites it only with `--force`.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .merge import MergeError, deep_merge
from .yamlio import read_yaml

CONFIG_DIR = "config"
NOT_PROFILES = ("base",)  # layers at the top of config/ that are not profiles of their own
STAMP = re.compile(r"^# jessl-profile: (?P<name>\S+) sha256:(?P<digest>[0-9a-f]{16})$", re.M)


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
    if named_by is None and (name in NOT_PROFILES or "/" in name) and path.is_file():
        raise ProfileError(f"{name} is a shared layer ({path}), not a profile; profiles: "
                           f"{', '.join(available(config_dir))}")
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


def digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def header(name: str, body: str, config_dir: str | Path = CONFIG_DIR) -> str:
    chain = ", ".join(f"{Path(config_dir).name}/{layer}.yaml" for layer in layers(name, config_dir))
    return (f"# Generated by `jessl profile {name}` from {chain}.\n"
            f"# Snakemake and DVC both read this file. Edit those layers and rerun `jessl profile {name}` (or pick\n"
            f"# another profile: `jessl profile --list`). A hand edit here makes the file your own: Snakemake runs it\n"
            f"# as it is and `jessl profile` overwrites it only with --force.\n"
            f"# jessl-profile: {name} sha256:{digest(body)}\n")


def render(name: str, config_dir: str | Path = CONFIG_DIR) -> str:
    """The text of `params.yaml` for profile `name`: a header naming its layers and the body's digest, then
    the resolved YAML."""
    body = yaml.dump(resolve(name, config_dir), Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=110,
                     allow_unicode=True)
    return header(name, body, config_dir) + body


def stamp(text: str) -> tuple[str, bool] | None:
    """(profile, unedited) of a `params.yaml` text written by `jessl profile`; None for a file written otherwise.
    `unedited`: the body below the header still has the digest the header recorded."""
    m = STAMP.search(text)
    if m is None:
        return None
    return m["name"], digest(text[m.end() + 1:]) == m["digest"]


def _shown(diff: list[str]) -> str:
    return ", ".join(diff[:6]) + (f" (+{len(diff) - 6} more)" if len(diff) > 6 else "")


def check_current(text: str, params: dict[str, Any], config_dir: str | Path = CONFIG_DIR,
                  source: str = "params.yaml") -> None:
    """Refuse a `params.yaml` written by `jessl profile NAME` whose layers have changed since: the user who
    edited a layer believes they changed the run. A hand-edited or hand-written file is the user's own."""
    mark = stamp(text)
    if mark is None or not mark[1]:
        return
    name = mark[0]
    try:
        now = resolve(name, config_dir)
    except ProfileError as err:
        raise ProfileError(f"{source} was written by `jessl profile {name}`, which no longer composes ({err}); write "
                           f"another profile (`jessl profile NAME`), or delete its `# jessl-profile:` line to keep it "
                           f"as your own") from None
    diff = differences(params, now)
    if diff:
        raise ProfileError(
            f"{source} was written by `jessl profile {name}`, but its layers have changed since ({_shown(diff)} "
            f"differ): run `jessl profile {name}` to write them to {source} (Snakemake and DVC read only "
            f"{source}), or undo the layer edit"
        )


def check_overwrite(path: Path, config_dir: str | Path = CONFIG_DIR, force: bool = False) -> None:
    """Refuse to write a profile over a layer, a folder, or a params file edited by hand (not equal to any
    profile): what it holds would be lost. `force` (`jessl profile --force`) skips the last check."""
    config_dir = Path(config_dir)
    if path.is_dir():
        raise ProfileError(f"{path} is a folder; give a file to write, e.g. -o params.yaml (the default)")
    try:
        layer = path.resolve().relative_to(config_dir.resolve())
    except ValueError:
        layer = None
    if layer is not None and path.suffix in (".yaml", ".yml"):
        raise ProfileError(f"{path} is in {config_dir}/, the layers' folder; writing the profile there would replace "
                           f"or add a layer (a layer's defaults: and comments would be lost); write to params.yaml "
                           f"(the default) or a path outside {config_dir}/")
    if force or not path.is_file():
        return
    text = path.read_text()
    mark = stamp(text)
    if mark is not None and mark[1]:
        return
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None
    if any(not differences(data, resolve(n, config_dir)) for n in available(config_dir)):
        return
    raise ProfileError(f"{path} was edited by hand (it equals no profile): writing the profile would lose those "
                       f"edits; move them into a layer under {config_dir}/, or pass --force to overwrite it")


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
        raise ProfileError(
            f"the configuration differs from {source} at {_shown(diff)}: --configfile/--config are merged into "
            f"{source} (its datasets and method rows stay) and DVC reads {source} only, so they are refused. "
            f"Write the profile to {source} instead: edit its layers under config/ and run `jessl profile NAME` "
            f"(e.g. `jessl profile cifar10`); then run snakemake without --configfile/--config"
        )
