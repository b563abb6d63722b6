"""Pieces several experiments use: checks, scores and the suite's CNN."""

from __future__ import annotations

from sigjax import classify
from sigjax import metrics
from sigjax.evaluation.base import EvaluationError
from sigjax.models import classifier as clf_models


def need(n, what, setting) -> None:
  """An error naming ``setting`` when there are no images (``n`` < 1)."""
  if n < 1:
    raise EvaluationError(f"{what}: no images ({setting})")


def report_block(y_true, y_pred, names) -> dict:
  """Accuracy, confusion matrix and per-class report of one prediction."""
  return {"accuracy": metrics.accuracy(y_true, y_pred),
          "confusion": metrics.confusion_matrix(y_true, y_pred,
                                                len(names)).tolist(),
          "report": metrics.classification_report(y_true, y_pred, names)}


def validation(real) -> tuple:
  """(images, labels) a classifier of real images validates on: the real
  validation split, or the test split when there is none."""
  val = real.get("validation")
  te = real["test"]
  return (val.images, val.labels) if val is not None and len(val.labels) else (
      te.images, te.labels)


def cnn_classifier(ctx, num_classes, task="multiclass", batch=None, lr=None):
  """The original's best classifier (``SignatureCNN``; for ``multilabel``
  its sigmoid variant), one per setting in ``ctx.cache``."""
  e = ctx.e
  batch = int(batch or e.classifier_batch_size)
  lr = float(lr or e.classifier_lr)

  def build():
    model = (clf_models.SignatureCNN(num_outputs=num_classes)
             if task == "multiclass"
             else clf_models.multilabel_cnn(num_classes))
    return classify.Classifier(model, task, num_classes, lr=lr,
                               batch_size=batch)
  return ctx.cache.classifier(("cnn", num_classes, task, batch, lr), build)
