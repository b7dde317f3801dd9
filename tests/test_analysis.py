"""Evaluations whose answer is known (spectra, probes, transfer hygiene), the new datasets, tables and figures."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import scored_entry
from jessl import checkpoint
from jessl.config import ConfigError, DatasetConfig, EvaluateConfig, validate
from jessl.data import sources
from jessl.evaluate import run as evaluation
from jessl.evaluate.knn import knn_top1
from jessl.evaluate.linear_probe import fraction_indices, linear_probe
from jessl.evaluate.spectrum import collapsed_dims, eigenvalues, rankme, summary
from jessl.models import Encoder
from jessl.report import figures, tables


def test_rank_r_embedding_has_rankme_r_and_d_minus_r_collapsed_dimensions():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    basis = q[:, :5]  # 5 orthonormal directions in 16-d
    z = rng.normal(size=(2000, 5)) @ basis.T
    eigs = eigenvalues(z)
    assert np.all(np.diff(eigs) <= 1e-12) and collapsed_dims(eigs) == 11
    s = summary(z)
    assert s["dim"] == 16 and s["collapsed"] == 11 and len(s["eigenvalues"]) == 16
    white = np.linalg.svd(rng.normal(size=(500, 5)), full_matrices=False)[0] @ basis.T  # equal singular values
    assert rankme(white) == pytest.approx(5, rel=1e-4)
    assert collapsed_dims(np.zeros(4)) == 4  # a fully collapsed embedding


def test_probes_on_separable_clusters_and_on_random_labels():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 8)) * 10
    y = np.repeat(np.arange(4), 100)
    x = centres[y] + rng.normal(size=(400, 8))
    idx = rng.permutation(400)
    tr, te = idx[:300], idx[300:]
    assert linear_probe(x[tr], y[tr], x[te], y[te]) == 100.0
    assert knn_top1(x[tr], y[tr], x[te], y[te], k=10) == 100.0
    noise = rng.integers(0, 4, 400)
    assert abs(linear_probe(x[tr], noise[tr], x[te], noise[te]) - 25) < 15
    assert abs(knn_top1(x[tr], noise[tr], x[te], noise[te], k=10) - 25) < 15


def test_label_fractions_are_stratified_and_seeded():
    y = np.repeat(np.arange(5), 200)
    idx = fraction_indices(y, 10, seed=0)
    assert np.bincount(y[idx]).tolist() == [20] * 5
    assert np.array_equal(idx, fraction_indices(y, 10, seed=0)) and len(fraction_indices(y, 0.1, seed=0)) == 5


@pytest.fixture
def trained_checkpoint(tmp_path):
    torch.manual_seed(0)
    enc = Encoder("resnet_tiny", [16, 8])
    run = validate({"datasets": {"digits": {}}, "methods": {"simclr": {}}, "model": {"projector": [16, 8]}})
    path = tmp_path / "final.pt"
    checkpoint.save_final(path, arch="resnet_tiny", backbone=enc.backbone, projector=enc.projector,
                          run=run.run_config("simclr").to_params(), seed=0, history=[1.0])
    return path


def test_evaluation_never_changes_the_backbone_and_fits_on_the_train_split_only(trained_checkpoint, small_betons,
                                                                              monkeypatch):
    from sklearn.linear_model import LogisticRegression

    seen = {}
    real_load = evaluation.load_backbone

    def load(path, arch=None):
        seen["backbone"] = real_load(path, arch)
        seen["before"] = {k: v.clone() for k, v in seen["backbone"].state_dict().items()}
        return seen["backbone"]

    fitted_labels = []
    real_fit = LogisticRegression.fit

    def fit(self, x, y, *a, **kw):
        fitted_labels.append(np.asarray(y).copy())
        return real_fit(self, x, y, *a, **kw)

    monkeypatch.setattr(evaluation, "load_backbone", load)
    monkeypatch.setattr(LogisticRegression, "fit", fit)
    from jessl.data import beton

    # a test split whose labels no training sample has: a probe fitted on it would reveal them
    test_images, test_labels = beton.read_all(small_betons[1])
    shifted = trained_checkpoint.parent / "test_shifted.beton"
    beton.write_beton(sources.ArrayDataset(test_images, test_labels + 100), shifted)
    cfg = EvaluateConfig(few_shot_repeats=2, label_fractions=[10])
    metrics, _, spectrum = evaluation.evaluate(small_betons[0], shifted, trained_checkpoint, cfg, spectrum=True)
    after = seen["backbone"].state_dict()
    assert all(torch.equal(after[k], v) for k, v in seen["before"].items())  # bit-identical, BN stats included
    train_labels = beton.read_all(small_betons[0])[1]
    assert len(fitted_labels) == 1 + 2 + 1  # linear, the few-label draws, one label fraction
    assert all(y.max() < 100 for y in fitted_labels)  # no fit ever saw a test label
    assert sum(np.array_equal(y, train_labels) for y in fitted_labels) == 1  # the all-label linear probe
    assert metrics["linear_top1"] == metrics["knn_top1"] == 0.0  # test labels are scored, never learnt
    assert set(metrics) >= {"linear_top1", "fewshot_top1", "knn_top1", "rankme", "linear_10pct_top1"}
    assert spectrum["features"]["dim"] == 64 and spectrum["projector"]["dim"] == 8
    assert len(spectrum["projector"]["eigenvalues"]) == 8


def test_mnist5k_split_is_fixed_and_stratified():
    a = sources.load(DatasetConfig(source="mnist5k"))
    b = sources.load(DatasetConfig(source="mnist5k"))
    assert len(a["train"]) == 4000 and len(a["test"]) == 1000
    assert np.array_equal(a["test"].images, b["test"].images) and np.array_equal(a["test"].labels, b["test"].labels)
    ratio = np.bincount(a["test"].labels, minlength=10) / np.bincount(a["train"].labels, minlength=10)
    assert np.allclose(ratio, 0.25, atol=0.01)  # every class split 80/20
    assert a["train"].images.shape[1:] == (16, 16, 3) and a["train"].images.dtype == np.uint8
    assert sources.raw_files(DatasetConfig(source="mnist5k"))[0].name == "mnist_5k.csv.gz"


def test_class_subsets_of_one_source_partition_its_split(digits_splits):
    low = sources.load(DatasetConfig(classes=[0, 1, 2, 3, 4]))
    high = sources.load(DatasetConfig(classes=[5, 6, 7, 8, 9]))
    assert set(low["train"].labels) == {0, 1, 2, 3, 4} and set(high["test"].labels) == {5, 6, 7, 8, 9}
    assert len(low["test"]) + len(high["test"]) == len(digits_splits["test"])
    both = np.concatenate([low["test"].images, high["test"].images])
    assert {x.tobytes() for x in both} == {x.tobytes() for x in digits_splits["test"].images}
    with pytest.raises(sources.DatasetMissingError, match=r"classes \[11\] have no samples"):
        sources.load(DatasetConfig(classes=[1, 11]))


def test_transfer_and_convergence_config_errors():
    base = {"datasets": {"a": {}, "b": {"source": "mnist5k", "role": "target"}}, "methods": {"simclr": {}},
            "transfer": {"a": ["b"]}}
    assert validate({**base, "transfer": {"a": ["b"]}}).transfer_pairs == [("a", "b")]
    for transfer, msg in [({"b": ["a"]}, "transfer.b: not a dataset that is pretrained on"),
                          ({"a": ["a"]}, "target 'a' must be another dataset"),
                          ({"a": ["c"]}, "target 'c' must be another dataset"),
                          ({"a": ["b", "b"]}, "listed twice")]:
        with pytest.raises(ConfigError, match=msg):
            validate({**base, "transfer": transfer})
    with pytest.raises(ConfigError, match="none has role main"):
        validate({"datasets": {"a": {"role": "source"}}, "methods": {"simclr": {}}})
    for keep in ([0], [100], [50, 50]):
        with pytest.raises(ConfigError, match="pretrain.keep_epochs"):
            validate({**base, "pretrain": {"keep_epochs": keep}})
    with pytest.raises(ConfigError, match="evaluate.label_fractions"):
        validate({**base, "evaluate": {"label_fractions": [100]}})
    p = validate({**base, "pretrain": {"keep_epochs": [75, 25], "epochs": 12}})
    assert p.pretrain.keep_epochs == [25, 75] and "keep_epochs" not in p.run_config("simclr").to_params()["pretrain"]
    assert [checkpoint.kept_epoch(q, 12) for q in (25, 50, 75)] == [3, 6, 9]


def entry(method, dataset, seed=0, source=None, **metrics):
    e = scored_entry(method, seed, dataset, epochs=4, loss=method,
                     metrics={"linear_top1": 90.0, "fewshot_top1": 80.0, "knn_top1": 85.0, "rankme": 5.0, **metrics})
    return {**e, "source": source} if source else e


def test_transfer_table_has_a_row_per_method_and_columns_per_pair():
    entries = [entry("simclr", "mnist5k", source="digits", knn_top1=70.0),
               entry("simclr", "mnist5k", seed=1, source="digits", knn_top1=80.0),
               entry("random_init", "mnist5k", source="digits"), entry("simclr", "d59", source="d04")]
    rows = tables.transfer_rows(entries, order=["random_init", "simclr"])
    assert [r["method"] for r in rows] == ["random_init", "simclr"]
    assert rows[1]["digits_to_mnist5k_knn_top1"] == 75.0 and rows[1]["seeds"] == "0;1"
    assert rows[1]["digits_to_mnist5k_knn_top1_low"] < 75.0 < rows[1]["digits_to_mnist5k_knn_top1_high"]
    assert "d04_to_d59_knn_top1" not in rows[0]
    csv_text = tables.transfer_csv(rows)
    assert csv_text.splitlines()[0].startswith("method,d04_to_d59_linear_top1,d04_to_d59_linear_top1_low,")
    md = tables.transfer_markdown(rows)
    simclr = [line for line in md.splitlines() if line.startswith("| simclr |")][0].split(" | ")
    assert simclr[1].startswith("90.00 [") and simclr[-1].startswith("75.00 [") and "digits → mnist5k k-NN %" in md


def test_spectrum_and_convergence_tables():
    spec = {"dim": 4, "rankme": 2.5, "collapsed": 1, "eigenvalues": [1.0, 0.5, 0.1, 0.0]}
    rows = tables.spectrum_rows([{"dataset": "d", "method": "m", "seed": 0, "features": spec, "projector": None}])
    assert rows[0]["features_collapsed"] == 1 and rows[0]["projector_dim"] == ""
    assert rows[0]["features_rankme_low"] == rows[0]["features_rankme_high"] == 2.5  # one seed: no interval
    two = tables.spectrum_rows([{"dataset": "d", "method": "m", "seed": s, "features": {**spec, "rankme": r},
                                 "projector": None} for s, r in ((0, 2.0), (1, 3.0))])
    assert two[0]["features_rankme"] == 2.5 and two[0]["features_rankme_low"] < 2.0
    kept = [{**entry("m", "d", seed=s), "pct": 50, "epochs": 2} for s in (0, 1)]
    rows = tables.convergence_rows(kept, [entry("m", "d", seed=s) for s in (0, 1)] + [entry("random_init", "d")])
    assert [(r["pct"], r["epoch"], r["seeds"]) for r in rows] == [(50, 2, "0;1"), (100, 4, "0;1")]
    assert rows[0]["linear_top1_low"] < rows[0]["linear_top1"] == 90.0 < rows[0]["linear_top1_high"]
    assert tables.untrained([entry("random_init", "d")])["d"]["knn_top1"]["mean"] == 85.0


def _non_trivial_png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert img.shape[0] > 200 and img.shape[1] > 300
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 20 and (img < 250).mean() > 0.02  # drawn, not blank


def test_every_figure_is_a_non_trivial_png(tmp_path):
    rows = tables.build_rows([entry("simclr", "digits"), entry("random_init", "digits")], ["random_init", "simclr"])
    figures.accuracy_bars(rows, tmp_path / "accuracy.png")
    figures.loss_curves({"digits/simclr": {"seed 0": [3.0, 2.0, 1.5], "seed 1": [3.1, 2.2, 1.4]}},
                        tmp_path / "loss.png")
    conv = tables.convergence_rows([{**entry("simclr", "digits", linear_top1=80.0, fewshot_top1=60.0, knn_top1=70.0),
                                     "pct": 50, "epochs": 2}], [entry("simclr", "digits")])
    figures.convergence(conv, tmp_path / "convergence.png",
                        tables.untrained([entry("random_init", "digits", linear_top1=50.0)]))
    rng = np.random.default_rng(0)
    spec = [{"dataset": "digits", "method": m, "seed": 0, "features": summary(rng.normal(size=(100, 8)) * s),
             "projector": summary(rng.normal(size=(100, 6)))} for m, s in (("simclr", 1.0), ("byol", 0.5))]
    figures.spectrum(spec, tmp_path / "spectrum.png")
    figures.transfer_bars(tables.transfer_rows([entry("simclr", "mnist5k", source="digits")]), tmp_path / "tr.png")
    for png in ("accuracy.png", "loss.png", "convergence.png", "spectrum.png", "tr.png"):
        _non_trivial_png(tmp_path / png)
