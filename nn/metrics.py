"""Metrics on numpy arrays or Tensors: accuracy, confusion matrix, MAE, R^2.

Every metric takes ``(pred, target)``, the order of losses and of ``fit``'s metrics
(note: scikit-learn puts the true values first; r2_score is not symmetric).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag

__all__ = ["accuracy", "confusion_matrix", "mean_absolute_error", "r2_score"]


def _np(x: Any) -> np.ndarray:
    return x.data if isinstance(x, ag.Tensor) else np.asarray(x)


def _labels(pred: Any) -> np.ndarray:
    """Class labels from labels, booleans, or scores of shape (N, C) (argmax)."""
    p = _np(pred)
    if p.ndim == 2 and p.shape[1] > 1:
        return p.argmax(axis=1)
    if p.dtype.kind == "f":
        raise ValueError(f"accuracy: got float predictions of shape {p.shape}; pass labels, "
                         "(N, C) scores, or threshold binary outputs first (logits > 0)")
    return p.reshape(len(p)) if p.ndim == 2 else p


def accuracy(pred: Any, target: Any) -> float:
    """Fraction of samples whose predicted class equals ``target``.

    ``pred``: labels, booleans, or (N, C) scores/logits/probabilities (argmax taken).
    ``target``: labels, or one-hot (N, C).
    """
    p, t = _labels(pred), _labels(target)
    if p.shape != t.shape:
        raise ValueError(f"accuracy: {p.shape[0] if p.ndim else 0} predictions but targets "
                         f"of shape {t.shape}")
    return float(np.mean(p == t)) if p.size else float("nan")


def confusion_matrix(pred: Any, target: Any, num_classes: int | None = None) -> np.ndarray:
    """C[i, j] = number of samples of true class i predicted as class j (rows are the
    truth, as in scikit-learn; ``pred`` may be (N, C) scores)."""
    t, p = _labels(target).astype(np.int64), _labels(pred).astype(np.int64)
    if t.shape != p.shape:
        raise ValueError(f"confusion_matrix: targets {t.shape} and predictions {p.shape} differ")
    k = num_classes if num_classes is not None else int(max(t.max(initial=-1),
                                                            p.max(initial=-1))) + 1
    if t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= k):
        raise ValueError(f"confusion_matrix: labels must lie in [0, {k})")
    out = np.zeros((k, k), dtype=np.int64)
    np.add.at(out, (t, p), 1)
    return out


def _pair(pred: Any, target: Any, who: str) -> tuple[np.ndarray, np.ndarray]:
    p, t = _np(pred).astype(np.float64), _np(target).astype(np.float64)
    if p.shape != t.shape:
        if p.size == t.size:
            p = p.reshape(t.shape)
        else:
            raise ValueError(f"{who}: predictions {p.shape} and targets {t.shape} differ")
    return p, t


def mean_absolute_error(pred: Any, target: Any) -> float:
    """(1/n) sum |pred - target|."""
    p, t = _pair(pred, target, "mean_absolute_error")
    return float(np.mean(np.abs(p - t)))


def r2_score(pred: Any, target: Any) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot (per output, then averaged);
    1 is perfect, 0 is as good as predicting the mean."""
    p, t = _pair(pred, target, "r2_score")
    t2 = t.reshape(len(t), -1)
    p2 = p.reshape(len(p), -1)
    ss_res = ((t2 - p2) ** 2).sum(axis=0)
    ss_tot = ((t2 - t2.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.where(ss_res > 0, 0.0, 1.0))
    return float(r2.mean())
