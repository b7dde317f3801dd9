"""The training loop every method shares: views → encoder → projector (→ predictor) → loss.

Device: CUDA with bf16 autocast when available, else CPU (the same code). A resumable state is
written atomically every `checkpoint_every` epochs and a killed run continues from it with the
same batches and views (every random stream is derived from (seed, epoch)), so on CPU the final
checkpoint has the same bytes as an uninterrupted run. Under `torchrun` the model is wrapped in
DDP and each process reads its shard of the `.beton`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from .config import AugmentConfig
from .data import augment as aug
from .data.beton import BetonLoader
from .io import save_torch
from .methods import registry
from .methods.byol import ema_momentum, ema_update
from .models import build_backbone, mlp
from .optim import build_optimizer, lr_at

log = logging.getLogger("jessl.pretrain")
CHECKPOINT_FORMAT = 1


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or Inf; the message names the step, the likely cause and the kept checkpoint."""


class CheckpointError(RuntimeError):
    """A truncated, corrupt or mismatched checkpoint; the message says how to rebuild it."""


class Encoder(nn.Module):
    """Backbone + projector (+ predictor for target methods)."""

    def __init__(self, backbone: str, projector: list[int], predictor_hidden: int | None) -> None:
        super().__init__()
        self.backbone = build_backbone(backbone)
        self.projector = mlp(self.backbone.out_dim, projector)
        self.predictor = mlp(projector[-1], [predictor_hidden, projector[-1]]) if predictor_hidden else None

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Projection z, or (z, predictor(z)) when there is a predictor (one forward, as DDP requires)."""
        z = self.projector(self.backbone(x))
        return z if self.predictor is None else (z, self.predictor(z))


def pick_device() -> torch.device:
    if torch.cuda.is_available():
        rank = int(os.environ.get("LOCAL_RANK", 0))
        return torch.device("cuda", rank)
    return torch.device("cpu")


def _seed_for(seed: int, epoch: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{epoch}".encode()).digest()[:8], "little") >> 1


def run_hash(run: dict[str, Any], seed: int) -> str:
    return hashlib.sha256(json.dumps([run, seed], sort_keys=True).encode()).hexdigest()


def resume_path(out: Path) -> Path:
    return out.with_name("resume.pt")


def _init_distributed(device: torch.device) -> tuple[int, int, bool]:
    """(rank, world size, whether this call created the process group) under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    created = False
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        created = True
        if device.type == "cuda":
            torch.cuda.set_device(device)
    rank_world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    return (*rank_world, created)


def pretrain(
    train_beton: str | Path,
    out: str | Path,
    run: dict[str, Any],
    seed: int,
    threads: int = 1,
) -> dict[str, Any]:
    """Train the run described by `run` (from `Params.run_config`) and save `out` atomically.

    Returns a summary (epochs, final loss, throughput, whether it resumed).
    """
    out = Path(out)
    torch.set_num_threads(threads)
    device = pick_device()
    rank, world, created_group = _init_distributed(device)
    pre, opt_cfg, model_cfg = run["pretrain"], run["optim"], run["model"]
    method = registry.get(run["loss"]) if run["loss"] else None
    hparams = run["hparams"]
    aug_cfg = AugmentConfig(**run["augment"])
    epochs, views = pre["epochs"], pre["num_views"]

    torch.manual_seed(seed)
    needs_target = bool(method and method.needs_target)
    hidden = model_cfg["predictor_hidden"] if needs_target else None
    model = Encoder(model_cfg["backbone"], model_cfg["projector"], hidden)
    model.to(device)
    target = None
    if needs_target:  # EMA copy of backbone + projector; the predictor is online-only
        target = Encoder(model_cfg["backbone"], model_cfg["projector"], None).to(device).requires_grad_(False)
        target.load_state_dict(model.state_dict(), strict=False)
    trained = model
    if world > 1:
        ids = [device.index] if device.type == "cuda" else None
        trained = nn.parallel.DistributedDataParallel(model, device_ids=ids)
    optimizer = build_optimizer(
        model.parameters(), opt_cfg["name"], opt_cfg["lr"], opt_cfg["weight_decay"], opt_cfg["momentum"]
    )

    history: list[float] = []
    start_epoch, resumed = 0, False
    state_path = resume_path(out)
    key = run_hash(run, seed)
    if epochs > 0 and state_path.exists():
        state = _load(state_path)
        if state.get("run_hash") == key:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            if target is not None:
                target.load_state_dict(state["target"])
            start_epoch, history, resumed = state["epoch"], state["history"], True
            log.info("resuming %s from epoch %d/%d (%s)", run["name"], start_epoch, epochs, state_path)
        else:
            log.warning("ignoring %s: written for other params; starting afresh", state_path)

    steps_per_epoch = 0
    images_seen, t0 = 0, time.perf_counter()
    if epochs > start_epoch:
        loader = BetonLoader(
            train_beton, pre["batch_size"] // world, workers=threads, shuffle=True, seed=seed,
            drop_last=True, distributed=world > 1,
        )
        steps_per_epoch = len(loader)
        if steps_per_epoch == 0:
            raise ValueError(
                f"pretrain.batch_size={pre['batch_size']} is larger than the {loader.num_samples} training "
                "samples (batches drop the remainder); lower it in params.yaml"
            )
        total = epochs * steps_per_epoch
        warmup = opt_cfg["warmup_epochs"] * steps_per_epoch
        bar = _progress(total, start_epoch * steps_per_epoch, run["name"], rank)
        autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
        model.train()
        for epoch in range(start_epoch, epochs):
            loader.set_epoch(epoch)
            torch.manual_seed(_seed_for(seed, epoch))  # negatives sampling etc. in the losses
            gen = torch.Generator().manual_seed(_seed_for(seed, epoch))
            epoch_loss, epoch_t = 0.0, time.perf_counter()
            for i, (images, _) in enumerate(loader):
                step = epoch * steps_per_epoch + i
                for group in optimizer.param_groups:
                    group["lr"] = lr_at(step, total, warmup, opt_cfg["lr"])
                xs = aug.views(images.to(device, non_blocking=True), aug_cfg, views, gen)
                with autocast:
                    outs = [trained(x) for x in xs]
                    p = t = None
                    if target is None:
                        z = outs
                    else:
                        z, p = [o[0] for o in outs], [o[1] for o in outs]
                        with torch.no_grad():
                            t = [target(x) for x in xs]
                    loss = method(z, p, t, **hparams)
                if not torch.isfinite(loss):
                    raise NonFiniteLossError(
                        f"{run['name']}: loss became {loss.item()} at epoch {epoch + 1}, step {i + 1}. Likely cause: "
                        f"the learning rate ({opt_cfg['lr']}) is too high for this method, or a hyper-parameter "
                        f"({hparams}) makes the loss degenerate. The last good checkpoint is kept "
                        f"({state_path if state_path.exists() else 'none yet'}); lower `lr` for this method in "
                        "params.yaml and rerun."
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if target is not None:
                    m = ema_momentum(step, total, run["target_ema"])
                    ema_update(target.backbone, model.backbone, m)
                    ema_update(target.projector, model.projector, m)
                epoch_loss += loss.item()
                images_seen += images.shape[0] * world
                bar.update(1)
                bar.set_postfix(epoch=f"{epoch + 1}/{epochs}", loss=f"{loss.item():.4f}")
            history.append(epoch_loss / steps_per_epoch)
            rate = steps_per_epoch * images.shape[0] * world / (time.perf_counter() - epoch_t)
            if bar.disable and rank == 0:
                log.info("%s epoch %d/%d loss %.4f %.0f img/s", run["name"], epoch + 1, epochs, history[-1], rate)
            done = epoch + 1
            if rank == 0 and (done % pre["checkpoint_every"] == 0) and done < epochs:
                state = {"run_hash": key, "epoch": done, "history": history, "model": model.state_dict(),
                         "optimizer": optimizer.state_dict()}
                if target is not None:
                    state["target"] = target.state_dict()
                save_torch(state_path, state)
        bar.close()

    wall = time.perf_counter() - t0
    if rank == 0:
        save_torch(out, {
            "format": CHECKPOINT_FORMAT,
            "backbone_arch": model_cfg["backbone"],
            "backbone": model.backbone.state_dict(),
            "projector": model.projector.state_dict(),
            "run": run,
            "seed": seed,
            "history": history,
        })
        state_path.unlink(missing_ok=True)
    if world > 1:
        dist.barrier()
        if created_group:
            dist.destroy_process_group()
    return {
        "epochs": epochs,
        "resumed_from_epoch": start_epoch if resumed else None,
        "final_loss": history[-1] if history else None,
        "loss_history": history,
        "images_per_s": round(images_seen / wall, 1) if images_seen else None,
        "steps_per_epoch": steps_per_epoch,
        "device": str(device),
        "world_size": world,
    }


def _progress(total: int, initial: int, name: str, rank: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=name, unit="step", dynamic_ncols=True,
                disable=rank != 0 or not sys.stderr.isatty())


def _load(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, pickle errors, …
        raise CheckpointError(
            f"{path}: truncated or corrupt checkpoint ({type(err).__name__}: {str(err)[:120]}); delete it and "
            "rerun `snakemake` to retrain it"
        ) from None


def load_backbone(path: str | Path, expected_arch: str | None = None) -> nn.Module:
    """The trained backbone of a final checkpoint, in eval mode, with clear errors for bad files."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint; run `snakemake {path}` to train it")
    ckpt = _load(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a jessl checkpoint (format {CHECKPOINT_FORMAT}); delete it and rerun")
    arch = ckpt["backbone_arch"]
    if expected_arch is not None and arch != expected_arch:
        raise CheckpointError(
            f"{path}: trained with backbone {arch!r} but the config asks for {expected_arch!r}; "
            "delete the checkpoint (or fix model.backbone) and rerun"
        )
    backbone = build_backbone(arch)
    try:
        backbone.load_state_dict(ckpt["backbone"])
    except RuntimeError as err:
        raise CheckpointError(
            f"{path}: weights do not fit backbone {arch!r} ({str(err).splitlines()[0]}); delete it and rerun"
        ) from None
    return backbone.eval()
