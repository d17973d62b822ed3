"""The search for the fewest layers kept in higher precision that meet an accuracy goal, and agreement
against calibration-set size. Every candidate is converted (calibrated once, then quantized without its
layers: convert.converters.quantize_calibrated) and verified for real (verify.model.verify_model) on the
same samples, whose source outputs are computed once (Prepared.expected)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zookit.errors import UsageError
from zookit.quantize.device_cost import Bound, Cost, over_bounds
from zookit.quantize.layers import op_census
from zookit.recipe import Target
from zookit.reference import Prepared
from zookit.verify.model import verify_model

GOAL_METRICS = ("top1", "max_rel")


@dataclass(frozen=True)
class Goal:
    metric: str
    value: float

    def met(self, top1: float | None, max_rel: float | None) -> bool:
        if self.metric == "top1":
            return top1 is not None and top1 >= self.value - 1e-9
        return max_rel is not None and max_rel <= self.value

    def __str__(self) -> str:
        return f"top-1 agreement >= {self.value:g}" if self.metric == "top1" else f"max_rel <= {self.value:g}"


def parse_goal(text: str) -> Goal:
    """'top1=0.99' or 'max_rel=0.1'."""
    metric, _, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if (
        metric not in GOAL_METRICS
        or not math.isfinite(number)
        or number < 0
        or (metric == "top1" and number > 1)
    ):
        raise UsageError(f"--goal {text!r}: give top1=A (0..1) or max_rel=R (R >= 0), e.g. top1=0.99")
    return Goal(metric, number)


@dataclass
class Measured:
    nodes: list[str]
    top1: float | None
    max_rel: float | None
    size: int
    ops: int
    float_ops: int
    conversion_ops: int
    meets: bool
    decisive: int  # the samples the goal's figure was counted on (top-1: the real ones)
    cost: dict[str, Any] | None = None  # device_cost: the TFLM arena/flash, Vela's figures
    over: list[str] = field(default_factory=list)  # the cost bounds it exceeds: never chosen

    @property
    def acceptable(self) -> bool:
        return self.meets and not self.over

    @property
    def share_outside_int8(self) -> float:
        return self.float_ops / self.ops if self.ops else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {
            "share_outside_int8": round(self.share_outside_int8, 4),
            "within_bounds": not self.over,
        }


def measure(
    prepared: Prepared, target: Target, model: bytes, images: Path | None, goal: Goal | None, nodes: list[str]
) -> Measured:
    """A model verified against the source as the target is (its top-1 agreement and max_rel)."""
    quiet = target.model_copy(update={"compare_with": None})
    report = verify_model(prepared, quiet, model, images).as_dict()
    rels = [o["max_rel"] for o in report.get("outputs", {}).values() if o.get("max_rel") is not None]
    top1, max_rel = report.get("top1_agreement"), (max(rels) if rels else None)
    census = op_census(model)
    meets = goal.met(top1, max_rel) if goal else False
    if goal is None or goal.metric == "top1":
        decisive = int(report.get("top1_decisive_samples") or 0)
    else:
        decisive = int(report.get("samples") or 0)
    return Measured(
        list(nodes),
        top1,
        max_rel,
        len(model),
        census["ops"],
        census["float_ops"],
        census["conversion_ops"],
        meets,
        decisive,
    )


def search(
    prepared: Prepared,
    target: Target,
    images: Path | None,
    goal: Goal,
    baseline: bytes,
    calibrated: bytes,
    ranked: list[str],
    workers: int,
    max_candidates: int = 64,
    cost: Callable[[bytes], Cost] | None = None,
    bounds: tuple[Bound, ...] = (),
) -> dict[str, Any]:
    """Greedy forward selection, every candidate measured: each round tries the layers kept so far plus
    one more of the ``ranked`` ones (worst first; ``workers`` candidates at a time) and stops at the first
    round where one meets the goal (the best of those); else it keeps the one that helped most.
    ``cost``: each candidate's device figures (device_cost); one over a bound (relative to the all-int8
    candidate) is recorded, never chosen, and when every candidate of a round that meets the goal is
    over a bound the search stops there (more layers in float cost more, not less)."""
    from zookit.convert.converters import quantize_calibrated

    started = time.monotonic()
    steps: list[dict[str, Any]] = []

    def costed(m: Measured, model: bytes, base: Measured | None) -> Measured:
        if cost is not None:
            m.cost = cost(model)
            m.over = over_bounds(m.cost, base.cost if base else None, list(bounds))
        return m

    def candidate(nodes: list[str]) -> Measured:
        model = quantize_calibrated(calibrated, target, nodes, [])
        return costed(measure(prepared, target, model, images, goal, nodes), model, first)

    def record(action: str, m: Measured) -> None:
        steps.append({"step": len(steps), "action": action, **m.as_dict()})

    def score(m: Measured) -> tuple[float, float, float]:
        rel = -(m.max_rel if m.max_rel is not None else math.inf)
        top1 = m.top1 if m.top1 is not None else 0.0
        return (top1, rel, -m.size) if goal.metric == "top1" else (rel, top1, -m.size)

    first = costed(measure(prepared, target, baseline, images, goal, []), baseline, None)
    record("no layer kept in float", first)
    chosen: Measured | None = first if first.meets else None
    stopped = None
    kept: list[str] = []
    pool_ranked = list(dict.fromkeys(ranked))[:max_candidates]
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="zoo-search") as pool:
        while chosen is None and len(kept) < len(pool_ranked):
            trials = [[*kept, n] for n in pool_ranked if n not in kept]
            measured = list(pool.map(candidate, trials))
            for nodes, m in zip(trials, measured, strict=True):
                record(f"round {len(kept) + 1}: float {short(nodes[-1])}", m)
            meeting = [m for m in measured if m.acceptable]
            if not meeting and any(m.meets for m in measured):
                stopped = "every candidate that meets the goal is over a cost bound"
                break
            best = max(meeting or measured, key=score)
            if meeting:
                chosen = best
            kept = best.nodes
    return {
        "goal": str(goal),
        "goal_metric": goal.metric,
        "goal_value": goal.value,
        "met": chosen is not None,
        "bounds": [str(b) for b in bounds],
        "stopped": stopped,
        "before": first.as_dict(),
        "after": chosen.as_dict() if chosen else None,
        "layers_changed": chosen.nodes if chosen else None,
        "recipe_change": {"keep_float": {"nodes": chosen.nodes}} if chosen and chosen.nodes else None,
        "steps": steps,
        "candidates": len(steps),
        "workers": workers,
        "seconds": round(time.monotonic() - started, 2),
    }


def short(tensor: str) -> str:
    """A fused TFLite tensor name's first part (the op that writes it)."""
    return tensor.split(";")[0]


def calibration_sweep(
    prepared: Prepared,
    target: Target,
    images: Path | None,
    judge: Path | None,
    sizes: list[int],
    graph_file: Path,
) -> list[dict[str, Any]]:
    """Top-1 agreement and max_rel on the pictures of ``judge`` of the target calibrated on the first N
    pictures of ``images`` (of their calibration part when the target says ``calibration_pictures:
    split``), for each N of ``sizes`` (sizes beyond the pictures there are are left out)."""
    from zookit.convert.converters import to_tflite
    from zookit.data import image_inputs, takes_pictures

    recipe, inputs = prepared.recipe, prepared.inputs
    if images is None or not takes_pictures(recipe, inputs):
        return []
    part = "calibration" if target.calibration_pictures == "split" else None
    pictures = image_inputs(recipe, inputs, images, part=part)
    plain = target.model_copy(update={"keep_float": None})
    rows = []
    for n in sizes:
        if n > len(pictures):
            continue

        def samples(n: int = n) -> Iterator[list[np.ndarray]]:
            for sample in pictures[:n]:
                yield [sample[p.name] for p in inputs]

        model = to_tflite(graph_file, inputs, prepared.outputs, plain, recipe.custom_ops.allow, samples)
        m = measure(prepared, target, model, judge, None, [])
        rows.append({"frames": n, "top1": m.top1, "max_rel": m.max_rel, "size": m.size})
    return rows
