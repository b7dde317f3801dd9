# Helpers shared by the rules (input functions).


def one_of(names):
    """A wildcard constraint matching exactly these names (none: a pattern that never matches)."""
    return "|".join(names) if names else "(?!)"


def convert_inputs(wc):
    """An image folder is converted from its manifest; the other sources are read directly."""
    return {"manifest": f"data/{wc.dataset}/manifest.json"} if P.datasets[wc.dataset].source == "folder" else {}


def pretrain_beton(wc):
    """What pretraining reads: train.beton, or with `unlabeled` (STL-10) pretrain.beton (train + unlabeled).
    Only the pretrain rule calls this; the probes' inputs name train.beton and test.beton."""
    return f"data/{wc.dataset}/{'pretrain' if P.datasets[wc.dataset].unlabeled else 'train'}.beton"


def evaluate_inputs(wc):
    """A row's splits and its checkpoint for every seed (raw pixels: none)."""
    inputs = {"train": f"data/{wc.dataset}/train.beton", "test": f"data/{wc.dataset}/test.beton"}
    if wc.method != "raw_pixels":
        inputs["checkpoints"] = [f"checkpoints/{wc.dataset}/{wc.method}/seed{s}/final.pt" for s in P.seeds]
    return inputs


def transfer_inputs(wc):
    """The target's splits and the source's checkpoint: never the source's data, never fitted on a test split."""
    inputs = {"train": f"data/{wc.target}/train.beton", "test": f"data/{wc.target}/test.beton"}
    if wc.method != "raw_pixels":
        inputs["checkpoints"] = [f"checkpoints/{wc.source}/{wc.method}/seed{s}/final.pt" for s in P.seeds]
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


def table_identity(params):
    """The identity of the params behind table1 (its summary's `meta`, checked by `jessl compare`)."""
    from jessl.report.compare import identity

    return identity(params)


def readable(paths):
    """An input function: `paths`, those already built checked readable first (`tables.check_readable`)."""
    from jessl.report.tables import check_readable

    return lambda wc: check_readable(paths)
