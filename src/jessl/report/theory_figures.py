"""Figures of the theory claims: spectral.png (claim 1) and hsic_infonce.png (claim 4).

Same conventions as `figures`: Okabe–Ito colours, markers and hatches besides colour, fixed PNG metadata.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .figures import OKABE_ITO, _save, plt, styles


def spectral(rows: list[dict[str, Any]], path: str | Path) -> None:
    """(a) relative loss gap and largest principal angle per criterion (log scale); (b) linear probe of the
    closed-form embeddings per pairing, local vs global, against raw pixels."""
    lin = [r for r in rows if r["part"] == "a_linear"]
    real = [r for r in rows if r["part"] == "b_digits" and r["graph"] != "-"]
    raw = [r["linear_top1"] for r in rows if r["part"] == "b_digits" and r["graph"] == "-"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained", width_ratios=[1, 1.6])
    x = np.arange(len(lin))
    floor = 1e-17  # exact agreement shows as this floor on a log axis
    for j, (key, label, hatch) in enumerate((("rel_gap", "relative loss gap", ""),
                                             ("max_angle_deg", "largest principal angle (°)", "//"))):
        ax1.bar(x + (j - 0.5) * 0.38, [max(r[key], floor) for r in lin], 0.38, label=label, color=OKABE_ITO[j],
                hatch=hatch, edgecolor="black")
    ax1.axhline(1e-3, color="black", linestyle=":", label="goal 1e-3")
    ax1.set_yscale("log")
    ax1.set_xticks(x, [r["criterion"].split(" (")[0] for r in lin])
    ax1.set_title("(a) linear encoder by gradient descent vs closed form")
    ax1.set_ylabel("value (log scale)")
    ax1.legend(fontsize=8)
    graphs = list(dict.fromkeys(r["graph"] for r in real))
    crits = list(dict.fromkeys(r["criterion"] for r in real))
    gx = np.arange(len(graphs))
    for j, crit in enumerate(crits):
        acc = {r["graph"]: r["linear_top1"] for r in real if r["criterion"] == crit}
        ax2.bar(gx + (j - 0.5) * 0.38, [acc[g] for g in graphs], 0.38, label=crit, color=OKABE_ITO[j + 2],
                hatch=["", "\\\\"][j % 2], edgecolor="black")
    if raw:
        ax2.axhline(raw[0], color="black", linestyle="--", label=f"raw pixels ({raw[0]:.1f} %)")
    ax2.set_xticks(gx, [g.replace("_", " ") for g in graphs])
    ax2.set_xlabel("pairs in the graph G (view 1 of an image ↔ view 2 of …)")
    ax2.set_ylabel("linear probe top-1 (%)")
    ax2.set_ylim(0, 100)
    ax2.set_title(f"(b) closed-form embedding of digit pixels, K = {real[0]['k'] if real else '-'}")
    ax2.legend(fontsize=8, loc="lower left")
    _save(fig, path)


def hsic_infonce(rows: list[dict[str, Any]], path: str | Path) -> None:
    """InfoNCE and the SSL-HSIC objective per epoch for each run, and InfoNCE against the objective and
    against its dependence term −HSIC(Z, Y)."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    st = styles(methods)
    fig, axes = plt.subplots(1, 4, figsize=(17, 4), layout="constrained")
    for m in methods:
        rs = sorted((r for r in rows if r["method"] == m), key=lambda r: r["epoch"])
        ep = [r["epoch"] for r in rs]
        axes[0].plot(ep, [r["infonce"] for r in rs], label=m, **st[m])
        axes[1].plot(ep, [r["ssl_hsic"] for r in rs], label=m, **st[m])
        axes[2].plot([r["infonce"] for r in rs], [r["ssl_hsic"] for r in rs], label=f"{m}: Pearson "
                     f"{rs[0]['pearson_ssl_hsic']:.3f}, Spearman {rs[0]['spearman_ssl_hsic']:.3f}", **st[m])
        axes[3].plot([r["infonce"] for r in rs], [-r["hsic_zy"] for r in rs], label=f"{m}: Pearson "
                     f"{rs[0]['pearson_neg_hsic_zy']:.3f}, Spearman {rs[0]['spearman_neg_hsic_zy']:.3f}", **st[m])
    axes[0].set(xlabel="epoch", ylabel="InfoNCE (NT-Xent, nats)", title="InfoNCE on fixed batches")
    axes[1].set(xlabel="epoch", ylabel="−HSIC(Z,Y) + γ√HSIC(Z,Z)", title="SSL-HSIC objective, same batches")
    axes[2].set(xlabel="InfoNCE (nats)", ylabel="SSL-HSIC objective", title="InfoNCE vs SSL-HSIC objective")
    axes[3].set(xlabel="InfoNCE (nats)", ylabel="−HSIC(Z,Y)", title="InfoNCE vs the dependence term")
    for ax in axes:
        ax.legend(fontsize=8)
    _save(fig, path)
