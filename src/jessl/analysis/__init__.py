"""Closed forms and computations behind the papers' claims (not training losses, not DAG stages).

- `spectral`: the linear-regime closed-form optimum of VICReg-style objectives (Balestriero & LeCun 2022).
"""
