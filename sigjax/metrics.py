"""Classification and generative-model metrics (numpy, no sklearn).

Classification: ``accuracy``, ``confusion_matrix``, ``classification_report``
(per-class precision/recall/F1/support plus macro and weighted averages, as
sklearn's ``classification_report`` that the original printed).

Generative: ``fid`` (Frechet distance between Gaussians fitted to two
feature sets, Heusel et al. 2017) and ``kid`` (Kernel Inception Distance,
Binkowski et al. 2018: the unbiased MMD^2 with the cubic polynomial kernel,
averaged over random subsets, with its standard deviation and standard
error), and ``precision_recall`` (improved precision and recall,
Kynkaanniemi et al. 2019: k-nearest-neighbour manifolds, distances computed
in row batches). All take feature matrices, so any network's features can
be used.

Stroke structure, with no learned network: ``stroke_stats`` (per image: the
number of 8-connected ink components, the share of its ink in components of
at most a few pixels, its ink in pixels) and ``wasserstein_1d``, to compare
the distributions of those numbers between two image sets.
"""

from __future__ import annotations

import numpy as np


def accuracy(y_true, y_pred) -> float:
  y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
  if y_true.shape != y_pred.shape:
    raise ValueError(f"accuracy: shapes differ {y_true.shape} vs {y_pred.shape}")
  if y_true.size == 0:
    raise ValueError("accuracy: no samples")
  return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
  """(num_classes, num_classes) counts; row = true class, column = predicted."""
  y_true = np.asarray(y_true, np.int64).reshape(-1)
  y_pred = np.asarray(y_pred, np.int64).reshape(-1)
  for name, y in (("y_true", y_true), ("y_pred", y_pred)):
    if y.size and (y.min() < 0 or y.max() >= num_classes):
      raise ValueError(f"confusion_matrix: {name} outside [0, {num_classes})")
  m = np.zeros((num_classes, num_classes), np.int64)
  np.add.at(m, (y_true, y_pred), 1)
  return m


def precision_recall_f1(cm: np.ndarray):
  """Per-class precision, recall, F1 and support from a confusion matrix.

  A class never predicted has precision 0 (sklearn's zero_division=0).
  """
  cm = np.asarray(cm, np.float64)
  tp = np.diag(cm)
  predicted = cm.sum(axis=0)
  support = cm.sum(axis=1)
  precision = np.divide(tp, predicted, out=np.zeros_like(tp),
                        where=predicted > 0)
  recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
  denom = precision + recall
  f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp),
                 where=denom > 0)
  return precision, recall, f1, support.astype(np.int64)


def classification_report(y_true, y_pred, class_names) -> dict:
  """sklearn-style report as a dict: per class and macro/weighted averages."""
  k = len(class_names)
  cm = confusion_matrix(y_true, y_pred, k)
  p, r, f, s = precision_recall_f1(cm)
  report = {name: {"precision": float(p[i]), "recall": float(r[i]),
                   "f1": float(f[i]), "support": int(s[i])}
            for i, name in enumerate(class_names)}
  total = max(int(s.sum()), 1)
  report["macro avg"] = {"precision": float(p.mean()),
                         "recall": float(r.mean()), "f1": float(f.mean()),
                         "support": int(s.sum())}
  report["weighted avg"] = {"precision": float((p * s).sum() / total),
                            "recall": float((r * s).sum() / total),
                            "f1": float((f * s).sum() / total),
                            "support": int(s.sum())}
  report["accuracy"] = float(np.trace(cm) / total)
  return report


def _check_features(a, b, name):
  a = np.asarray(a, np.float64)
  b = np.asarray(b, np.float64)
  if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
    raise ValueError(f"{name}: expects two (N, D) feature matrices with the "
                     f"same D, got {a.shape} and {b.shape}")
  if len(a) < 2 or len(b) < 2:
    raise ValueError(f"{name}: needs at least 2 samples per set, got "
                     f"{len(a)} and {len(b)}")
  return a, b


def _sqrtm_psd(m):
  w, v = np.linalg.eigh((m + m.T) / 2)
  return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
  """||mu1-mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2).

  Tr((S1 S2)^1/2) = Tr((S1^1/2 S2 S1^1/2)^1/2), a symmetric PSD matrix, so
  only symmetric eigendecompositions are needed (no complex sqrtm).
  """
  s1 = _sqrtm_psd(sigma1)
  inner = s1 @ sigma2 @ s1
  w = np.linalg.eigvalsh((inner + inner.T) / 2)
  tr_covmean = np.sqrt(np.clip(w, 0, None)).sum()
  diff = mu1 - mu2
  d = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean
  return float(max(d, 0.0))


def fid(feats1, feats2) -> float:
  """FID between two feature sets (rows = samples)."""
  a, b = _check_features(feats1, feats2, "fid")
  return frechet_distance(a.mean(0), np.cov(a, rowvar=False),
                          b.mean(0), np.cov(b, rowvar=False))


def mmd2_unbiased(x, y) -> float:
  """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3 (KID's kernel)."""
  d = x.shape[1]
  kxx = (x @ x.T / d + 1) ** 3
  kyy = (y @ y.T / d + 1) ** 3
  kxy = (x @ y.T / d + 1) ** 3
  m, n = len(x), len(y)
  sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
  syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
  return float(sxx + syy - 2 * kxy.mean())


def kid(feats1, feats2, num_subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> dict:
  """KID: mean unbiased MMD^2 over random subsets (without replacement
  within a subset), with std and standard error (std / sqrt(num_subsets)).

  ``subset_size`` is capped at the smaller set's size.
  """
  a, b = _check_features(feats1, feats2, "kid")
  m = int(min(subset_size, len(a), len(b)))
  rng = np.random.default_rng(seed)
  vals = np.array([
      mmd2_unbiased(a[rng.choice(len(a), m, replace=False)],
                    b[rng.choice(len(b), m, replace=False)])
      for _ in range(num_subsets)])
  std = float(vals.std(ddof=1)) if num_subsets > 1 else 0.0
  return {"kid": float(vals.mean()), "kid_std": std,
          "kid_stderr": std / np.sqrt(num_subsets), "subset_size": m,
          "num_subsets": int(num_subsets)}


# ------------------------------------------ improved precision and recall --


def _sq_norms(x):
  return np.einsum("ij,ij->i", x, x)


def pairwise_sq_distances(a, b, batch_size: int = 1024):
  """Yields (start, (rows, len(b)) squared Euclidean distances) for row
  batches of ``a`` against all of ``b`` (float64, clipped at 0)."""
  a = np.asarray(a, np.float64)
  b = np.asarray(b, np.float64)
  nb = _sq_norms(b)
  for i in range(0, len(a), batch_size):
    chunk = a[i:i + batch_size]
    d = _sq_norms(chunk)[:, None] + nb[None, :] - 2.0 * (chunk @ b.T)
    yield i, np.maximum(d, 0.0)


def knn_radii(feats, k: int = 3, batch_size: int = 1024) -> np.ndarray:
  """Squared distance from each row to its k-th nearest other row."""
  x = np.asarray(feats, np.float64)
  if not 1 <= k < len(x):
    raise ValueError(f"knn_radii: k={k} needs 1 <= k < {len(x)} samples")
  out = np.empty(len(x))
  for i, d in pairwise_sq_distances(x, x, batch_size):
    rows = np.arange(len(d))
    d[rows, i + rows] = np.inf  # a point is not its own neighbour
    out[i:i + len(d)] = np.partition(d, k - 1, axis=1)[:, k - 1]
  return out


def _coverage(queries, refs, ref_radii, batch_size):
  """Fraction of ``queries`` inside at least one ball (ref, ref_radius)."""
  inside = np.zeros(len(queries), bool)
  for i, d in pairwise_sq_distances(queries, refs, batch_size):
    inside[i:i + len(d)] = (d <= ref_radii[None, :]).any(axis=1)
  return float(inside.mean())


def precision_recall(real_feats, gen_feats, k: int = 3,
                     batch_size: int = 1024) -> dict:
  """Improved precision and recall (Kynkaanniemi et al. 2019).

  Each set's manifold is the union of balls around its samples, each ball's
  radius the distance to that sample's k-th nearest neighbour in its own set.
  Precision: the share of generated samples inside the real manifold
  (fidelity); recall: the share of real samples inside the generated
  manifold (diversity: a collapsed generator has small balls around few
  points, so recall drops). Distances are computed in row batches of
  ``batch_size``; both estimates depend on the sample sizes, so compare them
  only at equal sizes.
  """
  r, g = _check_features(real_feats, gen_feats, "precision_recall")
  k = int(k)
  if not 1 <= k < min(len(r), len(g)):
    raise ValueError(f"precision_recall: k={k} needs 1 <= k < "
                     f"{min(len(r), len(g))} (the smaller set's size)")
  r_radii = knn_radii(r, k, batch_size)
  g_radii = knn_radii(g, k, batch_size)
  return {"precision": _coverage(g, r, r_radii, batch_size),
          "recall": _coverage(r, g, g_radii, batch_size),
          "k": k, "num_real": len(r), "num_generated": len(g)}


# ---------------------------------------------------------- strokes --

_EIGHT = np.ones((3, 3), bool)  # 8-connectivity: a diagonal step joins


def _image_stack(images, caller: str, dtype=None) -> np.ndarray:
  """(N, H, W) from (N, H, W) or (N, H, W, 1) images; ValueError naming
  ``caller`` and the shape otherwise."""
  x = np.asarray(images, dtype)
  if x.ndim == 4 and x.shape[-1] == 1:
    x = x[..., 0]
  if x.ndim != 3:
    raise ValueError(f"{caller}: images must be (N, H, W[, 1]), got shape "
                     f"{np.asarray(images).shape}")
  return x


def stroke_stats(images, speckle_px: int = 4, threshold: float = 0.5) -> dict:
  """Per-image stroke structure of binary (or thresholded) ink images.

  ``images``: (N, H, W) or (N, H, W, 1), ink = 1; a pixel is ink where it is
  >= ``threshold``. Returns numpy arrays of length N:

  * ``components``: 8-connected ink components. A signature written in
    continuous strokes has a few (each stroke or joined group of strokes is
    one); the same signature drawn as dashes and dots has many.
  * ``speckle``: the share of the image's ink in components of at most
    ``speckle_px`` pixels (isolated dots); 0 for an image without ink.
  * ``ink``: ink pixels.
  """
  from scipy import ndimage  # pylint: disable=import-outside-toplevel
  x = _image_stack(images, "stroke_stats")
  if speckle_px < 1:
    raise ValueError(f"stroke_stats: speckle_px={speckle_px} must be >= 1")
  ink_mask = x >= threshold
  n = len(ink_mask)
  comps, speckle, ink = (np.zeros(n, np.int64), np.zeros(n, np.float64),
                         np.zeros(n, np.int64))
  for i, im in enumerate(ink_mask):
    labels, count = ndimage.label(im, structure=_EIGHT)
    sizes = np.bincount(labels.ravel())[1:]
    comps[i], ink[i] = count, sizes.sum()
    speckle[i] = sizes[sizes <= speckle_px].sum() / max(1, ink[i])
  return {"components": comps, "speckle": speckle, "ink": ink}


def nearest_ink(queries, refs, threshold: float = 0.5,
                exclude_self: bool = False, chunk: int = 1024):
  """Each query's nearest reference image by ink overlap: (distance, index).

  Distance = 1 - Dice of the two ink masks, 1 - 2|A & B| / (|A| + |B|): 0
  for the same ink pixels, 1 for no ink in common (two blank images: 0).
  Network-free, so a generator cannot fool it with features; it is what a
  copy of a training signature looks like (distance near 0), which
  precision/recall against a real pool that holds the training images
  cannot tell from fidelity. ``exclude_self``: ``queries`` are ``refs`` in
  the same order and each skips itself (leave-one-out), the reference of
  how close two different real signatures come.
  """
  q = _image_stack(queries, "nearest_ink") >= threshold
  r = _image_stack(refs, "nearest_ink") >= threshold
  if q.shape[1:] != r.shape[1:]:
    raise ValueError(f"nearest_ink: query images {q.shape[1:]} and "
                     f"reference images {r.shape[1:]} differ in size")
  if exclude_self and len(q) != len(r):
    raise ValueError("nearest_ink: exclude_self needs the queries to be the "
                     "references")
  if len(r) < 1 + int(exclude_self):
    raise ValueError(f"nearest_ink: {len(r)} reference images are too few")
  q = q.reshape(len(q), -1).astype(np.float32)
  r = r.reshape(len(r), -1).astype(np.float32)
  qs, rs = q.sum(1), r.sum(1)
  dist, index = np.empty(len(q)), np.empty(len(q), np.int64)
  for i in range(0, len(q), chunk):
    # 0/1 products of <= 2^24 pixels are exact in float32.
    inter = q[i:i + chunk] @ r.T
    denom = qs[i:i + chunk, None] + rs[None]
    d = np.where(denom > 0, 1.0 - 2.0 * inter / np.maximum(denom, 1.0), 0.0)
    if exclude_self:
      rows = np.arange(len(d))
      d[rows, i + rows] = np.inf
    index[i:i + chunk] = d.argmin(1)
    dist[i:i + chunk] = d[np.arange(len(d)), index[i:i + chunk]]
  return dist, index


def edge_per_ink(images) -> np.ndarray:
  """Per image: total variation over ink, sum(|dx| + |dy|) / sum(x).

  For soft (grey-level) ink images in [0, 1], before any threshold. A stroke
  of width w with clean edges has about 2 / w of edge per unit of ink (plus
  its two ends); the same ink broken into dots, or speckled with dark spots
  on grey, has far more. Compared against real images of the same ink form
  (``config.data.ink='coverage'``), it measures the texture of a generator's
  raw output independently of the threshold and of any network. An image
  without ink gives NaN.
  """
  x = _image_stack(images, "edge_per_ink", np.float64)
  tv = (np.abs(np.diff(x, axis=1)).sum(axis=(1, 2))
        + np.abs(np.diff(x, axis=2)).sum(axis=(1, 2)))
  ink = x.sum(axis=(1, 2))
  return np.where(ink > 0, tv / np.where(ink > 0, ink, 1.0), np.nan)


def wasserstein_1d(a, b) -> float:
  """The 1-Wasserstein (earth mover's) distance between two 1-D samples: the
  area between their empirical CDFs, in the samples' own unit."""
  a = np.sort(np.asarray(a, np.float64).ravel())
  b = np.sort(np.asarray(b, np.float64).ravel())
  if not a.size or not b.size:
    raise ValueError("wasserstein_1d: an empty sample")
  grid = np.sort(np.concatenate([a, b]))
  cdf_a = np.searchsorted(a, grid[:-1], side="right") / a.size
  cdf_b = np.searchsorted(b, grid[:-1], side="right") / b.size
  return float(np.sum(np.abs(cdf_a - cdf_b) * np.diff(grid)))
