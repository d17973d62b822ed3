"""The verify stage: compare a converted model's outputs with the source model's on the same inputs.

For each output: the largest absolute difference, and the largest relative one (the absolute
difference over the largest magnitude of the source output). For classifiers also top-1 agreement
on the first output, counted over the *decisive* samples: those where the source's top-1 score leads
the runner-up by more than the tolerance's ``max_abs`` (when the two best scores are closer than the
error the target is allowed, which of them wins is noise, not a disagreement). A target passes when
every limit its tolerance sets holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zookit.detection import DetectionMatch, match_detections
from zookit.recipe import Tolerance
from zookit.runtime import Runner

# Used when a target (for example one made with --quant) sets no tolerance of its own.
DEFAULT_TOLERANCE = {
    "float32": Tolerance(max_abs=1e-3, top1_agreement=1.0),
    "float16": Tolerance(max_rel=5e-2, top1_agreement=0.9),
    "dynamic-range": Tolerance(max_rel=0.2, top1_agreement=0.5),
    "int8": Tolerance(top1_agreement=0.5),
    "int16x8": Tolerance(max_rel=0.2, top1_agreement=0.5),
}


@dataclass
class Report:
    samples: int
    outputs: dict[str, dict[str, float]] = field(default_factory=dict)
    top1_agreement: float | None = None
    top1_decisive: int = 0
    detections: dict[str, Any] | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "samples": self.samples,
            "outputs": self.outputs,
            "top1_agreement": self.top1_agreement,
            "top1_decisive_samples": self.top1_decisive,
            **({"detections": self.detections} if self.detections is not None else {}),
            "failures": self.failures,
        }


def compare(
    reference: list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]],
    converted: Runner,
    tolerance: Tolerance,
    classifier: bool,
) -> Report:
    """The converted model against the source's outputs, given as (sample, source outputs) pairs."""
    expected = [outputs for _, outputs in reference]
    actual = [converted(sample) for sample, _ in reference]
    report = Report(samples=len(reference))
    for name in expected[0]:
        diff = scale = 0.0
        for i, (e, r) in enumerate(zip(expected, actual, strict=True)):
            a, b = e[name].astype(np.float64), r[name].astype(np.float64)
            if a.size != b.size:  # outputs whose length depends on the data (detections after NMS)
                report.failures.append(
                    f"{name}: sample {i}: shape {list(b.shape)} where the source gives {list(a.shape)}"
                )
                continue
            if a.size:
                diff = max(diff, float(np.max(np.abs(a - b.reshape(a.shape)))))
                scale = max(scale, float(np.max(np.abs(a))))
        report.outputs[name] = {"max_abs": diff, "max_rel": diff / scale if scale > 0 else diff}
    if classifier:
        first = next(iter(expected[0]))
        margin = tolerance.max_abs or 0.0
        agree = [
            int(np.argmax(e[first])) == int(np.argmax(r[first]))
            for e, r in zip(expected, actual, strict=True)
            if _lead(e[first]) > margin
        ]
        report.top1_decisive = len(agree)
        report.top1_agreement = sum(agree) / len(agree) if agree else None
    _judge(report, tolerance)
    return report


def _lead(scores: np.ndarray) -> float:
    """How far the best score is ahead of the second best."""
    flat = np.sort(scores.astype(np.float64).ravel())
    return float(flat[-1] - flat[-2]) if flat.size > 1 else float("inf")


def _judge(report: Report, tol: Tolerance) -> None:
    for name, figures in report.outputs.items():
        if tol.max_abs is not None and figures["max_abs"] > tol.max_abs:
            report.failures.append(f"{name}: max abs error {figures['max_abs']:.3g} > {tol.max_abs:g}")
        if tol.max_rel is not None and figures["max_rel"] > tol.max_rel:
            report.failures.append(f"{name}: max relative error {figures['max_rel']:.3g} > {tol.max_rel:g}")
    if (
        tol.top1_agreement is not None
        and report.top1_agreement is not None
        and report.top1_agreement < tol.top1_agreement
    ):
        report.failures.append(f"top-1 agreement {report.top1_agreement:.2f} < {tol.top1_agreement:g}")


def effective_tolerance(tolerance: Tolerance, quantization: str) -> Tolerance:
    return tolerance if tolerance.model_dump(exclude_none=True) else DEFAULT_TOLERANCE[quantization]


def compare_detections(
    converted: Runner,
    pairs: list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]],
    source_outputs: list[str],
    min_iou: float,
    score_abs: float,
    label_offset: int,
    required: float = 1.0,
) -> Report:
    """Detections of a TFLite SSD (boxes, classes, scores, count) against the source's own
    (boxes, scores, classes, count, as the TF OD API orders them): one pair per picture of the source's
    outputs and the converted model's input.

    Every source detection that is clearly inside the converted model's kept list must have a
    converted detection of the same class with a close score and a box overlapping by ``min_iou``.
    """
    match = DetectionMatch()
    counts = []
    for e, converted_feed in pairs:
        boxes, scores, classes, count = (e[n] for n in source_outputs)
        a = list(converted(converted_feed).values())
        expected = (boxes[0], scores[0], classes[0] - label_offset, int(count.ravel()[0]))
        actual = (a[0][0], a[2][0], a[1][0], int(a[3].ravel()[0]))
        counts.append([expected[3], actual[3]])
        match_detections(expected, actual, min_iou, score_abs, match)
    report = Report(samples=len(pairs))
    report.detections = {
        "compared": match.considered,
        "matched": match.matched,
        "min_iou": round(match.min_iou, 4),
        "max_score_diff": float(f"{match.max_score_diff:.3g}"),
        "counts": counts,
        "missed_boxes": [[round(v, 4) for v in box] for box in match.missed[:5]],
        "box_iou": min_iou,
        "score_abs": score_abs,
    }
    share = match.matched / match.considered if match.considered else 1.0
    report.detections["matched_share"] = round(share, 4)
    if share < required:
        report.failures.append(
            f"detections: {match.considered - match.matched} of {match.considered} source detections have no "
            f"converted detection of the same class with IoU >= {min_iou:g} and score within {score_abs:g} "
            f"(matched {share:.3f}, required {required:g})"
        )
    return report
