"""Flax linen models of sigjax."""
