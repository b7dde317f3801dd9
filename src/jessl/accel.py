"""The GPU path's speed-ups, in one place: channels-last memory, `torch.compile`, pinned host→device copies,
and the measurements of a run (throughput, peak GPU memory).

They are resources, not part of a run's result (`config.RESOURCES`): on CUDA runs are not bitwise
reproducible anyway (`"deterministic": false` in the run record), while on the CPU channels-last and
compiled kernels would change the bytes of a checkpoint whose params do not say so — so there they are
not applied, and the run's summary says what was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import nn

log = logging.getLogger("jessl.accel")


@dataclass(frozen=True)
class Accel:
    """What a run applies on its `device` (the wishes of `pretrain:` that the device allows)."""

    device: torch.device
    channels_last: bool = False
    compile: bool = False
    backend: str = "inductor"  # torch.compile's backend (tests trace with "eager")

    @classmethod
    def for_device(cls, device: torch.device, *, channels_last: bool = False, compile: bool = False,
                   memory_format: str = "contiguous") -> Accel:
        """The speed-ups asked for, kept only on CUDA (logged when dropped); `model.memory_format:
        channels_last` (part of the run, not a resource) applies on every device."""
        cuda = device.type == "cuda"
        chosen = memory_format == "channels_last"
        dropped = [k for k, v in (("channels_last", channels_last and not chosen), ("compile", compile))
                   if v and not cuda]
        if dropped:
            log.info("pretrain.%s: CUDA only, not applied on %s (CPU runs stay bit-reproducible)",
                     " and pretrain.".join(dropped), device)
        if cuda:
            torch.backends.cudnn.benchmark = True  # fixed input shapes: pick the fastest convolution once
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        return cls(device, chosen or (channels_last and cuda), compile and cuda)

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def model(self, model: nn.Module) -> nn.Module:
        """Move `model` to the device (in place) in the chosen memory format."""
        return model.to(self.device, memory_format=self.memory_format)

    def compiled(self, model: nn.Module) -> nn.Module:
        """`model` compiled when asked (its parameters and state dict stay those of `model`)."""
        return torch.compile(model, backend=self.backend) if self.compile else model

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """A host batch on the device: pinned and copied asynchronously on CUDA."""
        if self.device.type == "cuda" and x.device.type == "cpu":
            x = x.pin_memory()
        return x.to(self.device, non_blocking=True)

    def views(self, views: list[torch.Tensor]) -> list[torch.Tensor]:
        """Augmented views in the model's memory format."""
        return [v.contiguous(memory_format=self.memory_format) for v in views]

    def reset_peak_memory(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)

    def peak_memory_mib(self) -> float | None:
        """Peak GPU memory allocated by tensors since the last reset, in MiB (None on the CPU)."""
        if self.device.type != "cuda":
            return None
        return round(torch.cuda.max_memory_allocated(self.device) / 2**20, 1)

    def synchronize(self) -> None:
        """Wait for queued GPU work (before reading a clock)."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
