"""Raw datasets in their official on-disk formats (fixtures built here, no network): what torchvision's
dataset classes read through `jessl.data.sources`, the unlabeled STL-10 split, image folders stored as
JPEG `.beton`s from a hashed manifest, and the errors for missing or damaged files."""

import json
import pickle

import fixtures_formats as ff
import numpy as np
import pytest

from jessl import provenance, stages
from jessl.config import ConfigError, DatasetConfig
from jessl.data import beton, manifest, sources


def one_line(s):
    return " ".join(s.split())


# --- CIFAR-10/100 -----------------------------------------------------------------------------------
def test_cifar10_batches_read_in_order(tmp_path):
    wrote = ff.write_cifar10(tmp_path, [3, 4, 2, 5, 1], 6)
    d = sources.load(DatasetConfig(source="cifar10", root=str(tmp_path), image_size=32))
    for split in ("train", "test"):
        assert np.array_equal(d[split].images, wrote[split][0])  # batches 1..5 in order, H×W×3
        assert np.array_equal(d[split].labels, wrote[split][1])
    assert len(d["train"]) == 15 and d["train"].images.dtype == np.uint8


def test_cifar100_reads_fine_labels(tmp_path):
    wrote = ff.write_cifar100(tmp_path, 9, 4)
    d = sources.load(DatasetConfig(source="cifar100", root=str(tmp_path), image_size=32))
    assert np.array_equal(d["train"].images, wrote["train"][0])
    assert np.array_equal(d["test"].labels, wrote["test"][1]) and d["test"].labels.max() < 100


def test_cifar_resized_to_image_size(tmp_path):
    wrote = ff.write_cifar10(tmp_path, [2, 2, 2, 2, 2], 3)
    d = sources.load(DatasetConfig(source="cifar10", root=str(tmp_path), image_size=16))
    assert np.array_equal(d["test"].images, sources.resize(wrote["test"][0], 16))


def test_raw_files_name_the_files_each_split_reads(tmp_path):
    ff.write_cifar10(tmp_path, [1] * 5, 1)
    cfg = DatasetConfig(source="cifar10", root=str(tmp_path))
    names = lambda split: [p.name for p in sources.raw_files(cfg, split)]  # noqa: E731
    assert names("train") == [f"data_batch_{i}" for i in range(1, 6)] + ["batches.meta"]
    assert names("test") == ["test_batch", "batches.meta"]
    assert names(None) == names("train") + ["test_batch"]


def test_fixture_files_are_not_the_official_bytes_yet_read(tmp_path):
    """torchvision would refuse them (official MD5s); with download=False presence is what is checked."""
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import check_integrity

    ff.write_cifar10(tmp_path, [1] * 5, 1)
    name, md5 = CIFAR10.train_list[0]
    assert not check_integrity(str(tmp_path / "cifar-10-batches-py" / name), md5)
    with pytest.raises(RuntimeError, match="not found or corrupted"):
        CIFAR10(str(tmp_path), train=True)
    assert len(sources.load(DatasetConfig(source="cifar10", root=str(tmp_path), image_size=32))["train"]) == 5
    assert sources.torchvision_class("cifar10").train_list == CIFAR10.train_list  # the class keeps the MD5s


def test_download_path_is_torchvisions_and_checks_official_md5s(tmp_path, monkeypatch):
    """With files missing and `download: true`, torchvision's own download runs (here its network call is
    replaced by a writer of non-official files): its MD5 check refuses them, as one clear line."""
    import torchvision.datasets.cifar as tv_cifar

    calls = []

    def fake_download(url, root, filename=None, md5=None, **kw):
        calls.append((url, md5))
        ff.write_cifar10(root, [1] * 5, 1)

    monkeypatch.setattr(tv_cifar, "download_and_extract_archive", fake_download)
    with pytest.raises(sources.DatasetMissingError) as err:
        sources.load(DatasetConfig(source="cifar10", root=str(tmp_path), download=True))
    assert calls == [(tv_cifar.CIFAR10.url, tv_cifar.CIFAR10.tgz_md5)]
    assert one_line(str(err.value)).startswith(f"cifar10: downloading {tv_cifar.CIFAR10.url} into {tmp_path} failed")


@pytest.mark.parametrize("source", ["cifar10", "cifar100", "stl10"])
def test_missing_files_name_root_files_and_fix(tmp_path, source):
    write = {"cifar10": lambda: ff.write_cifar10(tmp_path, [1] * 5, 1), "cifar100": lambda: ff.write_cifar100(
        tmp_path, 2, 1), "stl10": lambda: ff.write_stl10(tmp_path, 2, 1, 1)}[source]
    with pytest.raises(sources.DatasetMissingError) as err:  # nothing there
        sources.load(DatasetConfig(source=source, root=str(tmp_path)))
    msg = one_line(str(err.value))
    assert f"{source}: {tmp_path}/" in msg and "set `download: true`" in msg and f"under {tmp_path}" in msg
    write()
    gone = sources.official_files(source)[-1]
    next(tmp_path.iterdir()).joinpath(gone).unlink()
    with pytest.raises(sources.DatasetMissingError, match=rf"lacks {gone} \(expected .*\); set `download: true`"):
        sources.load(DatasetConfig(source=source, root=str(tmp_path)))


def test_truncated_cifar_batch_is_a_clear_error(tmp_path):
    ff.write_cifar10(tmp_path, [2] * 5, 2)
    batch = tmp_path / "cifar-10-batches-py" / "test_batch"
    batch.write_bytes(batch.read_bytes()[:500])
    with pytest.raises(sources.DatasetMissingError, match=r"cifar10: cannot read the test split from .*test_batch.*"
                                                          r"replace the files with the official ones"):
        sources.load(DatasetConfig(source="cifar10", root=str(tmp_path), image_size=32))


def test_cifar_labels_out_of_range(tmp_path):
    ff.write_cifar10(tmp_path, [2] * 5, 2)
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    with path.open("rb") as f:
        batch = pickle.load(f)
    batch["labels"] = [3, 10]
    with path.open("wb") as f:
        pickle.dump(batch, f, protocol=2)
    with pytest.raises(sources.DatasetMissingError, match=r"test labels outside 0\.\.9 \(found 3\.\.10\)"):
        sources.load(DatasetConfig(source="cifar10", root=str(tmp_path), image_size=32))


# --- STL-10 -----------------------------------------------------------------------------------------
def test_stl10_binary_column_major_and_labels(tmp_path):
    wrote = ff.write_stl10(tmp_path, 5, 4, 3)
    d = sources.load(DatasetConfig(source="stl10", root=str(tmp_path), image_size=96))
    assert set(d) == {"train", "test"}  # the unlabeled images are not a probe split
    for split in ("train", "test"):
        assert np.array_equal(d[split].images, wrote[split][0])
        assert np.array_equal(d[split].labels, wrote[split][1])  # 1-10 on disk → 0-9


def test_stl10_unlabeled_only_in_the_pretraining_set(tmp_path):
    wrote = ff.write_stl10(tmp_path, 5, 4, 7)
    cfg = DatasetConfig(source="stl10", root=str(tmp_path), image_size=48, unlabeled=True)
    pre = sources.load_pretrain(cfg)
    assert len(pre) == 12 and list(pre.labels) == [*wrote["train"][1], *[-1] * 7]
    x = np.stack([pre[i][0] for i in range(len(pre))])
    assert np.array_equal(x, sources.resize(np.concatenate([wrote["train"][0], wrote["unlabeled"][0]]), 48))
    d = sources.load(cfg)  # the probes' splits are those of `unlabeled: false`
    assert len(d["train"]) == 5 and len(d["test"]) == 4 and (d["train"].labels >= 0).all()
    assert [p.name for p in sources.raw_files(cfg, "pretrain")] == ["train_X.bin", "train_y.bin", "class_names.txt",
                                                                    "unlabeled_X.bin"]
    assert "unlabeled_X.bin" not in [p.name for p in sources.raw_files(cfg, "train") + sources.raw_files(cfg, "test")]
    with pytest.raises(ConfigError, match="unlabeled: true"):
        sources.load_pretrain(DatasetConfig(source="stl10", root=str(tmp_path)))


def test_stl10_pretrain_beton_has_every_image(tmp_path):
    ff.write_stl10(tmp_path / "raw", 3, 2, 4)
    cfg = DatasetConfig(source="stl10", root=str(tmp_path / "raw"), image_size=32, unlabeled=True)
    stages.convert_pretrain(dataset="stl10", cfg=cfg, out=tmp_path / "pretrain.beton")
    x, y = beton.read_all(tmp_path / "pretrain.beton")
    assert x.shape == (7, 32, 32, 3) and (y < 0).sum() == 4
    rec = provenance.read_record(tmp_path / "pretrain.beton")
    assert rec["params"]["split"] == "pretrain" and rec["metrics"] == {"samples": 7, "unlabeled": 4}
    assert any(k.endswith("unlabeled_X.bin") for k in rec["inputs"])


def test_stl10_labels_and_images_disagree(tmp_path):
    ff.write_stl10(tmp_path, 4, 2, 1)
    (tmp_path / "stl10_binary" / "train_y.bin").write_bytes(bytes([1, 2, 3]))
    with pytest.raises(sources.DatasetMissingError, match=r"has 4 train images but 3 labels"):
        sources.load(DatasetConfig(source="stl10", root=str(tmp_path), image_size=96))


def test_stl10_bin_of_the_wrong_size(tmp_path):
    ff.write_stl10(tmp_path, 2, 2, 1)
    path = tmp_path / "stl10_binary" / "test_X.bin"
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(sources.DatasetMissingError, match=r"stl10: cannot read the test split .*test_X\.bin"):
        sources.load(DatasetConfig(source="stl10", root=str(tmp_path), image_size=96))


@pytest.mark.parametrize(("kw", "msg"), [
    ({"source": "cifar10", "unlabeled": True}, "only STL-10 has an unlabeled split"),
    ({"source": "stl10", "unlabeled": True, "classes": [1, 2]}, "cannot select them"),
    ({"source": "cifar10", "max_resolution": 64}, "max_resolution: only image folders are stored as JPEG"),
    ({"source": "digits", "jpeg_quality": 80}, "jpeg_quality: only image folders"),
    ({"source": "folder", "root": "x", "image_size": 128, "max_resolution": 96}, "below image_size 128"),
])
def test_source_specific_keys(kw, msg):
    with pytest.raises(ValueError, match=msg):
        DatasetConfig(**kw)


def test_new_keys_leave_other_datasets_params_alone():
    assert set(DatasetConfig().data_params()) == {"source", "root", "download", "image_size", "test_fraction",
                                                  "split_seed", "classes"}
    folder = DatasetConfig(source="folder", root="x")
    assert (folder.max_resolution, folder.jpeg_quality) == (256, 90)
    assert DatasetConfig(**folder.data_params()) == folder


# --- image folders ----------------------------------------------------------------------------------
@pytest.fixture
def folder(tmp_path):
    (tmp_path / "params.yaml").write_text("{}\n")  # the project root of the records
    wrote = ff.write_image_folder(tmp_path / "raw")
    return tmp_path, wrote


def _convert_folder(root, **kw):
    cfg = DatasetConfig(source="folder", root=str(root / "raw"), image_size=32, **kw)
    out = root / "data"
    stages.manifest(dataset="pets", cfg=cfg, out=out / "manifest.json")
    stages.convert(dataset="pets", cfg=cfg, train_out=out / "train.beton", test_out=out / "test.beton",
                   manifest=out / "manifest.json")
    return cfg, out


def test_image_folder_read_like_imagefolder(folder):
    root, wrote = folder
    d = sources.load(DatasetConfig(source="folder", root=str(root / "raw")))
    for split, key in (("train", "train"), ("test", "val")):
        assert [p.relative_to(root / "raw").as_posix() for p in d[split].files] == wrote[key][0]
        assert np.array_equal(d[split].labels, wrote[key][1])
    img, label = d["train"][2]
    assert img.shape == (*ff.FOLDER_SIZES[2], 3) and label == 0  # read at its own size


def test_manifest_lists_sorted_paths_with_hashes(folder):
    root, wrote = folder
    _, out = _convert_folder(root)
    m = json.loads((out / "manifest.json").read_text())
    paths = [e["path"] for e in m["files"]]
    assert paths == sorted(wrote["train"][0] + wrote["val"][0]) and m["classes"] == ["cat", "dog", "owl"]
    e = m["files"][0]
    assert e["sha256"] == provenance.sha256(root / "raw" / e["path"]) and e["split"] == "train"


def test_folder_beton_is_jpeg_with_max_side_and_deterministic(folder):
    from ffcv.reader import Reader

    root, wrote = folder
    cfg, out = _convert_folder(root, max_resolution=64, jpeg_quality=85)
    first = (out / "train.beton").read_bytes()
    stages.convert(dataset="pets", cfg=cfg, train_out=out / "again.beton", test_out=out / "again_test.beton",
                   manifest=out / "manifest.json")
    assert (out / "again.beton").read_bytes() == first  # one writer: the same bytes
    reader = Reader(str(out / "train.beton"))
    meta = reader.metadata[f"f{reader.field_names.index('image')}"]
    assert (meta["mode"] == 0).all()  # JPEG
    sides = sorted({(int(h), int(w)) for h, w in zip(meta["height"], meta["width"], strict=True)})
    assert max(max(s) for s in sides) == 64 and (64, 42) in sides  # 300×200 → 64×42 (aspect kept)
    assert (40, 60) in sides  # smaller images are stored as they are
    rec = provenance.read_record(out / "train.beton")
    assert list(rec["inputs"]) == ["data/manifest.json"] and rec["params"]["max_resolution"] == 64


def test_folder_beton_decodes_to_image_size_centre_crops(folder):
    root, wrote = folder
    _, out = _convert_folder(root)
    x, y = beton.read_all(out / "test.beton")
    assert x.shape == (9, 32, 32, 3) and np.array_equal(y, wrote["val"][1])
    d = sources.load(DatasetConfig(source="folder", root=str(root / "raw")))
    expected = np.stack([sources.resize(d["test"][i][0][None], 32)[0] for i in range(9)])
    assert np.abs(x.astype(int) - expected).mean() < 6  # JPEG and FFCV's resampling, not another crop or axis
    batches = list(beton.BetonLoader(out / "train.beton", batch_size=4))
    assert batches[0][0].shape == (4, 32, 32, 3) and sum(len(b[1]) for b in batches) == 9


def test_tampered_jpeg_fails_the_audit_and_the_convert(folder):
    root, wrote = folder
    cfg, out = _convert_folder(root)
    node = provenance.audit(out / "train.beton", allow_dirty=True)
    assert node.ok, provenance.format_tree(node)
    victim = root / "raw" / wrote["val"][0][4]
    victim.write_bytes(victim.read_bytes()[:-3] + b"\x00\x00\x00")
    node = provenance.audit(out / "test.beton", allow_dirty=True)
    assert not node.ok
    text = provenance.format_tree(node)
    assert f"1 of its 18 image(s) under {root / 'raw'} changed since the manifest was written" in text
    assert wrote["val"][0][4] in text
    with pytest.raises(sources.DatasetMissingError, match=r"changed since its folder's manifest was written"):
        stages.convert(dataset="pets", cfg=cfg, train_out=out / "t.beton", test_out=out / "u.beton",
                       manifest=out / "manifest.json")
    victim.unlink()
    assert "1 of its 18 image(s)" in provenance.format_tree(provenance.audit(out / "test.beton", allow_dirty=True))


def test_manifest_of_another_root_is_refused(folder):
    root, _ = folder
    _, out = _convert_folder(root)
    other = DatasetConfig(source="folder", root=str(root / "elsewhere"), image_size=32)
    with pytest.raises(manifest.ManifestError, match=r"lists the files of root .*raw', not .*elsewhere'"):
        manifest.splits(out / "manifest.json", other)
