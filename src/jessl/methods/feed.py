"""How a method is fed: views → projections (→ predictions) (→ target projections) → loss.

The one place that knows it; the training loop, the benchmarks and the tests call it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from .registry import Method


def loss_of_views(
    method: Method,
    views: Sequence[torch.Tensor],
    model: Callable[[torch.Tensor], Any],
    target: Callable[[torch.Tensor], torch.Tensor] | None = None,
    hparams: Mapping[str, Any] | None = None,
    features: list[torch.Tensor] | None = None,
) -> torch.Tensor:
    """The loss of one batch of V augmented views through the online `model` (and the EMA `target`).

    `model(x)` returns the projection z, or (z, prediction) for target methods; the target's
    projections carry no gradient. Given a list `features`, the model is asked for its backbone
    features too (`model(x, features=True)`), and they are appended to it, detached, view by view.
    """
    if features is None:
        outs = [model(x) for x in views]
    else:
        outs = []
        for x in views:
            out, h = model(x, features=True)
            outs.append(out)
            features.append(h.detach())
    if not method.needs_target:
        return method(outs, **(hparams or {}))
    if target is None:
        raise ValueError(f"method {method.name!r} needs a target network")
    z, p = [o[0] for o in outs], [o[1] for o in outs]
    with torch.no_grad():
        t = [target(x) for x in views]
    return method(z, p, t, **(hparams or {}))


def loss_of_embeddings(
    method: Method,
    z: Sequence[torch.Tensor],
    t: Sequence[torch.Tensor] | None = None,
    **hparams: Any,
) -> torch.Tensor:
    """The loss on given embeddings (tests, benchmarks): for target methods `z` stands in for the
    online predictions and `t` (default: `z` detached) for the target projections."""
    if not method.needs_target:
        return method(z, **hparams)
    t = [x.detach() for x in z] if t is None else t
    return method(z, p=z, t=t, **hparams)
