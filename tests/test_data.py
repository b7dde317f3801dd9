import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import random_images
from jessl.config import AugmentConfig, DatasetConfig
from jessl.data import augment, beton, sources


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_digits_split_is_stratified_fixed_and_disjoint(digits_splits):
    tr, te = digits_splits["train"], digits_splits["test"]
    assert (len(tr), len(te)) == (1437, 360)
    assert tr.images.shape[1:] == (16, 16, 3) and tr.images.dtype == np.uint8
    # stratified: every class keeps its share within one sample
    share = np.bincount(te.labels) / (np.bincount(tr.labels) + np.bincount(te.labels))
    assert np.all(np.abs(share - 0.2) < 0.02)
    again = sources.load(DatasetConfig(image_size=16))
    assert np.array_equal(again["test"].images, te.images)
    other = sources.load(DatasetConfig(image_size=16, split_seed=1))
    assert not np.array_equal(other["test"].labels, te.labels)
    train_rows = {r.tobytes() for r in tr.images.reshape(len(tr), -1)}
    assert sum(r.tobytes() in train_rows for r in te.images.reshape(len(te), -1)) < 10  # a few true duplicates


def test_beton_written_twice_is_byte_identical_and_round_trips(tmp_path, digits_splits):
    ds = digits_splits["test"]
    a, b = beton.write_beton(ds, tmp_path / "a.beton"), beton.write_beton(ds, tmp_path / "b.beton")
    assert sha(a) == sha(b)
    x, y = beton.read_all(a)
    assert np.array_equal(x, ds.images) and np.array_equal(y, ds.labels)
    # FFCV's own (JIT-compiled) loader, in file order, sees the same samples
    batches = list(beton.BetonLoader(a, 100))
    assert np.array_equal(np.concatenate([b[0].numpy() for b in batches]), ds.images)
    assert np.array_equal(np.concatenate([b[1].numpy() for b in batches]), ds.labels)
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left no temp file


def test_numpy_layout_matches_ffcv_and_reading_does_not_import_ffcv(small_betons):
    """`read_all`/`check_beton` read FFCV's layout with numpy (no numba compile): the same dtypes as ffcv's
    own, the same samples as ffcv's Reader, and no `import ffcv` in a process that only reads."""
    import subprocess
    import sys

    from ffcv.fields import FloatField, IntField, RGBImageField
    from ffcv.reader import Reader
    from ffcv.types import ALLOC_TABLE_TYPE, CURRENT_VERSION, TYPE_ID_HANDLER, FieldDescType, HeaderType

    assert (beton.HEADER, beton.ALLOC_TABLE, beton.FIELD_DESC) == (HeaderType, ALLOC_TABLE_TYPE, FieldDescType)
    assert beton.FORMAT_VERSION == CURRENT_VERSION
    for type_id, field in ((0, FloatField()), (1, IntField()), (2, RGBImageField())):
        assert TYPE_ID_HANDLER[type_id] is type(field) and beton.FIELD_METADATA[type_id] == field.metadata_type
    reader = Reader(str(small_betons[0]))
    x, y = beton.read_all(small_betons[0])
    assert np.array_equal(y, reader.metadata[f"f{reader.field_names.index('label')}"])
    code = ("import sys; from jessl.data import beton; "
            f"n = beton.check_beton({str(small_betons[0])!r}); x, y = beton.read_all({str(small_betons[0])!r}); "
            "print(n, x.shape, sorted(m for m in sys.modules if m.split('.')[0] in ('ffcv', 'numba')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "PYTHONPATH": str(Path(beton.__file__).parents[2])})
    assert out.stdout.split() == ["320", "(320,", "16,", "16,", "3)", "[]"]


def test_loader_gives_two_different_views_of_the_same_sample(small_betons):
    loader = beton.BetonLoader(small_betons[0], 64, shuffle=True, seed=0, drop_last=True)
    images, labels = next(iter(loader))
    gen = torch.Generator().manual_seed(0)
    v1, v2 = augment.views(images, AugmentConfig(), 2, gen)
    assert v1.shape == v2.shape == (64, 3, 16, 16)
    assert not torch.allclose(v1, v2)
    # both views stay close to their own source image (same sample), far from a shuffled one
    src = augment.to_float(images)
    own = (v1 - src).abs().mean(dim=(1, 2, 3))
    other = (v1 - src.roll(1, 0)).abs().mean(dim=(1, 2, 3))
    assert (own < other).float().mean() > 0.8


def test_shuffle_order_is_seeded_per_epoch(small_betons):
    def first_labels(seed, epoch):
        loader = beton.BetonLoader(small_betons[0], 32, shuffle=True, seed=seed, drop_last=True)
        loader.set_epoch(epoch)
        return next(iter(loader))[1]

    assert torch.equal(first_labels(0, 3), first_labels(0, 3))
    assert not torch.equal(first_labels(0, 3), first_labels(0, 4))


def test_processes_read_the_parts_of_one_process_batches(small_betons):
    """Under DDP each of 2 processes at batch 16 reads half of every batch of 32 that one process reads, epoch
    by epoch (FFCV's own distributed order deals samples from another permutation)."""
    one = beton.BetonLoader(small_betons[0], 32, shuffle=True, seed=3, drop_last=True)
    parts = [beton.BetonLoader(small_betons[0], 16, shuffle=True, seed=3, drop_last=True, shard=(r, 2))
             for r in (0, 1)]
    for epoch in (0, 1):
        for loader in (one, *parts):
            loader.set_epoch(epoch)
        batches = list(zip(*(((x.clone(), y.clone()) for x, y in loader) for loader in (one, *parts)), strict=True))
        assert len(batches) == 10
        for (x, y), (x0, y0), (x1, y1) in batches:
            assert torch.equal(x, torch.cat([x0, x1])) and torch.equal(y, torch.cat([y0, y1]))
    with pytest.raises(ValueError, match="drop_last=True"):
        beton.BetonLoader(small_betons[0], 16, shard=(0, 2))


def test_augment_is_deterministic_given_the_generator():
    x = torch.from_numpy(random_images(8, 16))
    a = augment.augment(x, AugmentConfig(noise_std=0.1, flip_prob=0.5), torch.Generator().manual_seed(5))
    b = augment.augment(x, AugmentConfig(noise_std=0.1, flip_prob=0.5), torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "missing"])
def test_corrupt_beton_is_a_clear_error(tmp_path, small_betons, damage):
    path = tmp_path / "bad.beton"
    data = small_betons[1].read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 3])
    elif damage == "garbage":
        path.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(beton.BetonError, match=r"bad\.beton.*(delete it and rerun|snakemake)"):
        beton.BetonLoader(path, 16)


def test_a_sample_that_fails_is_an_error_not_a_hang(tmp_path):
    """FFCV's writer waits forever when its worker raises; write_beton reports the dataset's own error."""

    class Broken:
        def __len__(self):
            return 6

        def __getitem__(self, i):
            if i == 3:
                raise sources.DatasetMissingError("img3.jpg: cannot be read; replace it")
            return random_images(1, 8, seed=i)[0], i

    with pytest.raises(sources.DatasetMissingError, match="img3.jpg: cannot be read"):
        beton.write_beton(Broken(), tmp_path / "x.beton")
    assert not list(tmp_path.iterdir())  # nothing half-written left behind
    bad = sources.ArrayDataset(random_images(2, 8), np.zeros(2, dtype=np.int64))
    bad.images = bad.images.astype(np.float32)
    with pytest.raises(beton.BetonError, match=r"sample 0 is not an H×W×3 uint8 image \(got ndarray \(8, 8, 3\) "
                                               r"float32"):
        beton.write_beton(bad, tmp_path / "y.beton")
