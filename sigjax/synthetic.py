"""An embedded, procedural signature dataset (the default source; no files).

Each class is a pseudo-name written in a cursive hand: a capital, a few
lower-case letter shapes per word, an optional second word, and a personal
flourish (underline, paraph loops or a rising tail) plus i-dots. Letters are
control polygons; the pen path is a cubic B-spline through the whole word, so
strokes are smooth and joined like real cursive.

Every sample re-writes its class's template with the variability of one hand:
jittered control points (shape), per-letter width/height, slant, baseline
tilt, a smooth low-frequency warp, overall scale, position and stroke
thickness. Samples are drawn at 4x ``image_size`` (so the downscale
anti-aliases them) in dark ink on lightly textured paper, and then go through
exactly the same preprocessing as real scans (``sigjax.preprocess``: resize,
Otsu, invert).

Deterministic: class c's template depends on (seed, c), sample i on
(seed, c, i) only, so adding classes or samples keeps the existing ones.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from sigjax import preprocess

UPSCALE = 4  # render at 4x image_size, then area-downscale

# Lower-case letter shapes: control points (dx, y) relative to the letter's
# start on the baseline (y up, x-height 1).
LOWER = {
    "e": [(0.35, 0.45), (0.6, 0.9), (0.3, 0.95), (0.15, 0.45), (0.45, 0.0),
          (0.75, 0.15)],
    "l": [(0.45, 1.0), (0.7, 2.3), (0.4, 2.4), (0.25, 1.2), (0.4, 0.0),
          (0.7, 0.2)],
    "n": [(0.1, 0.9), (0.2, 0.1), (0.35, 0.95), (0.6, 0.8), (0.65, 0.0),
          (0.85, 0.2)],
    "m": [(0.05, 0.9), (0.15, 0.05), (0.3, 0.95), (0.45, 0.05), (0.6, 0.95),
          (0.75, 0.05), (0.95, 0.25)],
    "u": [(0.05, 0.95), (0.1, 0.1), (0.35, 0.05), (0.5, 0.95), (0.55, 0.0),
          (0.75, 0.2)],
    "o": [(0.35, 0.95), (0.05, 0.6), (0.2, 0.0), (0.55, 0.3), (0.45, 0.95),
          (0.75, 0.8)],
    "g": [(0.4, 0.95), (0.05, 0.6), (0.3, 0.1), (0.55, 0.9), (0.5, -1.3),
          (0.15, -1.2), (0.5, -0.3), (0.85, 0.2)],
    "a": [(0.45, 0.9), (0.1, 0.7), (0.15, 0.0), (0.5, 0.6), (0.5, 0.05),
          (0.75, 0.2)],
    "r": [(0.15, 0.9), (0.3, 0.65), (0.5, 0.95), (0.45, 0.0), (0.7, 0.2)],
    "t": [(0.4, 1.9), (0.3, 0.2), (0.5, 0.0), (0.75, 0.2)],
    "h": [(0.45, 1.2), (0.6, 2.3), (0.3, 2.3), (0.2, 0.0), (0.4, 0.9),
          (0.65, 0.6), (0.7, 0.0), (0.9, 0.2)],
    "y": [(0.05, 0.9), (0.15, 0.1), (0.4, 0.2), (0.55, 0.95), (0.5, -1.3),
          (0.15, -1.1), (0.6, -0.2), (0.85, 0.2)],
}
# Capitals (height about 2.3), starting at the baseline.
UPPER = {
    "A": [(0.1, 0.0), (0.55, 2.4), (0.75, 2.1), (0.85, 0.0), (0.3, 0.9),
          (1.2, 1.1), (1.3, 0.2)],
    "L": [(0.7, 1.8), (1.1, 2.5), (0.6, 2.4), (0.5, 1.0), (0.15, 0.0),
          (-0.1, 0.35), (0.5, 0.15), (1.0, 0.3)],
    "M": [(0.0, 0.0), (0.2, 2.3), (0.45, 0.1), (0.75, 2.2), (1.0, 0.1),
          (1.25, 1.9), (1.45, 0.0), (1.6, 0.3)],
    "O": [(0.9, 2.1), (0.35, 2.3), (0.0, 1.2), (0.35, 0.0), (1.0, 0.7),
          (1.05, 1.9), (0.6, 2.2), (1.1, 0.6), (1.4, 0.2)],
    "J": [(0.3, 2.0), (0.9, 2.5), (1.2, 2.2), (0.8, 0.0), (0.5, -1.2),
          (0.1, -0.9), (0.7, -0.1), (1.2, 0.3)],
    "S": [(1.1, 2.2), (0.6, 2.5), (0.25, 2.0), (0.9, 1.2), (1.0, 0.3),
          (0.3, 0.0), (0.0, 0.3), (0.8, 0.4), (1.3, 0.3)],
    "R": [(0.1, 0.0), (0.25, 2.3), (0.9, 2.2), (0.9, 1.4), (0.2, 1.1),
          (0.9, 0.0), (1.3, 0.3)],
    "E": [(0.9, 2.2), (0.3, 2.3), (0.35, 1.4), (0.8, 1.3), (0.1, 1.0),
          (0.2, 0.0), (0.9, 0.1), (1.2, 0.3)],
}
DOTTED = set("it")


def bspline(ctrl: np.ndarray, per_segment: int = 10) -> np.ndarray:
  """Clamped uniform cubic B-spline through control points (k, 2) -> path."""
  p = np.concatenate([ctrl[:1], ctrl[:1], ctrl, ctrl[-1:], ctrl[-1:]])
  t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
  basis = np.concatenate([(1 - t) ** 3, 3 * t ** 3 - 6 * t ** 2 + 4,
                          -3 * t ** 3 + 3 * t ** 2 + 3 * t + 1, t ** 3],
                         axis=1) / 6.0  # (per_segment, 4)
  segs = [basis @ p[i:i + 4] for i in range(len(p) - 3)]
  return np.concatenate(segs + [p[-1:]])


def _make_name(rng) -> tuple:
  """A pseudo-name: 1-2 words of a capital plus 2-5 lower-case letters."""
  words = []
  for _ in range(1 if rng.random() < 0.35 else 2):
    cap = rng.choice(sorted(UPPER))
    n = rng.integers(2, 6 if not words else 5)
    words.append(cap + "".join(rng.choice(sorted(LOWER), n)))
  return tuple(words)


def make_template(seed: int, c: int) -> dict:
  """Class ``c``'s hand: its name, letter widths, slant, flourish, pen."""
  rng = np.random.default_rng([seed, c, 7])
  words = _make_name(rng)
  return {
      "words": words,
      "name": " ".join(words),
      "widths": [rng.uniform(0.8, 1.25, len(w)) for w in words],
      "heights": [rng.uniform(0.8, 1.2, len(w)) for w in words],
      "slant": rng.uniform(-0.1, 0.45),
      "tilt": rng.uniform(-0.08, 0.08),
      "gap": rng.uniform(0.5, 1.4),
      "flourish": rng.choice(["underline", "paraph", "tail", "loop_under"]),
      "connect": bool(rng.random() < 0.4),  # words joined by one stroke
      "width": rng.uniform(0.022, 0.036),  # stroke width / canvas
      "ink": rng.uniform(10, 70),
  }


def _word_points(word, widths, heights, x0, rng, jitter):
  """Control polygon of one cursive word starting at x0; (points, dots)."""
  pts, dots = [(x0 - 0.15, 0.15)], []
  x = x0
  for letter, w, h in zip(word, widths, heights):
    shape = UPPER.get(letter) or LOWER[letter]
    w = w * rng.normal(1.0, 0.06 * jitter)
    h = h * rng.normal(1.0, 0.07 * jitter)
    for dx, y in shape:
      pts.append((x + dx * w + rng.normal(0, 0.045 * jitter),
                  y * h + rng.normal(0, 0.05 * jitter)))
    if letter in DOTTED:
      dots.append((x + 0.45 * w + rng.normal(0, 0.1), 1.6 + rng.normal(0, .1)))
    x = x + (max(dx for dx, _ in shape) + 0.05) * w
  return np.array(pts), dots, x


def _flourish(kind, x_start, x_end, rng, jitter) -> np.ndarray:
  j = lambda s: rng.normal(0, s * jitter)  # noqa: E731
  if kind == "underline":
    pts = [(x_end, 0.2), (x_end + 0.6 + j(.2), -0.6 + j(.1)),
           (x_end - 0.5, -0.9 + j(.1)), (0.5 * (x_start + x_end), -0.9 + j(.15)),
           (x_start - 0.4 + j(.2), -0.6 + j(.1))]
  elif kind == "paraph":
    pts = [(x_end, 0.2), (x_end + 0.3, -0.8)]
    x = x_end
    while x > x_start + 0.8:
      pts += [(x - 0.2 + j(.05), -0.3 + j(.08)), (x - 0.6 + j(.05), -1.1 + j(.08))]
      x -= 0.9
    pts += [(x_start - 0.2, -0.8 + j(.1))]
  elif kind == "tail":
    pts = [(x_end, 0.2), (x_end + 0.7 + j(.1), 0.6 + j(.1)),
           (x_end + 1.0 + j(.15), 1.8 + j(.2)), (x_end + 0.6 + j(.1), 2.2)]
  else:  # loop_under: a long loop under the name
    pts = [(x_end, 0.2), (x_end + 0.4, -0.7 + j(.1)), (x_end - 0.2, -1.2),
           (x_start + 0.3 + j(.2), -1.0 + j(.15)), (x_start, -0.5),
           (x_start + 0.8, -0.4 + j(.1)), (x_end + 0.9 + j(.2), -0.7 + j(.1))]
  return np.array(pts, np.float64)


def _strokes(tpl, rng, jitter):
  """The sample's pen strokes (list of (k, 2) paths) in letter units."""
  strokes, dots, x = [], [], 0.0
  word_ctrl = []
  for wi, word in enumerate(tpl["words"]):
    pts, d, x_next = _word_points(word, tpl["widths"][wi], tpl["heights"][wi],
                                  x, rng, jitter)
    word_ctrl.append(pts)
    dots += d
    x = x_next + tpl["gap"] * rng.normal(1.0, 0.1 * jitter)
  if tpl["connect"] and len(word_ctrl) > 1:
    word_ctrl = [np.concatenate(word_ctrl)]
  x_end = float(max(w[:, 0].max() for w in word_ctrl))
  flour = _flourish(tpl["flourish"], 0.0, x_end, rng, jitter)
  if tpl["flourish"] == "tail":
    word_ctrl[-1] = np.concatenate([word_ctrl[-1], flour[1:]])
  else:
    strokes.append(bspline(flour, 14))
  strokes = [bspline(w, 10) for w in word_ctrl] + strokes
  for dx, dy in dots:
    a = rng.uniform(-0.4, 0.4)
    strokes.append(np.array([[dx, dy], [dx + 0.12 * np.cos(a),
                                        dy + 0.12 * np.sin(a)]]))
  return strokes


def render(tpl: dict, rng, size: int, jitter: float = 1.0) -> Image.Image:
  """One handwritten sample of template ``tpl`` as a grayscale PIL image."""
  strokes = _strokes(tpl, rng, jitter)
  allp = np.concatenate(strokes)
  # Slant (shear), baseline tilt and a smooth warp, in letter units.
  slant = tpl["slant"] + rng.normal(0, 0.08 * jitter)
  tilt = tpl["tilt"] + rng.normal(0, 0.04 * jitter)
  fx, fy = rng.uniform(0.2, 0.6, 2)
  px, py = rng.uniform(0, 2 * np.pi, 2)
  ax, ay = rng.normal(0, 0.12 * jitter, 2)

  def transform(p):
    x, y = p[:, 0], p[:, 1]
    x2 = x + slant * y + ax * np.sin(fy * y * 3 + px)
    y2 = y + tilt * x + ay * np.sin(fx * x + py)
    return np.stack([x2, y2], 1)

  strokes = [transform(s) for s in strokes]
  allp = np.concatenate(strokes)
  lo, hi = allp.min(0), allp.max(0)
  span = np.maximum(hi - lo, 1e-6)
  canvas = size * UPSCALE
  # Fill the square like a scan resized to a square (the original resizes
  # without keeping aspect), but stretch height by at most 2x.
  sx = 0.86 * canvas / span[0] * rng.uniform(0.9, 1.05)
  sy = min(0.8 * canvas / span[1], 2.0 * sx) * rng.uniform(0.9, 1.05)
  off = (canvas - np.array([span[0] * sx, span[1] * sy])) / 2
  off += rng.normal(0, 0.03 * canvas * jitter, 2)

  paper = rng.uniform(225, 250)
  img = Image.new("L", (canvas, canvas), int(paper))
  draw = ImageDraw.Draw(img)
  width = max(1, int(round(tpl["width"] * canvas * rng.normal(1.0, 0.12 *
                                                              jitter))))
  ink = int(np.clip(tpl["ink"] + rng.normal(0, 15), 0, 120))
  for s in strokes:
    xy = np.stack([off[0] + (s[:, 0] - lo[0]) * sx,
                   canvas - off[1] - (s[:, 1] - lo[1]) * sy], 1)
    draw.line([tuple(p) for p in xy], fill=ink, width=width)
    r = width / 2  # round pen tips
    for p in (xy[0], xy[-1]):
      draw.ellipse([p[0] - r, p[1] - r, p[0] + r, p[1] + r], fill=ink)
  a = np.asarray(img, np.float32)
  a = a + rng.normal(0, 6, a.shape).astype(np.float32)  # paper/scan grain
  return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def class_names(num_classes: int, seed: int) -> list:
  """The pseudo-names of the classes (made unique with a numeric suffix)."""
  names, seen = [], set()
  for c in range(num_classes):
    name = make_template(seed, c)["name"]
    while name in seen:
      name += "'"
    seen.add(name)
    names.append(name)
  return names


def generate(num_classes: int, per_class: int, image_size: int, seed: int,
             ink: str = "binary"):
  """(images float32 (N,S,S,1) in {0,1} (or ink coverage in [0, 1], see
  sigjax.preprocess), labels int32 (N,), class names).

  Images are class-major: class c's samples are rows c*per_class ...
  """
  if num_classes < 1 or per_class < 1:
    raise ValueError(f"synthetic data needs num_classes >= 1 and "
                     f"synthetic_per_class >= 1, got {num_classes}, "
                     f"{per_class}")
  images = np.zeros((num_classes * per_class, image_size, image_size, 1),
                    np.float32)
  for c in range(num_classes):
    tpl = make_template(seed, c)
    for i in range(per_class):
      rng = np.random.default_rng([seed, c, i, 11])
      img = render(tpl, rng, image_size)
      images[c * per_class + i] = preprocess.preprocess_image(
          img, image_size, ink)
  labels = np.repeat(np.arange(num_classes, dtype=np.int32), per_class)
  return images, labels, class_names(num_classes, seed)
