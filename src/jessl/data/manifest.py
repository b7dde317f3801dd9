"""An image folder's manifest: where its audit chain ends (`data/{dataset}/manifest.json`).

A folder dataset has thousands of raw files, too many for a run record's inputs. Its manifest lists
them instead, sorted by path relative to the dataset's root, each with its sha256, class label and
split. `convert` builds the `.beton`s from the manifest (checking each file's hash as it reads it), the
`.beton`s' run records name the manifest as their input, and `jessl audit` re-hashes every listed file
(`problems`), so a changed image breaks the audit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..config import DatasetConfig
from ..io import sha256
from .sources import FileDataset, _class_dirs, load

FORMAT = "jessl-folder-manifest/1"


class ManifestError(ValueError):
    """A manifest that cannot be read or does not fit the dataset; the message says how to rebuild it."""


def build(cfg: DatasetConfig) -> dict[str, Any]:
    """The manifest of the folder dataset `cfg` (its class subset, when given): every file read."""
    if cfg.source != "folder":
        raise ManifestError(f"only image folders have a manifest (source is {cfg.source!r})")
    root = Path(cfg.root or "")
    splits = load(cfg)
    entries = []
    for split, data in splits.items():
        for path, label in zip(data.files, data.labels.tolist(), strict=True):
            entries.append({"path": Path(path).relative_to(root).as_posix(), "split": split, "label": label,
                            "sha256": sha256(path)})
    entries.sort(key=lambda e: e["path"])
    classes = _class_names(cfg)
    return {"format": FORMAT, "root": cfg.root, "classes": classes, "files": entries}


def _class_names(cfg: DatasetConfig) -> list[str]:
    """The class folders in label order (label i is the i-th name)."""
    root = Path(cfg.root or "")
    return _class_dirs(root / "train" if (root / "train").is_dir() else root)


def read(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    fix = f"delete it and rerun `snakemake {path}`"
    try:
        m = json.loads(path.read_text())
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such manifest; run `snakemake {path}`") from None
    except (OSError, ValueError) as err:
        raise ManifestError(f"{path}: not a readable manifest ({err}); {fix}") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT or not isinstance(m.get("files"), list):
        raise ManifestError(f"{path}: not a {FORMAT} manifest; {fix}")
    return m


def splits(path: str | Path, cfg: DatasetConfig) -> dict[str, FileDataset]:
    """The train and test splits the manifest lists (in its order), each file checked against its sha256
    when read; the manifest must be of `cfg`'s root."""
    m = read(path)
    if m.get("root") != cfg.root:
        raise ManifestError(f"{path}: lists the files of root {m.get('root')!r}, not {cfg.root!r}; delete it and "
                            f"rerun `snakemake`")
    root = Path(cfg.root or "")
    out = {}
    for split in ("train", "test"):
        rows = [e for e in m["files"] if e["split"] == split]
        out[split] = FileDataset([root / e["path"] for e in rows], np.asarray([e["label"] for e in rows], np.int64),
                                 [e["sha256"] for e in rows])
    return out


def problems(path: str | Path, project_root: str | Path) -> list[str]:
    """What no longer matches a manifest: listed files missing or changed (a relative root is taken from
    `project_root`, where Snakemake ran). Empty when every file still has its recorded sha256."""
    try:
        m = read(path)
    except ManifestError as err:
        return [str(err)]
    root = Path(m.get("root") or "")
    if not root.is_absolute():
        root = Path(project_root) / root
    missing, changed = [], []
    for e in m["files"]:
        f = root / e["path"]
        if not f.is_file():
            missing.append(e["path"])
        elif sha256(f) != e["sha256"]:
            changed.append(e["path"])
    out = []
    for what, names in (("missing", missing), ("changed since the manifest was written (sha256 mismatch)", changed)):
        if names:
            shown = ", ".join(names[:5]) + (f", … ({len(names) - 5} more)" if len(names) > 5 else "")
            out.append(f"{len(names)} of its {len(m['files'])} image(s) under {root} {what}: {shown}; restore them, "
                       f"or rebuild the dataset: snakemake -f {Path(path).as_posix()}")
    return out
