"""Builders of tiny datasets in the exact official on-disk formats (no network), for the tests.

- CIFAR-10: `cifar-10-batches-py/data_batch_1..5`, `test_batch`, `batches.meta`: Python pickles (protocol 2,
  as the official Python 2 files) of dicts with `data` (N×3072 uint8, rows R-plane, G-plane, B-plane, each
  32×32 row-major), `labels`, `batch_label`, `filenames`; the meta dict has `label_names`,
  `num_cases_per_batch`, `num_vis`.
- CIFAR-100: `cifar-100-python/train`, `test` (`data`, `fine_labels`, `coarse_labels`, `filenames`,
  `batch_label`) and `meta` (`fine_label_names`, `coarse_label_names`).
- STL-10: `stl10_binary/{train,test,unlabeled}_X.bin` (uint8, per image 3 planes of 96×96 stored
  column-major), `{train,test}_y.bin` (uint8 labels 1-10), `class_names.txt`, `fold_indices.txt`.
- An ImageFolder tree (`train/<class>/`, `val/<class>/`) of JPEGs of mixed sizes.

Each builder returns what it wrote as H×W×3 uint8 arrays and 0-based labels, in file order.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
STL10_CLASSES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]


def images(n: int, h: int, w: int, seed: int) -> np.ndarray:
    """n random uint8 images (n, h, w, 3)."""
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def smooth_images(sizes: list[tuple[int, int]], seed: int) -> list[np.ndarray]:
    """Colour gradients (JPEG keeps them close, so a decoded image can be compared with its source)."""
    rng = np.random.default_rng(seed)
    out = []
    for h, w in sizes:
        a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        t = (np.linspace(0, 1, w)[None, :, None] + np.linspace(0, 1, h)[:, None, None]) / 2
        out.append(np.round(a + (b - a) * t).astype(np.uint8))
    return out


def _pickle(path: Path, obj: dict) -> None:
    with path.open("wb") as f:
        pickle.dump(obj, f, protocol=2)


def _rows(x: np.ndarray) -> np.ndarray:
    """H×W×3 images → CIFAR rows (3072 bytes: the R plane, then G, then B)."""
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2).reshape(len(x), -1))


def write_cifar10(root: str | Path, train_per_batch: list[int], n_test: int, seed: int = 0) -> dict:
    """`root/cifar-10-batches-py/` with 5 training batches of the given sizes and a test batch."""
    if len(train_per_batch) != 5:
        raise ValueError("CIFAR-10 has 5 training batches")
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    out = {"train": ([], []), "test": ([], [])}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for k, (name, n) in enumerate(zip(names, [*train_per_batch, n_test], strict=True)):
        x, y = images(n, 32, 32, seed + k), [int(v) for v in rng.integers(0, 10, n)]
        label = f"training batch {k + 1} of 5" if k < 5 else "testing batch 1 of 1"
        _pickle(folder / name, {"batch_label": label, "labels": y, "data": _rows(x),
                                "filenames": [f"img_{k}_{i}.png" for i in range(n)]})
        xs, ys = out["train" if k < 5 else "test"]
        xs.append(x)
        ys.append(y)
    _pickle(folder / "batches.meta", {"num_cases_per_batch": 10000, "label_names": CIFAR10_CLASSES, "num_vis": 3072})
    return {s: (np.concatenate(xs), np.concatenate(ys).astype(np.int64)) for s, (xs, ys) in out.items()}


def write_cifar100(root: str | Path, n_train: int, n_test: int, seed: int = 0) -> dict:
    """`root/cifar-100-python/` with `train`, `test` and `meta`."""
    folder = Path(root) / "cifar-100-python"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    out = {}
    for k, (split, n) in enumerate((("train", n_train), ("test", n_test))):
        x, fine = images(n, 32, 32, seed + k), rng.integers(0, 100, n)
        _pickle(folder / split, {"filenames": [f"{split}_{i}.png" for i in range(n)], "batch_label": f"{split} batch",
                                 "fine_labels": [int(v) for v in fine], "coarse_labels": [int(v) // 5 for v in fine],
                                 "data": _rows(x)})
        out[split] = (x, fine.astype(np.int64))
    _pickle(folder / "meta", {"fine_label_names": [f"fine_{i}" for i in range(100)],
                              "coarse_label_names": [f"coarse_{i}" for i in range(20)]})
    return out


def _stl_bin(x: np.ndarray) -> bytes:
    """H×W×3 images → STL-10's bytes: per image the 3 colour planes, each 96×96 in column-major order."""
    return np.ascontiguousarray(x.transpose(0, 3, 2, 1)).tobytes()


def write_stl10(root: str | Path, n_train: int, n_test: int, n_unlabeled: int, seed: int = 0) -> dict:
    """`root/stl10_binary/` with train, test and unlabeled images (labels 1-10 on disk, 0-9 returned)."""
    folder = Path(root) / "stl10_binary"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    out = {}
    for k, (split, n) in enumerate((("train", n_train), ("test", n_test), ("unlabeled", n_unlabeled))):
        x = images(n, 96, 96, seed + k)
        (folder / f"{split}_X.bin").write_bytes(_stl_bin(x))
        y = np.full(n, -1, dtype=np.int64)
        if split != "unlabeled":
            y = rng.integers(0, 10, n).astype(np.int64)
            (folder / f"{split}_y.bin").write_bytes((y + 1).astype(np.uint8).tobytes())
        out[split] = (x, y)
    (folder / "class_names.txt").write_text("\n".join(STL10_CLASSES) + "\n")
    folds = [" ".join(str(i) for i in range(f, n_train, 10)) for f in range(10)]
    (folder / "fold_indices.txt").write_text("\n".join(folds) + "\n")
    return out


FOLDER_SIZES = [(40, 60), (64, 48), (300, 200), (33, 33), (50, 120)]


def write_image_folder(root: str | Path, classes: tuple[str, ...] = ("cat", "dog", "owl"), per_class: int = 3,
                       seed: int = 0) -> dict:
    """`root/{train,val}/<class>/<i>.jpg`: JPEGs of mixed sizes (one above 256 a side); returns per split
    the sorted relative paths and their labels, and the decoded pixels of each file."""
    from PIL import Image

    out = {}
    k = 0
    for split in ("train", "val"):
        paths, labels = [], []
        for c, name in enumerate(classes):
            (Path(root) / split / name).mkdir(parents=True)
            sizes = [FOLDER_SIZES[(c + i) % len(FOLDER_SIZES)] for i in range(per_class)]
            for i, img in enumerate(smooth_images(sizes, seed + k)):
                rel = f"{split}/{name}/{i}.jpg"
                Image.fromarray(img).save(Path(root) / rel, quality=95)
                paths.append(rel)
                labels.append(c)
                k += 1
        out[split] = (paths, np.asarray(labels, dtype=np.int64))
    return out
