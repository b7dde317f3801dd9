"""The claims' tables, figures and `results/claims.md`, from the claims' evaluation JSONs alone.

Every entry is an evaluation (`stages.evaluate`) whose `tags` say which claim, row and sweep point it is;
each point's metrics are first averaged over seeds. The one-sentence findings are computed from the
numbers (a tolerance in top-1 points decides "equal"), never written by hand.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .tables import _metric, write_csv

PROBES = (("linear_top1", "linear"), ("knn_top1", "k-NN"))
# FroSSL repository (OFSkean/FroSSL), STL-10: epochs to reach 80 % of the final accuracy, by (loss, views).
FROSSL_STL10_EPOCHS_TO_80 = {("frossl", 2): 290, ("frossl", 4): 144, ("frossl", 8): 51, ("vicreg", 2): 360,
                             ("simclr", 2): 347, ("barlow_twins", 2): 370, ("byol", 2): 187}


def _mean(vals: Iterable[float]) -> float:
    return round(statistics.fmean(vals), 2)


def by_point(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """variant → {tags, metrics averaged over seeds, seeds} (entries of one claim, one dataset)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        groups.setdefault(e["method"], []).append(e)
    out = {}
    for variant, es in groups.items():
        out[variant] = {"tags": _tags(es[0]),
                        "loss": es[0].get("loss"), "epochs": es[0].get("epochs"),
                        "seeds": sorted(e["seed"] for e in es),
                        **{k: _mean(_metric(e, k) for e in es) for k in ("linear_top1", "knn_top1", "rankme")}}
    return out


def _tags(e: dict[str, Any]) -> dict[str, Any]:
    return {k: e[k] for k in ("claim", "row", "family", "roles", "swept", "dim", "views", "pct", "label",
                              "batch_size", "num_negatives", "noise_only", "source") if k in e}


# --- claim 2: duality (Garrido et al. 2023) ---------------------------------------------------------------

DUALITY_COLUMNS = ["method", "family", "swept", "points", "best_linear_top1", "best_linear_at", "median_linear_top1",
                   "best_knn_top1", "best_knn_at", "median_knn_top1", "epochs", "seeds"]


def _at(tags: dict[str, Any], variant: str) -> str:
    swept = tags.get("swept") or {}
    return ";".join(f"{k}={v}" for k, v in swept.items()) or variant


def duality_rows(entries: list[dict[str, Any]], order: list[str] | None = None) -> list[dict[str, Any]]:
    """Per swept row: best and median over its sweep (linear, k-NN); then the best of each family and the gap
    (best contrastive − best non-contrastive, in top-1 points)."""
    points = {v: pt for v, pt in by_point(entries).items() if "sweep" in (pt["tags"].get("roles") or [])}
    rows_of: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for v, pt in points.items():
        rows_of.setdefault(pt["tags"]["row"], []).append((v, pt))
    rank = {m: i for i, m in enumerate(order or [])}
    rows = []
    for row, pts in sorted(rows_of.items(), key=lambda kv: (rank.get(kv[0], 1e9), kv[0])):
        r: dict[str, Any] = {"method": row, "family": pts[0][1]["tags"]["family"],
                             "swept": ",".join(sorted({k for _, pt in pts for k in pt["tags"].get("swept", {})})),
                             "points": len(pts), "epochs": pts[0][1]["epochs"],
                             "seeds": ";".join(str(s) for s in sorted({s for _, pt in pts for s in pt["seeds"]}))}
        for key, short in (("linear_top1", "linear"), ("knn_top1", "knn")):
            best_v, best = max(pts, key=lambda vp, key=key: (vp[1][key], vp[0]))
            r[f"best_{short}_top1"] = best[key]
            r[f"best_{short}_at"] = _at(best["tags"], best_v)
            r[f"median_{short}_top1"] = round(statistics.median(pt[key] for _, pt in pts), 2)
        rows.append(r)
    fams = {}
    for fam in ("contrastive", "non-contrastive"):
        members = [r for r in rows if r["family"] == fam]
        if not members:
            continue
        f: dict[str, Any] = {"method": f"best {fam}", "family": fam, "points": sum(r["points"] for r in members)}
        for short in ("linear", "knn"):
            top = max(members, key=lambda r, short=short: (r[f"best_{short}_top1"], r["method"]))
            f[f"best_{short}_top1"] = top[f"best_{short}_top1"]
            f[f"best_{short}_at"] = f"{top['method']}:{top[f'best_{short}_at']}"
            vals = [pt[f"{short}_top1"] for pt in points.values() if pt["tags"]["family"] == fam]
            f[f"median_{short}_top1"] = round(statistics.median(vals), 2)
        fams[fam] = f
        rows.append(f)
    if len(fams) == 2:
        c, n = fams["contrastive"], fams["non-contrastive"]
        rows.append({"method": "gap", "family": "contrastive − non-contrastive",
                     **{f"{kind}_{s}_top1": round(c[f"{kind}_{s}_top1"] - n[f"{kind}_{s}_top1"], 2)
                        for kind in ("best", "median") for s in ("linear", "knn")}})
    return rows


DIM_COLUMNS = ["method", "dim", "linear_top1", "knn_top1", "rankme", "variant", "seeds"]


def dim_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Linear and k-NN top-1 per (row, projector output dimension) of the dimension sweep."""
    rows = [{"method": pt["tags"]["row"], "dim": pt["tags"]["dim"], "linear_top1": pt["linear_top1"],
             "knn_top1": pt["knn_top1"], "rankme": pt["rankme"], "variant": v,
             "seeds": ";".join(map(str, pt["seeds"]))}
            for v, pt in by_point(entries).items() if "dims" in (pt["tags"].get("roles") or [])]
    return sorted(rows, key=lambda r: (r["method"], r["dim"]))


def duality_finding(rows: list[dict[str, Any]], dims: list[dict[str, Any]], tolerance: float) -> str:
    by = {r["method"]: r for r in rows}
    if "gap" not in by:
        return "Only one family was swept, so there is no gap to report."
    c, n, g = by["best contrastive"], by["best non-contrastive"], by["gap"]
    close = abs(g["best_linear_top1"]) <= tolerance
    verdict = (f"within {tolerance:g} top-1 points" if close else f"more than {tolerance:g} points apart")
    text = (f"Beside it, the families (best on test, a description, not a selection): contrastive "
            f"{c['best_linear_at']} {c['best_linear_top1']:.2f} % vs "
            f"non-contrastive {n['best_linear_at']} {n['best_linear_top1']:.2f} %, a gap of "
            f"{g['best_linear_top1']:+.2f} points ({verdict}); k-NN gap {g['best_knn_top1']:+.2f}, median gap "
            f"{g['median_linear_top1']:+.2f} (linear).")
    for method in dict.fromkeys(r["method"] for r in dims):
        pts = [r for r in dims if r["method"] == method]
        best = max(r["linear_top1"] for r in pts)
        enough = min(r["dim"] for r in pts if r["linear_top1"] >= best - tolerance)
        text += (f" {method}: {pts[0]['linear_top1']:.2f} % at {pts[0]['dim']} dims, {pts[-1]['linear_top1']:.2f} % at "
                 f"{pts[-1]['dim']}; within {tolerance:g} top-1 points of its best from {enough} dims.")
    return text


# --- claim 3: convergence (Skean et al. 2024) -------------------------------------------------------------

CONVERGENCE_COLUMNS = ["method", "loss", "views", "probe", "fraction", "of", "epochs_equal_steps",
                       "epochs_equal_images", "untrained_top1", "final_top1", "epochs", "stl10_epochs_to_80_reference"]


def epochs_to_fraction(curve: list[tuple[int, float]], fraction: float, of: str = "final") -> int | None:
    """First epoch whose accuracy reaches `fraction` % of the final one (`of="final"`, the FroSSL paper's
    measure) or of the final gain over epoch 0 (`of="gain"`); `curve` is (epoch, top-1) with epoch 0 and the
    final epoch. None if never, and for `of="gain"` when there is no gain (final ≤ epoch 0)."""
    pts = sorted(curve)
    start, final = pts[0][1], pts[-1][1]
    if of == "gain" and final <= start:
        return None
    target = fraction / 100 * final if of == "final" else start + fraction / 100 * (final - start)
    return next((e for e, acc in pts if acc >= target - 1e-9), None)


def curves(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """variant → {tags, loss, epochs, curve: {probe: [(epoch, top-1 mean over seeds)]}}; the untrained
    reference (epoch 0, the same backbone every run starts from) is each curve's first point."""
    untrained = [e for e in entries if e["method"] == "random_init"]
    if not untrained:
        raise ValueError("convergence: no evaluation of the untrained reference (random_init) among the inputs")
    ref = {k: _mean(_metric(e, k) for e in untrained) for k, _ in PROBES}
    out: dict[str, dict[str, Any]] = {}
    for e in entries:
        if e["method"] == "random_init":
            continue
        t = _tags(e)
        c = out.setdefault(e["method"], {"tags": t, "loss": e.get("loss"), "epochs": 0, "points": {}})
        if "pct" not in t:
            c["epochs"] = max(c["epochs"], e["epochs"])
        for k, _ in PROBES:
            c["points"].setdefault(k, {}).setdefault(e["epochs"], []).append(_metric(e, k))
    ref_band = {k: (min(_metric(e, k) for e in untrained), max(_metric(e, k) for e in untrained)) for k, _ in PROBES}
    for c in out.values():
        pts_all = c.pop("points")
        c["curve"] = {k: [(0, ref[k]), *sorted((ep, _mean(v)) for ep, v in pts.items())] for k, pts in pts_all.items()}
        # the seeds' band (lowest and highest seed) at every epoch, drawn around the mean curve
        c["band"] = {k: [(0, *ref_band[k]), *sorted((ep, min(v), max(v)) for ep, v in pts.items())]
                     for k, pts in pts_all.items()}
    return out


def convergence_rows(entries: list[dict[str, Any]], fractions: list[int],
                     order: list[str] | None = None) -> list[dict[str, Any]]:
    """Long rows: per run × probe × fraction × measure (of the final accuracy / of the gain over the untrained
    backbone): the epoch it is first reached at equal steps (same batch size: epochs) and at equal images
    seen (epochs × views / 2, in two-view epochs)."""
    rank = {m: i for i, m in enumerate(order or [])}
    rows = []
    cs = curves(entries)
    for variant, c in sorted(cs.items(), key=lambda kv: (rank.get(kv[0], 1e9), kv[0])):
        views = int(c["tags"].get("views") or 2)
        for probe, _ in PROBES:
            curve = c["curve"][probe]
            for f in fractions:
                for of in ("final", "gain"):
                    e = epochs_to_fraction(curve, f, of)
                    rows.append({"method": variant, "loss": c["loss"], "views": views, "probe": probe, "fraction": f,
                                 "of": of, "epochs_equal_steps": e,
                                 "epochs_equal_images": None if e is None else round(e * views / 2, 2),
                                 "untrained_top1": curve[0][1], "final_top1": curve[-1][1], "epochs": c["epochs"],
                                 "stl10_epochs_to_80_reference": FROSSL_STL10_EPOCHS_TO_80.get((c["loss"], views), "")})
    return rows


def convergence_finding(rows: list[dict[str, Any]], fraction: int) -> str:
    sel = [r for r in rows if r["probe"] == "linear_top1" and r["fraction"] == fraction and r["of"] == "gain"]
    if not sel:
        return "No convergence runs."
    fro = [r for r in sel if r["loss"] == "frossl"]
    rest = [r for r in sel if r["loss"] != "frossl"]

    def ep(r: dict[str, Any], unit: str) -> str:
        return f"{r[unit]:g}" if r[unit] is not None else "never" if r["final_top1"] > r["untrained_top1"] \
            else "no gain"

    big = 10**9
    text = (f"To {fraction} % of its gain over the untrained backbone (linear probe), FroSSL with "
            f"{'/'.join(str(r['views']) for r in fro)} views took {'/'.join(ep(r, 'epochs_equal_steps') for r in fro)} "
            f"epochs (equal steps; {'/'.join(ep(r, 'epochs_equal_images') for r in fro)} at equal images seen), "
            + ", ".join(f"{r['method']} {ep(r, 'epochs_equal_steps')}" for r in rest) + ".")
    if fro and rest:
        for unit, label in (("epochs_equal_steps", "equal steps"), ("epochs_equal_images", "equal images")):
            best = min(r[unit] if r[unit] is not None else big for r in fro)
            other = min(r[unit] if r[unit] is not None else big for r in rest)
            verdict = ("faster than every other method" if best < other else
                       "no faster than the fastest other method")
            text += f" At {label} FroSSL's best was {verdict}."
    paper = [r for r in rows if r["probe"] == "linear_top1" and r["fraction"] == fraction and r["of"] == "final"]
    if paper and len({r["epochs_equal_steps"] for r in paper}) == 1:
        text += (f" By the paper's measure ({fraction} % of the final accuracy) every run was there at epoch "
                 f"{paper[0]['epochs_equal_steps']}: the untrained backbone is already above it on this data.")
    return text


def eigen_rows(spectra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Long rows: the projector covariance eigenvalues over training (λ_i / Σλ) per run, epoch and index."""
    rows = []
    runs = sorted({s["method"] for s in spectra} - {"random_init"})
    for s in spectra:
        eigs = (s.get("projector") or {}).get("eigenvalues") or []
        total = sum(eigs)
        if total <= 0:
            continue
        # the untrained reference is every run's epoch 0 (same seed, same initial weights)
        for method in runs if s["method"] == "random_init" else [s["method"]]:
            rows += [{"method": method, "seed": s["seed"], "epoch": s["epochs"], "index": i + 1,
                      "relative_eigenvalue": float(f"{v / total:.6g}")} for i, v in enumerate(eigs)]
    return sorted(rows, key=lambda r: (r["method"], r["seed"], r["epoch"], r["index"]))


# --- claim 5: ablation (Bordes et al. 2023) ---------------------------------------------------------------

ABLATION_COLUMNS = ["method", "label", "batch_size", "num_negatives", "noise_only", "epochs", "linear_top1",
                    "knn_top1", "linear_gain_kept_pct", "transfer_linear_top1", "transfer_knn_top1",
                    "transfer_gain_kept_pct", "seeds"]


def ablation_rows(entries: list[dict[str, Any]], transfer: list[dict[str, Any]],
                  full: str) -> list[dict[str, Any]]:
    """Per variant: probes on the pretraining data and on the transfer target, and the % of the full recipe's
    gain over the untrained backbone it kept (100 = as good as the full recipe, 0 = no better than untrained)."""
    own, far = by_point(entries), by_point(transfer)
    if "random_init" not in own or full not in own:
        raise ValueError(f"ablation: need the full recipe ({full}) and random_init among the evaluations")

    def kept(pts: dict[str, dict[str, Any]], v: str) -> float | str:
        if v not in pts or full not in pts or "random_init" not in pts:
            return ""
        gain = pts[full]["linear_top1"] - pts["random_init"]["linear_top1"]
        return round(100 * (pts[v]["linear_top1"] - pts["random_init"]["linear_top1"]) / gain, 1) if gain else ""

    rows = []
    for v, pt in own.items():
        t = pt["tags"]
        rows.append({"method": v, "label": "untrained" if v == "random_init" else t.get("label", v),
                     "batch_size": t.get("batch_size", ""),
                     "num_negatives": "" if v == "random_init" else t.get("num_negatives") or "all",
                     "noise_only": t.get("noise_only", ""), "epochs": pt["epochs"],
                     "linear_top1": pt["linear_top1"], "knn_top1": pt["knn_top1"], "linear_gain_kept_pct": kept(own, v),
                     "transfer_linear_top1": far[v]["linear_top1"] if v in far else "",
                     "transfer_knn_top1": far[v]["knn_top1"] if v in far else "",
                     "transfer_gain_kept_pct": kept(far, v), "seeds": ";".join(map(str, pt["seeds"]))})
    first = {full: 0, "random_init": 2}
    return sorted(rows, key=lambda r: (first.get(r["method"], 1), 0))


def ablation_finding(rows: list[dict[str, Any]], target: str | None) -> str:
    by = {r["method"]: r for r in rows}
    base = by.get("random_init")
    variants = [r for r in rows if r["method"] not in ("random_init",) and r["label"] != "full recipe"]
    full = next((r for r in rows if r["label"] == "full recipe"), None)
    if base is None or full is None:
        return "Missing the full recipe or the untrained reference."
    text = (f"The full recipe gained {full['linear_top1'] - base['linear_top1']:+.2f} linear-probe points over the "
            f"untrained backbone; of that gain " + ", ".join(f"{r['label']} kept {r['linear_gain_kept_pct']} %"
                                                            for r in variants) + ".")
    if target:
        text += (f" On {target} (transfer) the full recipe gained "
                 f"{(full['transfer_linear_top1'] or 0) - (base['transfer_linear_top1'] or 0):+.2f}; "
                 + ", ".join(f"{r['label']} kept {r['transfer_gain_kept_pct']} %" for r in variants) + ".")
    for key, where in (("linear_top1", "the linear probe"), ("transfer_linear_top1", f"{target} (transfer)")):
        if key == "transfer_linear_top1" and not target:
            continue
        below = [r["label"] for r in variants if r[key] == "" or r[key] <= base[key]]
        text += (f" Every variant beat the untrained backbone on {where}." if not below else
                 f" Not better than the untrained backbone on {where}: {', '.join(below)}.")
    return text


# --- claim 1: spectral embeddings (Balestriero & LeCun 2022) ------------------------------------------------

AGREE, DISAGREE = ("augmentation", "same_class"), ("random", "other_class")  # graphs vs the labels


def spectral_finding(rows: list[dict[str, Any]], rel_tol: float = 1e-3, angle_tol_deg: float = 1e-3) -> str:
    """(a) gradient descent vs the closed forms (relative loss gap, largest principal angle), (b) the closed
    forms' linear probe on graphs that agree with the labels vs graphs that do not."""
    text = []
    lin = [r for r in rows if r["part"] == "a_linear"]
    if lin:
        gap, angle = max(float(r["rel_gap"]) for r in lin), max(float(r["max_angle_deg"]) for r in lin)
        ok = gap <= rel_tol and angle <= angle_tol_deg
        text.append(f"Closed forms verified (the project's smooth stand-ins, not the paper's statement): gradient "
                    f"descent reached the closed-form optimum of every criterion "
                    f"({', '.join(r['criterion'].split(' (')[0] for r in lin)}) within a relative loss gap of "
                    f"{gap:.1e} and a largest principal angle of {angle:.1e}° (goals {rel_tol:g} and "
                    f"{angle_tol_deg:g}°): {'verified' if ok else 'NOT verified'}.")
    trained = [r for r in rows if r["part"] == "a_trained"]
    if trained:
        worst = {name: max(float(r["max_angle_deg"]) for r in trained if r["criterion"] == name)
                 for name in dict.fromkeys(r["criterion"] for r in trained)}
        text.append("The paper's statement: linear encoders trained with the real losses end at a largest principal "
                    "angle from the closed-form subspace of at most " + ", ".join(
                        f"{a:.1f}° ({name})" for name, a in worst.items())
                    + f" over {len({(r['samples'], r['dim']) for r in trained})} toy sizes and "
                    f"{len({r['seed'] for r in trained})} seeds.")
    real = [r for r in rows if r["part"] == "b_digits" and r["graph"] != "-"]
    if real:
        def span(graphs: tuple[str, ...]) -> tuple[float, float]:
            accs = [float(r["linear_top1"]) for r in real if r["graph"] in graphs]
            return min(accs), max(accs)

        (alo, ahi), (dlo, dhi) = span(AGREE), span(DISAGREE)
        raw = next((float(r["linear_top1"]) for r in rows if r["part"] == "b_digits" and r["graph"] == "-"), None)
        verdict = ("every label-agreeing graph beat every disagreeing one" if alo > dhi else
                   "the agreeing graphs did NOT all beat the disagreeing ones")
        text.append(f"Raw pixels: the closed forms' {real[0]['k']}-d embeddings probe at {alo:.2f}–{ahi:.2f} % with "
                    f"graphs that agree with the labels ({', '.join(AGREE)}) and {dlo:.2f}–{dhi:.2f} % with graphs "
                    f"that do not ({', '.join(DISAGREE)})"
                    + (f", raw pixels {raw:.2f} %" if raw is not None else "") + f": {verdict}, for the local "
                    "and the global criterion.")
    sweep = invariance_table(rows)
    if sweep:
        mis = [r for r in sweep if r["graph"] in DISAGREE]
        text.append("The paper's advice on misaligned graphs (local form, invariance weight w): " + "; ".join(
            f"{r['graph']}: {r['best_local']:.2f} % at w = {r['best_weight']:g} vs SimCLR-sq {r['global']:.2f} %"
            for r in mis) + " (linear probe, mean over seeds).")
    return " ".join(text) or "No spectral rows."


INVARIANCE_COLUMNS = ["graph", "best_weight", "best_local", "smallest_weight_local", "largest_weight_local", "global"]


def invariance_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per graph, from the invariance-weight sweep (mean linear top-1 over seeds): the local form's best weight
    and its accuracy, its accuracy at the smallest and the largest weight, and the global (SimCLR-sq) form's."""
    sweep = [r for r in rows if r["part"] == "c_invariance"]
    out = []
    for graph in dict.fromkeys(r["graph"] for r in sweep):
        acc: dict[Any, list[float]] = {}
        for r in sweep:
            if r["graph"] == graph:
                acc.setdefault(r["invariance_weight"], []).append(float(r["linear_top1"]))
        mean = {w: statistics.fmean(v) for w, v in acc.items()}
        local = sorted(w for w in mean if w is not None)
        best = max(local, key=lambda w: (mean[w], -w))
        out.append({"graph": graph, "best_weight": best, "best_local": mean[best],
                    "smallest_weight_local": mean[local[0]], "largest_weight_local": mean[local[-1]],
                    "global": mean.get(None, float("nan"))})
    return out


# --- claim 4: SSL-HSIC and InfoNCE (Li et al. 2021) ---------------------------------------------------------

HSIC_SUMMARY_COLUMNS = ["method", "seed", "checkpoints", "infonce_first", "infonce_last", "ssl_hsic_first",
                        "ssl_hsic_last", "pearson_ssl_hsic", "spearman_ssl_hsic", "pearson_neg_hsic_zy",
                        "spearman_neg_hsic_zy", "pearson_ssl_hsic_null", "pearson_approx"]


def hsic_summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per run: InfoNCE and the objective at its first and last checkpoint, and their correlations
    (the per-checkpoint rows carry the run's correlations on every line)."""
    out = []
    for method, seed in dict.fromkeys((r["method"], r.get("seed", 0)) for r in rows):
        mine = sorted((r for r in rows if r["method"] == method and r.get("seed", 0) == seed),
                      key=lambda r: int(r["epoch"]))
        out.append({"method": method, "seed": seed, "checkpoints": len(mine),
                    "infonce_first": float(mine[0]["infonce"]), "infonce_last": float(mine[-1]["infonce"]),
                    "ssl_hsic_first": float(mine[0]["ssl_hsic"]), "ssl_hsic_last": float(mine[-1]["ssl_hsic"]),
                    **{k: float(mine[0][k]) for k in HSIC_SUMMARY_COLUMNS[7:]}})
    return out


def hsic_finding(summary: list[dict[str, Any]]) -> str:
    """What the runs showed (per run: method and seed), in numbers; the verdict is the claim's `Verdict`."""
    if not summary:
        return "No SSL-HSIC runs."

    def mean(key: str) -> str:
        vals = [r[key] for r in summary if r[key] == r[key]]  # NaN: a flat curve
        return f"{statistics.fmean(vals):.2f}" if vals else "n/a"

    return (f"Along {len(summary)} runs ({', '.join(dict.fromkeys(r['method'] for r in summary))}; InfoNCE and the "
            "objectives on the same fixed batches at every checkpoint, a target run scored on its predictor and "
            "target projections), the mean Pearson r of InfoNCE with SSL-HSIC's objective was "
            f"{mean('pearson_ssl_hsic')}, "
            f"with its dependence term −HSIC(Z, Y) {mean('pearson_neg_hsic_zy')}, and with the same objective on "
            f"shuffled pairs (the null: same trend, no identity) {mean('pearson_ssl_hsic_null')}. InfoNCE's "
            "second-order "
            f"expansion (the paper's approximation: −HSIC with the linear kernel ẑᵀẑ'/τ plus ½ the kernel's variance) "
            f"followed InfoNCE with r = {mean('pearson_approx')}.")


# --- markdown ---------------------------------------------------------------------------------------------

def markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float) and v and abs(v) < 0.005:
            return f"{v:.1e}"  # a gap of 1e-15 is not "0.00"
        return "" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def csv_text(rows: list[dict[str, Any]], columns: list[str]) -> str:
    return write_csv(rows, columns)


def relative(path: str | Path, start: str | Path) -> str:
    import os

    return Path(os.path.relpath(path, start)).as_posix()


# --- figures ----------------------------------------------------------------------------------------------

def dim_figure(rows: list[dict[str, Any]], path: str | Path) -> None:
    """Linear (and k-NN) top-1 vs projector output dimension, a line per method (log-2 x axis)."""
    from .figures import _nothing, _save, plt, styles

    methods = list(dict.fromkeys(r["method"] for r in rows))
    if not rows:
        return _nothing(path, "no dimension sweep: set claims.duality.dims and dim_rows in params.yaml")
    style = styles(methods)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for ax, (key, label) in zip(axes, PROBES, strict=True):
        for m in methods:
            pts = [r for r in rows if r["method"] == m]
            ax.plot([r["dim"] for r in pts], [r[key] for r in pts], label=m, **style[m])
        ax.set_xscale("log", base=2)
        ax.set_xlabel("projector output dimension")
        ax.set_ylabel("top-1 accuracy (%)")
        ax.set_title(f"{label} probe")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("accuracy vs projector output dimension (Garrido et al. 2023)")
    _save(fig, path)


def convergence_figure(cs: dict[str, dict[str, Any]], path: str | Path) -> None:
    """Top-1 vs epoch (left: equal steps) and vs images seen in two-view epochs (right), per probe."""
    from .figures import _save, plt, styles

    style = styles(list(cs))
    fig, axes = plt.subplots(len(PROBES), 2, figsize=(11, 3.6 * len(PROBES)), squeeze=False, layout="constrained")
    for i, (key, label) in enumerate(PROBES):
        for j, unit in enumerate(("epochs (equal steps)", "images seen, in two-view epochs (equal images)")):
            ax = axes[i][j]
            for v, c in cs.items():
                scale = 1 if j == 0 else int(c["tags"].get("views") or 2) / 2
                ax.plot([e * scale for e, _ in c["curve"][key]], [a for _, a in c["curve"][key]], label=v,
                        markersize=4, **style[v])
                band = c.get("band", {}).get(key, [])
                if band:
                    ax.fill_between([e * scale for e, _, _ in band], [lo for _, lo, _ in band],
                                    [hi for _, _, hi in band], color=style[v].get("color"), alpha=0.15, linewidth=0)
            ax.set_xlabel(unit)
            ax.set_ylabel("top-1 accuracy (%)")
            ax.set_title(f"{label} probe")
            ax.grid(alpha=0.3)
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
    fig.suptitle("convergence: FroSSL vs other methods (Skean et al. 2024); epoch 0 = untrained; bands: lowest to "
                 "highest seed")
    _save(fig, path)


def eigen_figure(rows: list[dict[str, Any]], path: str | Path, top: int = 8) -> None:
    """Per run: the `top` largest eigenvalues λ_i/Σλ of the projector-output covariance vs epoch (log y)."""
    from .figures import OKABE_ITO, _nothing, _save, plt

    methods = list(dict.fromkeys(r["method"] for r in rows))
    if not rows:
        return _nothing(path, "no spectra of kept checkpoints")
    cols = min(4, len(methods))
    nrows = -(-len(methods) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.3 * cols, 2.8 * nrows), squeeze=False, layout="constrained",
                             sharey=True)
    for ax, m in zip(axes.flat, methods, strict=False):
        for i in range(1, top + 1):
            pts: dict[int, list[float]] = {}
            for r in rows:
                if r["method"] == m and r["index"] == i:
                    pts.setdefault(r["epoch"], []).append(r["relative_eigenvalue"])
            xs = sorted(pts)
            ax.plot(xs, [statistics.fmean(pts[x]) for x in xs], color=OKABE_ITO[(i - 1) % len(OKABE_ITO)],
                    marker=".", label=f"λ{i}")
        ax.set_yscale("log")
        ax.set_title(m, fontsize=9)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(methods):]:
        ax.axis("off")
    axes[0][0].set_ylabel("λ_i / Σλ (projector output)")
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=7)
    fig.suptitle(f"eigenvalues of the embedding covariance during training (top {top}; train split)")
    _save(fig, path)
