"""jessl: a reproducible pipeline for joint-embedding self-supervised learning."""

__version__ = "0.1.0"
