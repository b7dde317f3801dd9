EVALUATIONS = expand(
    "results/eval/{dataset}/{method}/seed{seed}/metrics.json", dataset=DATASETS, method=P.runs, seed=P.seeds
)


def evaluate_inputs(wc):
    inputs = {"train": f"data/{wc.dataset}/train.beton", "test": f"data/{wc.dataset}/test.beton"}
    if wc.method != "raw_pixels":
        inputs["checkpoint"] = f"checkpoints/{wc.dataset}/{wc.method}/seed{wc.seed}/final.pt"
    return inputs


def run_field(method, key):
    return None if method == "raw_pixels" else P.run_config(method)[key]


rule evaluate:
    """Frozen backbone (or raw pixels) → linear, few-label, k-NN top-1 and RankMe."""
    input:
        unpack(evaluate_inputs),
    output:
        "results/eval/{dataset}/{method}/seed{seed}/metrics.json",
    params:
        cfg=P.evaluate.model_dump(),
        arch=P.model.backbone,
        epochs=lambda wc: run_field(wc.method, "pretrain")["epochs"] if wc.method != "raw_pixels" else 0,
        loss=lambda wc: run_field(wc.method, "loss"),
    log:
        "logs/evaluate/{dataset}/{method}/seed{seed}.log",
    threads: 1
    script:
        "../scripts/evaluate.py"


rule evaluate_all:
    input:
        EVALUATIONS,
