"""Distances between the real and generated images' distributions in a
classifier's feature space, each beside its real-vs-real floor at the same
sample sizes: FID/KID (``fid``) and improved precision/recall (``prd``) in
the CAS classifier's space, and both in the independent network's
(``indep``)."""

from __future__ import annotations

import numpy as np

from sigjax import metrics
from sigjax.evaluation import base
from sigjax.evaluation.base import EvaluationError

SUITE_FEATURES = ("penultimate layer (Dense 512 + LeakyReLU) of the CAS "
                  "classifier trained on the real train split")


def fid_halves(labels, num_classes, n_generated, seed):
  """(real half a, real half b, generated subset of len(b)): indices.

  Class-stratified halves of the real data and a random generated subset as
  large as half b, so (a, b) is the real-vs-real floor and (a, generated
  subset) the comparison at the same sample sizes."""
  rng = np.random.default_rng(seed + base.SEEDS["fid_split"])
  half_a, half_b = [], []
  for k in range(num_classes):
    idx = rng.permutation(np.flatnonzero(labels == k))
    half_a.append(idx[:len(idx) // 2])
    half_b.append(idx[len(idx) // 2:])
  a, b = np.concatenate(half_a), np.concatenate(half_b)
  if min(len(a), len(b)) < 2:
    raise EvaluationError(f"FID: {len(labels)} real images are too few "
                          "for two halves of >= 2")
  return a, b, rng.permutation(n_generated)[:len(b)]


def distribution_metrics(real_feats, gen_feats, labels, num_classes, e, seed,
                         parts=("fid", "prd")) -> dict:
  """FID/KID and/or precision/recall of one feature space, each beside its
  real-vs-real floor at equal sample sizes (``fid_halves``)."""
  a, b, g = fid_halves(labels, num_classes, len(gen_feats), seed)
  out = {"sizes": {"real": len(real_feats), "generated": len(gen_feats),
                   "real_half_a": len(a), "real_half_b": len(b),
                   "generated_half": len(g)}}
  if "fid" in parts:
    kw = dict(num_subsets=e.kid_subsets, subset_size=e.kid_subset_size,
              seed=seed)
    out.update(
        fid=metrics.fid(real_feats, gen_feats),
        fid_real_vs_real=metrics.fid(real_feats[a], real_feats[b]),
        fid_half=metrics.fid(real_feats[a], gen_feats[g]),
        kid=metrics.kid(real_feats, gen_feats, **kw),
        kid_real_vs_real=metrics.kid(real_feats[a], real_feats[b], **kw),
        kid_half=metrics.kid(real_feats[a], gen_feats[g], **kw))
  if "prd" in parts:
    k = int(e.prd_k)
    if not 1 <= k < min(len(a), len(b)):
      raise EvaluationError(
          f"precision/recall: config.eval.prd_k={k} needs 1 <= k < "
          f"{min(len(a), len(b))} (half the real images)")
    out.update(prd=metrics.precision_recall(real_feats[a], gen_feats[g], k),
               prd_real_vs_real=metrics.precision_recall(
                   real_feats[a], real_feats[b], k))
  return out


def suite_features(ctx, parts) -> dict:
  """``distribution_metrics`` (``parts``) in the CAS classifier's feature
  space (``ctx.artifacts['cas']``)."""
  cas = ctx.artifact("cas")
  pool = ctx.real["all"]
  _, real_feats = cas["classifier"].predict(cas["state"], pool.images)
  out = distribution_metrics(real_feats, cas["gen_feats"], pool.labels,
                             ctx.num_classes, ctx.e, ctx.seed, parts)
  out["feature_space"] = SUITE_FEATURES
  return out


def fid_keys(prefix: str, f: dict) -> dict:
  """The top-level report keys of one feature space's FID/KID."""
  return {f"{prefix}fid": f["fid"],
          f"{prefix}fid_real_vs_real": f["fid_real_vs_real"],
          f"{prefix}fid_half": f["fid_half"], f"{prefix}kid": f["kid"]["kid"],
          f"{prefix}kid_std": f["kid"]["kid_std"],
          f"{prefix}kid_stderr": f["kid"]["kid_stderr"],
          f"{prefix}kid_half": f["kid_half"]["kid"],
          f"{prefix}kid_real_vs_real": f["kid_real_vs_real"]["kid"]}


def prd_keys(prefix: str, f: dict) -> dict:
  """The top-level report keys of one feature space's precision/recall."""
  return {f"{prefix}precision": f["prd"]["precision"],
          f"{prefix}recall": f["prd"]["recall"],
          f"{prefix}precision_real_vs_real": f["prd_real_vs_real"]["precision"],
          f"{prefix}recall_real_vs_real": f["prd_real_vs_real"]["recall"]}


def distribution_table(f: dict, label: str) -> list:
  """FID/KID and precision/recall of one feature space, beside the floor."""
  lines = ["| "+ label + " | FID | KID ± s.e. | precision | recall |",
           "|---|---|---|---|---|"]
  has_prd = "prd" in f
  has_fid = "fid" in f

  def kid(key):
    return (f"{f[key]['kid']:.4g} ± {f[key]['kid_stderr']:.2g}"
            if has_fid else "-")

  def prd(key, which):
    return f"{f[key][which]:.3f}" if has_prd and key in f else "-"
  sz = f["sizes"]
  if has_fid:
    lines.append(f"| all real ({sz['real']}) vs all generated "
                 f"({sz['generated']}) | {f['fid']:.4g} | {kid('kid')} | - "
                 "| - |")
  lines.append(
      f"| real half ({sz['real_half_a']}) vs generated "
      f"({sz['generated_half']}) | "
      + (f"{f['fid_half']:.4g}" if has_fid else "-")
      + f" | {kid('kid_half')} | {prd('prd', 'precision')} | "
        f"{prd('prd', 'recall')} |")
  lines.append(
      f"| real half ({sz['real_half_a']}) vs real half ({sz['real_half_b']}):"
      " the floor | "
      + (f"{f['fid_real_vs_real']:.4g}" if has_fid else "-")
      + f" | {kid('kid_real_vs_real')} | "
        f"{prd('prd_real_vs_real', 'precision')} | "
        f"{prd('prd_real_vs_real', 'recall')} |")
  return lines


def suite_section(report: dict) -> list:
  """One section for ``fid`` and ``prd`` (either or both)."""
  ex = report["experiments"]
  f = dict(ex.get("fid", {}))
  f.update(ex.get("prd", {}))
  md = ["## FID, KID, precision and recall (the suite's classifier)", "",
        f"Feature space: {f['feature_space']}. FID grows as samples "
        "shrink, and precision/recall (Kynkäänniemi et al. 2019, k-NN "
        "manifolds) depend on the sample sizes too, so read each "
        "'real half vs generated' number against the real-vs-real floor "
        "below it (same sizes). Precision: the share of generated images "
        "inside the real data's manifold (fidelity); recall: the share of "
        "real images inside the generated manifold (diversity).", ""]
  return md + distribution_table(f, "suite's classifier") + [""]
