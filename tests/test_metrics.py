"""Classification and generative metrics against hand-computed values."""

import numpy as np
import pytest

from sigjax import metrics


def test_confusion_and_report_by_hand():
  y_true = [0, 0, 0, 1, 1, 2]
  y_pred = [0, 0, 1, 1, 2, 2]
  cm = metrics.confusion_matrix(y_true, y_pred, 3)
  np.testing.assert_array_equal(cm, [[2, 1, 0], [0, 1, 1], [0, 0, 1]])
  rep = metrics.classification_report(y_true, y_pred, ["a", "b", "c"])
  assert rep["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3,
                                    "f1": 0.8, "support": 3})
  assert rep["b"]["precision"] == pytest.approx(0.5)
  assert rep["b"]["recall"] == pytest.approx(0.5)
  assert rep["c"]["precision"] == pytest.approx(0.5)
  assert rep["c"]["f1"] == pytest.approx(2 / 3)
  assert rep["accuracy"] == pytest.approx(4 / 6)
  assert metrics.accuracy(y_true, y_pred) == pytest.approx(4 / 6)
  assert rep["macro avg"]["recall"] == pytest.approx((2 / 3 + 0.5 + 1) / 3)
  assert rep["weighted avg"]["recall"] == pytest.approx(4 / 6)


def test_never_predicted_class_has_zero_precision():
  rep = metrics.classification_report([0, 1], [0, 0], ["a", "b"])
  assert rep["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                      "support": 1}


def test_bad_labels_raise():
  with pytest.raises(ValueError, match="y_pred outside"):
    metrics.confusion_matrix([0, 1], [0, 5], 2)
  with pytest.raises(ValueError, match="shapes differ"):
    metrics.accuracy([0, 1], [0])


def test_fid_identical_sets_is_zero_and_shift_is_squared_norm():
  rng = np.random.default_rng(0)
  a = rng.normal(size=(500, 16))
  assert metrics.fid(a, a) == pytest.approx(0.0, abs=1e-6)
  shift = np.full(16, 0.5)
  assert metrics.fid(a, a + shift) == pytest.approx(16 * 0.25, rel=1e-6)


def test_frechet_distance_closed_form_diagonal():
  """Diagonal Gaussians: |mu1-mu2|^2 + sum (sqrt(s1) - sqrt(s2))^2."""
  rng = np.random.default_rng(1)
  mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
  s1, s2 = rng.uniform(0.1, 2, 8), rng.uniform(0.1, 2, 8)
  want = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(s1) - np.sqrt(s2)) ** 2).sum()
  got = metrics.frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2))
  assert got == pytest.approx(want, rel=1e-9)
  # A rotation of both covariances leaves the distance unchanged.
  q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
  got_rot = metrics.frechet_distance(q @ mu1, q @ np.diag(s1) @ q.T,
                                     q @ mu2, q @ np.diag(s2) @ q.T)
  assert got_rot == pytest.approx(want, rel=1e-6)


def test_fid_grows_with_distribution_gap():
  rng = np.random.default_rng(2)
  real = rng.normal(size=(400, 8))
  same = rng.normal(size=(400, 8))
  far = rng.normal(2.0, 3.0, size=(400, 8))
  assert metrics.fid(real, same) < 0.5 < 10 < metrics.fid(real, far)


def test_mmd2_unbiased_matches_brute_force():
  rng = np.random.default_rng(3)
  x, y = rng.normal(size=(7, 3)), rng.normal(1, 1, size=(5, 3))

  def k(a, b):
    return (a @ b / 3 + 1) ** 3
  xx = sum(k(x[i], x[j]) for i in range(7) for j in range(7) if i != j) / 42
  yy = sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / 20
  xy = sum(k(a, b) for a in x for b in y) / 35
  assert metrics.mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy)


def test_mmd2_is_unbiased_over_independent_draws():
  """Over independent sample pairs of one distribution the estimate averages
  to 0 (within 3 standard errors); the biased V-statistic would not."""
  rng = np.random.default_rng(4)
  vals, biased = [], []
  for _ in range(300):
    x, y = rng.normal(size=(10, 4)), rng.normal(size=(10, 4))
    vals.append(metrics.mmd2_unbiased(x, y))
    k = lambda a, b: (a @ b.T / 4 + 1) ** 3  # pylint: disable=cell-var-from-loop
    biased.append(k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean())
  vals, biased = np.array(vals), np.array(biased)
  se = vals.std(ddof=1) / np.sqrt(len(vals))
  assert abs(vals.mean()) < 3 * se
  assert biased.mean() > 10 * se


def test_kid_summary_and_ordering():
  rng = np.random.default_rng(5)
  a, b = rng.normal(size=(300, 8)), rng.normal(size=(300, 8))
  same = metrics.kid(a, b, num_subsets=50, subset_size=100)
  assert same["kid_stderr"] == pytest.approx(same["kid_std"] / np.sqrt(50))
  diff = metrics.kid(a, rng.normal(0.7, 1, size=(300, 8)), num_subsets=50,
                     subset_size=100)
  assert diff["kid"] > 10 * diff["kid_stderr"] > 0
  assert diff["kid"] > 5 * abs(same["kid"])
  assert metrics.kid(a, b, num_subsets=5, subset_size=10_000)[
      "subset_size"] == 300


def test_feature_shape_errors():
  with pytest.raises(ValueError, match="same D"):
    metrics.fid(np.zeros((4, 3)), np.zeros((4, 2)))
  with pytest.raises(ValueError, match="at least 2"):
    metrics.kid(np.zeros((1, 3)), np.zeros((4, 3)))


def test_knn_radii_by_brute_force():
  rng = np.random.default_rng(6)
  x = rng.normal(size=(40, 5))
  d = ((x[:, None] - x[None]) ** 2).sum(-1)
  np.fill_diagonal(d, np.inf)
  want = np.sort(d, axis=1)[:, 2]
  np.testing.assert_allclose(metrics.knn_radii(x, k=3, batch_size=7), want,
                             rtol=1e-9, atol=1e-12)


def test_precision_recall_matches_brute_force_and_batching():
  rng = np.random.default_rng(7)
  r, g = rng.normal(size=(60, 4)), rng.normal(0.8, 1.3, size=(45, 4))

  def brute(ref, q, k):
    dr = ((ref[:, None] - ref[None]) ** 2).sum(-1)
    np.fill_diagonal(dr, np.inf)
    rad = np.sort(dr, axis=1)[:, k - 1]
    dq = ((q[:, None] - ref[None]) ** 2).sum(-1)
    return float((dq <= rad[None]).any(1).mean())
  got = metrics.precision_recall(r, g, k=3, batch_size=16)
  assert got["precision"] == pytest.approx(brute(r, g, 3))
  assert got["recall"] == pytest.approx(brute(g, r, 3))
  assert metrics.precision_recall(r, g, k=3, batch_size=1000) == got


def test_precision_recall_real_vs_real_is_near_one():
  rng = np.random.default_rng(8)
  a, b = rng.normal(size=(500, 2)), rng.normal(size=(500, 2))
  pr = metrics.precision_recall(a, b, k=3)
  assert pr["precision"] > 0.95 and pr["recall"] > 0.95


def test_collapsed_generator_has_high_precision_low_recall():
  """A generator that repeats one real sample per class: every generated
  point sits on the real manifold (precision 1) but covers none of it."""
  rng = np.random.default_rng(9)
  centres = rng.normal(0, 5, size=(4, 3))
  labels = np.repeat(np.arange(4), 100)
  real = centres[labels] + rng.normal(size=(400, 3))
  one_per_class = real[[np.flatnonzero(labels == k)[0] for k in range(4)]]
  gen = np.repeat(one_per_class, 100, axis=0)
  pr = metrics.precision_recall(real, gen, k=3)
  assert pr["precision"] == 1.0
  assert pr["recall"] < 0.05
  # A generator that spreads over a smaller region: precision stays high,
  # recall drops; one that is shifted away: precision drops.
  narrow = centres[labels] + 0.3 * rng.normal(size=(400, 3))
  far = centres[labels] + rng.normal(size=(400, 3)) + 30.0
  pr_narrow = metrics.precision_recall(real, narrow, k=3)
  pr_far = metrics.precision_recall(real, far, k=3)
  assert pr_narrow["precision"] > 0.9 and pr_narrow["recall"] < 0.6
  assert pr_far["precision"] < 0.05 and pr_far["recall"] < 0.05


def test_precision_recall_errors():
  with pytest.raises(ValueError, match="k=5"):
    metrics.precision_recall(np.zeros((5, 2)), np.zeros((9, 2)), k=5)
  with pytest.raises(ValueError, match="same D"):
    metrics.precision_recall(np.zeros((5, 2)), np.zeros((9, 3)))


def test_stroke_stats_by_hand():
  img = np.zeros((3, 12, 12, 1), np.float32)
  img[0, 2, 1:10] = 1.0  # one straight stroke ...
  img[0, 3:8, 9] = 1.0  # ... turning a corner: one component
  img[0, 9, 2] = img[0, 10, 3] = 1.0  # a diagonal step joins (8-connected)
  img[1, 2, 1:10:2] = 1.0  # the stroke as dots: 5 one-pixel components
  img[1, 6, 1:7] = 0.6  # a stroke above the 0.5 threshold (6 px)
  st = metrics.stroke_stats(img, speckle_px=4)
  np.testing.assert_array_equal(st["components"], [2, 6, 0])
  np.testing.assert_array_equal(st["ink"], [16, 11, 0])
  np.testing.assert_allclose(st["speckle"], [2 / 16, 5 / 11, 0.0])
  assert metrics.stroke_stats(img[..., 0], speckle_px=1)["speckle"][0] == 0
  with pytest.raises(ValueError, match="speckle_px"):
    metrics.stroke_stats(img, speckle_px=0)
  with pytest.raises(ValueError, match="shape"):
    metrics.stroke_stats(np.zeros((4, 4)))


def test_nearest_ink_by_hand():
  refs = np.zeros((3, 8, 8, 1), np.float32)
  refs[0, 1, 1:7] = 1.0  # 6 px
  refs[1, 5, 1:5] = 1.0  # 4 px
  refs[2, 1, 1:4] = 1.0  # 3 px, half of refs[0]'s stroke
  q = np.stack([refs[1], refs[0] * 0.7, np.zeros_like(refs[0])])
  q[2, 6, 6] = 1.0  # one pixel that no reference has
  d, i = metrics.nearest_ink(q, refs)
  # A copy is at 0; 0.7 is ink (>= 0.5); no shared ink is 1.
  np.testing.assert_allclose(d, [0.0, 0.0, 1.0])
  assert list(i[:2]) == [1, 0]
  # Leave-one-out: refs[0] and refs[2] share 3 px: 1 - 2*3/(6+3) = 1/3.
  d, i = metrics.nearest_ink(refs[..., 0], refs, exclude_self=True, chunk=2)
  np.testing.assert_allclose(d, [1 / 3, 1.0, 1 / 3])
  assert i[0] == 2 and i[2] == 0
  # Two blank images are the same image.
  blank = metrics.nearest_ink(np.zeros((1, 8, 8)), np.zeros((2, 8, 8)))
  assert blank[0][0] == 0
  with pytest.raises(ValueError, match="differ in size"):
    metrics.nearest_ink(np.zeros((1, 4, 4)), refs)
  with pytest.raises(ValueError, match="exclude_self"):
    metrics.nearest_ink(refs[:2], refs, exclude_self=True)
  with pytest.raises(ValueError, match="too few"):
    metrics.nearest_ink(refs[:1], refs[:1], exclude_self=True)


def test_edge_per_ink_by_hand_and_speckle():
  img = np.zeros((3, 16, 16, 1), np.float32)
  img[0, 4:6, 2:12] = 1.0  # a clean 2-px stroke, 10 long: 20 ink
  # edges: 2 x 10 across the stroke (top, bottom) + 2 x 2 at its ends
  np.testing.assert_allclose(metrics.edge_per_ink(img)[0], 24 / 20)
  # The same ink as a checkerboard of dots inside the stroke's bounding box
  # (dark spots on grey, the generators' speckle): far more edge per ink.
  img[1, 3:7, 2:12] = 0.25
  img[1, 3:7, 2:12][::2, ::2] = 1.0
  img[1, 3:7, 2:12][1::2, 1::2] = 1.0
  e = metrics.edge_per_ink(img)
  assert e[1] > 2 * e[0]
  assert np.isnan(e[2])  # no ink
  with pytest.raises(ValueError, match="shape"):
    metrics.edge_per_ink(np.zeros((4, 4)))


def test_wasserstein_1d():
  assert metrics.wasserstein_1d([0, 1], [0, 1]) == 0.0
  assert metrics.wasserstein_1d([0, 1], [1, 2]) == pytest.approx(1.0)
  # Unequal sizes: {0} vs {0, 4}: half the mass moves 4.
  assert metrics.wasserstein_1d([0], [0, 4]) == pytest.approx(2.0)
  with pytest.raises(ValueError, match="empty"):
    metrics.wasserstein_1d([], [1])
