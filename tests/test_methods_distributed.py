"""Under DDP (2 gloo processes on CPU), the mean of the local losses and the DDP-averaged gradients
equal the single-process full-batch loss and gradient, for every loss that gathers across processes."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from jessl.methods import get
from jessl.methods.feed import loss_of_embeddings

WORLD = 2
SHARD = 6
CASES = {  # case → (method, hparams)
    "simclr": ("simclr", {}),
    "dcl": ("dcl", {}),
    "simclr_abs": ("simclr_abs", {"transform_positive": True}),
    "simclr_sq": ("simclr_sq", {}),
    "vicreg": ("vicreg", {}),
    "vicreg_exp": ("vicreg_exp", {"temperature": 0.5}),
    "vicreg_ctr": ("vicreg_ctr", {}),
    "barlow_twins": ("barlow_twins", {}),
    "frossl": ("frossl", {}),
    "byol": ("byol", {}),
    "ssl_hsic_exact": ("ssl_hsic", {"estimator": "exact"}),
    "ssl_hsic_rff": ("ssl_hsic", {"num_features": 64}),
    "ssl_hsic_notarget": ("ssl_hsic_notarget", {"estimator": "exact"}),
}


def _data(case: str) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Full-batch online and target embeddings (WORLD·SHARD rows each), the same on every process."""
    g = torch.Generator().manual_seed(sorted(CASES).index(case))
    views = 3 if get(CASES[case][0]).inputs == "views" else 2
    z = [torch.randn(WORLD * SHARD, 5, generator=g) for _ in range(views)]
    t = [torch.randn(WORLD * SHARD, 5, generator=g) for _ in range(views)]
    return z, t


def _loss_and_grads(case: str, rows: slice) -> tuple[torch.Tensor, list[torch.Tensor]]:
    name, hp = CASES[case]
    method = get(name)
    z, t = _data(case)
    z = [zi[rows].clone().requires_grad_() for zi in z]
    t = [ti[rows].clone() for ti in t]
    torch.manual_seed(123)  # the RFF draw: rank 0's is broadcast, so every process uses this one
    loss = loss_of_embeddings(method, z, t, **hp)
    loss.backward()
    return loss.detach(), [zi.grad for zi in z]


def _worker(rank: int, init: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=WORLD)
    try:
        rows = slice(rank * SHARD, (rank + 1) * SHARD)
        torch.save({case: _loss_and_grads(case, rows) for case in CASES}, f"{out}/rank{rank}.pt")
        dist.barrier()  # neither process tears gloo down while the other still talks to it (SIGABRT)
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def per_process(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    mp.spawn(_worker, args=(f"file://{tmp}/store", str(tmp)), nprocs=WORLD, join=True)
    return [torch.load(tmp / f"rank{r}.pt") for r in range(WORLD)]


@pytest.mark.parametrize("case", sorted(CASES))
def test_ddp_matches_full_batch(per_process, case):
    full_loss, full_grads = _loss_and_grads(case, slice(None))
    mean_loss = sum(results[case][0] for results in per_process) / WORLD
    torch.testing.assert_close(mean_loss, full_loss, rtol=1e-5, atol=1e-5)
    # DDP averages the parameter gradients over processes: each shard's gradient / WORLD must be
    # the full-batch gradient of that shard's rows.
    for v, full in enumerate(full_grads):
        ddp = torch.cat([results[case][1][v] for results in per_process]) / WORLD
        torch.testing.assert_close(ddp, full, rtol=1e-5, atol=1e-5)
