"""Bad inputs a hurried user really makes: each is refused with one line that names the file or key,
the problem and the fix, and leaves every existing output as it was."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import ROOT, random_images, scored_entry, tool_env
from jessl import io as jio
from jessl import stages
from jessl.config import ConfigError, load, validate
from jessl.data import beton, sources
from jessl.evaluate.knn import knn_top1
from jessl.evaluate.linear_probe import few_label_indices, linear_probe
from jessl.methods import registry
from jessl.report import tables

BASE = {"datasets": {"digits": {}}, "methods": {"simclr": {}, "vicreg": {}}}


def with_(**over):
    return {**BASE, **over}


def one_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    return lines[0]


def cli_check(path: Path) -> subprocess.CompletedProcess:
    env = {**tool_env(), "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "jessl.cli", "check", str(path)], capture_output=True, text=True,
                          env=env, cwd=path.parent if path.parent.exists() else None, timeout=120)


def config_problem(data) -> str:
    """The one problem line of a rejected config."""
    with pytest.raises(ConfigError) as err:
        validate(data)
    lines = str(err.value).splitlines()
    assert lines[0] == "params.yaml: invalid configuration (1 problem(s)):", str(err.value)
    assert len(lines) == 2, str(err.value)
    return lines[1]


class TestConfig:
    DUPLICATE = "datasets:\n  digits: {}\nmethods:\n  simclr:\n    hparams: {temperature: 0.5}\n  vicreg:\n" \
                "  simclr:\n    hparams: {temperature: 0.1}\n"

    def test_duplicate_key_is_refused_with_both_lines(self, tmp_path):
        path = tmp_path / "params.yaml"
        path.write_text(self.DUPLICATE)
        assert yaml.safe_load(self.DUPLICATE)["methods"]["simclr"]["hparams"]["temperature"] == 0.1  # YAML: last wins
        with pytest.raises(ConfigError) as err:
            load(path)
        assert one_line(str(err.value)) == f"{path}, line 7: key 'simclr' appears twice (first on line 4); keep one"
        assert path.read_text() == self.DUPLICATE

    def test_same_key_in_different_mappings_is_fine(self, tmp_path):
        path = tmp_path / "params.yaml"
        path.write_text("datasets:\n  digits: {}\nmethods:\n  simclr:\n    hparams: {temperature: 0.5}\n"
                        "  simclr_abs:\n    hparams: {temperature: 0.5}\n")
        assert set(load(path).methods) == {"simclr", "simclr_abs"}

    @pytest.mark.parametrize(
        "text, needle",
        [
            ("datasets:\n  digits: {}\nmethods:\n  simclr: {}\n vicreg: {}\n", r"line 5, column 2: YAML syntax error"),
            ("datasets:\n  digits: {}\nmethods: [simclr,\n", r"line 4, column 1: YAML syntax error"),
            ("datasets:\n\tdigits: {}\n", r"line 2, column 1: YAML syntax error: .*not tabs; replace the tab"),
        ],
        ids=["indent", "unclosed", "tab"],
    )
    def test_yaml_syntax_error_is_one_line_with_line_and_column(self, tmp_path, text, needle):
        path = tmp_path / "params.yaml"
        path.write_text(text)
        with pytest.raises(ConfigError) as err:
            load(path)
        msg = one_line(str(err.value))
        assert msg.startswith(f"{path}, line ") and re.search(needle, msg), msg

    @pytest.mark.parametrize("kind", ["duplicate", "syntax", "directory", "binary", "latin1"])
    def test_cli_check_says_one_line_and_fails(self, tmp_path, kind):
        path = tmp_path / "params.yaml"
        if kind == "duplicate":
            path.write_text(self.DUPLICATE)
            needle = "line 7: key 'simclr' appears twice (first on line 4); keep one"
        elif kind == "syntax":
            path.write_text("datasets: {digits: {}\nmethods: {}\n")
            needle = "YAML syntax error"
        elif kind == "directory":
            path.mkdir()
            needle = "is a directory, not a params file; pass a YAML file"
        elif kind == "binary":
            path.write_bytes(bytes(range(256)) * 4)
            needle = "not a UTF-8 text file"
        else:
            path.write_bytes("datasets:\n  d\xefgits: {}\n".encode("latin-1"))
            needle = "not a UTF-8 text file (byte 0xef at offset 13)"
        before = path.read_bytes() if path.is_file() else None
        out = cli_check(path)
        assert out.returncode == 1, out
        msg = one_line(out.stderr)
        assert msg.startswith(str(path)) and needle in msg, msg
        assert "Traceback" not in out.stderr and out.stdout == ""
        assert (path.read_bytes() if path.is_file() else None) == before

    def test_snakemake_stops_on_a_duplicate_key(self, tmp_path):
        for part in ("Snakefile", "workflow", "src", "envs"):
            src = ROOT / part
            if src.is_dir():
                shutil.copytree(src, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
            elif src.exists():
                shutil.copy(src, tmp_path / part)
        dup = "  simclr:\n    hparams: {temperature: 0.1}\n  dcl:"
        text = re.sub(r"^  dcl:", dup, (ROOT / "params.yaml").read_text(), count=1, flags=re.M)  # the table row
        (tmp_path / "params.yaml").write_text(text)
        out = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1"], cwd=tmp_path,
                             capture_output=True, text=True, env=tool_env(), timeout=300)
        said = out.stdout + out.stderr
        assert out.returncode != 0
        assert re.search(r"params\.yaml, line \d+: key .simclr. appears twice \(first on line \d+\)", said), said[-999:]
        assert not (tmp_path / "data").exists() and not (tmp_path / "results").exists()

    @pytest.mark.parametrize("bad", ["simclr+x", "simclr(0.1)", "simclr/a", "simclr 2", "vicreg.exp"])
    def test_row_names_the_dag_cannot_match_are_refused(self, bad):
        line = config_problem(with_(methods={"simclr": {}, bad: {"loss": "vicreg", "lr": 0.5}}))
        assert f"methods: name {bad!r} may only use letters, digits and _" in line
        assert "rename it, e.g. '" in line

    def test_dataset_names_are_checked_too(self):
        line = config_problem(with_(datasets={"digits-16/x": {}}))
        assert line.startswith("  - datasets: name 'digits-16/x'") and "'digits_16_x'" in line

    def test_names_that_prefix_each_other_are_fine_and_the_wildcards_tell_them_apart(self):
        p = validate(with_(methods={"simclr": {}, "simclr_1neg": {"loss": "simclr", "hparams": {"num_negatives": 1}}}))
        pattern = re.compile(r"results/eval/(?P<method>" + "|".join(p.runs) + r")/seed(?P<seed>\d+)/metrics\.json")
        for run in p.runs:
            m = pattern.fullmatch(f"results/eval/{run}/seed0/metrics.json")
            assert m and m["method"] == run

    @pytest.mark.parametrize("seeds, needle", [([0, 1, 0], "seed 0 is listed twice"), ([1, -2], "seed -2 is negative")])
    def test_bad_seeds(self, seeds, needle):
        line = config_problem(with_(seeds=seeds))
        assert line.startswith("  - seeds: ") and needle in line

    @pytest.mark.parametrize("seeds, needle", [([0, 1, 0], "seed 0 is listed twice"), ([1, -2], "seed -2 is negative")])
    def test_bad_claim_seeds(self, seeds, needle):
        """The claims' seeds are samples of the verdicts' intervals: one listed twice would count twice."""
        p = yaml.safe_load((ROOT / "params.yaml").read_text())
        p["claims"]["seeds"] = seeds
        line = config_problem(p)
        assert line.startswith("  - claims.seeds: ") and needle in line

    def test_the_duality_pair_names_two_different_rows(self):
        p = yaml.safe_load((ROOT / "params.yaml").read_text())
        p["claims"]["duality"]["pair"] = ["simclr", "simclr"]
        assert "must be two different rows of claims.duality.sweeps" in config_problem(p)

    def test_zero_width_projector_layer(self):
        line = config_problem(with_(model={"projector": [128, 0]}))
        assert "model.projector: every layer width must be >= 1, got [128, 0]" in line

    @pytest.mark.parametrize("section, key", [("pretrain", "batch_size"), ("pretrain", "checkpoint_every"),
                                              ("evaluate", "knn_k"), ("evaluate", "batch_size"),
                                              ("evaluate", "few_shot_per_class"), ("model", "predictor_hidden")])
    def test_other_sizes_cannot_be_zero(self, section, key):
        assert config_problem(with_(**{section: {key: 0}})).startswith(f"  - {section}.{key}: ")

    def test_target_ema_on_a_method_without_target(self):
        line = config_problem(with_(methods={"simclr": {"target_ema": 0.9}}))
        assert "methods.simclr.target_ema: 'simclr' has no target network" in line and "remove it" in line
        line = config_problem(with_(methods={"fast": {"loss": "ssl_hsic_notarget", "target_ema": 0.99}}))
        assert line.startswith("  - methods.fast.target_ema: 'ssl_hsic_notarget' has no target network")
        p = validate(with_(methods={"byol": {"target_ema": 0.9}, "hsic": {"loss": "ssl_hsic", "target_ema": 0.9}}))
        assert p.methods["byol"].target_ema == 0.9

    def test_zero_epochs_make_an_untrained_row(self):
        line = config_problem(with_(methods={"simclr": {"epochs": 0}, "vicreg": {}}))
        assert line.startswith("  - methods.simclr.epochs: 0 epochs leaves methods.simclr untrained")
        line = config_problem(with_(pretrain={"epochs": 0}))
        assert line.startswith("  - pretrain.epochs: 0 epochs leaves methods.simclr untrained")
        assert validate(with_(pretrain={"epochs": 0}, methods={"simclr": {"epochs": 2}})).runs[-1] == "simclr"

    @pytest.mark.parametrize("alias", [{"loss": "simclr"}, {"loss": "simclr", "hparams": {"temperature": None}}],
                             ids=["defaults", "explicit-default"])
    def test_alias_row_identical_to_another_row(self, alias):
        if "hparams" in alias:  # the loss's own default, written out
            alias = {**alias, "hparams": {"temperature": registry.get("simclr").hparams["temperature"]}}
        line = config_problem(with_(methods={"simclr": {}, "simclr_copy": alias}))
        assert line == ("  - methods.simclr_copy is the same run as methods.simclr (loss 'simclr', same hparams and "
                        "overrides); remove one or change its hparams")

    @pytest.mark.parametrize("diff", [{"hparams": {"temperature": 0.2}}, {"lr": 0.1}, {"epochs": 3}])
    def test_alias_rows_that_differ_are_fine(self, diff):
        p = validate(with_(methods={"simclr": {}, "simclr_b": {"loss": "simclr", **diff}}))
        assert list(p.methods) == ["simclr", "simclr_b"]


def _cut(src: Path, dest: Path, drop: int) -> Path:
    data = src.read_bytes()
    dest.write_bytes(data[: len(data) - drop])
    return dest


class TestData:
    @pytest.mark.parametrize("drop", [1, 24, 24 * 40 + 5, 24 * 320 + 1000], ids=["1B", "1row", "40rows", "into-data"])
    def test_train_beton_cut_at_its_tail(self, tmp_path, small_betons, drop):
        (tmp_path / "data" / "x").mkdir(parents=True)
        path = _cut(small_betons[0], tmp_path / "data" / "x" / "train.beton", drop)
        size, full = path.stat().st_size, small_betons[0].stat().st_size
        with pytest.raises(beton.BetonError) as err:
            beton.check_beton(path)
        msg = one_line(str(err.value))
        m = re.fullmatch(rf"{re.escape(str(path))}: truncated \((\d+) bytes, expected >= (\d+)\); delete it and "
                         r"rerun `snakemake` to rebuild it", msg)
        assert m, msg
        assert (int(m[1]), int(m[2])) == (size, full)  # the header and metadata say how long the file must be
        assert path.stat().st_size == size  # left for the user to delete

    def test_test_beton_cut_at_its_tail_is_no_key_error(self, tmp_path, small_betons):
        path = _cut(small_betons[1], tmp_path / "test.beton", 24 * 3)
        with pytest.raises(beton.BetonError, match=r"test\.beton: truncated \(\d+ bytes, expected >= \d+\)"):
            beton.read_all(path)

    def test_intact_betons_still_pass(self, small_betons):
        assert beton.check_beton(small_betons[0]) == 320 and beton.check_beton(small_betons[1]) == 100

    def test_empty_split_is_not_written(self, tmp_path):
        out = tmp_path / "test.beton"
        empty = sources.ArrayDataset(random_images(0, 16), np.zeros(0, dtype=np.int64))
        with pytest.raises(beton.BetonError, match=r"test\.beton: nothing to write \(the split is empty\)"):
            beton.write_beton(empty, out)
        assert not out.exists() and not list(tmp_path.iterdir())

    @staticmethod
    def _records(tmp_path, train_params=None, test_params=None, missing=None):
        base = {"dataset": "digits", "source": "digits", "root": None, "download": False, "image_size": 16,
                "test_fraction": 0.2, "split_seed": 0}
        paths = []
        for split, extra in (("train", train_params), ("test", test_params)):
            path = tmp_path / split / f"{split}.beton"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
            if split != missing:
                rec = {"stage": "convert", "params": {**base, "split": split, **(extra or {})}}
                Path(f"{path}.run.json").write_text(json.dumps(rec))
            paths.append(path)
        return paths

    def test_check_pair_accepts_a_matching_pair(self, tmp_path):
        train, test = self._records(tmp_path, test_params={"download": True})
        assert beton.check_pair(train, test) is None

    @pytest.mark.parametrize(
        "train_params, test_params, needle",
        [
            (None, {"dataset": "cifar10", "source": "cifar10"}, "dataset: 'digits' vs 'cifar10'; source: 'digits'"),
            (None, {"image_size": 32}, "image_size: 16 vs 32"),
            ({"split_seed": 1}, None, "split_seed: 1 vs 0"),
        ],
        ids=["dataset", "resolution", "split_seed"],
    )
    def test_check_pair_refuses_mismatched_files(self, tmp_path, train_params, test_params, needle):
        train, test = self._records(tmp_path, train_params, test_params)
        with pytest.raises(beton.BetonError) as err:
            beton.check_pair(train, test)
        msg = one_line(str(err.value))
        assert msg.startswith(f"{train} and {test} come from different data (") and needle in msg
        assert msg.endswith("delete both and rerun `snakemake` to rebuild them from one dataset")

    @pytest.mark.parametrize("missing", ["train", "test"])
    def test_check_pair_needs_both_records(self, tmp_path, missing):
        train, test = self._records(tmp_path, missing=missing)
        path = train if missing == "train" else test
        with pytest.raises(beton.BetonError, match=rf"^{re.escape(str(path))}: no run record \({path.name}\.run"
                                                   r"\.json\).*delete both and rerun"):
            beton.check_pair(train, test)

    def test_check_pair_refuses_swapped_files(self, tmp_path):
        train, test = self._records(tmp_path)
        with pytest.raises(beton.BetonError, match=r"its run record says it is the 'test' split, not 'train'"):
            beton.check_pair(test, train)

    def test_split_too_small_for_the_classes_names_test_fraction(self):
        with pytest.raises(ConfigError) as err:
            sources.load(sources.DatasetConfig(image_size=8, test_fraction=0.001))
        msg = one_line(str(err.value))
        assert msg == ("digits: test_fraction=0.001 of 1797 images gives a test split of 2, fewer than the 10 "
                       "classes; change `test_fraction` for this dataset in params.yaml or add images")

    def test_class_with_one_image(self):
        with pytest.raises(ConfigError, match=r"class 2 has 1 image; every class needs >= 2"):
            sources.stratified_split(np.array([0, 0, 1, 1, 2, 0, 1]), 0.5, 0)

    def test_few_label_probe_needs_enough_per_class(self):
        y = np.repeat(np.arange(3), [12, 4, 9])
        with pytest.raises(ConfigError) as err:
            few_label_indices(y, 10, seed=0)
        assert one_line(str(err.value)) == (
            "evaluate.few_shot_per_class: class 1 has 4 training sample(s), fewer than few_shot_per_class=10; "
            "lower evaluate.few_shot_per_class in params.yaml to <= 4 or use a larger train split")

    @pytest.mark.parametrize("probe", ["linear", "knn"])
    def test_probes_name_the_split_that_is_too_small(self, probe):
        x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
        fit = linear_probe if probe == "linear" else knn_top1
        with pytest.raises(ConfigError, match=r"the train split has 6 sample\(s\) in 1 class\(es\); it needs >= 2"):
            fit(x, np.zeros(6, dtype=np.int64), x, np.zeros(6, dtype=np.int64))
        with pytest.raises(ConfigError, match=r"the test split is empty, so there is nothing to score; raise"):
            fit(x, np.arange(6) % 2, x[:0], np.zeros(0, dtype=np.int64))

    @staticmethod
    def _images(folder: Path, n: int, seed: int = 0) -> None:
        from PIL import Image

        folder.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(random_images(n, 12, seed)):
            Image.fromarray(img).save(folder / f"{i}.png")

    def _folder(self, root: Path, **kw):
        return sources.load(sources.DatasetConfig(source="folder", root=str(root), image_size=8, **kw))

    def test_images_not_in_class_folders(self, tmp_path):
        self._images(tmp_path, 4)
        with pytest.raises(sources.DatasetMissingError) as err:
            self._folder(tmp_path)
        assert one_line(str(err.value)) == (f"folder dataset: 4 image(s) lie directly in {tmp_path}, not in class "
                                            f"folders; move them to {tmp_path}/<class>/… (one folder per class)")

    def test_empty_test_folder(self, tmp_path):
        for c in ("cat", "dog"):
            self._images(tmp_path / "train" / c, 3)
        (tmp_path / "test").mkdir()
        with pytest.raises(sources.DatasetMissingError, match=rf"no images .* in class folders under "
                                                              rf"{re.escape(str(tmp_path / 'test'))}; put them in"):
            self._folder(tmp_path)

    def test_test_class_missing_from_train(self, tmp_path):
        for c in ("cat", "dog"):
            self._images(tmp_path / "train" / c, 3)
            self._images(tmp_path / "val" / c, 2)
        self._images(tmp_path / "val" / "bird", 2)
        with pytest.raises(sources.DatasetMissingError, match=r"class folder\(s\) \['bird'\] of .*val are not in"):
            self._folder(tmp_path)

    def test_train_folder_without_test(self, tmp_path):
        self._images(tmp_path / "train" / "cat", 3)
        with pytest.raises(sources.DatasetMissingError, match=r"has train/ but not its pair"):
            self._folder(tmp_path)

    def test_folder_split_too_small(self, tmp_path):
        for c in ("cat", "dog", "owl"):
            self._images(tmp_path / c, 2)
        with pytest.raises(ConfigError, match=r"test_fraction=0\.2 of 6 images gives a test split of 2, fewer than "
                                              r"the 3 classes"):
            self._folder(tmp_path, test_fraction=0.2)

    def test_cifar_root_is_a_file(self, tmp_path):
        archive = tmp_path / "cifar-10-python.tar.gz"
        archive.write_bytes(b"not really")
        with pytest.raises(sources.DatasetMissingError) as err:
            sources.load(sources.DatasetConfig(source="cifar10", root=str(archive), download=True))
        msg = one_line(str(err.value))
        assert msg.startswith(f"cifar10: root {archive} is a file, not a folder; set `root:` in params.yaml")
        assert "put the" not in msg and archive.read_bytes() == b"not really"

    def test_cifar_root_is_the_extracted_folder(self, tmp_path):
        folder = tmp_path / "cifar-10-batches-py"
        folder.mkdir()
        with pytest.raises(sources.DatasetMissingError, match=r"is the extracted folder itself; set `root:` in "
                                                              r"params.yaml to its parent"):
            sources.load(sources.DatasetConfig(source="cifar10", root=str(folder)))


def _entry(method, seed, **metrics):
    base = {"linear_top1": 50.0, "fewshot_top1": 40.0, "knn_top1": 45.0, "rankme": 10.0}
    return scored_entry(method, seed, loss=method, epochs=1, metrics={**base, **metrics})


class TestTable:
    @pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
    def test_non_finite_metric_is_refused_naming_run_and_file(self, tmp_path, value):
        files = []
        for i, e in enumerate([_entry("simclr", 0), _entry("simclr", 1, knn_top1=value)]):
            files.append(tmp_path / f"seed{i}" / "metrics.json")
            files[-1].parent.mkdir()
            files[-1].write_text(json.dumps(e))  # json writes NaN/Infinity, as the evaluation stage would
        entries = tables.read_metrics(files)
        with pytest.raises(tables.MetricError) as err:
            tables.build_rows(entries)
        msg = one_line(str(err.value))
        assert msg.startswith(f"{files[1]}: digits/simclr/seed1 has knn_top1 = {value}, not a finite number")
        assert msg.endswith("then delete the file and rerun snakemake")

    def test_missing_metric(self):
        e = _entry("vicreg", 0)
        del e["metrics"]["rankme"]
        with pytest.raises(tables.MetricError, match=r"^digits/vicreg/seed0 has no numeric rankme \(got None\)"):
            tables.build_rows([e])

    def test_report_stage_stops_in_one_line_and_keeps_the_old_table(self, tmp_path, caplog, monkeypatch):
        monkeypatch.setattr(stages, "setup_logging", lambda logfile: None)  # keep pytest's log capture
        assert tables.MetricError in stages.user_errors()
        good, bad = tmp_path / "good.json", tmp_path / "bad.json"
        good.write_text(json.dumps(_entry("simclr", 0)))
        bad.write_text(json.dumps(_entry("vicreg", 0, rankme=math.nan)))
        outs = [tmp_path / "table1.csv", tmp_path / "table1.md", tmp_path / "summary.json"]
        outs[0].write_text("old table\n")
        with pytest.raises(SystemExit) as ex:
            stages.main(None, stages.report, metrics_files=[good, bad], order=["simclr", "vicreg"], table_csv=outs[0],
                        table_md=outs[1], summary_json=outs[2])
        assert ex.value.code == 1
        assert outs[0].read_text() == "old table\n" and not outs[1].exists() and not outs[2].exists()
        errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert len(errors) == 1 and f"{bad}: digits/vicreg/seed0 has rankme = nan" in one_line(errors[0])

    def test_finite_metrics_still_make_the_table(self):
        rows = tables.build_rows([_entry("simclr", 0), _entry("simclr", 1, knn_top1=55.0)])
        assert rows[0]["knn_top1"] == 50.0 and rows[0]["n_seeds"] == 2 and "path" not in rows[0]


class TestFiles:
    @pytest.fixture
    def umask(self):
        old = os.umask(0o022)
        os.umask(old)

        def set_(mask):
            os.umask(mask)

        yield set_
        os.umask(old)

    @pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
    def test_outputs_get_the_mode_the_umask_gives(self, tmp_path, umask, mask, mode):
        umask(mask)
        assert jio.current_umask() == mask
        out = tmp_path / "results" / "summary.json"
        jio.write_json(out, {"a": 1})
        assert out.stat().st_mode & 0o777 == mode
        out.chmod(0o600)  # an older output: rewriting it gives the umask's mode too
        jio.write_text(out, "x\n")
        assert out.stat().st_mode & 0o777 == mode and out.read_text() == "x\n"
        jio.save_torch(tmp_path / "final.pt", {"w": 1})
        assert (tmp_path / "final.pt").stat().st_mode & 0o777 == mode
        assert not list(out.parent.glob(".*.tmp"))

    def test_a_failed_write_keeps_the_old_file_and_mode(self, tmp_path, umask):
        umask(0o022)
        out = tmp_path / "table1.csv"
        jio.write_text(out, "old\n")
        with pytest.raises(RuntimeError), jio.atomic_path(out) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
        assert out.read_text() == "old\n" and out.stat().st_mode & 0o777 == 0o644
        assert [p.name for p in tmp_path.iterdir()] == ["table1.csv"]


# --- profiles: `jessl profile`, the layers, and params.yaml against its layers --------------------------------
def jessl_cli(args: list[str], capsys) -> tuple[int, str]:
    from jessl.cli import main

    code = main(args)
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture
def layers(tmp_path):
    """A config/ folder of its own: the real layers, copied."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    return tmp_path / "config"


class TestProfiles:
    @pytest.mark.parametrize("target", ["base.yaml", "embedded.yaml", "recipes/cifar.yaml"])
    def test_profile_refuses_to_write_over_a_layer(self, layers, target, capsys):
        before = (layers / target).read_text()
        code, err = jessl_cli(["profile", "embedded", "--config-dir", str(layers), "-o", str(layers / target)], capsys)
        assert code == 1 and (layers / target).read_text() == before
        assert one_line(err) == (f"error: {layers / target} is in {layers}/, the layers' folder; writing the profile "
                                 f"there would replace or add a layer (a layer's defaults: and comments would be "
                                 f"lost); write to params.yaml (the default) or a path outside {layers}/")

    def test_profile_refuses_a_hand_edited_params_yaml_unless_forced(self, layers, capsys):
        out = layers.parent / "params.yaml"
        assert jessl_cli(["profile", "embedded", "--config-dir", str(layers), "-o", str(out)], capsys)[0] == 0
        edited = out.read_text().replace("temperature: 0.5", "temperature: 0.3", 1)
        out.write_text(edited)
        code, err = jessl_cli(["profile", "cifar10", "--config-dir", str(layers), "-o", str(out)], capsys)
        assert code == 1 and out.read_text() == edited
        assert one_line(err) == (f"error: {out} was edited by hand (it equals no profile): writing the profile "
                                 f"would lose those edits; move them into a layer under {layers}/, or pass --force "
                                 f"to overwrite it")
        assert jessl_cli(["profile", "cifar10", "--config-dir", str(layers), "-o", str(out), "--force"], capsys)[0] == 0
        assert "profile cifar10" in out.read_text().splitlines()[0]
        # an unedited profile, or a hand-written file equal to one, is overwritten without a word
        assert jessl_cli(["profile", "embedded", "--config-dir", str(layers), "-o", str(out)], capsys)[0] == 0
        out.write_text(yaml.safe_dump(profiles_resolve("stl10", layers)))
        assert jessl_cli(["profile", "embedded", "--config-dir", str(layers), "-o", str(out)], capsys)[0] == 0

    def test_snakefile_message_agrees_with_jessl_profile(self):
        from jessl import profiles

        with pytest.raises(profiles.ProfileError) as err:
            profiles.check_same({"seeds": [1]}, {"seeds": [0]})
        assert "or edit params.yaml" not in str(err.value) and "jessl profile NAME" in str(err.value)

    def test_profile_into_a_folder_is_one_line(self, tmp_path, capsys):
        code, err = jessl_cli(["profile", "embedded", "--config-dir", str(ROOT / "config"), "-o", str(tmp_path)],
                              capsys)
        assert code == 1
        assert one_line(err) == (f"error: {tmp_path} is a folder; give a file to write, e.g. -o params.yaml "
                                 f"(the default)")

    @pytest.mark.parametrize("name", ["base", "recipes/embedded"])
    def test_a_shared_layer_is_not_a_profile(self, name, tmp_path, capsys):
        code, err = jessl_cli(["profile", name, "--config-dir", str(ROOT / "config"), "-o", str(tmp_path / "p.yaml")],
                              capsys)
        assert code == 1 and not (tmp_path / "p.yaml").exists()
        assert one_line(err) == (f"error: {name} is a shared layer ({ROOT / 'config'}/{name}.yaml), not a profile; "
                                 f"profiles: cifar10, cifar100, embedded, imagenet100, stl10")

    def test_check_of_a_profile_layer_names_jessl_profile(self, capsys):
        code, err = jessl_cli(["check", str(ROOT / "config/cifar10.yaml")], capsys)
        assert code == 1
        assert one_line(err) == (f"{ROOT / 'config/cifar10.yaml'} is a profile layer, not a composed params file; "
                                 f"run `jessl profile cifar10` (writes params.yaml), then `jessl check`")

    @pytest.mark.parametrize("layer", ["base.yaml", "recipes/cifar.yaml"])
    def test_check_of_a_shared_layer_names_the_profiles(self, layer, capsys):
        code, err = jessl_cli(["check", str(ROOT / "config" / layer)], capsys)
        assert code == 1
        assert one_line(err) == (f"{ROOT / 'config' / layer} is a shared layer of config/, not a composed params "
                                 f"file; compose a profile that uses it: `jessl profile NAME` (profiles: cifar10, "
                                 f"cifar100, embedded, imagenet100, stl10), then `jessl check`")

    @pytest.mark.parametrize("given", ["cifar10.yaml", "config/cifar10.yaml"])
    def test_profile_accepts_the_layer_s_file_name(self, given, tmp_path, capsys):
        code, out = jessl_cli(["profile", given, "-o", str(tmp_path / "p.yaml")], capsys)
        assert code == 0, out
        assert "profile cifar10" in (tmp_path / "p.yaml").read_text().splitlines()[0]

    def test_a_layer_drops_an_inherited_row(self, layers):
        (layers / "mine.yaml").write_text("defaults: [embedded]\nmethods: {byol: drop, simclr: {lr: 0.1}}\n")
        got = profiles_resolve("mine", layers)
        assert "byol" not in got["methods"] and got["methods"]["simclr"]["lr"] == 0.1
        assert set(got["methods"]) == set(profiles_resolve("embedded", layers)["methods"]) - {"byol"}
        (layers / "mine.yaml").write_text("defaults: [embedded]\nmethods: {nope: drop}\n")
        with pytest.raises(ConfigError, match=r"mine\.yaml: methods\.nope: drop removes a mapping an earlier "
                                              r"layer set, but none set methods\.nope; remove the line"):
            profiles_resolve("mine", layers)
        (layers / "mine.yaml").write_text("defaults: [embedded]\nmethods: {byol: null}\n")
        with pytest.raises(ConfigError, match=r"methods\.byol: null would discard .* or write `byol: drop`"):
            profiles_resolve("mine", layers)

    def test_params_yaml_behind_its_layers_is_refused(self, layers):
        from jessl import profiles

        text = profiles.render("embedded", layers)
        params = yaml.safe_load(text)
        profiles.check_current(text, params, layers)  # current: fine
        recipe = layers / "recipes/embedded.yaml"
        recipe.write_text(recipe.read_text().replace("temperature: 0.5", "temperature: 0.2", 1))
        with pytest.raises(profiles.ProfileError) as err:
            profiles.check_current(text, params, layers)
        assert one_line(str(err.value)) == (
            "params.yaml was written by `jessl profile embedded`, but its layers have changed since "
            "(methods.simclr.hparams.temperature differ): run `jessl profile embedded` to write them to params.yaml "
            "(Snakemake and DVC read only params.yaml), or undo the layer edit")
        (layers / "embedded.yaml").rename(layers / "mine.yaml")
        with pytest.raises(profiles.ProfileError, match=r"no longer composes \(.*no such profile.*\); write another "
                                                         r"profile .*delete its `# jessl-profile:` line"):
            profiles.check_current(text, params, layers)
        edited = text.replace("temperature: 0.5", "temperature: 0.7", 1)  # edited by hand: the user's own file
        profiles.check_current(edited, yaml.safe_load(edited), layers)
        profiles.check_current(yaml.safe_dump(params), params, layers)  # written otherwise: the user's own

    def test_snakemake_refuses_params_yaml_behind_its_layers(self, tmp_path):
        from conftest import copy_project, run

        proj = copy_project(tmp_path / "proj")
        recipe = proj / "config/recipes/embedded.yaml"
        recipe.write_text(recipe.read_text().replace("temperature: 0.5", "temperature: 0.2", 1))
        out = run([sys.executable, "-m", "snakemake", "-n", "--cores", "1"], proj, check=False)
        assert out.returncode != 0
        assert "its layers have changed since (methods.simclr.hparams.temperature" in out.stdout + out.stderr


def profiles_resolve(name, config_dir):
    from jessl import profiles

    return profiles.resolve(name, config_dir)


# --- dvc.yaml: every output a stage declares exists, whatever the profile configures ----------------------------
def dvc_files(stage: str) -> list[str]:
    """The files (not folders) `stage` of dvc.yaml declares as outs or metrics, less the run records."""
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][stage]
    paths = [next(iter(o)) for o in [*spec.get("outs", []), *spec.get("metrics", [])]]
    return [p for p in paths if Path(p).suffix and not p.endswith(".run.json")]


class TestDvc:
    def test_claims_null_still_plans_every_output_of_the_claims_stage(self, tmp_path):
        from conftest import copy_project, run

        proj = copy_project(tmp_path / "proj")
        cfg = yaml.safe_load((proj / "params.yaml").read_text())
        (proj / "params.yaml").write_text(yaml.safe_dump({**cfg, "claims": None}, sort_keys=False))
        out = run([sys.executable, "-m", "snakemake", "-n", "--forceall", "--cores", "1", "claims"], proj)
        planned = {p.strip() for line in re.findall(r"^\s+output: (.*)$", out.stdout, re.M) for p in line.split(",")}
        assert set(dvc_files("claims")) <= planned, set(dvc_files("claims")) - planned

    def test_an_unconfigured_claim_writes_every_output_saying_so(self, tmp_path):
        t = tmp_path
        stages.claims_duality(metrics_files=[], order=["simclr"], tolerance=0.0, pair=[], margin=0.0,
                              table_csv=t / "d.csv", dims_csv=t / "dims.csv", dims_figure=t / "d.png",
                              fragment=t / "duality.md", verdict_out=t / "d.verdict.json", configured=False)
        stages.claims_convergence(metrics_files=[], spectrum_files=[], fractions=[], order=[], frossl="", others=[],
                                  margin=0.0, table_csv=t / "c.csv", eigen_csv=t / "e.csv", figure=t / "c.png",
                                  eigen_figure=t / "e.png", fragment=t / "convergence.md",
                                  verdict_out=t / "c.verdict.json", configured=False)
        stages.claims_ablation(metrics_files=[], transfer_files=[], full="", target=None, margin=0.0,
                               table_csv=t / "a.csv", fragment=t / "ablation.md", verdict_out=t / "a.verdict.json",
                               configured=False)
        for name in ["d.verdict.json", "c.verdict.json", "a.verdict.json"]:
            assert (t / name).read_text() == "null\n"  # no verdict: claims.json leaves an unconfigured claim out
        for name in ["d.csv", "dims.csv", "c.csv", "e.csv", "a.csv"]:
            assert len((t / name).read_text().splitlines()) == 1  # the header: no rows
        for name in ["d.png", "c.png", "e.png"]:
            assert (t / name).read_bytes()[:4] == b"\x89PNG"
        assert "Not run: params.yaml sets no `claims.ablation`." in (t / "ablation.md").read_text()
        for name in ["d.csv", "c.png", "ablation.md"]:
            assert (t / f"{name}.run.json").is_file()


# --- config: accepted silently on the old code; each now one line naming the key and the fix ---------------------
YAML11 = "(a string: YAML 1.1 reads 1e-4 as text; write a dot and a signed exponent, e.g. 1.0e-4, without quotes)"


class TestConfigStrict:
    @pytest.mark.parametrize(("over", "line"), [
        ({"optim": {"lr": "1e-4"}}, f"  - optim.lr: expected a number, got '1e-4' {YAML11}"),
        ({"methods": {"simclr": {"lr": "1e-4"}, "vicreg": {}}},
         f"  - methods.simclr.lr: expected a number, got '1e-4' {YAML11}"),
        ({"methods": {"simclr": {"optim": {"lr": "1e-4"}}, "vicreg": {}}},
         f"  - methods.simclr.optim.lr: expected a number, got '1e-4' {YAML11}"),
        ({"pretrain": {"online_probe": "yes"}},
         "  - pretrain.online_probe: expected true or false, got 'yes' (a string: write true or false, "
         "without quotes)"),
        ({"pretrain": {"epochs": "10"}},
         "  - pretrain.epochs: expected an integer, got '10' (a string: remove the quotes)"),
        ({"datasets": {"digits": {"classes": ["5", 6]}}},
         "  - datasets.digits.classes.0: expected an integer, got '5' (a string: remove the quotes)"),
        ({"optim": {"lr": True}}, "  - optim.lr: expected a number, got true"),
        ({"pretrain": {"epochs": 12.0}}, "  - pretrain.epochs: expected an integer, got 12.0"),
    ], ids=["optim.lr", "methods.lr", "methods.optim.lr", "online_probe", "epochs", "classes", "bool", "float"])
    def test_a_string_is_never_a_number_or_a_bool(self, over, line):
        assert config_problem(with_(**over)) == line

    def test_yaml_lists_still_fill_pairs(self):
        assert validate(with_(augment={"crop_scale": [0.2, 1]})).augment.crop_scale == (0.2, 1.0)

    @pytest.mark.parametrize(("epochs", "keep", "at"), [(1, [25, 50, 75], [0, 0, 1]), (12, [25, 26], [3, 3])])
    def test_kept_checkpoints_that_coincide_are_refused(self, epochs, keep, at):
        line = config_problem(with_(pretrain={"epochs": epochs, "keep_epochs": keep}))
        assert line.startswith(f"  - pretrain.keep_epochs: {keep} % of {epochs} epoch(s) are epochs {at}: kept "
                               f"checkpoints would coincide")
        assert "keep fewer percentages or train more epochs" in line
        validate(with_(pretrain={"epochs": 12, "keep_epochs": [25, 50, 75]}))  # epochs 3, 6, 9: fine

    def test_claims_convergence_kept_checkpoints_that_coincide_are_refused(self):
        data = yaml.safe_load((ROOT / "params.yaml").read_text())
        data["claims"]["convergence"]["keep_epochs"] = [10, 20]  # of 4 epochs: 0 and 1
        with pytest.raises(ConfigError, match=r"claims\.convergence: keep_epochs: \[10, 20\] % of 4 epoch\(s\) are "
                                              r"epochs \[0, 1\]: kept checkpoints would coincide"):
            validate(data)

    @pytest.mark.parametrize(("over", "key"), [
        ({"augment": {"per_view": [{}, {}, {"flip_prob": 1.0}]}}, "augment.per_view: 3 entries, but the runs"),
        ({"methods": {"simclr": {"augment": {"per_view": [{}, {}, {}]}}, "vicreg": {}}},
         "methods.simclr.augment.per_view: 3 entries, but methods.simclr"),
    ])
    def test_per_view_longer_than_the_views_is_refused(self, over, key):
        line = config_problem(with_(**over))
        assert line.startswith(f"  - {key}")
        assert "so entries 2.. would be ignored; remove them or raise num_views" in line

    def test_overlapping_source_and_target_classes_are_refused(self):
        data = with_(datasets={"digits": {}, "low": {"classes": [0, 1, 2, 3, 4], "role": "source"},
                               "high": {"classes": [3, 4, 5, 6, 7], "role": "target"}}, transfer={"low": ["high"]})
        assert config_problem(data) == (
            "  - transfer.low: target 'high' shares classes [3, 4] with 'low' (same source 'digits'), so its column "
            "would not measure transfer to unseen classes; make their `classes` disjoint")

    @pytest.mark.parametrize("role", ["source", "target"])
    def test_a_source_or_target_no_transfer_names_is_refused(self, role):
        data = with_(datasets={"digits": {}, "extra": {"source": "mnist5k", "role": role}})
        assert config_problem(data) == (
            f"  - datasets.extra: role {role} but no `transfer:` entry names it, so nothing would be built from it; "
            f"pair it in `transfer:` (source: [targets]) or remove it")

    def test_an_anchor_block_nested_in_a_section_says_top_level(self):
        line = config_problem(with_(datasets={"digits": {}, "x-digits": {}}))
        assert "`x-` blocks (reused through YAML anchors) belong at the top level of a layer" in line
        assert "x_digits" not in line

    def test_one_class_on_a_target_is_refused_at_load(self):
        data = with_(datasets={"digits": {}, "five": {"classes": [5], "role": "target"}}, transfer={"digits": ["five"]})
        assert config_problem(data) == (
            "  - datasets.five.classes: one class ([5]) leaves the probes nothing to tell apart; list at least 2 "
            "classes, or remove `classes` to keep them all")


# --- jessl audit ------------------------------------------------------------------------------------------------
def convergence_project(root: Path, monkeypatch) -> None:
    """results/convergence.csv of one run (simclr, seed 0) at 25, 50 and 100 % of its epochs, with records."""
    from jessl import provenance

    monkeypatch.chdir(root)
    (root / "dvc.yaml").write_text("stages: {}\n")
    files, lines = [], ["dataset,method,seed,pct,epoch,linear_top1,fewshot_top1,knn_top1"]
    for pct, epoch, top1 in [(25, 1, 50.0), (50, 2, 60.0), (100, 4, 70.0)]:
        f = (f"results/convergence/digits/simclr/seed0/pct{pct}.json" if pct < 100 else
             "results/eval/digits/simclr/seed0/metrics.json")
        jio.write_json(f, {"dataset": "digits", "method": "simclr", "seed": 0, "metrics": {"linear_top1": top1}})
        provenance.write_record(f, stage="evaluate", inputs=[], seed=0, metrics={"linear_top1": top1})
        files.append(f)
        lines.append(f"digits,simclr,0,{pct},{epoch},{top1},1.0,1.0")
    (root / "results/convergence.csv").write_text("\n".join(lines) + "\n")
    provenance.write_record("results/convergence.csv", stage="report", inputs=files)


class TestAudit:
    def test_pct_picks_one_row_of_the_convergence_table(self, tmp_path, monkeypatch, capsys):
        convergence_project(tmp_path, monkeypatch)
        code, out = jessl_cli(["audit", "results/convergence.csv", "--row", "simclr", "--column", "linear_top1",
                               "--pct", "50"], capsys)
        assert code == 0, out
        assert out.startswith("results/convergence.csv simclr linear_top1 = 60.0 (digits, 50 % of the epochs, seed 0)\n"
                              "    from results/convergence/digits/simclr/seed0/pct50.json: 60.0\n")
        assert "= 50.0" not in out and "= 70.0" not in out
        code, out = jessl_cli(["audit", "results/convergence.csv", "--row", "simclr", "--pct", "75"], capsys)
        assert code == 2
        assert one_line(out) == ("error: results/convergence.csv: no simclr row at --pct 75; its pcts: 25, 50, 100 "
                                 "(100 = the final checkpoint)")

    def test_pct_on_a_table_without_pct_is_one_line(self, tmp_path, monkeypatch, capsys):
        convergence_project(tmp_path, monkeypatch)
        table = tmp_path / "results/table1.csv"
        table.write_text("dataset,method,linear_top1\ndigits,simclr,70.0\n")
        code, out = jessl_cli(["audit", "results/table1.csv", "--row", "simclr", "--pct", "50"], capsys)
        assert code == 2
        assert one_line(out) == ("error: --pct: results/table1.csv has no pct column (only results/convergence.csv "
                                 "has one)")

    def test_params_that_is_a_layer_names_jessl_profile(self, tmp_path, monkeypatch, capsys):
        convergence_project(tmp_path, monkeypatch)
        layer = ROOT / "config/embedded.yaml"
        code, out = jessl_cli(["audit", "results/convergence.csv", "--params", str(layer)], capsys)
        assert code == 2
        assert one_line(out) == (f"error: --params {layer} is a profile layer, not a composed params file; run "
                                 f"`jessl profile embedded` (writes params.yaml), then `jessl check`")

    def test_help_lists_every_table_s_columns(self, capsys):
        from jessl.cli import main

        with pytest.raises(SystemExit):
            main(["audit", "--help"])
        text = capsys.readouterr().out
        assert "{source}_to_{target}_{probe}" in text and "digits_to_mnist5k_linear_top1" in text
        for column in [*tables.COLUMNS, *tables.SPECTRUM_COLUMNS, *tables.CONVERGENCE_COLUMNS]:
            assert column in text, column
        assert "--pct" in text

    def test_a_missing_kept_checkpoint_names_the_commands_that_restore_it(self, tmp_path, monkeypatch):
        from jessl import provenance

        convergence_project(tmp_path, monkeypatch)
        kept = "results/convergence/digits/simclr/seed0/pct25.json"
        (tmp_path / kept).unlink()
        node = provenance.audit("results/convergence.csv")
        (problem,) = next(n for n in node.inputs if n.path == kept).problems
        assert problem == (f"missing; restore it from the DVC cache (`dvc checkout`) or rebuild it: "
                           f"snakemake --cores 1 -f {kept}")
        ok, verdict = provenance.audit_summary([node])
        assert not ok and verdict.startswith("audit FAILED: 3 files re-hashed, 1 broken links")


# --- sizes: a batch or a label fraction the data cannot hold, refused before any job ------------------------------
def embedded_with(**changes) -> dict:
    data = yaml.safe_load((ROOT / "params.yaml").read_text())
    for dotted, value in changes.items():
        *path, last = dotted.split("__")
        node = data
        for key in path:
            node = node[key]
        node[last] = value
    return data


class TestSizes:
    def test_a_batch_larger_than_the_training_split_is_refused_naming_the_row(self, tmp_path):
        from jessl.data import sizes

        p = validate(embedded_with(methods__vicreg__batch_size=5000))
        with pytest.raises(ConfigError) as err:
            sizes.check(p, tmp_path)  # not converted: the split's size from the source
        assert str(err.value).splitlines()[1:] == [
            "  - methods.vicreg.batch_size: 5000 is larger than the about 1,437 training images of digits (an epoch "
            "would hold no full batch); lower it to at most 1,437",
            "  - methods.vicreg.batch_size: 5000 is larger than the about 718 training images of digits_0to4 (an "
            "epoch would hold no full batch); lower it to at most 718"]
        sizes.check(validate(embedded_with(methods__vicreg__batch_size=512)), tmp_path)

    def test_the_converted_size_is_read_from_the_conversion_record(self, tmp_path):
        from jessl import provenance
        from jessl.data import sizes

        p = validate(embedded_with())
        beton_file = tmp_path / "data/digits/train.beton"
        beton_file.parent.mkdir(parents=True)
        beton_file.write_bytes(b"x")
        provenance.write_record(beton_file, stage="convert", inputs=[], metrics={"samples": 1000},
                                params={"dataset": "digits", **p.datasets["digits"].data_params(), "split": "train"})
        size = sizes.train_size("digits", p.datasets["digits"], tmp_path)
        assert (size.train, size.exact) == (1000, True)
        line = sizes.problems(validate(embedded_with(pretrain__batch_size=1200)), tmp_path)[0]
        assert line.startswith("pretrain.batch_size: 1200 is larger than the 1,000 training images of digits")

    def test_cli_check_and_snakemake_refuse_the_batch(self, tmp_path):
        from conftest import copy_project, run

        proj = copy_project(tmp_path / "proj")
        (proj / "params.yaml").write_text(yaml.safe_dump(embedded_with(methods__vicreg__batch_size=5000)))
        out = cli_check(proj / "params.yaml")
        assert out.returncode == 1 and "methods.vicreg.batch_size: 5000 is larger than" in out.stderr
        out = run([sys.executable, "-m", "snakemake", "-n", "--cores", "1"], proj, check=False)
        assert out.returncode != 0 and "methods.vicreg.batch_size: 5000 is larger than" in out.stdout + out.stderr

    def test_label_fractions_written_as_proportions_are_refused(self, tmp_path):
        from jessl.data import sizes

        p = validate(embedded_with(evaluate__label_fractions=[0.5, 10]))
        assert sizes.problems(p, tmp_path) == [
            "evaluate.label_fractions: 0.5 % of digits's about 144 training labels per class is under one label per "
            "class; fractions are percentages (50 = half): use at least 0.7",
            "evaluate.label_fractions: 0.5 % of digits_5to9's about 144 training labels per class is under one label "
            "per class; fractions are percentages (50 = half): use at least 0.7"]
        assert sizes.problems(validate(embedded_with(evaluate__label_fractions=[1, 10])), tmp_path) == []


# --- a small finished run: what Snakemake keeps, rebuilds and reports ---------------------------------------------
@pytest.fixture(scope="module")
def finished(reduced_pipeline, tmp_path_factory):
    """A private copy of the reduced pipeline (conftest.py): table1, its figures and table3 on digits,
    checkpoints kept at 25 and 50 % of 4 epochs."""
    from conftest import copy_pipeline

    return copy_pipeline(reduced_pipeline, tmp_path_factory.mktemp("finished") / "proj")


def snakemake(proj: Path, *args: str) -> subprocess.CompletedProcess:
    from conftest import run

    return run([sys.executable, "-m", "snakemake", "--cores", "1", *args], proj, check=False)


@pytest.mark.e2e
class TestFinishedRun:
    def test_the_readme_report_command_works_right_after_make_table(self, finished):
        readme = (ROOT / "README.md").read_text()
        commands = re.findall(r"^snakemake --report results/report\.html ?(\S*)", readme, re.M)
        assert commands and all(commands), "the README's report command names no target"
        out = snakemake(finished, "--report", "results/report.html", *commands[0].split())
        assert out.returncode == 0, out.stderr[-2000:]
        assert (finished / "results/report.html").stat().st_size > 0

    def test_a_truncated_spectrum_is_refused_before_the_tables_are_removed(self, finished):
        spectrum = finished / "results/eval/digits/simclr/seed0/spectrum.json"
        outputs = ["results/table3_spectrum.csv", "results/table3_spectrum.md", "results/spectrum.csv",
                   "results/figures/spectrum.png"]
        before = {o: (finished / o).read_bytes() for o in outputs}
        whole = spectrum.read_text()
        spectrum.write_text(whole[: len(whole) // 2])
        try:
            out = snakemake(finished, "table_spectrum")
            assert out.returncode != 0
            assert ("results/eval/digits/simclr/seed0/spectrum.json: not a readable metrics file"
                    in out.stdout + out.stderr)
            assert {o: (finished / o).read_bytes() for o in outputs} == before
        finally:
            spectrum.write_text(whole)

    def test_dropping_a_kept_checkpoint_retrains_nothing(self, finished):
        params_file = finished / "params.yaml"
        original = params_file.read_text()
        try:  # evaluate_all: the probes of the final and the kept checkpoints (these ask for the kept files)
            for keep, retrain in [([25], False), ([25, 50, 75], True)]:  # 75 %: epoch 3, never saved
                params = yaml.safe_load(original)
                params["pretrain"]["keep_epochs"] = keep
                params_file.write_text(yaml.safe_dump(params, sort_keys=False))
                out = snakemake(finished, "-n", "evaluate_all")
                assert out.returncode == 0, out.stdout[-2000:]
                assert ("rule pretrain:" in out.stdout) == retrain, (keep, out.stdout[-2000:])
        finally:
            params_file.write_text(original)
