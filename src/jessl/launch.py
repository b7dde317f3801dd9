"""Several processes for one pretraining job: `pretrain.gpus: N > 1` runs it under
`torchrun --standalone --nproc_per_node N` (one process per GPU, DDP), started from the job itself.

N GPUs asked for on a machine without CUDA is refused (never a silent CPU run). The one exception is
explicit: `JESSL_CPU_PROCESSES=1` in the environment runs N CPU processes (gloo) instead, and says so in
the log — how the multi-process path is tested on machines without GPUs.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .errors import ConfigError

log = logging.getLogger("jessl.launch")
CPU_PROCESSES_ENV = "JESSL_CPU_PROCESSES"


def processes(gpus: int, *, cuda_devices: int | None = None) -> int:
    """How many processes a job asking for `gpus` GPUs runs (`cuda_devices`: those visible, default torch's
    count); refuses GPUs that are not there."""
    if cuda_devices is None:
        import torch

        cuda_devices = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if gpus == 0:
        return 1
    if cuda_devices == 0:
        if gpus > 1 and os.environ.get(CPU_PROCESSES_ENV) == "1":
            log.warning("pretrain.gpus: %d on a machine without CUDA: %s=1 runs %d CPU processes (gloo) instead",
                        gpus, CPU_PROCESSES_ENV, gpus)
            return gpus
        raise ConfigError(f"pretrain.gpus: {gpus}, but this machine has no CUDA GPU (torch.cuda.is_available() is "
                          "False); run on a GPU machine, or set pretrain.gpus: 0 in params.yaml to train on the CPU")
    if cuda_devices < gpus:
        raise ConfigError(f"pretrain.gpus: {gpus}, but this machine shows {cuda_devices} CUDA GPU(s); ask the "
                          f"scheduler for {gpus} (the SLURM profile does: resources gpu=pretrain.gpus) or lower "
                          "pretrain.gpus in params.yaml")
    return gpus


def per_process_batch(batch_size: int, world: int, name: str) -> int:
    """Each of `world` processes' part of a global batch of `batch_size`; refused unless it splits evenly
    (a floor would silently train another global batch than the run names)."""
    if batch_size % world:
        raise ConfigError(f"methods.{name}: batch size {batch_size} does not split over {world} processes "
                          f"(pretrain.gpus: {world}); make it a multiple of {world} in params.yaml")
    return batch_size // world


def under_torchrun() -> bool:
    return "WORLD_SIZE" in os.environ


def torchrun(stage: str, kwargs: dict[str, Any], nproc: int, logfile: str | Path | None = None) -> None:
    """Run `jessl.stages.<stage>(**kwargs)` (JSON-able keyword arguments) in `nproc` processes under torchrun
    and wait for them; a failed process fails this call."""
    with tempfile.TemporaryDirectory(prefix="jessl-launch-") as tmp:
        spec = Path(tmp) / "job.json"
        spec.write_text(json.dumps({"stage": stage, "kwargs": kwargs, "logfile": str(logfile) if logfile else None}))
        src = str(Path(__file__).resolve().parents[1])  # this checkout's jessl, in every process
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "jessl.worker", str(spec)]
        log.info("launching %d processes: %s", nproc, " ".join(cmd))
        rc = subprocess.run(cmd, env=env).returncode
    if rc != 0:
        raise RuntimeError(f"{stage}: torchrun with {nproc} processes exited with status {rc}; each process's "
                           "error is in the log above")
