"""Frozen-feature evaluations: linear probe, few-label probe, k-NN, spectrum (RankMe)."""
