"""The order in which each of N processes reads a `.beton` so that, step by step, the N processes together
see the batches one process sees (imported with FFCV, lazily).

One process at batch B reads the permutation of FFCV's random order (`default_rng(seed + epoch)`) in
consecutive slices of B. Under DDP with N processes at batch B/N, process r reads part r of each such
slice: the global batch of every step is the one-process batch, and `augment.views(..., shard=)` gives
its rows the one-process parameters. FFCV's own distributed order (torch's `DistributedSampler`: another
permutation, samples dealt round-robin) would give other batches, so N processes could not reproduce
one process's run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ffcv.traversal_order.base import TraversalOrder


class ShardOrder(TraversalOrder):
    """Part `rank` of every global batch of `batch · world` samples; an incomplete last global batch is
    dropped (as one process drops its last incomplete batch)."""

    def __init__(self, rank: int, world: int, batch: int, shuffle: bool) -> None:  # noqa: D107 (no super: no loader yet)
        if not 0 <= rank < world:
            raise ValueError(f"rank {rank} is not one of {world} processes")
        self.rank, self.world, self.batch, self.shuffle = rank, world, batch, shuffle

    def __call__(self, loader) -> ShardOrder:
        """FFCV's `Loader(order=instance)` calls the instance with the loader it serves."""
        TraversalOrder.__init__(self, loader)
        return self

    def sample_order(self, epoch: int) -> Sequence[int]:
        order = np.random.default_rng(self.seed + epoch).permutation(self.indices) if self.shuffle else self.indices
        whole = len(order) // (self.batch * self.world) * self.batch * self.world
        return np.asarray(order[:whole]).reshape(-1, self.world, self.batch)[:, self.rank].reshape(-1)
