from pathlib import Path

import pytest
import yaml

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


@pytest.mark.parametrize("profile", profiles.available(ROOT / "config"))
def test_every_profile_validates(profile):
    validate(profiles.resolve(profile, ROOT / "config"), f"config/{profile}.yaml")


@pytest.mark.parametrize(
    "data, needle",
    [
        (with_(datasets={"digits": {"sorce": "digits"}}), "datasets.digits.sorce: unknown key; did you mean 'source'?"),
        (with_(datasets={"digits": {"source": "mnist"}}), "'digits', 'mnist5k', 'cifar10'"),
        (with_(methods={"simclrr": {}}), "unknown method 'simclrr'; known methods:"),
        (with_(methods={"simclr": {"hparams": {"temprature": 0.1}}}), "allowed: temperature"),
        (with_(optim={"lr": "fast"}), "optim.lr: Input should be a valid number"),
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
