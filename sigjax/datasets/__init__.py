"""TFDS dataset builders of sigjax (manual-dir, no downloads)."""
