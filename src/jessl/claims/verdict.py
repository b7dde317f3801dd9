"""A claim's verdict as a value: what was compared, the effect with its interval, the test and the outcome.

No statistics here: the effect and its interval come from `jessl.stats`; the report formats a `Verdict`
and the tests assert on its fields, never on prose.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from .catalogue import CATALOGUE

Outcome = Literal["reproduced", "not_reproduced", "inconclusive"]
Test = Literal["superiority", "non_inferiority", "equivalence"]
OUTCOMES: tuple[str, ...] = Outcome.__args__
TESTS: tuple[str, ...] = Test.__args__


@dataclass(frozen=True)
class Verdict:
    """Claim `claim` (its catalogue number) is `verdict` by a `test` of `effect` [low, high] (in `unit`)
    against `margin`, over `n_seeds` seeds; `compared` says what minus what."""

    claim: int
    verdict: Outcome
    effect: float
    low: float
    high: float
    margin: float
    test: Test
    n_seeds: int
    compared: str
    unit: str = "points"

    def __post_init__(self) -> None:
        numbers = [c.number for c in CATALOGUE]
        if self.claim not in numbers:
            raise ValueError(f"claim {self.claim!r} is not in the catalogue (claims: {numbers})")
        if self.verdict not in OUTCOMES:
            raise ValueError(f"verdict {self.verdict!r} is not one of {', '.join(OUTCOMES)}")
        if self.test not in TESTS:
            raise ValueError(f"test {self.test!r} is not one of {', '.join(TESTS)}")
        if not all(math.isfinite(x) for x in (self.effect, self.low, self.high, self.margin)):
            raise ValueError(f"claim {self.claim}: effect, interval and margin must be finite numbers")
        if not self.low <= self.high or self.margin < 0:
            raise ValueError(f"claim {self.claim}: need low <= high and margin >= 0, got [{self.low}, {self.high}], "
                             f"margin {self.margin}")
        if self.n_seeds < 1:
            raise ValueError(f"claim {self.claim}: n_seeds must be >= 1, got {self.n_seeds}")

    def to_json(self) -> str:
        """The verdict as one JSON object (its fields, in order)."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Verdict:
        data: dict[str, Any] = json.loads(text)
        return cls(**data)
