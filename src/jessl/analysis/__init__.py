"""Closed forms and computations behind the papers' claims (not training losses).

- `spectral`: the linear-regime closed-form optima of the local (VICReg-style) and global (SimCLR-style,
  squared) criteria (Balestriero & LeCun 2022).
- `spectral_claim`: claim 1 measured (gradient descent vs the closed forms; graphs vs labels on digits).
- `hsic_infonce`: claim 4 measured (InfoNCE and SSL-HSIC along a run, Li et al. 2021).
"""
