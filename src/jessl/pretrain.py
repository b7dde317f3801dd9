"""The training loop every method shares: views → encoder → projector (→ predictor) → loss.

Device: CUDA with bf16 autocast when available, else CPU (the same code); on CUDA optionally channels-last
and `torch.compile` (`accel.py`). An online linear probe may ride along (`online_probe.py`). A resumable state is
written atomically every `checkpoint_every` epochs and a killed run continues from it with the
same batches and views (every random stream is derived from (seed, epoch)), so on CPU the final
checkpoint has the same bytes as an uninterrupted run. Under `torchrun` the model is wrapped in
DDP and each process reads its part of every global batch (`data/shard_order.py`), so N processes
train what one process trains at the global batch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from . import checkpoint
from .accel import Accel
from .checkpoint import CheckpointError, load_backbone, resume_path
from .config import ConfigError, RunConfig
from .data import augment as aug
from .data.beton import BetonLoader, read_labels
from .launch import per_process_batch
from .methods.feed import loss_of_views
from .models import EmaTarget, Encoder, sync_bn
from .online_probe import OnlineProbe
from .optim import build_optimizer, lr_at

__all__ = ["CheckpointError", "NonFiniteLossError", "load_backbone", "pretrain", "resume_path"]
log = logging.getLogger("jessl.pretrain")


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or Inf; the message names the step, the likely cause and the kept checkpoint."""


def pick_device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def _seed_for(seed: int, epoch: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{epoch}".encode()).digest()[:8], "little") >> 1


@contextmanager
def distributed(device: torch.device):
    """(rank, world size) under torchrun (a process group is created and torn down here), else (0, 1)."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    created = world > 1 and not dist.is_initialized()
    if created:
        if device.type == "cuda":
            torch.cuda.set_device(device)  # before the process group: NCCL binds each rank to its device
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        yield (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
        if dist.is_initialized() and dist.get_world_size() > 1:
            dist.barrier()  # no process tears down while another still writes
    finally:
        if created:
            dist.destroy_process_group()


def sync_batchnorm(model: Encoder, *, enabled: bool, world: int, device: torch.device) -> Encoder:
    """`model.sync_bn` under DDP: every BatchNorm's statistics are those of the global batch (as in the
    official SimCLR/BYOL/VICReg setups): torch's `SyncBatchNorm` on GPUs, `models.sync_bn` on CPU processes;
    one process already sees the whole batch."""
    if not enabled or world == 1:
        return model
    if device.type == "cpu":
        return sync_bn.convert(model)
    return nn.SyncBatchNorm.convert_sync_batchnorm(model)


@dataclass
class Trainer:
    """What one run trains: the online encoder (maybe DDP-wrapped and compiled: `trained`), its EMA target,
    the optimiser, and the optional online probe."""

    run: RunConfig
    rank: int
    model: Encoder
    trained: nn.Module
    target: EmaTarget | None
    optimizer: torch.optim.Optimizer
    accel: Accel
    probe: OnlineProbe | None = None
    world: int = 1

    @classmethod
    def build(cls, run: RunConfig, seed: int, device: torch.device, rank: int, world: int,
              accel: Accel | None = None) -> Trainer:
        torch.manual_seed(seed)
        method, m, accel = run.method, run.model, accel or Accel(device)
        model = Encoder(m.backbone, m.projector, m.predictor_hidden if method and method.needs_target else None,
                        stem=m.stem, projector_bn=m.projector_bn)
        model = sync_batchnorm(model, enabled=m.sync_bn, world=world, device=device)
        accel.model(model)
        target = EmaTarget(model, run.target_ema) if method and method.needs_target else None
        trained = model
        if world > 1:
            ids = [device.index] if device.type == "cuda" else None
            trained = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        o = run.optim
        optimizer = build_optimizer(model, name=o.name, lr=run.lr, weight_decay=o.weight_decay, momentum=o.momentum,
                                    eta=o.eta, clip_lr=o.clip_lr, exclude_bias_n_norm=o.exclude_bias_n_norm)
        return cls(run, rank, model, accel.compiled(trained), target, optimizer, accel, world=world)

    def step(self, views: list[torch.Tensor], lr: float, step: int, total: int, autocast,
             labels: torch.Tensor | None = None) -> torch.Tensor:
        """One optimisation step at learning rate `lr` on a batch of views (and the online probe's, on their
        backbone features and `labels`); returns the detached loss. Nothing here waits on the device: a
        non-finite loss is caught by the loop (`LossWatch`) before anything is written."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        features = [] if self.probe is not None else None
        with autocast:
            loss = loss_of_views(self.run.method, views, self.trained, self.target, self.run.hparams, features)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.target is not None:
            self.target.step(self.model, step, total)
        if self.probe is not None and labels is not None:
            self.probe.step(features, labels)
        return loss.detach()

    def train_step(self, images: torch.Tensor, labels: torch.Tensor, gen: torch.Generator, step: int, total: int,
                   warmup: int, autocast) -> torch.Tensor:
        """A loader batch → views (`augment.views`: one copy of the images, one of their parameters) → `step`
        at the schedule's rate for `step` of `total`. What the loop runs, and the sync-count test."""
        run, accel = self.run, self.accel
        xs = accel.views(aug.views(accel.inputs(images), run.augment, run.pretrain.num_views, gen,
                                   shard=(self.rank, self.world)))
        lr = lr_at(step, total=total, warmup=warmup, peak=run.lr, start=run.optim.warmup_start_lr,
                   end=run.optim.min_lr)
        return self.step(xs, lr, step, total, autocast, accel.inputs(labels) if self.probe is not None else None)

    def restore(self, state: Mapping[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.target is not None:
            self.target.load_state_dict(state["target"])
        if self.probe is not None:
            if "probe" not in state:
                raise CheckpointError(f"{self.run.name}: the resume state has no online probe although the run "
                                      "trains one; delete resume.pt and rerun")
            self.probe.load_state_dict(state["probe"])


def pretrain(train_beton: str | Path, out: str | Path, run: RunConfig | Mapping[str, Any], seed: int,
             threads: int = 1, keep: Sequence[int] = (), *, compile: bool = False,
             channels_last: bool = False) -> dict[str, Any]:
    """Train `run` (a `RunConfig`, or its `to_params()`) and save the final checkpoint `out` atomically,
    and the checkpoints at `keep` % of the epochs (`checkpoint.kept_path`). `compile` and `channels_last`
    are CUDA speed-ups (`pretrain.compile`, `pretrain.channels_last`; resources, see `accel.py`).

    Returns a summary: epochs, final loss, throughput (images, not views, per second; seconds per
    epoch), peak GPU memory (MiB; None on the CPU), the speed-ups applied, the online probe's history,
    whether it resumed.
    """
    run = run if isinstance(run, RunConfig) else RunConfig.model_validate(run)
    out, pre = Path(out), run.pretrain
    torch.set_num_threads(threads)
    device = pick_device()
    accel = Accel.for_device(device, channels_last=channels_last, compile=compile,
                             memory_format=run.model.memory_format)
    accel.reset_peak_memory()
    with distributed(device) as (rank, world):
        local_batch = per_process_batch(pre.batch_size, world, run.name)
        trainer = Trainer.build(run, seed, device, rank, world, accel)
        if pre.online_probe and pre.epochs > 0:
            trainer.probe = _online_probe(trainer, train_beton)
        params = run.to_params()  # one object for the checkpoint: strings it shares pickle once
        key = checkpoint.run_hash(params, seed)
        state = checkpoint.read_resume(out, key) if pre.epochs > 0 else None
        history, start = ([], 0) if state is None else (state["history"], state["epoch"])
        if state is not None:
            trainer.restore(state)
            log.info("resuming %s from epoch %d/%d (%s)", run.name, start, pre.epochs, resume_path(out))
        t0, seen, steps, epoch_s = time.perf_counter(), 0, 0, []
        keep_at = {pct: checkpoint.kept_epoch(pct, pre.epochs) for pct in keep}
        if start == 0 and rank == 0:
            _keep(trainer, out, keep_at, 0, history, seed, params)
        if pre.epochs > start:
            loader = BetonLoader(train_beton, local_batch, workers=threads, shuffle=True, seed=seed,
                                 drop_last=True, shard=(rank, world))
            steps = _steps_per_epoch(loader, pre.batch_size, run.name)
            bar = _progress(pre.epochs * steps, start * steps, run.name, rank)
            for epoch in range(start, pre.epochs):
                mean_loss, n, secs = _epoch(trainer, loader, epoch, steps, seed, bar, out)
                history.append(mean_loss)
                seen, done = seen + n * world, epoch + 1
                epoch_s.append(secs)
                if trainer.probe is not None:
                    probed = trainer.probe.end_epoch(done)
                    if rank == 0:
                        log.info("%s epoch %d online probe: loss %s, train top-1 %s %%", run.name, done,
                                 probed["loss"], probed["top1"])
                if rank == 0:
                    _keep(trainer, out, keep_at, done, history, seed, params)
                if rank == 0 and done % pre.checkpoint_every == 0 and done < pre.epochs:
                    checkpoint.save_resume(out, key=key, epoch=done, history=history, model=trainer.model,
                                           optimizer=trainer.optimizer, target=trainer.target,
                                           probe=trainer.probe.state_dict() if trainer.probe else None)
            bar.close()
        wall = time.perf_counter() - t0
        if rank == 0:
            checkpoint.save_final(out, arch=params["model"]["backbone"], backbone=trainer.model.backbone,
                                  projector=trainer.model.projector, run=params, seed=seed, history=history,
                                  online_probe=trainer.probe.final() if trainer.probe else None, **_heads(trainer))
            checkpoint.publish_kept(out, sorted(keep_at), start if state is not None else None)
            checkpoint.drop_resume(out)
    return {
        "epochs": pre.epochs,
        "resumed_from_epoch": start if state is not None else None,
        "final_loss": history[-1] if history else None,
        "loss_history": history,
        "images_per_s": round(seen / wall, 1) if seen else None,
        "s_per_epoch": round(sum(epoch_s) / len(epoch_s), 3) if epoch_s else None,
        "peak_gpu_mem_mib": accel.peak_memory_mib(),
        "compile": accel.compile,
        "channels_last": accel.channels_last,
        "online_probe": trainer.probe.history if trainer.probe else None,
        "steps_per_epoch": steps,
        "device": str(device),
        "world_size": world,
    }


def _online_probe(trainer: Trainer, train_beton: str | Path) -> OnlineProbe:
    """The online probe of `trainer`'s backbone, over the classes of the training labels."""
    labels = read_labels(train_beton)
    return OnlineProbe(trainer.model.backbone.out_dim, int(labels.max()) + 1, trainer.accel.device)


def _keep(trainer: Trainer, out: Path, keep_at: dict[int, int], epoch: int, history: list[float],
          seed: int, params: dict[str, Any]) -> None:
    """Stage the kept checkpoints due after `epoch` epochs (0: the initial weights)."""
    for pct, at in keep_at.items():
        if at == epoch:
            checkpoint.stage_kept(out, pct, arch=params["model"]["backbone"], backbone=trainer.model.backbone,
                                  projector=trainer.model.projector, run=params, seed=seed,
                                  history=list(history), **_heads(trainer))


def _heads(trainer: Trainer) -> dict[str, Any]:
    """A target method's predictor and EMA target, kept in its checkpoints (`checkpoint.load_heads`)."""
    if trainer.target is None or trainer.model.predictor is None:
        return {}
    return {"predictor": trainer.model.predictor, "target": trainer.target}


LOSS_EVERY = 25  # steps between two reads of the loss (a read waits for the device; a NaN is caught within this)


class LossWatch:
    """The losses of an epoch, kept on the device: their sum (float64, the arithmetic of Python floats),
    the last one, and the first non-finite one with its step. `read` is the loop's only wait on the
    device, every `LOSS_EVERY` steps and at the end of the epoch."""

    def __init__(self, device: torch.device) -> None:
        self.sum = torch.zeros((), dtype=torch.float64, device=device)
        self.first_bad = torch.full((), -1, dtype=torch.long, device=device)
        self.bad = torch.zeros((), dtype=torch.float64, device=device)
        self.last = torch.zeros((), dtype=torch.float64, device=device)

    def add(self, i: int, loss: torch.Tensor) -> None:
        value = loss.double()
        self.sum += value
        new = ~torch.isfinite(value) & (self.first_bad < 0)
        self.first_bad = torch.where(new, i, self.first_bad)
        self.bad = torch.where(new, value, self.bad)
        self.last = value

    def read(self) -> tuple[int | None, float, float, float]:
        """(first non-finite step or None, its loss, the last loss, the sum) in one transfer."""
        first, bad, last, total = torch.stack([self.first_bad.double(), self.bad, self.last, self.sum]).tolist()
        return (None if first < 0 else int(first)), bad, last, total


def _epoch(trainer: Trainer, loader: BetonLoader, epoch: int, steps: int, seed: int, bar,
           out: Path) -> tuple[float, int, float]:
    """One pass over the data: (mean loss, images seen by this process, seconds)."""
    run, accel = trainer.run, trainer.accel
    device = accel.device
    total_steps, warmup = run.pretrain.epochs * steps, run.optim.warmup_epochs * steps
    loader.set_epoch(epoch)
    torch.manual_seed(_seed_for(seed, epoch))  # negatives sampling etc. in the losses
    gen = torch.Generator().manual_seed(_seed_for(seed, epoch))
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    trainer.model.train()
    watch, seen, t0 = LossWatch(device), 0, time.perf_counter()

    def check() -> float:
        first, bad, last, total = watch.read()
        if first is not None:
            _non_finite(run, bad, epoch, first, out)
        bar.set_postfix(epoch=f"{epoch + 1}/{run.pretrain.epochs}", loss=f"{last:.4f}")
        return total

    for i, (images, labels) in enumerate(loader):
        loss = trainer.train_step(images, labels, gen, epoch * steps + i, total_steps, warmup, autocast)
        watch.add(i, loss)
        seen += images.shape[0]
        bar.update(1)
        if (i + 1) % LOSS_EVERY == 0:
            check()
    loss_sum = check()
    if trainer.world > 1:  # each process's loss is its part of the global batch's: their mean is that loss
        total = torch.tensor([loss_sum], dtype=torch.float64)
        dist.all_reduce(total)
        loss_sum = float(total) / trainer.world
    secs = time.perf_counter() - t0  # the read above waited for the device
    if bar.disable and trainer.rank == 0:
        log.info("%s epoch %d/%d loss %.4f %.0f img/s", run.name, epoch + 1, run.pretrain.epochs, loss_sum / steps,
                 seen / secs)
    return loss_sum / steps, seen, secs


def _steps_per_epoch(loader: BetonLoader, batch_size: int, name: str) -> int:
    if len(loader) == 0:
        raise ConfigError(
            f"methods.{name}: batch size {batch_size} (its batch_size, or pretrain.batch_size) is larger than the "
            f"{loader.num_samples} training samples (batches drop the remainder); lower it in params.yaml"
        )
    return len(loader)


def _non_finite(run: RunConfig, loss: float, epoch: int, i: int, out: Path) -> None:
    kept = resume_path(out)
    raise NonFiniteLossError(
        f"{run.name}: loss became {loss} at epoch {epoch + 1}, step {i + 1}. Likely cause: the learning "
        f"rate ({run.lr}) is too high for this method, or a hyper-parameter ({run.hparams}) makes the loss "
        f"degenerate. The last good checkpoint is kept ({kept if kept.exists() else 'none yet'}); lower `lr` for "
        "this method in params.yaml and rerun."
    )


def _progress(total: int, initial: int, name: str, rank: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=name, unit="step", dynamic_ncols=True,
                disable=rank != 0 or not sys.stderr.isatty())
