"""The papers' claims that the pipeline tests: number, title, paper, and the Snakemake rules and files that
test each one. The one list of claims: the rules, the report's headings and the `claims:` schema follow it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """One paper's claim: `key` names its `claims:` block and its section `results/claims/<key>.md`."""

    number: int
    key: str
    title: str
    paper: str
    sweep: bool  # a sweep of table1 rows (workflow/rules/claims.smk); else a theory claim (claims_theory.smk)
    rules: tuple[str, ...]  # the rules that build its outputs, the last one writes its section
    outputs: tuple[str, ...]

    @property
    def heading(self) -> str:
        """Its section's heading in results/claims.md."""
        return f"Claim {self.number}: {self.title} ({self.paper})"

    @property
    def fragment(self) -> str:
        return f"results/claims/{self.key}.md"


CATALOGUE: tuple[Claim, ...] = (
    Claim(1, "spectral", "SSL optima are spectral embeddings", "Balestriero & LeCun 2022", False,
          ("spectral",), ("results/spectral.csv", "results/figures/spectral.png")),
    Claim(2, "duality", "contrastive ≈ non-contrastive after tuning", "Garrido et al. 2023", True,
          ("claims_pretrain", "claims_evaluate_duality", "claims_duality"),
          ("results/table_duality.csv", "results/dim_sweep.csv", "results/figures/dim_sweep.png")),
    Claim(3, "convergence", "FroSSL converges faster", "Skean et al. 2024", True,
          ("claims_pretrain_kept", "claims_evaluate_convergence", "claims_convergence"),
          ("results/table_convergence.csv", "results/convergence_eigenvalues.csv",
           "results/figures/convergence_frossl.png", "results/figures/convergence_eigenvalues.png")),
    Claim(4, "hsic_infonce", "SSL-HSIC and InfoNCE move together", "Li et al. 2021", False,
          ("hsic_pretrain", "hsic_infonce"), ("results/hsic_infonce.csv", "results/figures/hsic_infonce.png")),
    Claim(5, "ablation", "democratising JE-SSL", "Bordes et al. 2023", True,
          ("claims_pretrain", "claims_evaluate_ablation", "claims_ablation"), ("results/table_ablation.csv",)),
)
BY_KEY = {c.key: c for c in CATALOGUE}
ORDER = tuple(c.key for c in sorted(CATALOGUE, key=lambda c: c.number))  # the sections of results/claims.md
SWEEPS = tuple(c.key for c in CATALOGUE if c.sweep)


def claim(key: str) -> Claim:
    """The catalogue's claim `key`, or an error listing the keys."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise KeyError(f"no claim {key!r}; claims: {', '.join(BY_KEY)}") from None
