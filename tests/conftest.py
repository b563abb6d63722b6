"""Shared pytest fixtures (generic: any test module may use or extend them)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

# Keep TensorFlow quiet and off any accelerator the tests do not need.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Safety net: a test that forgets config.data.tfds_data_dir must not write
# into the user's TFDS cache (~/tensorflow_datasets).
os.environ.setdefault("TFDS_DATA_DIR", os.path.join(
    tempfile.gettempdir(), "sigjax_tests_tfds"))

# One persistent compilation cache for the whole run (both xdist workers):
# many tests train or evaluate the same tiny presets, and a compile that one
# test paid for is then a cache load in the next (sigjax.parallel
# .default_cache_dir honours JAX's own variable).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(
    tempfile.gettempdir(), "sigjax_tests_jax_cache"))

REPO = Path(__file__).resolve().parents[1]


def find_cross_media_dir() -> Path | None:
  """The real cross-media data (env SIGJAX_CROSS_MEDIA_DIR, else ../shared)."""
  from sigjax.datasets import cross_media  # pylint: disable=import-outside-toplevel
  path = cross_media.default_manual_dir()
  return path if (path / "manifest.csv").is_file() else None


@pytest.fixture(scope="session")
def cross_media_dir() -> Path:
  """Path of the real cross-media dataset; skips (saying why) if absent."""
  path = find_cross_media_dir()
  if path is None:
    pytest.skip("cross-media data not found: set SIGJAX_CROSS_MEDIA_DIR or "
                "place it at ../shared/data/cross_media_signatures")
  return path


@pytest.fixture(scope="session")
def cross_media_tfds_dir(cross_media_dir, tmp_path_factory) -> Path:
  """A TFDS data_dir holding the cross-media 'name_paper_bin' config, built
  once per test session from the real data (never the user's TFDS cache)."""
  from sigjax.datasets import cross_media  # pylint: disable=import-outside-toplevel
  data_dir = tmp_path_factory.mktemp("tfds")
  cross_media.build(cross_media_dir, data_dir, config_name="name_paper_bin")
  return data_dir


def draw_signature_png(path: Path, seed: int, size=(96, 64), mode="L"):
  """Writes a small dark-on-white scribble image (a stand-in signature)."""
  rng = np.random.default_rng(seed)
  img = Image.new("L", size, 255)
  d = ImageDraw.Draw(img)
  pts = [(float(x), float(y)) for x, y in zip(
      rng.uniform(5, size[0] - 5, 6), rng.uniform(5, size[1] - 5, 6))]
  d.line(pts, fill=0, width=3)
  if mode != "L":
    img = img.convert(mode)
  img.save(path)


@pytest.fixture
def make_folder(tmp_path):
  """Factory: ``make_folder({"alice": 5, "bob": 3}) -> ROOT`` in the
  original project's layout ROOT/<class>/<n>.png, deterministic content."""

  def make(counts: dict, ext: str = "png", root: Path | None = None) -> Path:
    root = root or tmp_path / "signatures"
    for c, (name, n) in enumerate(sorted(counts.items())):
      (root / name).mkdir(parents=True, exist_ok=True)
      for i in range(n):
        draw_signature_png(root / name / f"{i:03d}.{ext}", seed=1000 * c + i)
    return root

  return make
