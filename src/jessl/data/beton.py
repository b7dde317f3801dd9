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


def write_beton(dataset, path: str | Path) -> Path:
    """Write an indexed (image, label) dataset to `path` atomically.

    One writer worker: FFCV's parallel writer orders pages by completion, so its bytes vary
    between runs; with one worker the same data always gives the same bytes (DVC hashes them).
    """
    from ffcv.fields import IntField, RGBImageField
    from ffcv.writer import DatasetWriter

    path = Path(path)
    with atomic_path(path) as tmp:
        writer = DatasetWriter(
            str(tmp), {"image": RGBImageField(write_mode="raw"), "label": IntField()}, num_workers=1
        )
        with contextlib.redirect_stderr(io.StringIO()):  # FFCV's own tqdm bar; we log instead
            writer.from_indexed_dataset(dataset)
    return path


def check_beton(path: str | Path) -> int:
    """Validate the structure of a `.beton`; return its number of samples or raise `BetonError`."""
    from ffcv.reader import Reader

    path = Path(path)
    fix = "delete it and rerun `snakemake` (the convert rule rebuilds it)"
    if not path.exists():
        raise BetonError(f"{path}: no such .beton; run `snakemake {path}` to build it")
    size = path.stat().st_size
    try:
        reader = Reader(str(path))
    except Exception as err:  # FFCV raises assorted numpy/assert errors on bad headers
        raise BetonError(f"{path}: not a readable FFCV .beton ({err}); {fix}") from None
    table = reader.alloc_table
    if len(reader.metadata) != reader.num_samples or len(table) == 0:
        raise BetonError(f"{path}: truncated .beton (metadata or allocation table incomplete); {fix}")
    end = int((table["ptr"] + table["size"]).max())
    if end > int(reader.header["alloc_table_ptr"]) or end > size:
        raise BetonError(f"{path}: truncated .beton (data runs past the end of the file); {fix}")
    missing = [f for f in FIELDS if f not in reader.field_names]
    if missing:
        raise BetonError(f"{path}: .beton lacks field(s) {missing} (has {reader.field_names}); {fix}")
    return int(reader.num_samples)


class BetonLoader:
    """Batches of (uint8 images N×H×W×3, int64 labels N) from a `.beton`, built once.

    Random order is seeded (FFCV shuffles with seed + epoch), so `set_epoch` makes a
    resumed run see the same batches as an uninterrupted one.
    """

    def __init__(
        self,
        path: str | Path,
        batch_size: int,
        workers: int = 1,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        distributed: bool = False,
    ) -> None:
        from ffcv.fields.decoders import IntDecoder, SimpleRGBImageDecoder
        from ffcv.loader import Loader, OrderOption
        from ffcv.transforms import ToTensor

        self.num_samples = check_beton(path)
        self.loader = Loader(
            str(path),
            batch_size=batch_size,
            num_workers=max(1, workers),
            order=OrderOption.RANDOM if shuffle else OrderOption.SEQUENTIAL,
            seed=seed,
            drop_last=drop_last,
            distributed=distributed,
            pipelines={"image": [SimpleRGBImageDecoder(), ToTensor()], "label": [IntDecoder(), ToTensor()]},
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

    Reads the file through FFCV's `Reader` (header, metadata, allocation table) and slices the raw
    pixels out of a memory map: for a one-pass sequential read this skips the loader's per-process
    JIT compilation (seconds per evaluation job). JPEG-mode samples are decoded with Pillow.
    """
    from ffcv.reader import Reader

    check_beton(path)
    reader = Reader(str(path))
    meta = reader.metadata
    image, label = meta[f"f{reader.field_names.index('image')}"], meta[f"f{reader.field_names.index('label')}"]
    sizes = dict(zip(reader.alloc_table["ptr"].tolist(), reader.alloc_table["size"].tolist(), strict=True))
    data = np.memmap(path, dtype=np.uint8, mode="r")
    h, w = int(image["height"][0]), int(image["width"][0])
    out = np.empty((len(meta), h, w, 3), dtype=np.uint8)
    for i, (mode, ptr) in enumerate(zip(image["mode"].tolist(), image["data_ptr"].tolist(), strict=True)):
        chunk = data[ptr : ptr + sizes[ptr]]
        if mode == 1:  # raw
            out[i] = chunk.reshape(h, w, 3)
        else:
            from PIL import Image

            with Image.open(io.BytesIO(chunk.tobytes())) as im:
                out[i] = np.asarray(im.convert("RGB"))
    return out, np.array(label, dtype=np.int64)  # a writable copy
