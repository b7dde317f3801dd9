"""The claims (`snakemake claims`): sweep expansion, the claims' config errors, the tables from synthetic
evaluations, one sweep point end to end at a tiny size, and the planned jobs of the `claims` target."""

import json
import re
import shutil
import sys

import pytest
import yaml

from conftest import ROOT, copy_project, run
from jessl import provenance, stages
from jessl.claims import sweep as C
from jessl.claims.verdict import Verdict
from jessl.config import ConfigError, validate
from jessl.report import claims as rc

BASE = yaml.safe_load((ROOT / "params.yaml").read_text())
SMALL = {
    "dataset": "digits", "seeds": [0], "warmup_epochs": 1,
    "duality": {"epochs": 1, "sweeps": {"simclr": {"temperature": [0.1, 0.5]}, "vicreg": {"cov_coeff": [1.0, 2.0]}},
                "contrastive": ["simclr"], "dims": [16, 128], "dim_rows": ["simclr"]},
    "convergence": {"epochs": 2, "keep_epochs": [50], "frossl_views": [2, 4], "rows": ["simclr"]},
    "ablation": {"epochs": 1, "row": "simclr", "noise_only": {"crop_scale": [1.0, 1.0], "noise_std": 0.1},
                 "batch_sizes": [16, 128], "transfer": "mnist5k"},
}


def params(claims=SMALL):
    return validate({**BASE, "claims": claims})


def test_sweep_points_share_equal_runs_and_change_only_what_they_say():
    p = params()
    pts = C.sweep_points(p)
    names = {c: [pt.variant for pt in ps] for c, ps in pts.items()}
    # temperature 0.5 and dimension 128 are simclr's recipe: one point ("simclr") serves both sweeps
    assert names["duality"] == ["simclr-temperature0.1", "simclr", "vicreg", "vicreg-cov_coeff2", "simclr-dim16"]
    assert names["convergence"] == ["frossl-views2", "frossl-views4", "simclr"]
    # batch 128 is the recipe's: the full recipe, listed once
    assert names["ablation"] == ["simclr", "simclr-negatives1", "simclr-noise_only", "simclr-batch16",
                                 "simclr-negatives1-noise_only-batch16"]
    assert names[C.REFERENCE] == ["random_init"]
    shared = next(pt for pt in pts["duality"] if pt.variant == "simclr")
    assert shared.tags["roles"] == ["sweep", "dims"]
    recipe = p.run_config("simclr").to_params()
    for pt in pts["ablation"]:
        run = pt.run.to_params()
        changed = {k for k in recipe if run[k] != recipe[k]}
        allowed = {"name", "pretrain", "optim"} | ({"hparams"} if "negatives" in pt.variant else set()) \
            | ({"augment"} if "noise" in pt.variant else set())
        assert changed <= allowed, pt.variant
        assert run["pretrain"]["epochs"] == 1 and run["optim"]["warmup_epochs"] == 1
    combo = pts["ablation"][-1].run
    assert (combo.hparams["num_negatives"], combo.pretrain.batch_size, combo.augment.noise_std,
            combo.augment.crop_scale) == (1, 16, 0.1, (1.0, 1.0))
    assert combo.augment.brightness == BASE["augment"]["brightness"]  # keys not named keep the recipe's
    dim16 = next(pt.run for pt in pts["duality"] if pt.variant == "simclr-dim16")
    assert dim16.model.projector == [*BASE["model"]["projector"][:-1], 16]
    assert pts["convergence"][1].run.pretrain.num_views == 4


def test_every_point_names_its_files_and_its_evaluations():
    p = params()
    jobs = C.evaluation_jobs(p, "convergence")
    # per run: final + one kept checkpoint; plus the untrained reference
    assert len(jobs) == 3 * 2 + 1
    kept = [j for j in jobs if "pct" in j["tags"]]
    assert {j["checkpoint"] for j in kept} == {f"results/claims/convergence/{v}/seed0/keep/pct50.pt"
                                               for v in ("frossl-views2", "frossl-views4", "simclr")}
    assert {j["epochs"] for j in kept} == {1}
    abl = C.evaluation_jobs(p, "ablation")
    assert sum(j["dataset"] == "mnist5k" for j in abl) == sum(j["dataset"] == "digits" for j in abl) == 6
    assert all(j["tags"]["source"] == "digits" for j in abl if j["dataset"] == "mnist5k")
    assert C.wildcard_alternatives({}, ["duality"]) == "(?!)"


@pytest.mark.parametrize("change, needle", [
    (lambda c: c["duality"]["sweeps"].update(simclrr={"temperature": [0.1]}), "'simclrr' is not a row of `methods`"),
    (lambda c: c["duality"]["sweeps"]["simclr"].update(temperature=[-1.0]), "claims.duality.sweeps.simclr.temperature"),
    (lambda c: c["duality"]["sweeps"]["simclr"].update(tau=[0.1]), "unknown hyper-parameter"),
    (lambda c: c["duality"].update(contrastive=["simclr", "vicreg"]), "there is no gap to measure"),
    (lambda c: c["convergence"].update(keep_epochs=[100]), "(0, 100)"),
    (lambda c: c["ablation"]["noise_only"].update(noise=0.1), "claims.ablation.noise_only"),
    (lambda c: c["ablation"].update(transfer="digits"), "must be another dataset"),
    (lambda c: c.update(dataset="mnist5k"), "not a dataset that is pretrained on"),
])
def test_bad_claims_are_named(change, needle):
    bad = json.loads(json.dumps(SMALL))
    change(bad)
    with pytest.raises(ConfigError, match="invalid configuration") as err:
        params(bad)
    assert needle in str(err.value)


def entry(method, linear, knn=50.0, epochs=3, **tags):
    return {"dataset": "digits", "method": method, "loss": tags.pop("loss", None), "seed": tags.pop("seed", 0),
            "epochs": epochs, **tags, "metrics": {"linear_top1": linear, "knn_top1": knn, "rankme": 5.0}}


def test_duality_table_best_median_and_gap():
    sweep = {"roles": ["sweep"]}
    entries = [
        entry("simclr-t0.1", 90.0, 70.0, row="simclr", family="contrastive", swept={"temperature": "0.1"}, **sweep),
        entry("simclr", 80.0, 75.0, row="simclr", family="contrastive", swept={"temperature": "0.5"},
              roles=["sweep", "dims"], dim=128),
        entry("simclr-t0.2", 84.0, 60.0, row="simclr", family="contrastive", swept={"temperature": "0.2"}, **sweep),
        entry("vicreg", 86.0, 80.0, row="vicreg", family="non-contrastive", swept={"cov_coeff": "1"}, **sweep),
        entry("vicreg-c2", 88.0, 20.0, row="vicreg", family="non-contrastive", swept={"cov_coeff": "2"}, **sweep),
        entry("simclr-dim16", 70.0, 65.0, row="simclr", family="contrastive", roles=["dims"], dim=16),
        entry("simclr-t0.1", 92.0, 72.0, seed=1, row="simclr", family="contrastive", swept={"temperature": "0.1"},
              **sweep),  # a second seed: the point's mean is 91
    ]
    rows = {r["method"]: r for r in rc.duality_rows(entries, ["vicreg", "simclr"])}
    s = rows["simclr"]
    assert (s["points"], s["best_linear_top1"], s["best_linear_at"], s["median_linear_top1"]) == \
        (3, 91.0, "temperature=0.1", 84.0)
    assert (s["best_knn_top1"], s["best_knn_at"], s["median_knn_top1"]) == (75.0, "temperature=0.5", 71.0)
    assert rows["best non-contrastive"]["best_linear_at"] == "vicreg:cov_coeff=2"
    assert rows["gap"]["best_linear_top1"] == 3.0 and rows["gap"]["best_knn_top1"] == -5.0
    assert rows["gap"]["median_linear_top1"] == 84.0 - 87.0
    assert list(rows)[:2] == ["vicreg", "simclr"]
    dims = rc.dim_rows(entries)
    assert [(r["dim"], r["linear_top1"]) for r in dims] == [(16, 70.0), (128, 80.0)]
    text = rc.duality_finding(list(rows.values()), dims, tolerance=1.0)
    assert "gap of +3.00 points (more than 1 points apart)" in text and "reproduced" not in text
    assert "(within 5 top-1 points)" in rc.duality_finding(list(rows.values()), dims, tolerance=5.0)


def test_epochs_to_fraction_of_final_and_of_gain():
    curve = [(0, 60.0), (1, 70.0), (2, 90.0), (4, 100.0)]
    assert rc.epochs_to_fraction(curve, 80, "final") == 2  # 80 % of 100 = 80: first at epoch 2
    assert rc.epochs_to_fraction(curve, 50, "final") == 0
    assert rc.epochs_to_fraction(curve, 20, "gain") == 1  # 60 + 0.2·40 = 68
    assert rc.epochs_to_fraction(curve, 90, "gain") == 4  # 96
    assert rc.epochs_to_fraction([(0, 60.0), (2, 70.0), (4, 59.0)], 80, "gain") is None  # no gain at all


def test_convergence_rows_equal_steps_vs_equal_images():
    ref = entry("random_init", 50.0, 40.0, epochs=0)
    runs = []
    for variant, loss, views, accs in (("frossl-views4", "frossl", 4, [90.0, 95.0, 100.0]),
                                       ("simclr", "simclr", 2, [60.0, 80.0, 100.0])):
        for pct, (ep, acc) in zip((33, 67, None), enumerate(accs, start=1), strict=True):
            tags = {"views": views, **({"pct": pct} if pct else {})}
            runs.append(entry(variant, acc, acc, epochs=ep, loss=loss, **tags))
    rows = rc.convergence_rows([ref, *runs], [80], ["simclr", "frossl-views4"])
    pick = {(r["method"], r["of"]): r for r in rows if r["probe"] == "linear_top1"}
    fro, sim = pick[("frossl-views4", "gain")], pick[("simclr", "gain")]
    assert (fro["epochs_equal_steps"], fro["epochs_equal_images"]) == (1, 2.0)  # 4 views: an epoch is 2 two-view ones
    assert (sim["epochs_equal_steps"], sim["epochs_equal_images"]) == (3, 3.0)
    assert pick[("simclr", "final")]["epochs_equal_steps"] == 2
    assert fro["stl10_epochs_to_80_reference"] == 144 and sim["stl10_epochs_to_80_reference"] == 347
    assert rows[0]["method"] == "simclr"
    text = rc.convergence_finding(rows, 80)
    assert "equal steps FroSSL's best was faster" in text and "equal images FroSSL's best was faster" in text
    with pytest.raises(ValueError, match="untrained reference"):
        rc.convergence_rows(runs, [80])
    seed1 = [{**e, "seed": 1, "metrics": {**e["metrics"], "linear_top1": e["metrics"]["linear_top1"] - 10}}
             for e in [ref, *runs]]
    band = rc.curves([ref, *runs, *seed1])["simclr"]["band"]["linear_top1"]
    assert band == [(0, 40.0, 50.0), (1, 50.0, 60.0), (2, 70.0, 80.0), (3, 90.0, 100.0)]  # lowest to highest seed


def test_ablation_rows_keep_a_share_of_the_full_recipes_gain():
    own = [entry("simclr", 90.0, label="full recipe", batch_size=128), entry("random_init", 70.0, epochs=0),
           entry("simclr-negatives1", 85.0, label="one negative", batch_size=128, num_negatives=1),
           entry("simclr-noise_only", 60.0, label="noise only", batch_size=128, noise_only=True)]
    far = [{**e, "dataset": "mnist5k", "metrics": {**e["metrics"], "linear_top1": e["metrics"]["linear_top1"] - 10}}
           for e in own]
    rows = rc.ablation_rows(own, far, "simclr")
    by = {r["method"]: r for r in rows}
    assert by["simclr-negatives1"]["linear_gain_kept_pct"] == 75.0
    assert by["simclr-noise_only"]["linear_gain_kept_pct"] == -50.0
    assert by["simclr-negatives1"]["transfer_linear_top1"] == 75.0
    assert [r["method"] for r in rows][0] == "simclr" and rows[-1]["method"] == "random_init"
    text = rc.ablation_finding(rows, "mnist5k")
    assert "Not better than the untrained backbone on the linear probe: noise only." in text
    assert "Not better than the untrained backbone on mnist5k (transfer): noise only." in text
    assert by["random_init"]["num_negatives"] == "" and by["simclr"]["num_negatives"] == "all"


def test_one_sweep_point_end_to_end(tmp_path, small_betons, monkeypatch):
    """Derive → pretrain (1 epoch, 320 images) → evaluate_many → the ablation table, with run records."""
    monkeypatch.chdir(tmp_path)
    train, test = small_betons
    for b, split in ((train, "train"), (test, "test")):
        dest = tmp_path / "data" / "digits" / f"{split}.beton"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(b, dest)
        provenance.write_record(dest, stage="convert", inputs=[], params={"dataset": "digits", "split": split})
    small = {**json.loads(json.dumps(SMALL)), "ablation": {**SMALL["ablation"], "batch_sizes": [], "transfer": None}}
    p = params(small)
    pts = {pt.variant: pt for pt in [*C.sweep_points(p)["ablation"], *C.sweep_points(p)[C.REFERENCE]]}
    jobs = [j for j in C.evaluation_jobs(p, "ablation") if j["method"] in ("simclr-negatives1", "random_init")]
    for j in jobs:
        claim = C.REFERENCE if j["method"] == "random_init" else "ablation"
        stages.pretrain(run=pts[j["method"]].run, train_beton=j["train_beton"], out=j["checkpoint"], seed=0, threads=1)
        assert j["checkpoint"] == C.checkpoint_path(claim, j["method"], 0)
    stages.evaluate_many(jobs=jobs, cfg=p.evaluate, threads=1, expected_arch=p.model.backbone)
    one = json.loads((tmp_path / jobs[0]["out"]).read_text())
    assert one["label"] == "one negative" and one["num_negatives"] == 1 and one["claim"] == "ablation"
    rec = provenance.read_record(jobs[0]["checkpoint"])
    assert rec["params"]["name"] == "ablation/simclr-negatives1" and rec["params"]["hparams"]["num_negatives"] == 1
    assert provenance.read_record(jobs[0]["out"])["inputs"].keys() >= {jobs[0]["checkpoint"]}
    full = "simclr-negatives1"  # the only trained point here stands in for the full recipe
    stages.claims_ablation(metrics_files=[j["out"] for j in jobs], transfer_files=[], full=full, target=None,
                           margin=3.0, table_csv="results/table_ablation.csv", fragment="results/claims/ablation.md",
                           verdict_out="results/claims/ablation.verdict.json", compare="one negative")
    table = (tmp_path / "results/table_ablation.csv").read_text().splitlines()
    assert table[0].startswith("method,label,batch_size") and len(table) == 3
    assert "kept" in (tmp_path / "results/claims/ablation.md").read_text()
    v = Verdict.from_json((tmp_path / "results/claims/ablation.verdict.json").read_text())
    # the full recipe against itself: a difference of exactly 0 on every resample, inside any margin
    assert (v.claim, v.verdict, v.effect, v.low, v.high, v.n_seeds) == (5, "reproduced", 0.0, 0.0, 0.0, 1)
    assert v.test == "non_inferiority" and "test-image bootstrap only" in v.compared


def planned(text: str) -> dict[str, int]:
    table = text[text.index("Job stats:"):]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"}


def test_claims_target_plans_one_job_per_point(tmp_path):
    project = copy_project(tmp_path / "proj")
    (project / "params.yaml").write_text(yaml.safe_dump({**BASE, "claims": SMALL}, sort_keys=False))
    out = run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "claims"], project)
    # duality 5 points, ablation 5, the untrained reference 1; convergence 3 runs (with kept checkpoints)
    assert planned(out.stdout + out.stderr) == {
        "convert": 2, "claims_pretrain": 5 + 5 + 1, "claims_pretrain_kept": 3, "claims_evaluate_duality": 1,
        "claims_evaluate_convergence": 1, "claims_evaluate_ablation": 1, "claims_duality": 1,
        "claims_convergence": 1, "claims_ablation": 1, "claims_report": 1, "claims": 1,
        # claims 1 and 4 (claims_theory.smk): the spectral table, SSL-HSIC with and without a target, their table
        "spectral": 1, "hsic_pretrain": 2, "hsic_infonce": 1}
    assert "results/claims/duality/simclr-temperature0.1/seed0/final.pt" in out.stdout
    report_job = re.search(r"rule claims_report:\n\s+input: (.*)", out.stdout)[1].split(", ")
    order = ("spectral", "duality", "convergence", "hsic_infonce", "ablation")  # claims.md reads the papers' 1 … 5
    assert report_job == [*(f"results/claims/{c}.md" for c in order), *(f"results/claims/{c}.verdict.json"
                                                                          for c in order)]
    # (that `all` plans no claim job is test_profiles' exact job count of the embedded profile)


def test_eigen_rows_start_every_run_at_the_untrained_spectrum():
    spec = [{"method": "random_init", "seed": 0, "epochs": 0, "projector": {"eigenvalues": [3.0, 1.0]}},
            {"method": "frossl-views4", "seed": 0, "epochs": 2, "projector": {"eigenvalues": [1.0, 1.0]}}]
    rows = rc.eigen_rows(spec)
    assert [(r["method"], r["epoch"], r["relative_eigenvalue"]) for r in rows] == [
        ("frossl-views4", 0, 0.75), ("frossl-views4", 0, 0.25), ("frossl-views4", 2, 0.5), ("frossl-views4", 2, 0.5)]


def test_a_smaller_batch_scales_the_peak_lr_under_linear_scaling():
    """A sweep point with another batch size keeps the recipe's per-256 lr (solo-learn's rule), not its run's lr."""
    from jessl.claims import sweep as C

    p = validate({**BASE, "claims": None, "optim": {**BASE["optim"], "lr_scaling": "linear", "lr": 0.4}})
    run = C.derive(p, "simclr", name="ablation/simclr-batch16", epochs=1, batch_size=16)
    assert run.pretrain.batch_size == 16 and run.lr == pytest.approx(0.4 * 16 / 256)
    assert C.derive(p, "simclr", name="x", epochs=1).lr == pytest.approx(0.4 * BASE["pretrain"]["batch_size"] / 256)


def spectral_rows(gap=1e-14, angle=1e-8, agree=(93.0, 92.0), disagree=(70.0, 68.0)):
    rows = [{"part": "a_linear", "criterion": f"{c} (x)", "graph": "augmentation", "k": 3, "rel_gap": gap,
             "max_angle_deg": angle} for c in ("local", "global")]
    rows.append({"part": "b_digits", "criterion": "raw pixels (no embedding)", "graph": "-", "k": 64,
                 "linear_top1": 96.0})
    for graph, acc in zip(("augmentation", "same_class", "random", "other_class"), (*agree, *disagree)):
        rows.append({"part": "b_digits", "criterion": "local (x)", "graph": graph, "k": 16, "linear_top1": acc})
    return rows


@pytest.mark.parametrize("kw, needles", [
    ({}, ["Closed forms verified", "gap of 1.0e-14", ": verified", "92.00–93.00 %", "68.00–70.00 %",
          "every label-agreeing graph beat"]),
    ({"gap": 2e-3}, ["NOT verified"]),
    ({"angle": 0.5}, ["NOT verified"]),
    ({"agree": (93.0, 69.0)}, ["did NOT all beat"]),
])
def test_spectral_finding_is_computed_from_the_rows(kw, needles):
    text = rc.spectral_finding(spectral_rows(**kw))
    assert all(n in text for n in needles), text


def hsic_rows(method, nce, obj, zy, null=None, seed=0):
    from jessl.analysis.hsic_infonce import correlations

    null = null or [0.0, 1.0, 0.0, 1.0]
    rows = [{"method": method, "seed": seed, "epoch": e, "infonce": a, "ssl_hsic": b, "hsic_zy": c,
             "ssl_hsic_null": d, "infonce_approx": a + 0.01 * e}
            for e, (a, b, c, d) in enumerate(zip(nce, obj, zy, null))]
    return [{**r, **correlations(rows)} for r in rows]


def test_hsic_summary_and_finding():
    rows = (hsic_rows("ssl_hsic_notarget", [5.5, 5.4, 5.3, 5.2], [-0.90, -0.95, -0.99, -1.0], [1.0, 1.02, 1.05, 1.06])
            + hsic_rows("ssl_hsic", [5.5, 5.2, 5.3, 5.1], [-0.9, -0.8, -0.95, -0.85], [1.0, 1.07, 1.05, 1.1]))
    summary = rc.hsic_summary(rows)
    assert [(s["method"], s["seed"], s["checkpoints"], s["infonce_first"], s["infonce_last"]) for s in summary] == [
        ("ssl_hsic_notarget", 0, 4, 5.5, 5.2), ("ssl_hsic", 0, 4, 5.5, 5.1)]
    assert summary[0]["pearson_ssl_hsic"] > 0.8 and summary[1]["pearson_ssl_hsic"] < 0.8
    text = rc.hsic_finding(summary)
    mean = (summary[0]["pearson_ssl_hsic"] + summary[1]["pearson_ssl_hsic"]) / 2
    assert f"objective was {mean:.2f}" in text and "reproduced" not in text
    flat = rc.hsic_summary(hsic_rows("ssl_hsic", [5.0] * 4, [-1.0] * 4, [1.0] * 4))  # NaN correlations
    assert "objective was n/a" in rc.hsic_finding(flat)


def test_markdown_table_keeps_tiny_numbers_readable():
    table = rc.markdown_table([{"a": 2.5e-15, "b": 0.0, "c": 95.555, "d": None}], ["a", "b", "c", "d"])
    assert table.splitlines()[-1] == "| 2.5e-15 | 0.00 | 95.56 |  |"


def test_convergence_probed_on_a_transfer_target_and_duality_on_validation():
    small = json.loads(json.dumps(SMALL))
    small["convergence"]["probe_on"] = "mnist5k"
    jobs = C.evaluation_jobs(params(small), "convergence")
    far = [j for j in jobs if j["dataset"] == "mnist5k"]
    runs = {j["method"] for j in jobs}
    kept = len(small["convergence"].get("keep_epochs", [25, 50, 75]))
    # every run's final and kept checkpoints, and the untrained reference, on the target (no spectrum, source tag)
    assert len(far) == (len(runs) - 1) * (1 + kept) + 1
    assert all(j["tags"]["source"] == "digits" and j["spectrum_out"] is None for j in far)
    assert all("validation" not in j for j in jobs)
    duality = C.evaluation_jobs(params(small), "duality")
    assert all(j["validation"] == {"fraction": 0.2, "seed": 0} for j in duality)
    small["convergence"]["probe_on"] = "digits"
    with pytest.raises(ConfigError, match="probe_on"):
        params(small)


def test_ablation_lr_scaled_per_batch_size():
    small = json.loads(json.dumps(SMALL))
    small["ablation"] = {**small["ablation"], "batch_sizes": [16, 64], "lr_scaling": "linear"}
    p = params(small)
    recipe = p.run_config(small["ablation"].get("row", "simclr"))
    runs = {pt.variant: pt.run for pt in C.sweep_points(p)["ablation"]}
    for r in runs.values():
        assert r.lr == pytest.approx(recipe.lr * r.pretrain.batch_size / recipe.pretrain.batch_size)
    assert {r.pretrain.batch_size for r in runs.values()} >= {16, 64, recipe.pretrain.batch_size}
    small["ablation"]["lr_scaling"] = "none"
    assert all(pt.run.lr == recipe.lr for pt in C.sweep_points(params(small))["ablation"])


def test_ablation_full_recipe_takes_the_complete_augmentation_set_and_noise_only_replaces_it():
    """Every ablation point but noise-only trains with `full_augment` over the row's augmentations (the
    paper's full recipe); noise-only replaces the augmentations over that set."""
    small = json.loads(json.dumps(SMALL))
    full = {"color_jitter_prob": 0.8, "grayscale_prob": 0.2, "blur_prob": 0.5, "solarize_prob": 0.1}
    small["ablation"] = {**small["ablation"], "full_augment": full}
    p = params(small)
    row = p.run_config("simclr").augment
    runs = {pt.tags["label"]: pt.run.augment for pt in C.sweep_points(p)["ablation"]}
    for label, aug in runs.items():
        if label in ("noise only", "combination"):
            assert (aug.crop_scale, aug.noise_std) == ((1.0, 1.0), 0.1)
            assert aug.blur_prob == 0.5  # the noise-only keys given here replace only themselves
        else:
            assert all(getattr(aug, k) == v for k, v in full.items()), label
            assert (aug.crop_scale, aug.brightness) == (row.crop_scale, row.brightness)  # the row's own keys kept
    assert row.blur_prob == 0.0  # the table1 row itself is unchanged
    small["ablation"]["full_augment"] = {"blur_prob": 2.0}
    with pytest.raises(ConfigError, match="blur_prob"):
        params(small)
