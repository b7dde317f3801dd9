# Settings and input functions of claims_theory.smk (claims 1 and 4 of issue 12), fixed at the embedded
# default's size; the `claims_theory` DVC stage runs them.

CLAIM_DATASET = "digits" if "digits" in P.datasets else TABLE[0]  # raw pixels / eval batches / pretraining data
SPECTRAL_LINEAR = {"samples": 12, "dim": 6, "k": 3, "views": 2, "beta": 1.0, "lr": 0.01, "max_steps": 5000}
SPECTRAL_REAL = {"k": 16, "probe_c": P.evaluate.linear_c, "ridge": 1e-6}
HSIC_METHODS = [m for m in ("ssl_hsic_notarget", "ssl_hsic") if m in P.methods]  # without and with a target
HSIC_EPOCHS = 6
HSIC_KEEP = [round(100 * e / HSIC_EPOCHS) for e in range(HSIC_EPOCHS)]  # one checkpoint per epoch, 0 = init
HSIC_BATCHES = {"batch_size": 128, "num_batches": 2}  # fixed views of the test split
HSIC_OBJECTIVE = {"temperature": 0.5, "gamma": 3.0, "scale": 1.0}
HSIC_DIR = "results/claims_theory/hsic/{method}/seed{seed}"


def hsic_run(method):
    """The configured run of `method`, renamed (so the audit does not hold it to table1's run) and shortened."""
    run = P.run_config(method).to_params()
    run["name"] = f"{method}_claim4"
    run["pretrain"]["epochs"] = HSIC_EPOCHS
    return run


def hsic_checkpoints(seed):
    return {m: [*expand(f"{HSIC_DIR}/keep/pct{{pct}}.pt", method=m, seed=seed, pct=HSIC_KEEP),
                f"{HSIC_DIR}/final.pt".format(method=m, seed=seed)] for m in HSIC_METHODS}

