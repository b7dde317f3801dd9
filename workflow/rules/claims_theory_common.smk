# Settings and input functions of claims_theory.smk (claims 1 and 4): their sizes are `claims.spectral` and
# `claims.hsic_infonce` of params.yaml (jessl.claims.schema; defaults without a `claims:` section); the
# `claims_theory` DVC stage runs them.
from jessl.claims.schema import ClaimsConfig

THEORY_CFG = P.claims or ClaimsConfig()

CLAIM_DATASET = "digits" if "digits" in P.datasets else TABLE[0]  # raw pixels / eval batches / pretraining data
SPECTRAL_LINEAR = THEORY_CFG.spectral.linear.model_dump()
SPECTRAL_REAL = {"k": THEORY_CFG.spectral.k, "probe_c": P.evaluate.linear_c, "ridge": THEORY_CFG.spectral.ridge}
HSIC_METHODS = [m for m in ("ssl_hsic_notarget", "ssl_hsic") if m in P.methods]  # without and with a target
HSIC_EPOCHS = THEORY_CFG.hsic_infonce.epochs
HSIC_KEEP = [round(100 * e / HSIC_EPOCHS) for e in range(HSIC_EPOCHS)]  # one checkpoint per epoch, 0 = init
HSIC_BATCHES = THEORY_CFG.hsic_infonce.model_dump(include={"batch_size", "num_batches"})  # fixed views of the test split
HSIC_OBJECTIVE = THEORY_CFG.hsic_infonce.model_dump(include={"temperature", "gamma", "scale"})
HSIC_DIR = "results/claims_theory/hsic/{method}/seed{seed}"


def hsic_run(method):
    """The configured run of `method`, shortened and renamed (so the audit does not hold it to table1's run)."""
    return P.run_config(method, changes={"epochs": HSIC_EPOCHS}, rename=f"{method}_claim4").to_params()


def hsic_checkpoints(seed):
    return {m: [*expand(f"{HSIC_DIR}/keep/pct{{pct}}.pt", method=m, seed=seed, pct=HSIC_KEEP),
                f"{HSIC_DIR}/final.pt".format(method=m, seed=seed)] for m in HSIC_METHODS}

