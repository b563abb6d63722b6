"""Labelled image grids (data previews, training samples, evaluation report).

One row per class with the class name at the left, ink black on white, each
image framed by a thin gray line so the white paper of neighbouring samples
does not merge, and thin separators between rows. Pure PIL: no matplotlib
start-up cost in the training loop.
"""

from __future__ import annotations

import math
import os
from typing import Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FRAME = (200, 200, 200)  # tile frame
SEPARATOR = (225, 225, 225)  # between rows
TEXT = (20, 20, 20)
MUTED = (110, 110, 110)


def _font(size: int):
  try:
    return ImageFont.load_default(size=size)  # Pillow's bundled TrueType font
  except (TypeError, OSError):  # no FreeType: the bitmap font
    return ImageFont.load_default()


def _text_size(draw, text, font):
  left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
  return right - left, bottom - top


def _tile(img: np.ndarray, zoom: int) -> Optional[Image.Image]:
  """(H, W) in [0, 1], ink 1 -> black-on-white RGB tile, or None if NaN."""
  if np.isnan(img).all():
    return None
  a = np.clip(np.nan_to_num(img, nan=0.0), 0.0, 1.0)
  gray = np.rint(255.0 * (1.0 - a)).astype(np.uint8)
  t = Image.fromarray(gray).convert("RGB")
  if zoom > 1:
    t = t.resize((t.width * zoom, t.height * zoom), Image.Resampling.NEAREST)
  return t


def class_grid(images, row_labels: Sequence[str], path: str,
               title: Optional[str] = None,
               col_labels: Optional[Sequence[str]] = None,
               tile_px: int = 96) -> str:
  """Writes a labelled grid PNG to ``path`` and returns the path.

  Args:
    images: (rows, cols, H, W) or (rows, cols, H, W, 1), values in [0, 1]
      with ink = 1.0 (drawn black) and paper = 0.0 (white). A tile that is
      all NaN is left empty (e.g. a class with fewer images than columns).
    row_labels: one label per row (class names), drawn at the left.
    path: output PNG (parent folders are created).
    title: optional line above the grid.
    col_labels: optional label above each column.
    tile_px: target tile size; images are upscaled by an integer factor
      (nearest neighbour, so pixels stay crisp) to at least about this size.
  """
  images = np.asarray(images, np.float32)
  if images.ndim == 5 and images.shape[-1] == 1:
    images = images[..., 0]
  if images.ndim != 4:
    raise ValueError(f"class_grid wants (rows, cols, H, W[, 1]) images, got "
                     f"shape {images.shape}")
  rows, cols, h, w = images.shape
  if len(row_labels) != rows:
    raise ValueError(f"class_grid: {len(row_labels)} row labels for {rows} "
                     "rows")
  if col_labels is not None and len(col_labels) != cols:
    raise ValueError(f"class_grid: {len(col_labels)} column labels for "
                     f"{cols} columns")
  zoom = max(1, math.ceil(tile_px / max(h, w)))
  th, tw = h * zoom, w * zoom
  gap, pad = 4, 12
  font_size = int(np.clip(th * 0.16, 12, 18))
  font, small = _font(font_size), _font(max(10, font_size - 3))
  probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
  label_w = max([_text_size(probe, str(s), font)[0] for s in row_labels] +
                [0]) + 2 * pad
  title_h = (_text_size(probe, title, font)[1] + 2 * pad) if title else pad
  col_h = (_text_size(probe, "Ag", small)[1] + gap) if col_labels else 0
  width = label_w + cols * (tw + gap) + pad
  height = title_h + col_h + rows * (th + 2 * gap) + pad
  canvas = Image.new("RGB", (width, height), (255, 255, 255))
  draw = ImageDraw.Draw(canvas)
  if title:
    draw.text((pad, pad), title, fill=TEXT, font=font)
  y0 = title_h
  if col_labels:
    for c, s in enumerate(col_labels):
      x = label_w + c * (tw + gap) + (tw - _text_size(draw, str(s), small)[0]) // 2
      draw.text((x, y0), str(s), fill=MUTED, font=small)
    y0 += col_h
  for r in range(rows):
    y = y0 + r * (th + 2 * gap) + gap
    if r:
      draw.line([(pad, y - gap), (width - pad, y - gap)], fill=SEPARATOR)
    text = str(row_labels[r])
    tw_text, th_text = _text_size(draw, text, font)
    draw.text((label_w - pad - tw_text, y + (th - th_text) // 2 - 2), text,
              fill=TEXT, font=font)
    for c in range(cols):
      tile = _tile(images[r, c], zoom)
      if tile is None:
        continue
      x = label_w + c * (tw + gap)
      canvas.paste(tile, (x, y))
      draw.rectangle([x - 1, y - 1, x + tw, y + th], outline=FRAME)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  canvas.save(path)
  return path
