"""The one image preprocessing of sigjax (the 2019 project's, in numpy/PIL).

Every source (folder, cross_media, synthetic) goes through the same steps, in
this order, so the model always sees the same kind of tensor:

1. decode with PIL (first frame; EXIF orientation applied);
2. grayscale: transparent pixels are composited on white paper, 16/32-bit and
   float images are rescaled to 0..255, palette/CMYK/1-bit images are converted
   through RGB (ITU-R 601 luma, the same weights as OpenCV's BGR2GRAY);
3. resize to ``image_size`` x ``image_size`` with area averaging (PIL ``BOX``,
   the same as OpenCV ``INTER_AREA``). The sources are 3.5x-9x larger than 64
   px and their strokes are 2-10 px wide: area averaging turns every output
   pixel into the mean ink coverage of its footprint, so thin strokes survive as
   gray levels that Otsu then decides on. ``NEAREST`` would drop or alias thin
   strokes, and Lanczos/bicubic ring around edges (overshoot halos that the
   threshold can turn into speckle). Aspect ratio is not kept (like the
   original's ``resize``); the cross-media images are square already;
4. Otsu threshold computed on the resized uint8 image (``otsu_threshold``);
5. invert: ink (pixel <= threshold) -> 1.0, paper -> 0.0, float32 (S, S, 1).

``ink='coverage'`` (``config.data.ink``) stops before step 4: each pixel is
the share of its footprint covered by ink, in [0, 1] (``ink_coverage``). Thin
strokes then keep their sub-pixel position and width as gray levels, which a
generator with a sigmoid output can match without saturating; ``otsu_ink``
turns such an image (real or generated) into exactly what steps 4-5 make of
the same area average, so the binary form stays one function away.

Degenerate case: a constant image (a blank page, or an image that becomes
constant after resizing) has no threshold that separates two classes; it is
returned as all paper (zeros) instead of Otsu's "everything <= t" (all ink).
"""

from __future__ import annotations

import io
import os
from typing import Union

import numpy as np
from PIL import Image, ImageOps

from configs import common

MIN_SIZE = 8  # images smaller than this (either side) are rejected
RESAMPLE = Image.Resampling.BOX

PathLike = Union[str, os.PathLike]


class ImageError(ValueError):
  """A single image file that cannot be used (the message says why)."""


def to_grayscale(img: Image.Image) -> np.ndarray:
  """Returns ``img`` as a 2-D uint8 array, 0 = black, 255 = white paper.

  Handles every PIL mode the sources produce: alpha (RGBA/LA/PA and palette
  images with a transparent index) is composited on white, 16-bit ('I;16*'),
  32-bit ('I') and float ('F') images are rescaled to 0..255, and anything
  else (P, CMYK, YCbCr, 1, RGB) is converted with PIL's luma weights.
  """
  mode = img.mode
  if mode.startswith("I;16"):
    a = np.asarray(img, dtype=np.float64) / 257.0  # 65535 -> 255
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)
  if mode in ("I", "F"):
    a = np.asarray(img, dtype=np.float64)
    hi = float(a.max()) if a.size else 0.0
    if mode == "F" and hi <= 1.0:
      scale = 255.0  # float images in [0, 1]
    elif hi <= 255.0:
      scale = 1.0  # 8-bit values stored wide
    elif hi <= 65535.0:
      scale = 255.0 / 65535.0  # 16-bit values stored as 32-bit ints
    else:
      scale = 255.0 / hi
    return np.clip(np.rint(a * scale), 0, 255).astype(np.uint8)
  has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
      mode == "P" and "transparency" in img.info)
  if has_alpha:
    rgba = img.convert("RGBA")
    paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    img = Image.alpha_composite(paper, rgba)
  if img.mode != "L":
    if img.mode not in ("RGB", "RGBA"):
      img = img.convert("RGB")  # P, CMYK, YCbCr, 1, HSV, LAB ...
    img = img.convert("L")
  return np.asarray(img, dtype=np.uint8)


def otsu_threshold(gray: np.ndarray) -> int:
  """Otsu's threshold of a uint8 image: ink is ``gray <= threshold``.

  Maximises the between-class variance w0*w1*(mu0-mu1)^2 over the 256 gray
  levels; ties go to the lowest level (as scikit-image's ``threshold_otsu``,
  whose result this matches on uint8 input). A constant image returns its
  value (there is nothing to separate); ``binarize`` treats that case.
  """
  gray = np.asarray(gray)
  if gray.dtype != np.uint8:
    raise TypeError(f"otsu_threshold needs uint8, got {gray.dtype}")
  counts = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
  levels = np.arange(256, dtype=np.float64)
  w0 = np.cumsum(counts)  # pixels <= t
  w1 = w0[-1] - w0  # pixels > t
  s0 = np.cumsum(counts * levels)
  s1 = s0[-1] - s0
  with np.errstate(divide="ignore", invalid="ignore"):
    between = w0 * w1 * (s0 / w0 - s1 / w1) ** 2
  between = np.nan_to_num(between[:-1], nan=-1.0)  # t = 255 separates nothing
  if between.max() <= 0:  # a single gray level
    return int(gray.ravel()[0]) if gray.size else 0
  return int(np.argmax(between))


def binarize(gray: np.ndarray) -> np.ndarray:
  """Otsu-thresholds and inverts a uint8 image: float32, ink 1.0, paper 0.0.

  A constant image (blank page) is all paper: zeros.
  """
  gray = np.asarray(gray, dtype=np.uint8)
  if gray.size == 0 or gray.min() == gray.max():
    return np.zeros(gray.shape, np.float32)
  return (gray <= otsu_threshold(gray)).astype(np.float32)


INKS = common.CHOICES["data.ink"]


def _check_ink(ink: str) -> None:
  if ink not in INKS:
    raise ValueError(f"config.data.ink={ink!r}: use one of {', '.join(INKS)}")


def ink_coverage(gray: np.ndarray, image_size: int) -> np.ndarray:
  """Ink coverage of each output pixel, float32 (S, S) in [0, 1].

  The full-size image's own ink and paper levels (medians of the two sides of
  its Otsu threshold) map to 1 and 0, so scans with gray paper or ink get the
  same range as the authors' clean binarized files (where this is exactly
  ``1 - gray / 255``); the area-averaging resize is done in float, so no
  rounding to 256 levels happens before the levels are mapped. A constant
  image is all paper (zeros), as ``binarize``.
  """
  gray = np.asarray(gray, np.uint8)
  if gray.size == 0 or gray.min() == gray.max():
    return np.zeros((image_size, image_size), np.float32)
  t = otsu_threshold(gray)
  ink = float(np.median(gray[gray <= t]))
  paper = float(np.median(gray[gray > t]))
  g = gray.astype(np.float32)
  if gray.shape != (image_size, image_size):
    g = np.asarray(Image.fromarray(g, mode="F").resize(
        (image_size, image_size), RESAMPLE), np.float32)
  cov = (paper - g) / max(paper - ink, 1.0)
  return np.clip(cov, 0.0, 1.0).astype(np.float32)


def otsu_ink(images: np.ndarray) -> np.ndarray:
  """Binary form of ink-coverage images (..., S, S, 1) or (S, S): each image
  is quantised to uint8 gray (paper white) and Otsu-thresholded, the same
  steps 4-5 apply to the area-averaged real image. Used on generated images
  of a generator trained on ``ink='coverage'`` data."""
  x = np.clip(np.asarray(images, np.float32), 0.0, 1.0)
  if x.ndim not in (2, 3, 4) or (x.ndim > 2 and x.shape[-1] != 1):
    raise ValueError(f"otsu_ink needs (S, S), (S, S, 1) or (N, S, S, 1) "
                     f"images, got shape {x.shape}")
  flat = x.reshape((-1,) + x.shape[-3:-1] if x.ndim > 2 else (1,) + x.shape)
  gray = np.round(255.0 * (1.0 - flat)).astype(np.uint8)
  return np.stack([binarize(g) for g in gray]).reshape(x.shape)


def resize_gray(gray: np.ndarray, image_size: int) -> np.ndarray:
  """Area-averaging resize of a uint8 image to (image_size, image_size)."""
  if gray.shape == (image_size, image_size):
    return gray
  im = Image.fromarray(np.ascontiguousarray(gray, np.uint8))
  return np.asarray(im.resize((image_size, image_size), RESAMPLE), np.uint8)


def preprocess_image(img: Image.Image, image_size: int,
                     ink: str = "binary") -> np.ndarray:
  """The full preprocessing of one decoded image -> float32 (S, S, 1) in {0,1}
  (``ink='binary'``) or in [0, 1] (``ink='coverage'``, see the module doc).

  Raises ``ImageError`` if the image is smaller than ``MIN_SIZE`` on a side.
  """
  _check_ink(ink)
  if image_size < 1:
    raise ValueError(f"image_size must be positive, got {image_size}")
  w, h = img.size
  if w < MIN_SIZE or h < MIN_SIZE:
    raise ImageError(f"image is {w}x{h}, smaller than {MIN_SIZE}x{MIN_SIZE}")
  if ink == "coverage":
    return ink_coverage(to_grayscale(img), image_size)[..., None]
  gray = resize_gray(to_grayscale(img), image_size)
  return binarize(gray)[..., None]


def decode(data: Union[bytes, PathLike, io.IOBase]) -> Image.Image:
  """Decodes a file (path, bytes or file object) fully with PIL.

  Raises ``ImageError`` with the reason for empty, truncated or non-image
  data; the image is loaded here so truncation is detected now, not later.
  """
  if isinstance(data, (bytes, bytearray)):
    if not data:
      raise ImageError("empty file (0 bytes)")
    data = io.BytesIO(data)
  elif isinstance(data, (str, os.PathLike)) and os.path.getsize(data) == 0:
    raise ImageError("empty file (0 bytes)")
  try:
    img = Image.open(data)
    img.seek(0)
    img.load()
    img = ImageOps.exif_transpose(img)
  except Image.UnidentifiedImageError:
    raise ImageError("not an image (PIL cannot identify it)") from None
  except Exception as e:  # noqa: BLE001 -- PIL raises many types on bad data
    raise ImageError(f"cannot decode: {type(e).__name__}: {e}") from None
  return img


def load_image(path: PathLike, image_size: int,
               ink: str = "binary") -> np.ndarray:
  """Decodes and preprocesses one file -> float32 (S, S, 1), ink = 1.0.

  Raises ``ImageError`` (naming the reason) for unusable files.
  """
  return preprocess_image(decode(path), image_size, ink)


def load_bytes(data: bytes, image_size: int, ink: str = "binary") -> np.ndarray:
  """Like ``load_image`` for encoded bytes (e.g. from a TFDS example)."""
  return preprocess_image(decode(data), image_size, ink)
