"""Cross-process helpers: losses that need the whole batch gather it with gradients."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import ParamSpec

import torch
import torch.distributed as dist

P = ParamSpec("P")


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) when torch.distributed is not initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def gather(z: torch.Tensor) -> torch.Tensor:
    """Concatenate `z` from every process along dim 0, keeping the autograd graph.

    `torch.distributed.nn.all_gather` sends each process's gradient of the gathered
    tensor back to its owner, so a loss on the global batch gets full-batch gradients.
    """
    rank, size = world()
    if size == 1:
        return z
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(z), dim=0)


def full_precision(loss: Callable[P, torch.Tensor]) -> Callable[P, torch.Tensor]:
    """Run `loss` with autocast disabled, so its float32-cast inputs stay float32 throughout.

    Under ``torch.autocast`` the matmuls inside a loss would otherwise run in bf16/fp16 again.
    """

    @functools.wraps(loss)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> torch.Tensor:
        with contextlib.ExitStack() as stack:
            for device in ("cpu", "cuda"):
                if torch.is_autocast_enabled(device):
                    stack.enter_context(torch.autocast(device, enabled=False))
            return loss(*args, **kwargs)

    return wrapper
