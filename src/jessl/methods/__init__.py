"""SSL losses as pure functions, and the registry that names them."""

from .registry import METHODS, Method, get

__all__ = ["METHODS", "Method", "get"]
