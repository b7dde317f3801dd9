"""Bounded types for the hyper-parameters of the losses.

A loss declares each hyper-parameter's type and bounds in its own signature (``temperature: Positive =
0.5``); `registry.Method.validate_hparams` checks `params.yaml` values against them at load time, so a
bad value stops the run before training, naming the key, the bound and the value.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Gt

Positive = Annotated[float, Gt(0)]  # temperatures, ε, kernel scales
NonNegative = Annotated[float, Ge(0)]  # weights of loss terms (0 switches a term off)
Count = Annotated[int, Ge(1)]  # numbers of negatives, of random features…

__all__ = ["Count", "NonNegative", "Positive"]
