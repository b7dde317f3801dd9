import hashlib
import pickle
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


def _fake_cifar(root, n_per_batch=20):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8),
                 b"labels": list(rng.integers(0, 10, n_per_batch))}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    return folder


def test_cifar_reads_the_official_pickle_format(tmp_path):
    folder = _fake_cifar(tmp_path)
    d = sources.load(DatasetConfig(source="cifar10", root=str(tmp_path), image_size=32))
    assert len(d["train"]) == 100 and len(d["test"]) == 20
    with open(folder / "test_batch", "rb") as f:
        raw = pickle.load(f, encoding="bytes")
    # channel-major rows → H×W×3: pixel (0,0) of image 0 is bytes 0, 1024, 2048
    assert list(d["test"].images[0, 0, 0]) == [raw[b"data"][0, 0], raw[b"data"][0, 1024], raw[b"data"][0, 2048]]
    assert sources.raw_files(DatasetConfig(source="cifar10", root=str(tmp_path)))


def test_missing_dataset_says_how_to_get_it(tmp_path):
    with pytest.raises(sources.DatasetMissingError, match="download: true"):
        sources.load(DatasetConfig(source="cifar10", root=str(tmp_path)))


def test_stl10_reads_the_official_binary_format(tmp_path):
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    x = random_images(6, 96).transpose(0, 3, 2, 1)  # STL stores column-major C×W×H
    for split in ("train", "test"):
        x.tofile(folder / f"{split}_X.bin")
        np.array([1, 2, 3, 10, 5, 6], dtype=np.uint8).tofile(folder / f"{split}_y.bin")
    d = sources.load(DatasetConfig(source="stl10", root=str(tmp_path), image_size=96))
    assert np.array_equal(d["train"].images, random_images(6, 96))
    assert list(d["test"].labels) == [0, 1, 2, 9, 4, 5]


def test_image_folder_tree(tmp_path):
    from PIL import Image

    for split in ("train", "val"):
        for c in ("cat", "dog"):
            (tmp_path / split / c).mkdir(parents=True)
            for i, img in enumerate(random_images(3, 20, seed=len(c))):
                Image.fromarray(img).save(tmp_path / split / c / f"{i}.png")
    d = sources.load(DatasetConfig(source="folder", root=str(tmp_path), image_size=16))
    assert len(d["train"]) == 6 and list(d["test"].labels) == [0, 0, 0, 1, 1, 1]
    img, label = d["train"][0]
    assert img.shape == (16, 16, 3) and label == 0
