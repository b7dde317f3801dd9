"""BatchNorm over the global batch of several CPU processes (gloo).

torch's `nn.SyncBatchNorm` synchronises GPU tensors only; this is the same computation for CPU processes,
so that `model.sync_bn` means the same on N CPU processes as on N GPUs, and N processes train exactly
what one process trains at the global batch (Ioffe & Szegedy 2015, Alg. 1, with the batch's moments
summed over the processes). The sums go through a differentiable all-reduce, so each process's backward
pass carries every process's gradient through the shared statistics, as `nn.SyncBatchNorm` does.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.nn.functional import all_reduce


class CpuSyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """A BatchNorm (any input rank ≥ 2) whose training statistics are those of the global batch; its state
    dict is a BatchNorm's, so its checkpoints load into plain BatchNorm layers."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected a batch of at least 2 dimensions, got {x.dim()}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or not (dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        dims, shape = [0, *range(2, x.dim())], [1, -1] + [1] * (x.dim() - 2)
        xd = x.double()  # one pass of sums: float64 keeps E[x²] − E[x]² as exact as the two-pass variance
        count = torch.full((1,), x.numel() // x.size(1), dtype=torch.float64)
        sums = all_reduce(torch.cat([xd.sum(dims), xd.square().sum(dims), count]))
        n = sums[-1]
        mean, var = sums[: x.size(1)] / n, sums[x.size(1): -1] / n
        var = var - mean.square()
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), m)
                self.running_var.lerp_((var * n / (n - 1)).to(self.running_var.dtype), m)
        y = (xd - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        y = y.to(x.dtype)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


def convert(module: nn.Module) -> nn.Module:
    """`module` with every BatchNorm replaced by a `CpuSyncBatchNorm` holding the same parameters and
    statistics (what `nn.SyncBatchNorm.convert_sync_batchnorm` does for GPUs)."""
    out = module
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        out = CpuSyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                               module.track_running_stats)
        out.load_state_dict(module.state_dict())
        out.train(module.training)
    for name, child in module.named_children():
        out.add_module(name, convert(child))
    return out
