"""`zoo diagnose`: one quantized TFLite target's per-layer error, the search (with a goal) and the
calibration sweep, written beside the target (diagnosis.json, diagnosis.svg) and into its manifest
(``extras["diagnosis"]``: {"layers": [...], "search": {...}, "held_out": {...}, "split": {...}, ...}).

The pictures are split three ways (data.split_pictures, recorded): the target is calibrated on the
calibration part, as a target with ``calibration_pictures: split`` is by `zoo run`; the layers are
measured and the search decides on the search part; the chosen model is judged again on the held-out
part, which nothing was tuned on. With a goal met, the fix is also converted and verified exactly as the
next `zoo run` without picture options will (``next_run``), so the figures it will print are known now."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from zookit.errors import UsageError, ZooError
from zookit.fsutil import refuse_links, write_bytes, write_json
from zookit.layout import Layout
from zookit.quantize.chart import sqnr_svg
from zookit.quantize.device_cost import Bound, Cost, EthosU, check_bounds, cost_function
from zookit.quantize.layers import layer_errors, layer_names, op_census
from zookit.quantize.search import Goal, calibration_sweep, measure, search
from zookit.recipe import Recipe, Target
from zookit.recipe.quant import KeepFloat
from zookit.records import Manifest

DEFAULT_SIZES = (8, 16, 32)
FEW_DECISIVE = 30  # fewer samples deciding a goal: a warning (one picture is then >3% of the figure)


def fixed_target(target: Target, nodes: list[str] | None, split: bool = True) -> Target:
    """The target as the recipe will say after --write: its layers kept in float, calibrated on the
    calibration part of the pictures (``split``: a model that takes pictures)."""
    keep = KeepFloat(nodes=list(nodes)) if nodes else None
    return target.model_copy(update={"keep_float": keep, "calibration_pictures": "split" if split else "all"})


def _parts(images: Path, root: Path) -> dict[str, Any]:
    """The split of ``images`` as folders under ``root`` (copies: verification reads a folder)."""
    from zookit.data import image_files, split_pictures

    parts = split_pictures(image_files(images))
    if any(not files for files in parts.values()):
        raise UsageError(
            f"{images}: {len(image_files(images))} picture(s); diagnose needs 3 or more (calibration, "
            "search and held-out pictures are disjoint), 30 or more for figures worth trusting"
        )
    for name, files in parts.items():
        (root / name).mkdir()
        for f in files:
            shutil.copyfile(f, root / name / f.name)
    return {name: [f.name for f in files] for name, files in parts.items()}


def diagnose(
    recipe: Recipe,
    zoo_dir: Path,
    target_name: str,
    images: Path,
    goal: Goal | None = None,
    sizes: tuple[int, ...] = DEFAULT_SIZES,
    workers: int | None = None,
    run_images: Path | None = None,
    ethos_u: EthosU | None = None,
    bounds: tuple[Bound, ...] = (),
) -> dict[str, Any]:
    """``run_images``: the pictures the next `zoo run` without picture options uses (default: shipped).
    ``ethos_u``: Vela's figures for every candidate too; ``bounds``: cost bounds of the goal."""
    from zookit.data import default_images, takes_pictures

    target = recipe.target(target_name)
    where = f"{recipe.name}/{target.name}"
    if target.format != "tflite" or target.quantization not in ("int8", "int16x8"):
        raise UsageError(
            f"{where}: diagnose takes TFLite int8 and int16x8 targets (this one is "
            f"{target.format} {target.quantization})"
        )
    check_bounds(list(bounds), target.c_array, ethos_u, where)
    folder = Layout(zoo_dir).target(recipe.name, target.name)
    refuse_links(Layout(zoo_dir).model(recipe.name), folder)
    manifest = Manifest.load(folder)
    if manifest is None or not manifest.output.intact(folder):
        raise UsageError(
            f"{where} is not converted; run `zoo convert {recipe.name} --target {target.name}` first"
        )
    from zookit.convert.prepare import prepare

    prepared = prepare(recipe, zoo_dir)
    if prepared.kind != "tf-graph":
        raise UsageError(f"{where}: diagnose needs a TF source to convert from (this one is {prepared.kind})")
    run_images = run_images or default_images()
    with tempfile.TemporaryDirectory(prefix="zoo-diagnose-") as tmp:
        if takes_pictures(recipe, prepared.inputs):
            split = _parts(images, Path(tmp))
            judged = {"search": Path(tmp) / "search", "held_out": Path(tmp) / "held_out"}
        else:  # samples, not pictures: too few to split (the warnings say so)
            split, judged = None, {"search": images}
        device = Device(cost_function(recipe, target, ethos_u), bounds, ethos_u)
        out = _diagnose(
            prepared, target, folder, images, judged, split, goal, sizes, workers, run_images, device
        )
    manifest.extras["diagnosis"] = out
    manifest.save(folder)
    return out


def _diagnose(
    prepared: Any,
    target: Target,
    folder: Path,
    images: Path,
    judged: dict[str, Path],
    split: dict[str, list[str]] | None,
    goal: Goal | None,
    sizes: tuple[int, ...],
    workers: int | None,
    run_images: Path,
    device: Device,
) -> dict[str, Any]:
    from zookit.convert import converters
    from zookit.convert.target import convert_model
    from zookit.data import calibration_samples
    from zookit.verify.model import random_sample_count, reference_outputs

    recipe = prepared.recipe
    workers = workers or max(1, min(2, os.cpu_count() or 1))
    started = time.monotonic()
    plain = fixed_target(target, None, split is not None)  # calibrated as diagnose does, none in float
    data = calibration_samples(
        recipe, prepared.inputs, target.calibration_samples, images, prepared.folder, split is not None
    )

    def samples() -> Iterator[list[np.ndarray]]:
        for sample in data:
            yield [sample[p.name] for p in prepared.inputs]

    graph_file = converters.write_graph_def(prepared.graph_def, folder)
    try:
        allow = recipe.custom_ops.allow
        quant = converters.to_tflite(graph_file, prepared.inputs, prepared.outputs, plain, allow, samples)
        pairs = reference_outputs(prepared, target, judged["search"]).result()
        real = [x for x, _ in pairs[random_sample_count(recipe) :]] or [x for x, _ in pairs]
        float_model = convert_model(
            prepared, Target(name=f"{target.name}-float", format="tflite"), images, folder
        ).model
        layers = layer_errors(float_model, quant, real)
        out: dict[str, Any] = {
            "target": target.name,
            "quantization": target.quantization,
            "samples": len(real),
            "images": str(images),
            "split": split,
            "split_rule": "data.split_pictures: files ordered by the SHA-256 of their names, cut in thirds"
            if split
            else None,
            "calibration_images": f"{images} (calibration part)" if split else str(images),
            "same_pictures": split is None,
            "ops": op_census(quant),
            "layers": [layer.as_dict() for layer in layers],
            "ethos_u": str(device.ethos_u) if device.ethos_u else None,
            "cost": device.cost(quant) if device.cost else None,  # the all-int8 candidate (step 0)
        }
        nodes: list[str] = []
        if goal is not None:
            calibrated = converters.calibrated_tflite(
                graph_file, prepared.inputs, prepared.outputs, plain, allow, samples
            )
            known = layer_names(calibrated)
            ranked = [layer.tensor for layer in layers if layer.tensor in known]
            found = search(
                prepared,
                target,
                judged["search"],
                goal,
                quant,
                calibrated,
                ranked,
                workers,
                64,
                device.cost,
                device.bounds,
            )
            out["search"] = found

            def convert(changed: Target) -> bytes:  # as the convert stage would, on diagnose's calibration
                return converters.to_tflite(
                    graph_file, prepared.inputs, prepared.outputs, changed, allow, samples
                )

            out["alternatives"] = alternatives(
                prepared, plain, judged["search"], goal, quant, convert, device
            )
            nodes = found["layers_changed"] or []
            if found["met"]:
                found["recipe_change"] = recipe_change(nodes, split is not None)
            if "held_out" in judged:
                chosen = converters.quantize_calibrated(calibrated, target, nodes, []) if nodes else quant
                out["held_out"] = {
                    "before": measure(prepared, target, quant, judged["held_out"], goal, []).as_dict(),
                    "after": measure(prepared, target, chosen, judged["held_out"], goal, nodes).as_dict()
                    if found["met"]
                    else None,
                }
        out["calibration_sizes"] = calibration_sweep(
            prepared, plain, images, judged["search"], list(sizes), graph_file
        )
    finally:
        graph_file.unlink()
    if goal is not None and out["search"]["met"]:
        fixed = fixed_target(target, nodes, split is not None)
        out["next_run"] = next_run(prepared, fixed, folder, run_images, device.cost)
    out["run_images"] = str(run_images)
    out["calibration_frames"] = len(data)
    out["warnings"] = warnings_of(out, goal, images, run_images)
    out["seconds"] = round(time.monotonic() - started, 2)
    write_json(folder / "diagnosis.json", out)
    write_bytes(folder / "diagnosis.svg", sqnr_svg(f"{recipe.name}/{target.name}", layers).encode())
    out["files"] = ["diagnosis.json", "diagnosis.svg"]
    return out


def recipe_change(nodes: list[str], split: bool) -> dict[str, Any]:
    from zookit.quantize.recipe_edit import fix_fields

    return fix_fields(nodes, split)


class Device(NamedTuple):
    cost: Callable[[bytes], Cost] | None  # device_cost.cost_function
    bounds: tuple[Bound, ...]
    ethos_u: EthosU | None


def alternatives(
    prepared: Any,
    target: Target,
    images: Path,
    goal: Goal,
    model: bytes,
    convert: Callable[[Target], bytes],
    device: Device,
) -> list[dict[str, Any]]:
    """Whole-target choices that matter on a device, measured like the search's candidates and shown, not
    chosen: per-tensor weights for the dense layers (fewer quantization parameters: a smaller TFLM arena),
    and for an int8 target 16-bit activations throughout (TensorFlow has no per-layer int16x8; on an
    Ethos-U they stay on the NPU, where a layer kept in float goes to the CPU). ``target``: as diagnose
    converts it (no layer in float), ``model`` its all-int8 model; ``convert``: a changed target converted."""
    changes: list[tuple[str, dict[str, Any]]] = []
    if target.per_channel and target.per_channel_dense and "FULLY_CONNECTED" in _op_types(model):
        changes.append(("per-tensor dense weights", {"per_channel_dense": False}))
    if target.quantization == "int8":
        io = "float32" if target.io_dtype == "float32" else "int16"
        changes.append(("16-bit activations, whole model", {"quantization": "int16x8", "io_dtype": io}))
    out = []
    for action, change in changes:
        changed = Target.model_validate(target.model_dump() | change)
        try:
            other = convert(changed)
            m = measure(prepared, changed, other, images, goal, [])
        except ZooError as exc:  # a conversion or verification this model does not take: said, not fatal
            out.append({"change": change, "action": action, "error": str(exc)})
            continue
        if device.cost is not None:
            m.cost = device.cost(other)
        out.append({"change": change, "action": action, **m.as_dict()})
    return out


def _op_types(model: bytes) -> set[str]:
    from zookit.quantize.layers import _interpreter, op_outputs

    return {op for _, op, _ in op_outputs(_interpreter(model))}


def next_run(
    prepared: Any, target: Target, folder: Path, images: Path, cost: Callable[[bytes], Cost] | None = None
) -> dict[str, Any]:
    """The fix converted and verified as `zoo run`'s convert stage will (the same functions, the same
    pictures): the figures the next run prints."""
    from zookit.convert.target import convert_model
    from zookit.quantize.tflm import tflm_check
    from zookit.verify.model import verify_model

    model = convert_model(prepared, target, images, folder).model
    report = verify_model(prepared, target, model, images)
    figures = report.as_dict()
    rels = [o["max_rel"] for o in figures.get("outputs", {}).values() if o.get("max_rel") is not None]
    return {
        "images": str(images),
        "top1": figures.get("top1_agreement"),
        "top1_decisive_samples": figures.get("top1_decisive_samples"),
        "max_rel": max(rels) if rels else None,
        "size": len(model),
        "passes": report.passed,
        "failures": list(report.failures),
        **({"tflm": tflm_check(prepared, target, model, images)} if target.c_array else {}),
        "cost": cost(model) if cost else None,  # what the tflm stage (and Vela) will measure
    }


def warnings_of(out: dict[str, Any], goal: Goal | None, images: Path, run_images: Path) -> list[str]:
    """What makes the diagnosis's figures weaker than they look, one sentence each."""
    found: list[str] = []
    s = out.get("search")
    if out["split"] is None:
        found.append(
            "the model takes no pictures: calibration, search and per-layer figures share its few real "
            "samples (no held-out figure)"
        )
    if s is not None:
        decisive = (s["after"] or s["before"])["decisive"]
        if decisive < FEW_DECISIVE:
            found.append(
                f"the goal was decided on {decisive} sample(s), fewer than {FEW_DECISIVE}: one sample moves "
                f"top-1 by {1 / max(decisive, 1):.0%}; give more pictures (--images DIR)"
            )
        held = out.get("held_out") or {}
        if s["met"] and held.get("after") and goal is not None and not held["after"]["meets"]:
            found.append(f"the fix meets {goal} on the search pictures but not on the held-out ones")
    if images.resolve() != run_images.resolve():
        found.append(
            f"diagnosed on {images}; `zoo run` without picture options calibrates and verifies on "
            f"{run_images}: give it --images {images} for these figures (its own figures are next_run's)"
        )
    nxt = out.get("next_run")
    if nxt and not nxt["passes"]:
        found.append("the next `zoo run` will fail this target: " + "; ".join(nxt["failures"]))
    if nxt and nxt.get("tflm") and not nxt["tflm"]["runs"]:
        found.append(f"TensorFlow Lite Micro cannot run the fix: {nxt['tflm']['reason']}")
    return found
