"""The online linear probe: a linear classifier trained during pretraining on the DETACHED backbone features
of every view, with the batch's training labels and its own optimiser (solo-learn's online evaluation).

It takes the backbone features of the training forward from the model's output (no second forward pass,
no hook: the compiled graph stays free of side effects) and never
touches the backbone's gradients or any random stream (zero-initialised), so the backbone trains exactly
as without it. Its train-split loss and top-1 per epoch are a cheap progress signal, not a benchmark
number: the table's probes are fitted afterwards on frozen features (`jessl.evaluate`).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

LR, MOMENTUM = 0.1, 0.9  # SGD on the classifier only, constant rate (solo-learn's classifier rate)


class OnlineProbe:
    """`nn.Linear(dim, classes)` on detached backbone features, stepped once per training batch."""

    def __init__(self, dim: int, classes: int, device: torch.device) -> None:
        if classes < 2:
            raise ValueError(f"the online probe needs >= 2 classes in the training labels, got {classes}; "
                             "set pretrain.online_probe: false for this dataset")
        self.classifier = nn.Linear(dim, classes).to(device)
        nn.init.zeros_(self.classifier.weight)
        nn.init.zeros_(self.classifier.bias)
        self.optimizer = torch.optim.SGD(self.classifier.parameters(), lr=LR, momentum=MOMENTUM)
        self.history: list[dict[str, float]] = []
        self._sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss·n, correct, n

    def step(self, feats: list[torch.Tensor], labels: torch.Tensor) -> None:
        """One step on the detached backbone features of the batch's views (all views share `labels`);
        labels < 0 (unlabelled images) are left out."""
        if not feats:
            return
        x = torch.cat(feats).float()
        y = labels.to(x.device).repeat(len(feats))
        valid = y >= 0  # masked, not indexed: no host sync on the GPU
        logits = self.classifier(x)
        losses = F.cross_entropy(logits, y.clamp(min=0), reduction="none") * valid
        n = valid.sum()
        self.optimizer.zero_grad(set_to_none=True)
        (losses.sum() / n.clamp(min=1)).backward()
        with torch.no_grad():
            correct = ((logits.argmax(1) == y) & valid).sum()
            self._sums += torch.stack([losses.sum().double(), correct.double(), n.double()])
        if dist.is_initialized() and dist.get_world_size() > 1:  # one classifier across the DDP ranks
            for p in self.classifier.parameters():
                dist.all_reduce(p.grad)
                p.grad /= dist.get_world_size()
        self.optimizer.step()

    def end_epoch(self, epoch: int) -> dict[str, float]:
        """Close epoch `epoch` (1-based): its mean loss and top-1 (%) on the training views, over all ranks."""
        sums, self._sums = self._sums, torch.zeros_like(self._sums)
        if dist.is_initialized() and dist.get_world_size() > 1:
            dist.all_reduce(sums)
        loss_n, correct, n = sums.tolist()
        entry = {"epoch": epoch, "loss": round(loss_n / n, 6) if n else None,
                 "top1": round(100.0 * correct / n, 2) if n else None}
        self.history.append(entry)
        return entry

    def state_dict(self) -> dict[str, Any]:
        """What the resume state and the final checkpoint keep (`checkpoint.py` documents the layout)."""
        return {"classifier": self.classifier.state_dict(), "optimizer": self.optimizer.state_dict(),
                "history": list(self.history)}

    def final(self) -> dict[str, Any]:
        """The final checkpoint's `online_probe` entry: the classifier and its per-epoch history."""
        return {"classifier": self.classifier.state_dict(), "history": list(self.history)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.classifier.load_state_dict(state["classifier"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.history = list(state["history"])
