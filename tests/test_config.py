from pathlib import Path

import pytest

from jessl import profiles
from jessl.config import ConfigError, load, validate

ROOT = Path(__file__).resolve().parents[1]
BASE = {"datasets": {"digits": {}}, "methods": {"simclr": {}, "vicreg": {}}}


def with_(**over):
    return {**BASE, **over}


def test_params_yaml_is_the_embedded_profile_and_valid():
    """params.yaml is exactly what `jessl profile embedded` writes, so the two cannot drift."""
    assert (ROOT / "params.yaml").read_text() == profiles.render("embedded", ROOT / "config")
    p = load(ROOT / "params.yaml")
    assert p == validate(profiles.resolve("embedded", ROOT / "config"))
    assert {"simclr", "vicreg"} <= set(p.methods)
    assert p.runs[:2] == ["random_init", "raw_pixels"]


@pytest.mark.parametrize(
    "data, needle",
    [
        (with_(datasets={"digits": {"sorce": "digits"}}), "datasets.digits.sorce: unknown key; did you mean 'source'?"),
        (with_(datasets={"digits": {"source": "mnist"}}), "'digits', 'mnist5k', 'cifar10'"),
        (with_(methods={"simclrr": {}}), "unknown method 'simclrr'; known methods:"),
        (with_(methods={"simclr": {"hparams": {"temprature": 0.1}}}), "allowed: temperature"),
        (with_(optim={"lr": "fast"}), "optim.lr: expected a number, got 'fast'"),
        (with_(optim={"lr": -1}), "optim.lr: Input should be greater than 0"),
        (with_(pretrain={"num_views": 3}), "takes exactly 2 views"),
        (with_(augment={"crop_scale": [0.9, 0.2]}), "need 0 < low <= high"),
        (with_(methods={"raw_pixels": {}}), "is a baseline"),
    ],
)
def test_bad_config_names_the_key_and_the_fix(data, needle):
    with pytest.raises(ConfigError) as err:
        validate(data)
    assert needle in str(err.value)


def test_missing_params_file(tmp_path):
    with pytest.raises(ConfigError, match="no such params file"):
        load(tmp_path / "nope.yaml")


def test_run_config_resolves_defaults_and_overrides():
    p = validate(with_(methods={"simclr": {"hparams": {"temperature": 0.2}, "lr": 0.1, "epochs": 3}, "vicreg": {}}))
    run = p.run_config("simclr")
    assert run.hparams["temperature"] == 0.2 and run.method.name == "simclr"
    assert run.optim.lr == 0.1 and run.pretrain.epochs == 3
    assert p.optim.lr != 0.1  # the override is the run's, not the config's
    assert "threads" not in run.to_params()["pretrain"]  # a resource, not part of the run's identity
    assert p.run_config("vicreg").hparams["sim_coeff"] == 25.0
    assert p.run_config("random_init").pretrain.epochs == 0 and p.run_config("random_init").method is None
    with pytest.raises(ConfigError):
        p.run_config("raw_pixels")


def test_run_config_is_typed_and_round_trips_through_plain_data():
    from jessl.config import RunConfig

    run = validate(with_(methods={"byol": {"target_ema": 0.9}})).run_config("byol")
    plain = run.to_params()
    assert isinstance(plain["augment"]["crop_scale"], list)  # JSON-ready for Snakemake's params:
    assert RunConfig.model_validate(plain) == run and RunConfig.model_validate(plain).to_params() == plain
    assert run.target_ema == 0.9
    with pytest.raises(ValueError, match="typo"):
        RunConfig.model_validate({**plain, "typo": 1})


# --- per-method recipes: partial blocks merged over the global ones, validated after the merge ---------
def test_method_blocks_merge_over_the_global_ones():
    p = validate(with_(
        optim={"name": "sgd", "lr": 0.05, "weight_decay": 1e-3},
        model={"projector": [64, 32]},
        augment={"brightness": 0.2, "crop_scale": [0.3, 1.0]},
        methods={"simclr": {"optim": {"name": "lars", "eta": 0.02, "clip_lr": True}, "batch_size": 64,
                            "model": {"projector": [16], "sync_bn": True}, "augment": {"contrast": 0.1}},
                 "vicreg": {}},
    ))
    run, other = p.run_config("simclr"), p.run_config("vicreg")
    assert (run.optim.name, run.optim.eta, run.optim.clip_lr) == ("lars", 0.02, True)
    assert (run.optim.lr, run.optim.weight_decay) == (0.05, 1e-3)  # the global keys not overridden
    assert run.model.projector == [16] and run.model.sync_bn  # a list is replaced, not merged
    assert run.augment.contrast == 0.1 and run.augment.brightness == 0.2 and run.augment.crop_scale == (0.3, 1.0)
    assert run.pretrain.batch_size == 64 and other.pretrain.batch_size == p.pretrain.batch_size
    assert other.optim == p.optim and other.model == p.model and other.augment == p.augment
    assert run.to_params()["optim"]["name"] == "lars"  # what the run record stores


def test_deep_merge_merges_mappings_and_replaces_the_rest():
    from jessl.merge import deep_merge as _deep_merge

    base = {"a": {"x": 1, "y": [1, 2]}, "b": 2, "per_view": [{"p": 1}]}
    assert _deep_merge(base, {"a": {"y": [3]}, "per_view": [{"q": 2}], "c": 3}) == {
        "a": {"x": 1, "y": [3]}, "b": 2, "per_view": [{"q": 2}], "c": 3}
    assert base["a"]["y"] == [1, 2]  # the global block is not modified


@pytest.mark.parametrize(
    "method, needle",
    [
        ({"optim": {"lrr": 0.1}}, "methods.simclr.optim.lrr: unknown key; did you mean 'lr'?"),
        ({"model": {"projectr": [8]}}, "methods.simclr.model.projectr: unknown key; did you mean 'projector'?"),
        ({"augment": {"crop_scale": [0.9, 0.2]}}, "methods.simclr.augment.crop_scale: need 0 < low <= high"),
        ({"optim": {"lr_scaling": "sqrt"}}, "methods.simclr.optim.lr_scaling: Input should be 'none' or 'linear'"),
        ({"optim": {"eta": 0}}, "methods.simclr.optim.eta: Input should be greater than 0"),
        ({"lr": 0.1, "optim": {"lr": 0.2}},
         "methods.simclr: lr (0.1) and optim.lr (0.2) both set this method's learning rate; keep one"),
        ({"batch_size": 1}, "methods.simclr.batch_size: Input should be greater than or equal to 2"),
        ({"optim": {"min_lr": 0.5}}, "methods.simclr: optim.min_lr=0.5 is above the run's learning rate 0.002"),
        ({"optim": {"lr": 0.1, "lr_scaling": "linear", "warmup_start_lr": 0.1}, "batch_size": 128},
         "methods.simclr: optim.warmup_start_lr=0.1 is above the run's learning rate 0.05 "
         "(optim.lr 0.1 × batch_size 128 / 256)"),
    ],
)
def test_bad_method_block_names_the_full_key(method, needle):
    with pytest.raises(ConfigError) as err:
        validate(with_(methods={"simclr": method, "vicreg": {}}))
    assert needle in str(err.value)


def test_a_row_that_overrides_to_the_same_values_is_the_same_run():
    same = {"loss": "simclr", "optim": {"lr": 0.002}, "model": {"projector": [128, 128]}}
    with pytest.raises(ConfigError, match="methods.copy is the same run as methods.simclr"):
        validate(with_(methods={"simclr": {}, "copy": same}))
    for diff in ({"optim": {"eta": 0.02}}, {"batch_size": 64}, {"augment": {"brightness": 0.1}},
                 {"model": {"sync_bn": True}}):
        assert "copy" in validate(with_(methods={"simclr": {}, "copy": {"loss": "simclr", **diff}})).methods


@pytest.mark.parametrize(("scaling", "batch", "want"), [("none", 512, 0.3), ("linear", 512, 0.6),
                                                         ("linear", 64, 0.075)])
def test_linear_lr_scaling_is_resolved_into_the_run(scaling, batch, want):
    """solo-learn's rule: the configured lr is per 256 images of the (global) batch."""
    p = validate(with_(optim={"lr": 0.3, "lr_scaling": scaling}, methods={"simclr": {"batch_size": batch}}))
    run = p.run_config("simclr")
    assert run.lr == pytest.approx(want) and run.optim.lr == 0.3
    assert run.to_params()["lr"] == run.lr  # the run record shows the rate the schedule peaks at
    from jessl.config import RunConfig

    with pytest.raises(ValueError, match="resolve runs with Params.run_config"):
        RunConfig.model_validate({**run.to_params(), "lr": 0.3 if scaling == "linear" else 0.6})


def test_shorthand_lr_is_an_optim_override():
    p = validate(with_(methods={"simclr": {"lr": 0.1, "optim": {"name": "sgd"}}, "vicreg": {}}))
    assert (p.run_config("simclr").optim.name, p.run_config("simclr").lr) == ("sgd", 0.1)


def test_the_probes_load_a_row_with_its_own_backbone():
    p = validate(with_(methods={"simclr": {"model": {"backbone": "resnet18"}}, "vicreg": {}}))
    assert [p.backbone(r) for r in p.runs] == ["resnet_tiny", "resnet_tiny", "resnet18", "resnet_tiny"]


def test_the_random_init_baseline_is_checked_with_the_global_blocks():
    data = with_(optim={"lr": 0.002, "min_lr": 0.01}, methods={"simclr": {"lr": 0.5}})
    with pytest.raises(ConfigError, match="random_init: optim.min_lr=0.01 is above the run's learning rate 0.002"):
        validate(data)
    assert validate({**data, "baselines": ["raw_pixels"]}).run_config("simclr").lr == 0.5
