"""The claims' verdicts: effects per seed, intervals, the decision at the margin, selection on validation only,
results/claims.json and the labels a markdown file shows."""

from __future__ import annotations

import numpy as np
import pytest

from jessl.claims import decide
from jessl.claims.verdict import Verdict
from jessl.evaluate.linear_probe import validation_split


@pytest.mark.parametrize("key, effects, margin, expected", [
    ("ablation", [-1.0, -1.0, -1.0], 3.0, "reproduced"),       # non-inferiority: low −1 > −3
    ("ablation", [-1.0, -1.0, -1.0], 0.5, "not_reproduced"),   # high −1 < −0.5
    ("duality", [0.5, 0.5, 0.5], 1.0, "reproduced"),           # equivalence: inside ±1
    ("duality", [0.5, 0.5, 0.5], 0.5, "not_reproduced"),       # low 0.5 ≥ margin 0.5: flips at the margin
    ("convergence", [1.0, 2.0, 3.0], 0.0, "inconclusive"),     # superiority: [−0.48, 4.48] straddles 0
    ("spectral", [2.0, 9.0], 10.0, "inconclusive"),            # 2 seeds: t(1) interval ±44°
    ("spectral", [2.0, 3.0], 10.0, "reproduced"),              # 2.5 ± 6.4 inside ±10
])
def test_verdict_flips_at_the_margin(key, effects, margin, expected):
    v = decide.verdict(key, effects, margin)
    assert v.verdict == expected and v.n_seeds == len(effects) and v.margin == margin
    assert v.test == decide.TESTS[key][0] and v.claim == ["spectral", "duality", "convergence", "hsic_infonce",
                                                         "ablation"].index(key) + 1


def test_one_seed_is_inconclusive_whatever_the_effect():
    v = decide.verdict("ablation", [50.0], 3.0)
    assert (v.verdict, v.effect, v.low, v.high, v.n_seeds) == ("inconclusive", 50.0, 50.0, 50.0, 1)


def test_validation_split_is_stratified_seeded_and_disjoint():
    y = np.repeat(np.arange(4), [10, 20, 5, 2])
    fit, val = validation_split(y, 0.2, seed=0)
    assert len(np.intersect1d(fit, val)) == 0 and len(fit) + len(val) == len(y)
    assert [int((y[val] == c).sum()) for c in range(4)] == [2, 4, 1, 1]  # at least one per class, one left to fit
    assert all((y[fit] == c).any() for c in range(4))
    assert np.array_equal(val, validation_split(y, 0.2, seed=0)[1])
    assert not np.array_equal(val, validation_split(y, 0.2, seed=1)[1])


def _entry(method, row, seed, val, test):
    return {"method": method, "row": row, "roles": ["sweep"], "seed": seed,
            "metrics": {"val_linear_top1": val, "linear_top1": test}}


def test_selection_reads_validation_never_test():
    """Poisoning every test accuracy (shuffled across points, or set to 0/100) never changes the chosen point."""
    vals = {"simclr-t0.1": 80.0, "simclr-t0.2": 85.0, "simclr-t0.5": 83.0, "vicreg-c1": 90.0, "vicreg-c4": 70.0}
    tests = {"simclr-t0.1": 99.0, "simclr-t0.2": 60.0, "simclr-t0.5": 95.0, "vicreg-c1": 50.0, "vicreg-c4": 99.0}
    entries = [_entry(m, m.split("-")[0], s, vals[m], tests[m] + s) for m in vals for s in (0, 1, 2)]
    effects, chosen = decide.duality_effects(entries, ["simclr", "vicreg"])
    assert chosen == {"simclr": "simclr-t0.2", "vicreg": "vicreg-c1"}
    assert effects == [10.0, 10.0, 10.0]  # the chosen points' test accuracies: 60 + s − (50 + s)
    rng = np.random.default_rng(0)
    for poison in (lambda e: rng.permutation(100), lambda e: 0.0, lambda e: 100.0):
        bad = [{**e, "metrics": {**e["metrics"], "linear_top1": float(np.ravel(poison(e))[0])}} for e in entries]
        assert decide.duality_effects(bad, ["simclr", "vicreg"])[1] == chosen


def test_validation_probe_ignores_test_labels(monkeypatch):
    """`evaluate` with a validation split: poisoning the test labels (shuffled) moves the test probe but leaves
    `val_linear_top1`, what a selection reads, exactly where it was."""
    from jessl.config import EvaluateConfig
    from jessl.evaluate import run as evaluation

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 40)
    x = (rng.normal(size=(120, 6)) + 2.0 * y[:, None]).astype(np.float32)
    test_y = np.repeat(np.arange(3), 20)
    test_x = (rng.normal(size=(60, 6)) + 2.0 * test_y[:, None]).astype(np.float32)

    def run(labels):
        monkeypatch.setattr(evaluation, "extract", lambda _bb, beton, _bs: (x, y) if beton == "train" else
                            (test_x, labels))
        cfg = EvaluateConfig(few_shot_per_class=2, few_shot_repeats=1)
        return evaluation.evaluate("train", "test", None, cfg, validation={"fraction": 0.25, "seed": 0})[0]

    clean, poisoned = run(test_y), run(rng.permutation(test_y))
    assert clean["val_linear_top1"] == poisoned["val_linear_top1"]
    assert clean["linear_top1"] > poisoned["linear_top1"] + 20  # the poison reached the test probe


def test_convergence_and_ablation_effects_per_seed():
    def e(method, seed, acc, pct=None):
        return {"method": method, "seed": seed, "metrics": {"linear_top1": acc}, **({"pct": pct} if pct else {})}
    entries = [e("frossl-views2", s, 80 + s, p) for s in (0, 1) for p in (25, 50)]
    entries += [e("vicreg", s, 78.0, p) for s in (0, 1) for p in (25, 50)] + [e("simclr", s, 79.0, 25) for s in (0, 1)]
    entries += [e("vicreg", s, 99.0) for s in (0, 1)]  # final checkpoints are not "early"
    assert decide.convergence_effects(entries, "frossl-views2", ["vicreg", "simclr"]) == [1.0, 2.0]
    assert decide.ablation_effects([e("combo", 0, 90.0), e("full", 0, 92.5), e("combo", 1, 91.0), e("full", 1, 91.0)],
                                   "combo", "full") == [-2.5, 0.0]


def test_claims_json_round_trip_and_markdown_labels(tmp_path):
    vs = [decide.verdict("spectral", [1.0, 2.0, 1.5], 10.0), decide.verdict("ablation", [-9.0, -8.0, -9.5], 3.0)]
    decide.write_json(tmp_path / "claims.json", vs)
    back = decide.read_json(tmp_path / "claims.json")
    assert set(back) == {"spectral", "ablation"} and back["spectral"] == vs[0]
    assert (back["spectral"].verdict, back["ablation"].verdict) == ("reproduced", "not_reproduced")
    fixture = ("| Claim 1: spectral embeddings | **reproduced** |\n"
               "Claim 5 (Bordes et al.): NOT reproduced at this scale; claim 2 was inconclusive.\n"
               "Claim 3 has no label on this line.\n"
               "- **4 — inconclusive.** A list item in the docs' format.\n"
               "- **3** items of a count are not labels, even if reproduced\n")
    assert decide.labels_in_markdown(fixture) == {1: "reproduced", 5: "not_reproduced", 2: "inconclusive",
                                                  4: "inconclusive"}
    hand = "- **2 — consistent, with a caveat.** A hand-written label.\n- **3 — Not reproduced.** Another.\n"
    assert decide.labels_in_markdown(hand) == {2: "consistent_with_a_caveat", 3: "not_reproduced"}
    assert decide.label_mismatches(fixture, back) == [
        "claim 2: the markdown says 'inconclusive', results/claims.json says None",
        "claim 4: the markdown says 'inconclusive', results/claims.json says None"]
    wrong = fixture.replace("NOT reproduced", "reproduced")
    assert "claim 5: the markdown says 'reproduced', results/claims.json says 'not_reproduced'" in \
        decide.label_mismatches(wrong, back)


def test_readme_claim_labels_equal_claims_json():
    """The claim labels of the README and docs/results.md equal the verdicts of the pinned results/claims.json:
    the copy docs/results.md embeds (test_readme holds it to dvc.lock's md5), or a built one."""
    import json
    import re

    from conftest import ROOT

    docs = [p for p in (ROOT / "README.md", ROOT / "docs" / "results.md") if p.exists()]
    embedded = re.search(r"<!-- output: results/claims.json -->\n(.*?)<!-- /output -->",
                         (ROOT / "docs" / "results.md").read_text(), re.S)
    built = ROOT / "results" / "claims.json"
    if embedded:
        found = {k: Verdict(**v) for k, v in json.loads(embedded.group(1)).items()}
    elif built.exists():
        found = decide.read_json(built)
    else:
        pytest.skip("docs/results.md embeds no results/claims.json and none is built (make claims)")
    labelled = [p for p in docs if decide.labels_in_markdown(p.read_text())]
    assert labelled, "no page labels the claims: docs/results.md lists each verdict as '- **N — verdict.**'"
    assert {v.claim for v in found.values()} <= set().union(*(decide.labels_in_markdown(p.read_text())
                                                              for p in labelled)), "a verdict with no label"
    assert [f"{p.name}: {m}" for p in labelled for m in decide.label_mismatches(p.read_text(), found)] == []


def test_verdict_sentence_comes_from_the_data():
    v = Verdict(2, "inconclusive", 0.5, -1.5, 2.5, 2.0, "equivalence", 3, "a − b")
    s = decide.sentence(v)
    assert s.startswith("**Verdict: inconclusive** — equivalence test of a − b: +0.50 [-1.50, +2.50] points")
    assert "3 seeds" in s and "margin of 2 points" in s


def _scored(method, seed, correct, pct=None):
    from jessl.evaluate import per_image

    c = np.asarray(correct, dtype=int)
    return {"dataset": "digits", "method": method, "seed": seed, **({"pct": pct} if pct else {}),
            "metrics": {"linear_top1": 100.0 * c.mean()},
            "per_image": {"n": len(c), "linear_top1": per_image.encode(c, 1)}}


def test_paired_verdict_from_per_image_scores():
    """a scores every image, b misses the same 10 % on each seed: the difference is +10 points on every resample
    of seeds and images that keeps those images' share, and far above any small margin."""
    n = 200
    miss = np.ones(n, dtype=int)
    miss[::10] = 0
    a = [_scored("a", s, np.ones(n)) for s in range(3)] + [_scored("a", 0, np.zeros(n), pct=50)]  # kept: ignored
    b = [_scored("b", s, miss) for s in range(3)]
    v = decide.paired_verdict("convergence", decide.finals(a, "a"), decide.finals(b, "b"), 2.0, "a − b")
    assert v.effect == pytest.approx(10.0) and v.n_seeds == 3 and v.low > 2.0 and v.verdict == "reproduced"
    same = decide.paired_verdict("duality", decide.finals(b, "b"), decide.finals(b, "b"), 1.0, "b − b")
    assert (same.effect, same.low, same.high, same.verdict) == (0.0, 0.0, 0.0, "reproduced")
    one = decide.paired_verdict("ablation", decide.finals(a, "a")[:1], decide.finals(b, "b")[:1], 3.0, "a − b")
    assert one.n_seeds == 1 and "test-image bootstrap only" in one.compared
