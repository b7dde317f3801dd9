"""The one owner of checkpoint files: what is in them, how they are written, read, validated and described.

Two kinds live in a run's folder `checkpoints/{dataset}/{method}/seed{seed}/`:

- **final** (`final.pt`, format 1): the trained weights and what made them —
  ``{"format", "backbone_arch", "backbone", "projector", "run", "seed", "history"}``. ``backbone``
  (`BACKBONE_KEY`) is the state dict of `jessl.models.build_backbone(backbone_arch)`, a
  `torchvision.models.ResNet` with the CIFAR stem, so for ``resnet18`` it loads into plain torchvision::

      m = torchvision.models.resnet18()
      m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False); m.maxpool = nn.Identity(); m.fc = nn.Identity()
      m.load_state_dict(torch.load("final.pt", weights_only=True)["backbone"])

  (likewise ``resnet50``). ``run`` is the resolved `RunConfig` as plain data; ``history`` the mean loss per
  epoch. With `pretrain.online_probe` a further key ``online_probe`` holds the online linear probe:
  ``{"classifier": state dict of nn.Linear(out_dim, classes), "history": [{"epoch", "loss", "top1"}, …]}``.
- **kept** (`keep/pct{q}.pt`): the same layout as final, at q % of the run's epochs (`pretrain.keep_epochs`),
  for convergence curves. Staged in `.keep/` while the run is unfinished (Snakemake removes a job's declared
  outputs before it reruns; a resumed run still has them there) and moved into place at the end.
- **resume** (`resume.pt`, beside the final one while a run is unfinished): the whole training state every
  `checkpoint_every` epochs — ``{"run_hash", "epoch", "history", "model", "optimizer"[, "target"][, "probe"]}`` —
  removed once the final checkpoint is written.

Writes are atomic (`io.save_torch`); every read error is a `CheckpointError` that says how to rebuild.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from .io import save_torch
from .runs import kept_epoch  # noqa: F401 (the kept checkpoints' epochs: one owner, the run's schedule)

if TYPE_CHECKING:
    from torchvision.models import ResNet

log = logging.getLogger("jessl.checkpoint")
FORMAT = 1
FINAL_KEYS = ("format", "backbone_arch", "backbone", "projector", "run", "seed", "history")
BACKBONE_KEY = "backbone"  # the backbone's state dict (a torchvision ResNet with the CIFAR stem)


class CheckpointError(RuntimeError):
    """A missing, truncated, corrupt or mismatched checkpoint; the message says how to rebuild it."""


@dataclass(frozen=True)
class Final:
    """A validated final checkpoint."""

    path: Path
    arch: str
    backbone: dict[str, torch.Tensor]
    projector: dict[str, torch.Tensor]
    run: dict[str, Any]
    seed: int
    history: list[float]
    online_probe: dict[str, Any] | None = None  # {"classifier", "history"} when the run trained one

    @property
    def stem(self) -> str:
        """The backbone's stem (`model.stem` of the run; "cifar" for runs recorded before the key existed)."""
        return (self.run.get("model") or {}).get("stem", "cifar")

    def describe(self) -> dict[str, Any]:
        """What the checkpoint says about itself, without the weights (for figures, logs, audits)."""
        return {"path": str(self.path), "arch": self.arch, "name": self.run.get("name"),
                "loss": self.run.get("loss"), "seed": self.seed, "epochs": len(self.history),
                "history": list(self.history)}


def resume_path(final: str | Path) -> Path:
    """Where the resumable state of the run whose final checkpoint is `final` lives."""
    return Path(final).with_name("resume.pt")


def run_hash(run: dict[str, Any], seed: int) -> str:
    """Identity of a run's params and seed: a resume state is only used by the run that wrote it."""
    return hashlib.sha256(json.dumps([run, seed], sort_keys=True).encode()).hexdigest()


def _load(path: Path) -> Any:
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint; run `snakemake {path}` to train it")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, pickle errors, …
        raise CheckpointError(
            f"{path}: truncated or corrupt checkpoint ({type(err).__name__}: {str(err)[:120]}); delete it and "
            "rerun `snakemake` to retrain it"
        ) from None


# --- final ------------------------------------------------------------------------------------------

def _plain(run: dict[str, Any], arch: str) -> tuple[dict[str, Any], str]:
    """The run as freshly unpickled plain data, and `arch` as the run's own string when it is the same.

    Pickle stores a string once per object, so the bytes of a checkpoint depend on which of its strings
    are the same object; normalising here makes them depend on the values only (a direct call and a
    Snakemake job, which receives its params unpickled, write the same bytes)."""
    run = pickle.loads(pickle.dumps(run))
    model = run.get("model") if isinstance(run, dict) else None
    if isinstance(model, dict) and model.get("backbone") == arch:
        arch = model["backbone"]
    return run, arch


def save_final(path: str | Path, *, arch: str, backbone: nn.Module, projector: nn.Module, run: dict[str, Any],
               seed: int, history: list[float], online_probe: dict[str, Any] | None = None,
               predictor: nn.Module | None = None, target: nn.Module | None = None) -> None:
    """Write the final checkpoint atomically (key order fixed, strings normalised: same run → same bytes);
    `online_probe` (`OnlineProbe.final()`) is added under its own key when given, and so are a target
    method's `predictor` and EMA `target` (backbone + projector) when given (`load_heads`)."""
    run, arch = _plain(run, arch)
    extra: dict[str, Any] = {}
    if predictor is not None and target is not None:
        extra["heads"] = {"predictor": predictor.state_dict(), "target_backbone": target.backbone.state_dict(),
                          "target_projector": target.projector.state_dict()}
    if online_probe is not None:  # its history as fresh JSON: equal keys are one object, however it was built
        extra["online_probe"] = {**online_probe, "history": json.loads(json.dumps(online_probe["history"]))}
    save_torch(path, {
        "format": FORMAT,
        "backbone_arch": arch,
        "backbone": backbone.state_dict(),
        "projector": projector.state_dict(),
        "run": run,
        "seed": seed,
        "history": history,
        **extra,
    })


def read_final(path: str | Path, expected_arch: str | None = None) -> Final:
    """Read and validate a final checkpoint (format, keys, architecture)."""
    path = Path(path)
    ckpt = _load(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT or not set(FINAL_KEYS) <= set(ckpt):
        raise CheckpointError(f"{path}: not a jessl final checkpoint (format {FORMAT}); delete it and rerun")
    arch = ckpt["backbone_arch"]
    if expected_arch is not None and arch != expected_arch:
        raise CheckpointError(
            f"{path}: trained with backbone {arch!r} but the config asks for {expected_arch!r}; "
            "delete the checkpoint (or fix model.backbone) and rerun"
        )
    return Final(path, arch, ckpt[BACKBONE_KEY], ckpt["projector"], ckpt["run"], ckpt["seed"], ckpt["history"],
                 ckpt.get("online_probe"))


def load_backbone(path: str | Path, expected_arch: str | None = None) -> ResNet:
    """The trained backbone of a final checkpoint (a `torchvision.models.ResNet`), in eval mode (frozen by
    the caller's no_grad)."""
    from .models import build_backbone

    final = read_final(path, expected_arch)
    backbone = build_backbone(final.arch, final.stem)
    try:
        backbone.load_state_dict(final.backbone)
    except RuntimeError as err:
        raise CheckpointError(
            f"{final.path}: weights do not fit backbone {final.arch!r} ({str(err).splitlines()[0]}); "
            "delete it and rerun"
        ) from None
    return backbone.eval()


def load_projector(path: str | Path) -> nn.Module:
    """The trained projector of a final checkpoint (input: the backbone's features), in eval mode."""
    from .models import build_backbone, mlp

    final = read_final(path)
    projector = mlp(build_backbone(final.arch, final.stem).out_dim, list(final.run["model"]["projector"]),
                    bn=final.run["model"].get("projector_bn", True))
    try:
        projector.load_state_dict(final.projector)
    except RuntimeError as err:
        raise CheckpointError(f"{final.path}: projector weights do not fit its recorded dims "
                              f"({str(err).splitlines()[0]}); delete it and rerun") from None
    return projector.eval()


def load_online_probe(path: str | Path) -> nn.Linear | None:
    """The online linear probe trained with the backbone of a final checkpoint (None if it has none)."""
    final = read_final(path)
    if final.online_probe is None:
        return None
    state = final.online_probe["classifier"]
    classes, dim = state["weight"].shape
    probe = nn.Linear(dim, classes)
    try:
        probe.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(f"{final.path}: its online probe does not load ({str(err).splitlines()[0]}); "
                              "delete it and rerun") from None
    return probe.eval()


def load_heads(path: str | Path) -> tuple[nn.Module, nn.Module] | None:
    """A target method's (predictor, EMA target backbone → projector) of a checkpoint, in eval mode; None when
    the checkpoint has none (a method without a target, or a run that did not keep them)."""
    from .models import build_backbone, mlp

    final = read_final(path)
    heads = _load(final.path).get("heads")
    if heads is None:
        return None
    dims = list(final.run["model"]["projector"])
    predictor = mlp(dims[-1], [int(final.run["model"]["predictor_hidden"]), dims[-1]])
    backbone = build_backbone(final.arch, final.stem)
    projector = mlp(backbone.out_dim, dims)
    try:
        predictor.load_state_dict(heads["predictor"])
        backbone.load_state_dict(heads["target_backbone"])
        projector.load_state_dict(heads["target_projector"])
    except (RuntimeError, KeyError) as err:
        raise CheckpointError(f"{final.path}: its predictor or target does not load ({str(err).splitlines()[0]}); "
                              "delete it and rerun") from None
    return predictor.eval(), nn.Sequential(backbone, projector).eval()


# --- kept (convergence) ------------------------------------------------------------------------------

def kept_path(final: str | Path, pct: int) -> Path:
    """The checkpoint kept at `pct` % of the run's epochs."""
    return Path(final).parent / "keep" / f"pct{pct}.pt"


def kept_pct(path: str | Path) -> int:
    """The % of the run's epochs a kept checkpoint's name says (`keep/pct{q}.pt` → q)."""
    name = Path(path).name
    if Path(path).parent.name != "keep" or not (name.startswith("pct") and name.endswith(".pt")
                                                 and name[3:-3].isdigit()):
        raise ValueError(f"{path}: not a kept checkpoint's name (keep/pct<q>.pt)")
    return int(name[3:-3])


def _staged(final: str | Path, pct: int) -> Path:
    return Path(final).parent / ".keep" / f"pct{pct}.pt"


def stage_kept(final: str | Path, pct: int, **content: Any) -> None:
    """Write the `pct` % checkpoint (arguments of `save_final`) where a resumed run will still find it."""
    save_final(_staged(final, pct), **content)


def publish_kept(final: str | Path, pcts: list[int], resumed_from: int | None) -> None:
    """Move every staged kept checkpoint to its declared place (atomic renames)."""
    for pct in pcts:
        staged = _staged(final, pct)
        if not staged.exists():
            raise CheckpointError(
                f"{kept_path(final, pct)}: not written by this run (resumed from epoch {resumed_from} with a "
                f"resume state made before keep_epochs listed {pct} %); delete {resume_path(final)} and rerun"
            )
        kept_path(final, pct).parent.mkdir(parents=True, exist_ok=True)
        staged.replace(kept_path(final, pct))
    if _staged(final, 0).parent.exists() and not any(_staged(final, 0).parent.iterdir()):
        _staged(final, 0).parent.rmdir()


# --- resume -----------------------------------------------------------------------------------------

def save_resume(final: str | Path, *, key: str, epoch: int, history: list[float], model: nn.Module,
                optimizer: torch.optim.Optimizer, target: nn.Module | None = None,
                probe: dict[str, Any] | None = None) -> None:
    state = {"run_hash": key, "epoch": epoch, "history": history, "model": model.state_dict(),
             "optimizer": optimizer.state_dict()}
    if target is not None:
        state["target"] = target.state_dict()
    if probe is not None:  # `OnlineProbe.state_dict()`
        state["probe"] = probe
    save_torch(resume_path(final), state)


def read_resume(final: str | Path, key: str) -> dict[str, Any] | None:
    """The resumable state of this run (`key` = `run_hash`), or None when there is none or it is another run's."""
    path = resume_path(final)
    if not path.exists():
        return None
    state = _load(path)
    if not isinstance(state, dict) or state.get("run_hash") != key:
        log.warning("ignoring %s: written for other params; starting afresh", path)
        return None
    return state


def drop_resume(final: str | Path) -> None:
    resume_path(final).unlink(missing_ok=True)
