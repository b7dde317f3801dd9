"""Method name → loss. Adding a method is one function in its family's module and one line here.

A `Method` says how the training loop feeds its loss:
- ``pair``: ``loss(z1, z2, **hp)`` on the projections of two views;
- ``views``: ``loss([z_1, …, z_V], **hp)`` on V ≥ 2 views;
- ``target``: ``loss([p_1, …, p_V], [t_1, …, t_V], **hp)`` on the online predictions and the
  (stop-gradient) projections of an EMA target network (BYOL-style).
A variant is the same loss with some parameters bound (``bound``), never a copied function; the
flags that define a variant are bound, so they are not hyper-parameters.

The loss's signature is the single source of truth for its hyper-parameters: the keyword defaults
give the names and defaults, the annotations (``float``, ``Literal[...]``, ``int | None``, bounds as
``Annotated[float, annotated_types.Gt(0)]``, see `hptypes`) the values `validate_hparams` accepts.
"""

from __future__ import annotations

import difflib
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Annotated, Any, Literal, Union

import annotated_types as at
import torch
from pydantic import ConfigDict, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from ..yamlio import string_hint
from . import byol, contrastive, covariance, frossl, hsic

Inputs = Literal["pair", "views", "target"]


class HparamError(ValueError):
    """Bad hyper-parameters for a method; `problems` maps each bad key to one line saying what is wrong."""

    def __init__(self, method: str, problems: dict[str, str]) -> None:
        super().__init__(method, problems)
        self.method, self.problems = method, problems

    def __str__(self) -> str:
        return f"method {self.method!r}: " + "; ".join(f"{k}: {msg}" for k, msg in self.problems.items())


class LossError(ValueError):
    """A loss refused its inputs or hyper-parameters at run time (a user error, shown as one line)."""


@dataclass(frozen=True)
class Method:
    name: str
    loss: Callable[..., torch.Tensor]
    inputs: Inputs = "pair"
    bound: Mapping[str, Any] = field(default_factory=dict)

    def _tunable(self) -> dict[str, inspect.Parameter]:
        """Keyword arguments with a default that the variant does not bind (positional-only
        parameters are inputs, never hyper-parameters), annotations evaluated."""
        params = inspect.signature(self.loss, eval_str=True).parameters.values()
        return {
            p.name: p
            for p in params
            if p.default is not inspect.Parameter.empty
            and p.kind is not inspect.Parameter.POSITIONAL_ONLY
            and p.name not in self.bound
        }

    @property
    def hparams(self) -> dict[str, Any]:
        """Tunable hyper-parameters and their defaults."""
        return {name: p.default for name, p in self._tunable().items()}

    @property
    def hparam_types(self) -> dict[str, str]:
        """Each tunable hyper-parameter's accepted values, in words (e.g. ``float > 0``)."""
        return {name: describe(p.annotation) for name, p in self._tunable().items()}

    def validate_hparams(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """`values` checked against the loss's signature: known names, strict types (an int is a
        valid float; a bool, a string or a list is not a number), bounds. Returns the validated
        values (ints given for floats become floats); raises `HparamError` listing every problem."""
        tunable, problems, out = self._tunable(), {}, {}
        allowed = ", ".join(tunable) or "(none)"
        for key, value in values.items():
            if key in self.bound:
                problems[key] = (
                    f"fixed to {_show(self.bound[key])} by the method {self.name!r} (it defines the variant), "
                    f"not a hyper-parameter; allowed: {allowed}"
                )
            elif key not in tunable:
                problems[key] = f"unknown hyper-parameter of {self.name!r}; allowed: {allowed}"
            elif tunable[key].annotation is inspect.Parameter.empty:
                out[key] = value  # an unannotated parameter: any value
            else:
                try:
                    out[key] = _adapter(tunable[key].annotation).validate_python(value)
                except ValidationError as err:
                    problems[key] = _explain(err, tunable[key].annotation, value)
        if problems:
            raise HparamError(self.name, problems)
        return out

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
        """The loss on `z` (or on `p`, `t` for target methods); a `ValueError` from the loss (a bad
        value reaching it) is re-raised as a one-line `LossError`."""
        kwargs = {**self.bound, **hp}
        if self.inputs == "target" and (p is None or t is None):
            raise ValueError(f"method {self.name!r} needs online predictions and target projections")
        try:
            if self.inputs == "pair":
                return self.loss(z[0], z[1], **kwargs)
            if self.inputs == "views":
                return self.loss(list(z), **kwargs)
            return self.loss(list(p), list(t), **kwargs)
        except LossError:
            raise
        except ValueError as err:
            raise LossError(f"method {self.name!r}: {err}; check its hparams in params.yaml") from None


# --- hyper-parameter values: strict pydantic validation of the loss annotations, one-line messages ----------
_STRICT = ConfigDict(strict=True, allow_inf_nan=False)


@cache
def _cached_adapter(annotation: Any) -> TypeAdapter:
    return TypeAdapter(annotation, config=_STRICT)


def _adapter(annotation: Any) -> TypeAdapter:
    try:
        hash(annotation)
    except TypeError:  # e.g. Annotated[float, Field(gt=0)]: a FieldInfo is not hashable
        return TypeAdapter(annotation, config=_STRICT)
    return _cached_adapter(annotation)


def _split(annotation: Any) -> tuple[Any, bool, list[Any]]:
    """(base type, whether None is allowed, bounds) of ``Annotated[T, ...] | None``; the bounds are the
    annotated_types constraints given directly (``Gt(0)``, ``Interval(...)``) or through ``Field(gt=0)``."""
    nullable = False
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = typing.get_args(annotation)
        nullable = type(None) in args
        rest = tuple(a for a in args if a is not type(None))
        annotation = rest[0] if len(rest) == 1 else Union[rest]  # noqa: UP007 (a runtime union of a tuple)
    bounds: list[Any] = []
    if typing.get_origin(annotation) is Annotated:
        annotation, *meta = typing.get_args(annotation)
        for m in meta:
            bounds.extend(m.metadata if isinstance(m, FieldInfo) else m if isinstance(m, at.GroupedMetadata) else [m])
    return annotation, nullable, [b for b in bounds if isinstance(b, at.BaseMetadata)]


_OPS = {at.Gt: (">", "gt"), at.Ge: (">=", "ge"), at.Lt: ("<", "lt"), at.Le: ("<=", "le")}


def describe(annotation: Any) -> str:
    """An annotation in words: ``float > 0``, ``int >= 1 or null``, ``'imq' | 'gaussian'``."""
    if annotation is inspect.Parameter.empty:
        return "any"
    base, nullable, bounds = _split(annotation)
    if typing.get_origin(base) is Literal:
        text = " | ".join(_show(v) for v in typing.get_args(base))
    else:
        text = getattr(base, "__name__", str(base))
    rules = [f"{_OPS[type(b)][0]} {_bound(getattr(b, _OPS[type(b)][1]))}" for b in bounds if type(b) in _OPS]
    return " ".join([text, " and ".join(rules)]).strip() + (" or null" if nullable else "")


def _show(value: Any) -> str:
    """A value as the user wrote it in YAML: null, true, 'text', 0.5, [1, 2]."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _bound(x: Any) -> str:
    """A bound as written in the signature: 0, not the 0.0 that pydantic reports for a float."""
    return str(int(x)) if isinstance(x, float) and x.is_integer() else repr(x)


def _explain(err: ValidationError, annotation: Any, value: Any) -> str:
    """One line for the first error of `value` against `annotation`: the rule, then what was given."""
    e = err.errors()[0]
    kind, ctx = e["type"], e.get("ctx") or {}
    base, nullable, _ = _split(annotation)
    or_null = " (or null)" if nullable else ""
    hint = ""
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op, attr = next(v for v in _OPS.values() if v[1] in ctx)
        rule = f"must be {op} {_bound(ctx[attr])}"
    elif kind == "finite_number":
        rule = "must be a finite number"
    elif kind == "literal_error":
        allowed = typing.get_args(base)
        rule = "must be one of " + ", ".join(_show(v) for v in allowed) + (", or null" if nullable else "")
        words = [a for a in allowed if isinstance(a, str)]
        close = difflib.get_close_matches(value, words, n=1) if isinstance(value, str) else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
    elif kind.startswith("int_"):
        rule = f"expected an integer{or_null}"
    elif kind.startswith("float_"):
        rule = f"expected a number{or_null}"
        hint = string_hint(value)
    elif kind.startswith("bool_"):
        rule = f"expected true or false{or_null}"
        hint = string_hint(value)
    else:
        rule = f"expected {describe(annotation)}: {e['msg'][0].lower()}{e['msg'][1:]}"
    return f"{rule}, got {_show(value)}{hint}"


# InfoNCE without the SimCLR-abs/sq transform: the variant-defining flags are fixed, not tunable
# (SimCLR-abs/sq keep the untransformed positive, transform_positive=False, see `contrastive.simclr`).
_NCE = {"phi": None, "transform_positive": False, "decoupled": False}

# A variant binds the flags that define it; DCL also gets lightly's default τ = 0.1 via partial.
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("simclr", contrastive.simclr, bound=_NCE),
        Method("dcl", partial(contrastive.simclr, temperature=0.1), bound={**_NCE, "decoupled": True}),
        Method("simclr_abs", contrastive.simclr, bound={**_NCE, "phi": "abs"}),
        Method("simclr_sq", contrastive.simclr, bound={**_NCE, "phi": "sq"}),
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
