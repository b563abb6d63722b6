"""TFDS builder for the cross-media Chinese signatures (manual dir)."""

from __future__ import annotations

import os
from pathlib import Path

ENV_DIR = "SIGJAX_CROSS_MEDIA_DIR"


def default_manual_dir() -> Path:
  """$SIGJAX_CROSS_MEDIA_DIR, else ../shared/data/cross_media_signatures
  next to the repository (never a machine-specific absolute path)."""
  env = os.environ.get(ENV_DIR)
  if env:
    return Path(env).expanduser()
  repo = Path(__file__).resolve().parents[2]
  return (repo / ".." / "shared" / "data" / "cross_media_signatures").resolve()
