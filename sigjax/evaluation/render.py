"""Figures and markdown pieces the experiments' report sections share."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np


def confusion_figure(cm, names, path, title):
  cm = np.asarray(cm)
  n = len(names)
  fig, ax = plt.subplots(figsize=(max(4.0, 1.6 + 0.55 * n),
                                  max(3.4, 1.4 + 0.5 * n)), dpi=100)
  ax.imshow(cm, cmap="Blues")
  thresh = cm.max() / 2 if cm.size else 0
  for i in range(n):
    for j in range(n):
      ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
              color="white" if cm[i, j] > thresh else "black")
  ax.set_xticks(range(n), names, rotation=45, ha="right", fontsize=8)
  ax.set_yticks(range(n), names, fontsize=8)
  ax.set_xlabel("predicted")
  ax.set_ylabel("true")
  ax.set_title(title, fontsize=9)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


def history_figure(history, path, title):
  """Train vs validation accuracy and loss per epoch."""
  fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), dpi=100)
  epochs = np.arange(1, len(history.get("loss", [])) + 1)
  for ax, key in zip(axes, ("accuracy", "loss")):
    if key in history:
      ax.plot(epochs, history[key], "r-", label=f"train {key}")
    if f"val_{key}" in history:
      ax.plot(epochs, history[f"val_{key}"], "b-", label=f"validation {key}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(key)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
  fig.suptitle(title, fontsize=10)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


def fmt(v, pct=False):
  if v is None:
    return "-"
  if isinstance(v, float):
    return f"{100 * v:.2f}%" if pct else f"{v:.4g}"
  return str(v)


def report_table(rep: dict, names) -> list[str]:
  lines = ["| class | precision | recall | F1 | support |",
           "|---|---|---|---|---|"]
  for n in list(names) + ["macro avg", "weighted avg"]:
    r = rep[n]
    lines.append(f"| {n} | {r['precision']:.3f} | {r['recall']:.3f} | "
                 f"{r['f1']:.3f} | {r['support']} |")
  lines.append(f"| accuracy | | | {rep['accuracy']:.3f} | "
               f"{rep['macro avg']['support']} |")
  return lines


def sizes(d: dict) -> str:
  return ", ".join(f"{k} {v}" for k, v in d.items()
                   if not isinstance(v, (dict, float, bool)))


def yes(v) -> str:
  return "-" if v is None else ("yes" if v else "**no**")


def original_row(report: dict, key: str, original, note: str,
                 pct: bool = True, extra: str = "") -> str:
  """A summary row beside the original project's number (``original``)."""
  return (f"| `{key}` | {fmt(report[key], pct)}{extra} | "
          f"{fmt(original, True)} | {note} |")


def floor_row(name, value, floor, note, digits=4):
  return (f"| `{name}` | {value:.{digits}g} | - | {note}; real-vs-real floor "
          f"{floor:.{digits}g} |")


def json_default(o):
  if isinstance(o, np.generic):
    return o.item()
  if isinstance(o, np.ndarray):
    return o.tolist()
  raise TypeError(f"not JSON serializable: {type(o).__name__}")
