"""Datasets, their FFCV `.beton` form, and batched SSL augmentations."""
