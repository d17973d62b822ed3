"""Quality figures from a model's outputs and the true labels: top-k accuracy, and for anomaly
detectors a clip's score (the mean reconstruction error over its windows) and ROC AUC (scikit-learn)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def top_k(scores: np.ndarray, labels: Sequence[int], k: int) -> float:
    """The share of samples whose true class is among the ``k`` highest scores ([samples, classes])."""
    scores = np.asarray(scores).reshape(len(labels), -1)
    if k >= scores.shape[1]:
        return 1.0
    best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    hits = [label in row for label, row in zip(labels, best, strict=True)]
    return float(np.mean(hits))


def reconstruction_score(windows: np.ndarray, outputs: np.ndarray) -> float:
    """A clip's anomaly score: the mean over its windows of each window's mean squared error."""
    a = np.asarray(windows, np.float64).reshape(len(windows), -1)
    b = np.asarray(outputs, np.float64).reshape(len(windows), -1)
    return float(np.mean(np.mean((a - b) ** 2, axis=1)))


def auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """ROC AUC of the scores for label 1 (anomaly) against 0 (normal)."""
    from sklearn.metrics import roc_auc_score

    if len(set(labels)) != 2:
        raise ValueError(f"AUC needs both classes among the clips, got only {sorted(set(labels))}")
    return float(roc_auc_score(list(labels), list(scores)))


def figure(metric: str, labels: Sequence[int], outputs: list[np.ndarray], inputs: list[np.ndarray]) -> float:
    """The metric of one model on a set: ``outputs[i]`` and ``inputs[i]`` are sample i's (all windows)."""
    if metric == "auc":
        return auc(labels, [reconstruction_score(x, y) for x, y in zip(inputs, outputs, strict=True)])
    k = 5 if metric == "top5" else 1
    return top_k(np.stack([np.asarray(y).reshape(-1) for y in outputs]), labels, k)
