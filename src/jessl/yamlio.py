"""The strict YAML reader of params files and profile layers: a key written twice is an error, and every
problem is one `ConfigError` line naming the file and the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: Any, line: int, first: int) -> None:
        super().__init__(f"line {line}: key {key!r} appears twice (first on line {first}); keep one")


class StrictLoader(yaml.SafeLoader):
    """yaml's SafeLoader, except that a key written twice in one mapping is an error (PyYAML keeps the
    last one, so the first block would vanish without a word)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                if key in first:
                    raise _DuplicateKey(key, line, first[key])
            except TypeError:  # an unhashable key: SafeLoader reports it below
                continue
            first[key] = line
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path) -> Any:
    """Parse a params file strictly; every problem is one `ConfigError` line naming the file and line."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such params file; write one with `jessl profile NAME` (e.g. embedded)")
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, not a params file; pass a YAML file such as params.yaml")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read it ({err.strerror}); check its permissions") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: not a UTF-8 text file (byte 0x{raw[err.start]:02x} at offset {err.start}); "
            f"pass a YAML params file such as params.yaml"
        ) from None
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 (a SafeLoader)
    except _DuplicateKey as err:
        raise ConfigError(f"{path}, {err}") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = err.problem or err.context or "invalid YAML"
        if err.context and err.context_mark and err.problem and err.context_mark.line != getattr(mark, "line", None):
            problem += f" ({err.context} that starts on line {err.context_mark.line + 1})"
        fix = ("YAML indents with spaces, not tabs; replace the tab" if "\\t" in problem
               else "check the indentation, brackets and quotes there")
        raise ConfigError(f"{path}{where}: YAML syntax error: {problem}; {fix}") from None
    except yaml.YAMLError as err:  # e.g. reader errors: control characters in the text
        detail = " ".join(str(err).split())
        raise ConfigError(f"{path}: not a readable YAML file ({detail}); pass a YAML params file") from None


def string_hint(value: object) -> str:
    """Why a string where a number or a bool was expected is probably a YAML slip, or ''.

    PyYAML reads YAML 1.1, where `1e-4` (no dot) and `1.0e4` (no sign) are text and `1.0e-4` a number."""
    if not isinstance(value, str):
        return ""
    if value.strip().lower() in ("yes", "no", "on", "off", "y", "n", "true", "false"):
        return " (a string: write true or false, without quotes)"
    try:
        float(value)
    except ValueError:
        return ""
    if "e" in value.lower():
        return (f" (a string: YAML 1.1 reads {value} as text; write a dot and a signed exponent, e.g. 1.0e-4, "
                f"without quotes)")
    return " (a string: remove the quotes)"
