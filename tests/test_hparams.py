"""Hyper-parameter values are validated at load time from the loss signatures (types, bounds), with
one line per problem; bad values reaching a loss at run time are a one-line `LossError`."""

from __future__ import annotations

import inspect
import types
import typing
from typing import Annotated, Literal

import annotated_types as at
import pytest
import torch
import yaml
from pydantic import Field

from jessl import cli
from jessl.config import ConfigError, validate
from jessl.methods import METHODS, HparamError, LossError, Method, get

VARIANT_FLAGS = {"phi", "decoupled", "transposed", "transform_positive"}


def _load(text: str):
    """Validate a params file given as YAML text, with the digits dataset."""
    return validate({"datasets": {"digits": {}}, **yaml.safe_load(text)})


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as err:
        _load(text)
    return str(err.value)


def _row(method: str, hparams: dict) -> dict:
    """A params mapping with one table row using `method` with `hparams`."""
    return {"datasets": {"digits": {}}, "methods": {"row": {"loss": method, "hparams": hparams}}}


def _config_error(method: str, hparams: dict) -> str:
    with pytest.raises(ConfigError) as err:
        validate(_row(method, hparams))
    return str(err.value)


def _split(annotation):
    """(base kind, nullable, bounds) of an annotation, read here independently of the registry."""
    nullable = False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        nullable = type(None) in args
        (annotation,) = [a for a in args if a is not type(None)]
    bounds = []
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *bounds = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return ("literal", typing.get_args(annotation)), nullable, bounds
    return (annotation.__name__, None), nullable, bounds


def _tunable():
    """(method, hyper-parameter, annotation) for every tunable hyper-parameter in the registry."""
    for name, method in METHODS.items():
        signature = inspect.signature(method.fn, eval_str=True).parameters
        for key in method.hparams:
            yield name, key, signature[key].annotation


TUNABLE = list(_tunable())
IDS = [f"{m}.{k}" for m, k, _ in TUNABLE]
BOUNDED = [(m, k, a) for m, k, a in TUNABLE if _split(a)[2]]


# --- the three inputs of the issue -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, line",
    [
        ("methods: {simclr: {hparams: {temperature: -1}}}", "methods.simclr.hparams.temperature: must be > 0, got -1"),
        (
            "methods: {ssl_hsic: {hparams: {kernel: gausian}}}",
            "methods.ssl_hsic.hparams.kernel: must be one of 'imq', 'gaussian', got 'gausian' "
            "(did you mean 'gaussian'?)",
        ),
        (
            "methods: {simclr_1neg: {loss: simclr, hparams: {num_negatives: 'one'}}}",
            "methods.simclr_1neg.hparams.num_negatives: expected an integer (or null), got 'one'",
        ),
    ],
)
def test_the_issue_inputs_fail_at_load_naming_key_problem_and_allowed_values(text, line):
    message = _error(text)
    assert message.splitlines() == ["params.yaml: invalid configuration (1 problem(s)):", f"  - {line}"]


def test_every_problem_is_reported_on_its_own_line():
    message = _error(
        "methods:\n"
        "  simclr: {hparams: {temperature: 0, num_negatives: 1.5}}\n"
        "  vicreg: {hparams: {eps: 1e-4, sim_coeff: '25'}}\n"
        "pretrain: {num_views: 3}\n"
    )
    lines = message.splitlines()
    assert lines[0] == "params.yaml: invalid configuration (6 problem(s)):"
    assert lines[1:] == [
        "  - methods.simclr.hparams.temperature: must be > 0, got 0",
        "  - methods.simclr.hparams.num_negatives: expected an integer (or null), got 1.5",
        "  - pretrain.num_views: method 'simclr' takes exactly 2 views, got num_views=3",
        # PyYAML reads 1e-4 (no dot) as a string: say so
        "  - methods.vicreg.hparams.eps: expected a number, got '1e-4' (a string: YAML 1.1 reads 1e-4 as text; "
        "write a dot and a signed exponent, e.g. 1.0e-4, without quotes)",
        "  - methods.vicreg.hparams.sim_coeff: expected a number, got '25' (a string: remove the quotes)",
        "  - pretrain.num_views: method 'vicreg' takes exactly 2 views, got num_views=3",
    ]


def test_unknown_and_bound_names_list_the_allowed_ones():
    assert (
        "methods.simclr.hparams.temprature: unknown hyper-parameter of 'simclr'; allowed: temperature, "
        "num_negatives" in _error("methods: {simclr: {hparams: {temprature: 0.1}}}")
    )
    message = _error("methods: {simclr_abs: {hparams: {transform_positive: true}}}")
    assert "methods.simclr_abs.hparams.transform_positive: fixed to false by the method 'simclr_abs'" in message
    assert "allowed: temperature, num_negatives" in message
    assert "allowed: (none)" in _error("methods: {byol: {hparams: {temperature: 0.1}}}")


@pytest.mark.parametrize("name", sorted(METHODS))
def test_variant_defining_flags_are_bound_not_tunable(name):
    method = get(name)
    assert not VARIANT_FLAGS & set(method.hparams)
    for key, value in method.bound.items():
        assert f"methods.row.hparams.{key}: fixed to" in _config_error(name, {key: value})


def test_simclr_abs_and_sq_keep_the_untransformed_positive():
    for name in ("simclr_abs", "simclr_sq"):
        assert get(name).bound["transform_positive"] is False


def test_jessl_methods_shows_types_and_bounds_and_no_bound_flag(capsys):
    assert cli.main(["methods"]) == 0
    out = capsys.readouterr().out
    assert "transform_positive" not in out and "decoupled" not in out
    simclr_abs = next(line for line in out.splitlines() if line.startswith("simclr_abs "))
    assert "temperature=0.5 (float > 0), num_negatives=None (int >= 1 or null)" in simclr_abs
    assert "kernel='imq' ('imq' | 'gaussian')" in out


# --- generated from the registry, so that a new method is covered ------------------------------------------
@pytest.mark.parametrize("name", sorted(METHODS))
def test_the_defaults_of_every_method_pass_its_own_validation(name):
    method = get(name)
    assert method.validate_hparams(method.hparams) == method.hparams
    validate(_row(name, method.hparams))


def _wrong_values(annotation):
    """Values of the wrong TYPE for `annotation`, and the start of the expected message."""
    (kind, literals), nullable, _ = _split(annotation)
    or_null = " (or null)" if nullable else ""
    none = [] if nullable else [None]
    if kind == "float":
        return [("0.5", True, [0.5], {"a": 1}, *none), f"expected a number{or_null}"]
    if kind == "int":
        return [("one", "1", 1.0, 1.5, True, [1], *none), f"expected an integer{or_null}"]
    if kind == "bool":
        return [("true", 1, 0.0, *none), f"expected true or false{or_null}"]
    if kind == "literal":
        allowed = ", ".join(f"{v!r}" for v in literals) + (", or null" if nullable else "")
        return [(f"{literals[0]}x", 1, True, [literals[0]], *none), f"must be one of {allowed}"]
    raise AssertionError(f"a hyper-parameter kind this test does not know: {annotation!r}; add its cases")


def test_the_registry_has_the_kinds_these_tests_cover():
    kinds = {(_split(a)[0][0], _split(a)[1]) for _, _, a in TUNABLE}
    assert {("float", False), ("int", False), ("int", True), ("literal", False)} <= kinds


@pytest.mark.parametrize(("name", "key", "annotation"), TUNABLE, ids=IDS)
def test_a_wrong_type_is_an_error_for_every_hyper_parameter(name, key, annotation):
    bad_values, rule = _wrong_values(annotation)
    for bad in bad_values:
        message = _config_error(name, {key: bad})
        assert f"  - methods.row.hparams.{key}: {rule}, got " in message, (bad, message)
        with pytest.raises(HparamError) as err:
            get(name).validate_hparams({key: bad})
        assert set(err.value.problems) == {key}


def _violations(bound, kind):
    """A value on the wrong side of `bound`, and the rule the message must state."""
    if isinstance(bound, at.Gt):
        return [bound.gt, bound.gt - 1], f"must be > {bound.gt}"
    if isinstance(bound, at.Ge):
        return [bound.ge - (1 if kind == "int" else 0.5)], f"must be >= {bound.ge}"
    if isinstance(bound, at.Lt):
        return [bound.lt, bound.lt + 1], f"must be < {bound.lt}"
    if isinstance(bound, at.Le):
        return [bound.le + 1], f"must be <= {bound.le}"
    raise AssertionError(f"a bound this test does not know: {bound!r}; add its cases")


@pytest.mark.parametrize(("name", "key", "annotation"), BOUNDED, ids=[f"{m}.{k}" for m, k, _ in BOUNDED])
def test_a_bound_violation_is_an_error_for_every_bounded_hyper_parameter(name, key, annotation):
    (kind, _), _, bounds = _split(annotation)
    for bound in bounds:
        values, rule = _violations(bound, kind)
        for bad in values:
            message = _config_error(name, {key: bad})
            assert f"  - methods.row.hparams.{key}: {rule}, got {bad}" in message, message
        inclusive = getattr(bound, "ge", getattr(bound, "le", None))
        if inclusive is not None:  # the bound itself is allowed
            assert get(name).validate_hparams({key: inclusive}) == {key: inclusive}


# the bounds the losses' definitions need; every numeric hyper-parameter must have one
EXPECTED_RULES = {
    "temperature": "float > 0",
    "num_negatives": "int >= 1 or null",
    "eps": "float > 0",
    "scale": "float > 0",
    "num_features": "int >= 1",
    "sim_coeff": "float >= 0",
    "std_coeff": "float >= 0",
    "cov_coeff": "float >= 0",
    "lambda_param": "float >= 0",
    "scale_loss": "float > 0",
    "invariance_weight": "float >= 0",
    "gamma": "float >= 0",
    "kernel": "'imq' | 'gaussian'",
    "estimator": "'exact' | 'rff'",
}


@pytest.mark.parametrize(("name", "key", "annotation"), TUNABLE, ids=IDS)
def test_every_numeric_hyper_parameter_is_bounded_as_its_loss_needs(name, key, annotation):
    (kind, _), _, bounds = _split(annotation)
    if kind in ("int", "float"):
        assert bounds, f"{name}.{key}: a number without bounds; annotate it (see jessl.methods.hptypes)"
    assert get(name).hparam_types[key] == EXPECTED_RULES[key]


@pytest.mark.parametrize(
    "value, rule",
    [(float("nan"), "must be a finite number, got nan"), (float("inf"), "must be a finite number, got inf")],
)
def test_non_finite_numbers_are_rejected(value, rule):
    assert f"methods.row.hparams.temperature: {rule}" in _config_error("simclr", {"temperature": value})


def test_an_int_is_a_valid_float_and_is_returned_as_one():
    assert get("simclr").validate_hparams({"temperature": 1}) == {"temperature": 1.0}
    assert isinstance(get("simclr").validate_hparams({"temperature": 1})["temperature"], float)
    _load("methods: {vicreg: {hparams: {sim_coeff: 25, eps: 1.0e-4}}, simclr: {hparams: {num_negatives: null}}}")


# --- run time: a ValueError inside a loss is a user error ---------------------------------------------------
def test_a_bad_value_reaching_a_loss_is_a_one_line_loss_error():
    z = [torch.randn(4, 3, generator=torch.Generator().manual_seed(0)) for _ in range(2)]
    with pytest.raises(LossError) as err:
        get("simclr")(z, num_negatives=100)
    assert str(err.value) == (
        "method 'simclr': num_negatives must be in [1, 6], got 100; check its hparams in params.yaml"
    )
    assert isinstance(err.value, ValueError)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    with pytest.raises(
        LossError,
        match=r"^method 'ssl_hsic_notarget': kernel must be 'imq' or 'gaussian', got "
        r"'gausian'; check its hparams in params\.yaml$",
    ):
        get("ssl_hsic_notarget")(z, kernel="gausian", estimator="exact")


def test_a_good_call_is_unchanged():
    z = [torch.randn(4, 3, generator=torch.Generator().manual_seed(0)) for _ in range(2)]
    torch.testing.assert_close(get("simclr")(z, num_negatives=6), get("simclr")(z))


# --- target_ema ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ema", [0.0, 0.99, 0.999])
def test_target_ema_in_the_half_open_unit_interval_is_accepted(ema):
    assert _load(f"methods: {{byol: {{target_ema: {ema}}}}}").methods["byol"].target_ema == ema


@pytest.mark.parametrize("ema, problem", [(1.0, "less than 1"), (-0.1, "greater than or equal to 0")])
def test_target_ema_outside_the_half_open_unit_interval_is_rejected(ema, problem):
    assert f"methods.byol.target_ema: Input should be {problem}" in _error(f"methods: {{byol: {{target_ema: {ema}}}}}")


# --- other ways a loss may declare its bounds ---------------------------------------------------------------
def _toy_loss(
    z1: torch.Tensor,
    z2: torch.Tensor,
    weight: Annotated[float, Field(gt=0, le=10)] = 1.0,
    band: Annotated[float, at.Interval(ge=0, lt=1)] = 0.5,
    mode: Literal["a", "b"] | None = None,
    flag: bool = False,
) -> torch.Tensor:
    return weight * (z1 - z2).square().mean()


def test_field_interval_nullable_literal_and_bool_annotations():
    toy = Method("toy", _toy_loss)
    assert toy.hparam_types == {
        "weight": "float > 0 and <= 10",
        "band": "float >= 0 and < 1",
        "mode": "'a' | 'b' or null",
        "flag": "bool",
    }
    assert toy.validate_hparams(toy.hparams) == toy.hparams
    assert toy.validate_hparams({"weight": 10, "band": 0, "mode": "b", "flag": True}) == {
        "weight": 10.0, "band": 0.0, "mode": "b", "flag": True,
    }  # fmt: skip
    with pytest.raises(HparamError) as err:
        toy.validate_hparams({"weight": 11, "band": 1.0, "mode": "c", "flag": "yes"})
    assert err.value.problems == {
        "weight": "must be <= 10, got 11",
        "band": "must be < 1, got 1.0",
        "mode": "must be one of 'a', 'b', or null, got 'c'",
        "flag": "expected true or false, got 'yes' (a string: write true or false, without quotes)",
    }


@pytest.mark.parametrize("name", sorted(METHODS))
def test_the_signature_read_from_the_source_is_the_imported_loss_s(name):
    # the registry reads hyper-parameters without importing torch; the imported function must agree
    method = METHODS[name]
    imported = Method(name, method.fn, method.inputs, method.bound)
    assert isinstance(method.loss, str) and method.hparams == imported.hparams
    assert {k: (p.default, p.annotation) for k, p in method._tunable().items()} == {
        k: (p.default, p.annotation) for k, p in imported._tunable().items()}
    assert method.hparam_types == imported.hparam_types


def test_a_registry_entry_that_cannot_be_read_statically_is_named():
    from jessl.methods.registry import static_signature

    with pytest.raises(ValueError, match=r"jessl/methods/contrastive.py has no function 'nope'"):
        static_signature("contrastive.nope")
    assert "phi" in static_signature("contrastive.simclr").parameters
