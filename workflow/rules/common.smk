# Helpers shared by the rules (input functions).


def evaluate_inputs(wc):
    inputs = {"train": f"data/{wc.dataset}/train.beton", "test": f"data/{wc.dataset}/test.beton"}
    if wc.method != "raw_pixels":
        inputs["checkpoint"] = f"checkpoints/{wc.dataset}/{wc.method}/seed{wc.seed}/final.pt"
    return inputs


def transfer_inputs(wc):
    """The target's splits and the source's checkpoint: never the source's data, never fitted on a test split."""
    inputs = {"train": f"data/{wc.target}/train.beton", "test": f"data/{wc.target}/test.beton"}
    if wc.method != "raw_pixels":
        inputs["checkpoint"] = f"checkpoints/{wc.source}/{wc.method}/seed{wc.seed}/final.pt"
    return inputs


def run_info(method):
    """The table's `loss` and `epochs` for a run (raw pixels: no loss, no training)."""
    if method == "raw_pixels":
        return {"loss": None, "epochs": 0}
    run = P.run_config(method)
    return {"loss": run.loss, "epochs": run.pretrain.epochs}


def kept_info(method, pct):
    """`loss` and the epoch of the checkpoint kept at `pct` % of a run."""
    from jessl.checkpoint import kept_epoch

    run = P.run_config(method)
    return {"loss": run.loss, "epochs": kept_epoch(pct, run.pretrain.epochs), "tags": {"pct": pct}}
