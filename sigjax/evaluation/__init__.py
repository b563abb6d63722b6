"""The evaluation suite as a registry of experiments.

* ``registry.py``: the experiments, in the order they run and report, and
  the parsing of ``config.eval.experiments``.
* One module per experiment (``cas``, ``tstr``, ``realfake``,
  ``multilabel``, ``fid``, ``prd``, ``indep``, ``strokes``, ``copies``),
  each ending in ``EXPERIMENT = base.Experiment(...)``: what it needs, how
  it runs, how it reports (``base.py`` says what each part is).
* ``context.py``: what the experiments share (config, real data, the
  sampler of generated images, the cache of fits, what earlier experiments
  left); ``cache.py``: classifiers and real-data fits kept in a process.
* ``suite.py``: ``run_suite``; ``report.py``: report.json / report.md
  around the experiments' parts.

``sigjax.evaluate`` is the job (``run``), the real-data inputs and the
public names; a new experiment is one module here plus its line in
``registry.py`` (and its settings in configs/evaluate.py).
"""
