"""lightly's losses as test oracles (an independent implementation the loss tests compare against).

`lightly.loss` imports torchvision, which is now one of jessl's own pins (requirements.in), so the
losses import directly. Test-only: jessl never imports lightly at run time.
"""

from __future__ import annotations

from lightly.loss import (
    BarlowTwinsLoss,
    DCLLoss,
    FroSSLLoss,
    NegativeCosineSimilarity,
    NTXentLoss,
    VICRegLoss,
)

__all__ = ["BarlowTwinsLoss", "DCLLoss", "FroSSLLoss", "NTXentLoss", "NegativeCosineSimilarity", "VICRegLoss"]
