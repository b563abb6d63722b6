"""Classifiers and real-data fits kept across the runs of one process.

A sweep evaluates many runs in one process on the same real images: the
classifiers (one compilation per setting) and the fits of the classifiers
that learn from real images only (CAS, the independent network) do not
depend on the generator, so the runs share them. A fit is keyed by the
classifier's settings, a digest of its training and validation data, epochs
and seed: the same inputs give the same (deterministic) fit, so a kept fit
is the one that would be recomputed. ``run_suite`` uses the process's
``default_cache()`` unless handed another ``Cache``.
"""

from __future__ import annotations

import collections
import hashlib
from typing import Callable

from absl import logging
import numpy as np


def digest(*arrays) -> str:
  """A digest of the arrays' dtypes, shapes and bytes."""
  h = hashlib.sha1()
  for a in arrays:
    a = np.ascontiguousarray(a)
    h.update(str((a.dtype, a.shape)).encode())
    h.update(a.tobytes())
  return h.hexdigest()


class Cache:
  """Least recently used classifiers (``max_classifiers``) and real-data
  fits (``max_fits``)."""

  def __init__(self, max_classifiers: int = 16, max_fits: int = 4):
    self.max_classifiers, self.max_fits = max_classifiers, max_fits
    self.classifiers = collections.OrderedDict()
    self.fits = collections.OrderedDict()

  def clear(self) -> None:
    self.classifiers.clear()
    self.fits.clear()

  @staticmethod
  def _keep(store, key, value, limit):
    store[key] = value
    while len(store) > limit:
      store.popitem(last=False)

  def classifier(self, key: tuple, build: Callable):
    """The classifier ``build()`` makes, one per ``key`` (its settings)."""
    if key in self.classifiers:
      self.classifiers.move_to_end(key)
    else:
      self._keep(self.classifiers, key, build(), self.max_classifiers)
    return self.classifiers[key]

  def fit_real(self, settings: tuple, classifier, images, labels, *, epochs,
               seed, val, **kwargs):
    """``classifier.fit`` on real data, reused when the same fit was done
    before with this cache; returns (fit, reused)."""
    key = (settings, digest(images, labels, *val), int(epochs), int(seed))
    if key in self.fits:
      self.fits.move_to_end(key)
      logging.info("%s: reusing this process's fit on the same real images.",
                   kwargs.get("log_prefix", "classifier"))
      return self.fits[key], True
    fit = classifier.fit(images, labels, epochs=epochs, seed=seed, val=val,
                         **kwargs)
    self._keep(self.fits, key, fit, self.max_fits)
    return fit, False


_DEFAULT = Cache()


def default_cache() -> Cache:
  """The process's cache, shared by every ``run_suite`` not handed one."""
  return _DEFAULT
