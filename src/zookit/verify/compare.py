"""The verify stage: compare a converted model's outputs with the source model's on the same inputs.

For each output, over every sample (seeded random ones and real images): the largest absolute
difference, and the largest relative one (the absolute difference over the largest magnitude of the
source output). For classifiers also top-1 agreement on the first output:

- float targets (strict): counted over the *decisive* samples, those where the source's top-1 score
  leads the runner-up by more than the tolerance's ``max_abs`` (a float conversion may only swap two
  scores closer than the error it is allowed);
- quantized targets: counted on every sample, reported twice, on the real images alone and on all
  samples, with each disagreement's sample and the source's margin. The limit applies to the real
  images when there are any (random noise lies outside the calibration data, so its top-1 says little
  about a quantized model), else to all samples.

A target passes when every limit its tolerance sets holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zookit.recipe import Tolerance
from zookit.reference import Runner
from zookit.verify.detections import DetectionMatch, match_detections

# Used when a target (for example one made with --quant) sets no tolerance of its own.
DEFAULT_TOLERANCE = {
    "float32": Tolerance(max_abs=1e-3, top1_agreement=1.0),
    "float16": Tolerance(max_rel=5e-2, top1_agreement=0.9),
    "dynamic-range": Tolerance(max_rel=0.2, top1_agreement=0.8),
    "int8": Tolerance(top1_agreement=0.8),
    "int16x8": Tolerance(max_rel=0.2, top1_agreement=0.8),
}


@dataclass
class Report:
    samples: int
    outputs: dict[str, dict[str, float]] = field(default_factory=dict)
    top1_agreement: float | None = None
    top1_decisive: int = 0
    top1: dict[str, Any] | None = None  # quantized classifiers: agreement on real images and on all samples
    reference: dict[str, Any] | None = None  # the upstream's own model (compare_with) on the same samples
    detections: dict[str, Any] | None = None
    real: dict[str, Any] | None = None  # the errors on the real samples alone (real_figures)
    classes: dict[str, Any] | None = None  # a classifier's named top classes (verify.classes)
    failures: list[str] = field(default_factory=list)
    runtime: str | None = None  # what ran the converted model, and with which kernels (short)
    runtime_detail: str | None = None  # the same with versions and threads
    limits: dict[str, Any] | None = None  # the limits judged with (auto ones resolved)
    noise_floor: dict[str, Any] | None = None  # how auto limits were measured (verify/noise.py)
    other_kernels: dict[str, Any] | None = None  # the same file under another kernel set, judged too

    @property
    def passed(self) -> bool:
        return not self.failures

    def measured_on(self) -> dict[str, Any]:
        """What every figure of this report was measured on: the samples and the runtime."""
        data = (self.real or {}).get("data") or f"{self.samples} samples"
        return {
            "samples": self.samples,
            "data": data,
            "runtime": self.runtime,
            "runtime_detail": self.runtime_detail,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "samples": self.samples,
            "outputs": self.outputs,
            "top1_agreement": self.top1_agreement,
            "top1_decisive_samples": self.top1_decisive,
            **({"top1": self.top1} if self.top1 is not None else {}),
            **({"reference": self.reference} if self.reference is not None else {}),
            **({"detections": self.detections} if self.detections is not None else {}),
            **({"real": self.real} if self.real is not None else {}),
            **({"classes": self.classes} if self.classes is not None else {}),
            "failures": self.failures,
            **({"measured_on": self.measured_on()} if self.runtime is not None else {}),
            **({"limits": self.limits} if self.limits is not None else {}),
            **({"noise_floor": self.noise_floor} if self.noise_floor is not None else {}),
            **({"other_kernels": self.other_kernels} if self.other_kernels is not None else {}),
        }


Pairs = list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]


def compare(
    reference: Pairs,
    converted: Runner,
    tolerance: Tolerance,
    classifier: bool,
    quantized: bool = False,
    real: list[bool] | None = None,
) -> Report:
    """The converted model against the source's outputs, given as (sample, source outputs) pairs;
    ``real`` marks the samples that are real images."""
    actual = [converted(sample) for sample, _ in reference]
    return compare_outputs(reference, actual, tolerance, classifier, quantized, real)


def compare_outputs(
    reference: Pairs,
    actual: list[dict[str, np.ndarray]],
    tolerance: Tolerance,
    classifier: bool,
    quantized: bool = False,
    real: list[bool] | None = None,
) -> Report:
    """As ``compare``, with the converted model's outputs already computed (one per pair)."""
    expected = [outputs for _, outputs in reference]
    report = Report(samples=len(reference))
    report.outputs = output_errors(expected, actual, report.failures)
    if classifier and not quantized:
        first = next(iter(expected[0]))
        margin = _limit(tolerance.max_abs) or 0.0
        agree = [
            int(np.argmax(e[first])) == int(np.argmax(r[first]))
            for e, r in zip(expected, actual, strict=True)
            if _lead(e[first]) > margin
        ]
        report.top1_decisive = len(agree)
        report.top1_agreement = sum(agree) / len(agree) if agree else None
    elif classifier:
        report.top1 = top1_figures(expected, actual, real or [False] * len(expected))
        judged = report.top1[report.top1["judged_on"]]
        report.top1_agreement = judged["agreement"]
        report.top1_decisive = judged["samples"]
    _judge(report, tolerance)
    return report


def output_errors(
    expected: list[dict[str, np.ndarray]], actual: list[dict[str, np.ndarray]], failures: list[str]
) -> dict[str, dict[str, float]]:
    """Largest absolute and relative difference per output over all samples."""
    out = {}
    for name in expected[0]:
        diff = scale = 0.0
        for i, (e, r) in enumerate(zip(expected, actual, strict=True)):
            a, b = e[name].astype(np.float64), r[name].astype(np.float64)
            if a.size != b.size:  # outputs whose length depends on the data (detections after NMS)
                failures.append(
                    f"{name}: sample {i}: shape {list(b.shape)} where the source gives {list(a.shape)}"
                )
                continue
            if a.size:
                diff = max(diff, float(np.max(np.abs(a - b.reshape(a.shape)))))
                scale = max(scale, float(np.max(np.abs(a))))
        out[name] = {"max_abs": diff, "max_rel": diff / scale if scale > 0 else diff}
    return out


def top1_figures(
    expected: list[dict[str, np.ndarray]], actual: list[dict[str, np.ndarray]], real: list[bool]
) -> dict[str, Any]:
    """Top-1 agreement on the first output, on the real images and on all samples, with every
    disagreement: its sample, both classes and how far the source's best score led its second."""
    first = next(iter(expected[0]))
    rows = []
    for i, (e, r) in enumerate(zip(expected, actual, strict=True)):
        source, converted = int(np.argmax(e[first])), int(np.argmax(r[first]))
        rows.append((i, real[i], source, converted, _lead(e[first])))

    def group(selected: list[tuple[int, bool, int, int, float]]) -> dict[str, Any]:
        wrong = [row for row in selected if row[2] != row[3]]
        return {
            "samples": len(selected),
            "agreement": (len(selected) - len(wrong)) / len(selected) if selected else None,
            "disagreements": [
                {"sample": i, "image": is_real, "source": s, "converted": c, "source_margin": round(m, 6)}
                for i, is_real, s, c, m in wrong
            ],
        }

    images = [row for row in rows if row[1]]
    figures: dict[str, Any] = {"all": group(rows)}
    if images:
        figures["real_images"] = group(images)
    figures["judged_on"] = "real_images" if images else "all"
    return figures


def compare_reference(
    reference: Pairs,
    ours: list[dict[str, np.ndarray]],
    upstream: Runner,
    name: str,
    classifier: bool,
    real: list[bool],
) -> dict[str, Any]:
    """The upstream's own model on the same samples: its error and ours (the converted model's outputs,
    one per pair) against the source, and (for classifiers) how often the two agree on top-1. Reported,
    not judged."""
    expected = [outputs for _, outputs in reference]
    theirs = [upstream(sample) for sample, _ in reference]
    failures: list[str] = []
    out: dict[str, Any] = {
        "file": name,
        "samples": len(reference),
        "upstream_error": output_errors(expected, theirs, failures),
        "target_error": output_errors(expected, ours, failures),
    }
    chosen = [i for i, is_real in enumerate(real) if is_real]
    if chosen:
        real_expected = [expected[i] for i in chosen]
        out["upstream_error_real"] = output_errors(real_expected, [theirs[i] for i in chosen], failures)
        out["target_error_real"] = output_errors(real_expected, [ours[i] for i in chosen], failures)
    if classifier:
        out["target_vs_upstream_top1"] = top1_figures(theirs, ours, real)
        out["upstream_vs_source_top1"] = top1_figures(expected, theirs, real)
    if failures:
        out["problems"] = failures
    return out


def real_figures(
    reference: Pairs, actual: list[dict[str, np.ndarray]], real: list[bool], random_count: int
) -> dict[str, Any]:
    """What the samples were, said plainly, and the errors on the real samples alone (reported, not
    judged: the limits apply to all samples)."""
    chosen = [i for i, is_real in enumerate(real) if is_real]
    out: dict[str, Any] = {"random_samples": random_count, "real_samples": len(chosen)}
    if not chosen:
        out["data"] = "random data only: no real samples"
        return out
    out["data"] = f"{random_count} random + {len(chosen)} real samples"
    out["outputs"] = output_errors([reference[i][1] for i in chosen], [actual[i] for i in chosen], [])
    return out


def _lead(scores: np.ndarray) -> float:
    """How far the best score is ahead of the second best."""
    flat = np.sort(scores.astype(np.float64).ravel())
    return float(flat[-1] - flat[-2]) if flat.size > 1 else float("inf")


def _limit(value: float | str | None) -> float | None:
    """A resolved limit (``auto`` is measured before a comparison: verify/noise.py)."""
    if isinstance(value, str):
        raise ValueError("an auto limit must be resolved (verify.noise.resolve) before it is judged")
    return value


def _judge(report: Report, tol: Tolerance) -> None:
    max_abs, max_rel = _limit(tol.max_abs), _limit(tol.max_rel)
    for name, figures in report.outputs.items():
        if max_abs is not None and figures["max_abs"] > max_abs:
            report.failures.append(f"{name}: max abs error {figures['max_abs']:.3g} > {max_abs:g}")
        if max_rel is not None and figures["max_rel"] > max_rel:
            report.failures.append(f"{name}: max relative error {figures['max_rel']:.3g} > {max_rel:g}")
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
        "mean_iou": round(float(np.mean(match.ious)), 6) if match.ious else None,
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


def measured_on_text(verification: dict[str, Any]) -> str | None:
    """``on 4 random + 32 real samples, LiteRT default kernels`` (None for a record written before)."""
    on = verification.get("measured_on")
    if not isinstance(on, dict):
        return None
    return f"on {on.get('data')}, {on.get('runtime')}"
