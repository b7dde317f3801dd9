"""Method name → loss. Adding a method is one function in its family's module and one line here.

A `Method` says how the training loop feeds its loss:
- ``pair``: ``loss(z1, z2, **hp)`` on the projections of two views;
- ``views``: ``loss([z_1, …, z_V], **hp)`` on V ≥ 2 views;
- ``target``: ``loss([p_1, …, p_V], [t_1, …, t_V], **hp)`` on the online predictions and the
  (stop-gradient) projections of an EMA target network (BYOL-style).
A variant is the same loss with some parameters bound (``bound``), never a copied function.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import torch

from . import byol, contrastive, covariance, frossl, hsic

Inputs = Literal["pair", "views", "target"]


@dataclass(frozen=True)
class Method:
    name: str
    loss: Callable[..., torch.Tensor]
    inputs: Inputs = "pair"
    bound: Mapping[str, Any] = field(default_factory=dict)

    @property
    def hparams(self) -> dict[str, Any]:
        """Tunable hyper-parameters and their defaults: keyword arguments with a default that the
        variant does not bind (positional-only parameters are inputs, never hyper-parameters)."""
        params = inspect.signature(self.loss).parameters.values()
        return {
            p.name: p.default
            for p in params
            if p.default is not inspect.Parameter.empty
            and p.kind is not inspect.Parameter.POSITIONAL_ONLY
            and p.name not in self.bound
        }

    @property
    def needs_target(self) -> bool:
        return self.inputs == "target"

    def check_views(self, num_views: int) -> None:
        if num_views < 2 or (self.inputs == "pair" and num_views != 2):
            allowed = "exactly 2" if self.inputs == "pair" else "2 or more"
            raise ValueError(f"method {self.name!r} takes {allowed} views, got num_views={num_views}")

    def __call__(
        self,
        z: Sequence[torch.Tensor],
        p: Sequence[torch.Tensor] | None = None,
        t: Sequence[torch.Tensor] | None = None,
        **hp: Any,
    ) -> torch.Tensor:
        kwargs = {**self.bound, **hp}
        if self.inputs == "pair":
            return self.loss(z[0], z[1], **kwargs)
        if self.inputs == "views":
            return self.loss(list(z), **kwargs)
        if p is None or t is None:
            raise ValueError(f"method {self.name!r} needs online predictions and target projections")
        return self.loss(list(p), list(t), **kwargs)


# InfoNCE without the SimCLR-abs/sq transform: the variant-defining flags are fixed, not tunable.
_NCE = {"phi": None, "transform_positive": False, "decoupled": False}

# A variant binds the flags that define it; DCL also gets lightly's default τ = 0.1 via partial.
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("simclr", contrastive.simclr, bound=_NCE),
        Method("dcl", partial(contrastive.simclr, temperature=0.1), bound={**_NCE, "decoupled": True}),
        Method("simclr_abs", contrastive.simclr, bound={"phi": "abs", "decoupled": False}),
        Method("simclr_sq", contrastive.simclr, bound={"phi": "sq", "decoupled": False}),
        Method("vicreg", covariance.vicreg),
        Method("vicreg_exp", covariance.vicreg_exp, bound={"transposed": False}),
        Method("vicreg_ctr", covariance.vicreg_exp, bound={"transposed": True}),
        Method("barlow_twins", covariance.barlow_twins),
        Method("frossl", frossl.frossl, "views"),
        Method("byol", byol.byol, "target"),
        Method("ssl_hsic", hsic.ssl_hsic, "target"),
        Method("ssl_hsic_notarget", hsic.ssl_hsic, "views"),
    )
}


class UnknownMethodError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def get(name: str) -> Method:
    """The registered method called `name`, or an error that lists the known ones."""
    try:
        return METHODS[name]
    except KeyError:
        known = ", ".join(sorted(METHODS))
        raise UnknownMethodError(f"unknown method {name!r}; known methods: {known}") from None
