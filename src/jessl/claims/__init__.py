"""The papers' claims: their catalogue (`catalogue`), their `claims:` config (`schema`), their sweeps of table1
rows (`sweep`) and the `Verdict` each one gets (`verdict`).

Only the light names are here (no pydantic, no torch): `from jessl.claims import sweep` for the sweeps.
"""

from .catalogue import BY_KEY, CATALOGUE, ORDER, SWEEPS, Claim, claim
from .verdict import Verdict

__all__ = ["BY_KEY", "CATALOGUE", "ORDER", "SWEEPS", "Claim", "Verdict", "claim"]
