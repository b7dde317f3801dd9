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

A registered loss is named by where it lives (``"contrastive.simclr"``, under `jessl.methods`) and its
signature is read from the module's source (`static_signature`), so validating params.yaml imports no
torch; the loss itself is imported on first call (`Method.fn`).
"""

from __future__ import annotations

import ast
import difflib
import importlib
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

import annotated_types as at
from pydantic import ConfigDict, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from ..yamlio import string_hint
from . import hptypes

if TYPE_CHECKING:
    import torch

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
    """`loss`: the function, or where it lives under `jessl.methods` (``"module.function"``, read without
    importing it); `defaults`: hyper-parameter defaults of this variant that differ from the signature's."""

    name: str
    loss: Callable[..., torch.Tensor] | str
    inputs: Inputs = "pair"
    bound: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def fn(self) -> Callable[..., torch.Tensor]:
        """The loss function (imported on first use), with the variant's `defaults` bound."""
        loss = self.loss
        if isinstance(loss, str):
            module, name = loss.rsplit(".", 1)
            loss = getattr(importlib.import_module(f"{__package__}.{module}"), name)
        return partial(loss, **self.defaults) if self.defaults else loss

    def signature(self) -> inspect.Signature:
        """The loss's signature, annotations evaluated, the variant's `defaults` applied."""
        if isinstance(self.loss, str):
            sig = static_signature(self.loss)
        else:
            sig = inspect.signature(self.loss, eval_str=True)
        return sig.replace(parameters=[p.replace(default=self.defaults[p.name]) if p.name in self.defaults else p
                                       for p in sig.parameters.values()])

    def _tunable(self) -> dict[str, inspect.Parameter]:
        """Keyword arguments with a default that the variant does not bind (positional-only
        parameters are inputs, never hyper-parameters), annotations evaluated."""
        params = self.signature().parameters.values()
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
                return self.fn(z[0], z[1], **kwargs)
            if self.inputs == "views":
                return self.fn(list(z), **kwargs)
            return self.fn(list(p), list(t), **kwargs)
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

# A variant binds the flags that define it; DCL also gets lightly's default τ = 0.1.
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("simclr", "contrastive.simclr", bound=_NCE),
        Method("dcl", "contrastive.simclr", bound={**_NCE, "decoupled": True}, defaults={"temperature": 0.1}),
        Method("simclr_abs", "contrastive.simclr", bound={**_NCE, "phi": "abs"}),
        Method("simclr_sq", "contrastive.simclr", bound={**_NCE, "phi": "sq"}),
        Method("vicreg", "covariance.vicreg"),
        Method("vicreg_exp", "covariance.vicreg_exp", bound={"transposed": False}),
        Method("vicreg_ctr", "covariance.vicreg_exp", bound={"transposed": True}),
        Method("barlow_twins", "covariance.barlow_twins"),
        Method("frossl", "frossl.frossl", "views"),
        Method("byol", "byol.byol", "target"),
        Method("ssl_hsic", "hsic.ssl_hsic", "target"),
        Method("ssl_hsic_notarget", "hsic.ssl_hsic", "views"),
    )
}


# --- signatures read from the source: names, defaults (literals) and annotations without importing the loss ---
_KINDS = (("posonlyargs", inspect.Parameter.POSITIONAL_ONLY), ("args", inspect.Parameter.POSITIONAL_OR_KEYWORD),
          ("kwonlyargs", inspect.Parameter.KEYWORD_ONLY))


@cache
def _module_source(module: str) -> tuple[ast.Module, dict[str, Any]]:
    """A loss module's syntax tree and the names its annotations may use: typing's, `hptypes`' and the
    module's own type aliases (top-level assignments that evaluate without torch, e.g. a `Literal`)."""
    tree = ast.parse((Path(__file__).parent / f"{module}.py").read_text(encoding="utf-8"))
    names: dict[str, Any] = {"Literal": Literal, "Annotated": Annotated, "Union": Union, "Optional": typing.Optional,
                             "at": at, **{k: v for k, v in vars(hptypes).items() if not k.startswith("__")}}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                names[node.targets[0].id] = eval(compile(ast.Expression(node.value), module, "eval"), names)  # noqa: S307
            except Exception:  # noqa: BLE001, S112 (a runtime value, e.g. a tensor: no annotation uses it)
                continue
    return tree, names


@cache
def static_signature(where: str) -> inspect.Signature:
    """The signature of `module.function` under `jessl.methods`, read from its source: a keyword's default must
    be a literal and its annotation evaluate from typing, `hptypes` and the module's aliases (inputs, i.e.
    positional-only or without a default, keep no annotation). `tests/test_hparams.py` checks it against
    `inspect.signature` of the imported loss."""
    module, name = where.rsplit(".", 1)
    tree, names = _module_source(module)
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
    if fn is None:
        raise ValueError(f"jessl/methods/{module}.py has no function {name!r}; fix the registry entry {where!r}")
    a = fn.args
    defaults = [None] * (len(a.posonlyargs) + len(a.args) - len(a.defaults)) + list(a.defaults)
    positional = [(p, kind) for group, kind in _KINDS[:2] for p in getattr(a, group)]
    pairs = [*zip(positional, defaults, strict=True), *zip(((p, _KINDS[2][1]) for p in a.kwonlyargs), a.kw_defaults,
                                                          strict=True)]
    params = []
    for (arg, kind), default in pairs:
        if default is None or kind is inspect.Parameter.POSITIONAL_ONLY:  # an input: never a hyper-parameter
            params.append(inspect.Parameter(arg.arg, kind, default=inspect.Parameter.empty if default is None
                                            else ast.literal_eval(default)))
            continue
        try:
            value = ast.literal_eval(default)
            annotation = inspect.Parameter.empty if arg.annotation is None else eval(  # noqa: S307
                compile(ast.Expression(arg.annotation), module, "eval"), dict(names))
        except Exception as err:  # noqa: BLE001
            raise ValueError(f"{where}: hyper-parameter {arg.arg!r} needs a literal default and an annotation from "
                             f"typing or jessl.methods.hptypes ({type(err).__name__}: {err})") from None
        params.append(inspect.Parameter(arg.arg, kind, default=value, annotation=annotation))
    return inspect.Signature(params)


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
