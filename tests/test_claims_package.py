"""The claims package: its catalogue matches the workflow, `Verdict` is a checked value, the theory claims'
sizes are validated keys of `claims:`."""

from __future__ import annotations

import dataclasses
import re

import pytest

from conftest import ROOT
from jessl.claims import CATALOGUE, ORDER, SWEEPS, Verdict, claim
from jessl.claims import sweep as C
from jessl.config import ConfigError, load, validate

RULES = "\n".join(p.read_text() for p in sorted((ROOT / "workflow" / "rules").glob("*.smk")))


def test_the_catalogue_numbers_the_claims_once_in_order():
    assert [c.number for c in CATALOGUE] == list(range(1, len(CATALOGUE) + 1))
    assert len({c.key for c in CATALOGUE}) == len(CATALOGUE) and ORDER == tuple(c.key for c in CATALOGUE)
    assert C.CLAIMS == SWEEPS == ("duality", "convergence", "ablation")
    with pytest.raises(KeyError, match="no claim 'dualty'; claims: spectral, duality"):
        claim("dualty")


@pytest.mark.parametrize("c", CATALOGUE, ids=lambda c: c.key)
def test_every_catalogued_rule_and_output_is_in_the_workflow(c):
    for rule in c.rules:
        loop = rule.startswith("claims_evaluate_") and 'f"claims_evaluate_{_claim}"' in RULES
        assert re.search(rf"^rule {rule}:", RULES, re.M) or loop, rule
    for out in c.outputs:
        assert f'"{out}"' in RULES, out
    assert c.heading.startswith(f"Claim {c.number}: {c.title} (")


def _verdict(**over):
    v = dict(claim=2, verdict="reproduced", effect=0.4, low=-0.3, high=1.1, margin=1.0, test="equivalence",
             n_seeds=3, compared="best contrastive − best non-contrastive top-1")
    return Verdict(**{**v, **over})


def test_a_verdict_is_a_frozen_value_that_round_trips_through_json():
    v = _verdict()
    assert Verdict.from_json(v.to_json()) == v and v.unit == "points"
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.verdict = "inconclusive"


@pytest.mark.parametrize("over, message", [
    ({"claim": 6}, "claim 6 is not in the catalogue"),
    ({"verdict": "maybe"}, "verdict 'maybe' is not one of reproduced, not_reproduced, inconclusive"),
    ({"test": "two_sided"}, "test 'two_sided' is not one of superiority"),
    ({"low": 2.0}, "need low <= high"),
    ({"margin": -1.0}, "margin >= 0"),
    ({"high": float("nan")}, "finite"),
    ({"n_seeds": 0}, "n_seeds must be >= 1"),
])
def test_a_bad_verdict_is_refused(over, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _verdict(**over)


def test_theory_claim_sizes_are_validated_keys():
    p = load(ROOT / "params.yaml")
    raw = p.model_dump(mode="json", exclude_unset=True)
    raw["claims"]["spectral"] = {"linear": {"k": 9, "dim": 6}}
    with pytest.raises(ConfigError, match=r"claims\.spectral\.linear: .*k: 9 embedding dimensions exceed"):
        validate(raw)
    raw["claims"]["spectral"] = {}
    raw["claims"]["hsic_infonce"] = {"epochs": 0}
    with pytest.raises(ConfigError, match=r"claims\.hsic_infonce\.epochs: Input should be greater than or equal"):
        validate(raw)
    raw["claims"]["hsic_infonce"] = {"epochs": 3, "gamma": 1.5}
    h = validate(raw).claims.hsic_infonce
    assert (h.epochs, h.gamma, h.batch_size) == (3, 1.5, 128)
