"""SSL losses as pure functions, and the registry that names them."""

from .registry import METHODS, HparamError, LossError, Method, get

__all__ = ["METHODS", "HparamError", "LossError", "Method", "get"]
