"""FFCV `.beton` files: deterministic writing, validation, and loaders of uint8 image batches."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from ..io import atomic_path

FIELDS = ("image", "label")


class BetonError(RuntimeError):
    """A missing, truncated or corrupt `.beton`; the message says how to rebuild it."""


def write_beton(dataset, path: str | Path, *, max_resolution: int | None = None,
                jpeg_quality: int | None = None) -> Path:
    """Write an indexed (image, label) dataset to `path` atomically.

    Images are stored raw (same-size arrays), or, given `max_resolution`, as JPEGs (FFCV's
    `write_mode="jpg"`, quality `jpeg_quality`, default 90) whose longer side is at most
    `max_resolution` (image folders: any size in, a bounded file out; read back with `decode_size`).
    One writer worker: FFCV's parallel writer orders pages by completion, so its bytes vary
    between runs; with one worker the same data always gives the same bytes (DVC hashes them).
    """
    from ffcv.fields import IntField, RGBImageField
    from ffcv.writer import DatasetWriter

    path = Path(path)
    if len(dataset) == 0:
        raise BetonError(f"{path}: nothing to write (the split is empty); check the dataset's files and params")
    if max_resolution is None:
        image = RGBImageField(write_mode="raw")
    else:
        image = RGBImageField(write_mode="jpg", max_resolution=max_resolution,
                              jpeg_quality=90 if jpeg_quality is None else jpeg_quality)
    with atomic_path(path) as tmp:
        failure = tmp.with_name(tmp.name + ".error")
        try:
            writer = DatasetWriter(str(tmp), {"image": image, "label": IntField()}, num_workers=1)
            with contextlib.redirect_stderr(io.StringIO()):  # FFCV's own tqdm bar; we log instead
                writer.from_indexed_dataset(_Guarded(dataset, failure))
            if failure.exists():
                raise _reraise(failure.read_bytes(), path)
        finally:
            failure.unlink(missing_ok=True)
    return path


_PLACEHOLDER = (np.zeros((8, 8, 3), dtype=np.uint8), 0)


class _Guarded:
    """A dataset for FFCV's writer, whose worker process, if it raises, leaves the writer waiting forever:
    the first error (reading a sample, or a sample that is not an H×W×3 uint8 image) is pickled to
    `failure`, every later sample is a placeholder, and `write_beton` raises the error once the
    writer returns (the half-written file is discarded)."""

    def __init__(self, dataset, failure: Path) -> None:
        self.dataset, self.failure = dataset, failure

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        if self.failure.exists():
            return _PLACEHOLDER
        try:
            image, label = self.dataset[i]
            if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
                    and image.shape[2] == 3):
                got = f"{type(image).__name__} {getattr(image, 'shape', '')} {getattr(image, 'dtype', '')}"
                raise BetonError(f"sample {i} is not an H×W×3 uint8 image (got {got.strip()})")
            return image, label
        except Exception as err:
            import pickle

            try:
                blob = pickle.dumps(err)
            except Exception:
                blob = pickle.dumps(BetonError(f"sample {i}: {type(err).__name__}: {err}"))
            self.failure.write_bytes(blob)
            return _PLACEHOLDER


def _reraise(blob: bytes, path: Path) -> BaseException:
    import pickle

    try:
        err = pickle.loads(blob)
    except Exception:
        err = None
    return err if isinstance(err, Exception) else BetonError(f"{path}: a sample could not be written")


FIX = "delete it and rerun `snakemake` to rebuild it"


# FFCV's on-disk layout (format version 2; ffcv/types.py and the fields' `metadata_type`), read here with
# numpy alone: importing ffcv compiles numba code (a typed Dict, ≈ 5-10 s of CPU per process), which jobs
# that only read a `.beton` (evaluation, checks) need not pay. tests/test_data.py checks these against ffcv.
FORMAT_VERSION = 2
HEADER = np.dtype([("version", "<u2"), ("num_fields", "<u2"), ("page_size", "<u4"), ("num_samples", "<u8"),
                   ("alloc_table_ptr", "<u8")], align=True)
ALLOC_TABLE = np.dtype([("sample_id", "<u8"), ("ptr", "<u8"), ("size", "<u8")])
FIELD_DESC = np.dtype([("type_id", "<u1"), ("name", ("<u1", 16)), ("arguments", ("<u1", (1024,)))], align=True)
FIELD_METADATA = {  # FFCV type id → per-sample metadata of that field (the types jessl writes or may read)
    0: np.dtype("<f8"),  # FloatField
    1: np.dtype("<i8"),  # IntField
    2: np.dtype([("mode", "<u1"), ("width", "<u2"), ("height", "<u2"), ("data_ptr", "<u8")]),  # RGBImageField
}


def _layout(path: Path) -> tuple[int, list[str], np.ndarray, np.ndarray]:
    """Validate the structure of a `.beton`: (samples, field names, per-sample metadata, allocation table).

    FFCV's layout: header, field descriptors, per-sample metadata, data pages, then the allocation
    table (one row per stored blob) at `alloc_table_ptr`, up to the end of the file. Every data pointer
    in the metadata needs its row, so a file cut anywhere is shorter than the size checked here.
    """
    if not path.exists():
        raise BetonError(f"{path}: no such .beton; run `snakemake {path}` to build it")
    if not path.is_file():
        raise BetonError(f"{path}: not a file; {FIX}")
    size = path.stat().st_size

    def truncated(expected: int) -> BetonError:
        return BetonError(f"{path}: truncated ({size} bytes, expected >= {expected}); {FIX}")

    if size < HEADER.itemsize:
        raise truncated(HEADER.itemsize)
    header = np.fromfile(path, dtype=HEADER, count=1)[0]
    if int(header["version"]) != FORMAT_VERSION:
        raise BetonError(f"{path}: not an FFCV .beton of format {FORMAT_VERSION} "
                         f"(header says {int(header['version'])}); {FIX}")
    n, num_fields, table_ptr = int(header["num_samples"]), int(header["num_fields"]), int(header["alloc_table_ptr"])
    descriptors_end = HEADER.itemsize + num_fields * FIELD_DESC.itemsize
    if size < descriptors_end:
        raise truncated(descriptors_end)
    descriptors = np.fromfile(path, dtype=FIELD_DESC, count=num_fields, offset=HEADER.itemsize)
    unknown = sorted({int(t) for t in descriptors["type_id"]} - FIELD_METADATA.keys())
    if unknown:
        raise BetonError(f"{path}: not a readable FFCV .beton of images and labels (field type id(s) {unknown}); {FIX}")
    names = [bytes(d["name"]).split(b"\0")[0].decode("ascii", "replace") for d in descriptors]
    metadata_type = np.dtype([(f"f{i}", FIELD_METADATA[int(t)]) for i, t in enumerate(descriptors["type_id"])],
                             align=True)
    metadata_end = descriptors_end + n * metadata_type.itemsize
    if size < metadata_end:
        raise truncated(metadata_end)
    if table_ptr < metadata_end:
        raise BetonError(f"{path}: corrupt .beton (its allocation table starts inside the sample metadata); {FIX}")
    metadata = np.fromfile(path, dtype=metadata_type, count=n, offset=descriptors_end)
    pointers = [metadata[name]["data_ptr"] for name in metadata_type.names
                if "data_ptr" in (metadata_type[name].names or ())]
    pointers = np.unique(np.concatenate(pointers)) if pointers else np.empty(0, dtype=np.uint64)
    expected = table_ptr + len(pointers) * ALLOC_TABLE.itemsize
    if size < expected:
        raise truncated(expected)
    if n == 0:
        raise BetonError(f"{path}: holds no samples (an empty split?); check the dataset, then {FIX}")
    missing = [f for f in FIELDS if f not in names]
    if missing:
        raise BetonError(f"{path}: .beton lacks field(s) {missing} (has {names}); {FIX}")
    table = np.fromfile(path, dtype=ALLOC_TABLE, offset=table_ptr)
    if not np.isin(pointers, table["ptr"]).all():
        raise BetonError(f"{path}: corrupt .beton (samples point at data missing from its allocation table); {FIX}")
    if len(table) and int((table["ptr"] + table["size"]).max()) > table_ptr:
        raise BetonError(f"{path}: corrupt .beton (data runs into its allocation table); {FIX}")
    return n, names, metadata, table


def check_beton(path: str | Path) -> int:
    """Validate the structure of a `.beton` (see `_layout`); return its number of samples or raise `BetonError`."""
    return _layout(Path(path))[0]


def check_pair(train_beton: str | Path, test_beton: str | Path) -> None:
    """Refuse a train/test pair that was not converted together (another dataset, resolution or split):
    compares the `convert` run records beside the two files (`<file>.run.json`)."""
    from ..provenance import read_record, record_path

    pair = f"{train_beton} and {test_beton}"
    rebuild = "delete both and rerun `snakemake` to rebuild them from one dataset"
    params = []
    for path, split in ((Path(train_beton), "train"), (Path(test_beton), "test")):
        rec_file = record_path(path)
        if not rec_file.is_file():
            raise BetonError(f"{path}: no run record ({rec_file.name}), so it cannot be matched with the other "
                             f"split ({pair}); {rebuild}")
        try:
            rec = read_record(path)
            p = rec["params"] if rec.get("stage") == "convert" else None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            p = None
        if not isinstance(p, dict):
            raise BetonError(f"{rec_file}: not the run record of a converted .beton; {rebuild}")
        if p.get("split", split) != split:
            raise BetonError(f"{path}: its run record says it is the {p.get('split')!r} split, not {split!r} "
                             f"({pair} swapped?); pass the {split} .beton or {rebuild}")
        params.append(p)
    diffs = [f"{k}: {params[0].get(k)!r} vs {params[1].get(k)!r}" for k in PAIR_KEYS
             if params[0].get(k) != params[1].get(k)]
    if diffs:
        raise BetonError(f"{pair} come from different data ({'; '.join(diffs)}); {rebuild}")


# What must agree between a train and a test .beton (their run records' params; `download` may differ).
PAIR_KEYS = ("dataset", "source", "root", "image_size", "test_fraction", "split_seed", "max_resolution",
             "jpeg_quality")


def _image_meta(path: str | Path) -> np.ndarray:
    _, names, meta, _ = _layout(Path(path))
    return meta[f"f{names.index('image')}"]


def decode_size(path: str | Path) -> int | None:
    """The side of the square images a `.beton`'s samples are decoded to: None for raw images of one size
    (read as stored); for JPEGs or mixed sizes (image folders), the `image_size` its convert run record
    gives (each image centre-cropped to its shorter side and resized, as `sources.resize` does)."""
    from ..provenance import read_record, record_path

    meta = _image_meta(path)
    if (meta["mode"] == 1).all() and len(np.unique(meta["height"])) <= 1 and len(np.unique(meta["width"])) <= 1:
        return None
    rec_file = record_path(path)
    try:
        size = read_record(path)["params"]["image_size"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise BetonError(f"{path}: holds JPEG or mixed-size images, whose decoded size its run record "
                         f"({rec_file.name}) gives, but that cannot be read ({type(err).__name__}); {FIX}") from None
    if not isinstance(size, int) or size < 1:
        raise BetonError(f"{rec_file}: image_size {size!r} is not a size; {FIX}")
    return size


def _image_pipeline(path: str | Path) -> list:
    """FFCV's decoder for the images of `path` (see `decode_size`), then a tensor."""
    from ffcv.fields.decoders import CenterCropRGBImageDecoder, SimpleRGBImageDecoder
    from ffcv.transforms import ToTensor

    size = decode_size(path)
    decoder = SimpleRGBImageDecoder() if size is None else CenterCropRGBImageDecoder((size, size), ratio=1.0)
    return [decoder, ToTensor()]


class BetonLoader:
    """Batches of (uint8 images N×H×W×3, int64 labels N) from a `.beton`, built once.

    Random order is seeded (FFCV shuffles with seed + epoch), so `set_epoch` makes a
    resumed run see the same batches as an uninterrupted one. `shard` = (rank, world) under DDP: this
    process's part of each global batch of `batch_size · world` (`shard_order.ShardOrder`).
    """

    def __init__(
        self,
        path: str | Path,
        batch_size: int,
        workers: int = 1,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        shard: tuple[int, int] = (0, 1),
    ) -> None:
        from ffcv.fields.decoders import IntDecoder
        from ffcv.loader import Loader, OrderOption
        from ffcv.transforms import ToTensor

        self.num_samples = check_beton(path)
        order = OrderOption.RANDOM if shuffle else OrderOption.SEQUENTIAL
        if shard[1] > 1:
            from .shard_order import ShardOrder

            if not drop_last:
                raise ValueError("a sharded loader drops the incomplete last global batch: pass drop_last=True")
            order = ShardOrder(*shard, batch=batch_size, shuffle=shuffle)
        self.loader = Loader(
            str(path),
            batch_size=batch_size,
            num_workers=max(1, workers),
            order=order,
            seed=seed,
            drop_last=drop_last,
            pipelines={"image": _image_pipeline(path), "label": [IntDecoder(), ToTensor()]},
        )

    def set_epoch(self, epoch: int) -> None:
        self.loader.next_epoch = epoch

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for images, labels in self.loader:
            yield images, labels.view(-1).long()


def read_all(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Every sample of a `.beton` in file order, as numpy arrays (images N×H×W×3 uint8, labels N).

    Raw images of one size: the layout is read with numpy (`_layout`) and the pixels sliced out of a
    memory map — a one-pass sequential read that skips importing ffcv (numba compilation) and the loader's
    per-process JIT compilation (seconds per evaluation job). JPEG or mixed-size images (image folders) go
    through FFCV's loader and decoder, as in training (`decode_size`).
    """
    if decode_size(path) is not None:
        batches = list(BetonLoader(path, batch_size=256))
        return (torch.cat([x for x, _ in batches]).numpy(), torch.cat([y for _, y in batches]).numpy())
    _, names, meta, table = _layout(Path(path))
    image, label = meta[f"f{names.index('image')}"], meta[f"f{names.index('label')}"]
    sizes = dict(zip(table["ptr"].tolist(), table["size"].tolist(), strict=True))
    data = np.memmap(path, dtype=np.uint8, mode="r")
    h, w = int(image["height"][0]), int(image["width"][0])
    out = np.empty((len(meta), h, w, 3), dtype=np.uint8)
    for i, ptr in enumerate(image["data_ptr"].tolist()):
        out[i] = data[ptr : ptr + sizes[ptr]].reshape(h, w, 3)
    return out, np.array(label, dtype=np.int64)  # a writable copy


def read_labels(path: str | Path) -> np.ndarray:
    """The labels of every sample of a `.beton`, in file order, without reading the images."""
    _, names, meta, _ = _layout(Path(path))
    return np.array(meta[f"f{names.index('label')}"], dtype=np.int64)
