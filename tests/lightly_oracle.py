"""lightly's losses as test oracles, importable without torchvision.

`lightly.loss` imports torchvision at import time (for transforms and models it never uses in the
losses), and torchvision cannot be installed in jessl's test environment (it pins torch). If and
only if ``import torchvision`` fails, a meta-path finder fabricates empty ``torchvision.*``
modules whose unknown attributes are dummy classes, so that the import of lightly succeeds; the
losses themselves use plain torch only. Test-only: jessl never imports lightly at run time.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types


class _StubModule(types.ModuleType):
    """A module whose every unknown public attribute is a fresh do-nothing class."""

    def __getattr__(self, name: str) -> type:
        if name.startswith("__"):
            raise AttributeError(name)
        dummy = type(name, (), {"__init__": lambda self, *args, **kwargs: None})
        setattr(self, name, dummy)
        return dummy


class _TorchvisionStubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname == "torchvision" or fullname.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _StubModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        module.__version__ = "0.0.0"


try:
    import torchvision  # noqa: F401
except ImportError:
    sys.meta_path.insert(0, _TorchvisionStubFinder())

from lightly.loss import (  # noqa: E402
    BarlowTwinsLoss,
    DCLLoss,
    FroSSLLoss,
    NegativeCosineSimilarity,
    NTXentLoss,
    VICRegLoss,
)

__all__ = ["BarlowTwinsLoss", "DCLLoss", "FroSSLLoss", "NTXentLoss", "NegativeCosineSimilarity", "VICRegLoss"]
