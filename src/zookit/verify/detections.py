"""Comparing two detectors' outputs: IoU and one-to-one matching of detections of the same class."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` [n,4] with every box in ``b`` [m,4], corner form."""
    y0 = np.maximum(a[:, None, 0], b[None, :, 0])
    x0 = np.maximum(a[:, None, 1], b[None, :, 1])
    y1 = np.minimum(a[:, None, 2], b[None, :, 2])
    x1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(y1 - y0, 0, None) * np.clip(x1 - x0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


@dataclass
class DetectionMatch:
    considered: int = 0
    matched: int = 0
    min_iou: float = 1.0
    max_score_diff: float = 0.0
    ious: list[float] = field(default_factory=list)  # of the matched detections
    missed: list[list[float]] = field(default_factory=list)  # source boxes without a match


def match_detections(
    expected: tuple[np.ndarray, np.ndarray, np.ndarray, int],
    actual: tuple[np.ndarray, np.ndarray, np.ndarray, int],
    min_iou: float,
    score_abs: float,
    into: DetectionMatch,
) -> None:
    """Match each expected detection to an actual one of the same class (boxes clipped to the image).

    Expected detections count only when their score clears the lowest score the actual model kept by
    more than ``score_abs`` (or the actual list is not full): below that, which boxes make the cut is
    decided by rounding, not by the model.
    """
    eb, es, ec, en = expected
    ab, as_, ac, an = actual
    eb, ab = np.clip(eb[:en], 0, 1), np.clip(ab[:an], 0, 1)
    es, ec, as_, ac = es[:en], ec[:en], as_[:an], ac[:an]
    full = an == len(actual[1])
    floor = (float(as_.min()) + score_abs) if full and an else -np.inf
    overlaps = iou(eb, ab) if en and an else np.zeros((en, an))
    used = np.zeros(an, bool)
    for i in np.argsort(-es):
        if es[i] <= floor:
            continue
        into.considered += 1
        candidates = np.where((ac == ec[i]) & ~used & (np.abs(as_ - es[i]) <= score_abs))[0]
        if candidates.size == 0:
            into.min_iou = 0.0
            into.missed.append([float(v) for v in eb[i]])
            continue
        best = candidates[np.argmax(overlaps[i, candidates])]
        into.min_iou = min(into.min_iou, float(overlaps[i, best]))
        into.max_score_diff = max(into.max_score_diff, float(abs(as_[best] - es[i])))
        if overlaps[i, best] >= min_iou:
            used[best] = True
            into.matched += 1
            into.ious.append(float(overlaps[i, best]))
        else:
            into.missed.append([float(v) for v in eb[i]])
