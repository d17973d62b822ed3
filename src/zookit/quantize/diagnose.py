"""`zoo diagnose`: one quantized TFLite target's per-layer error, the search (with a goal) and the
calibration sweep, written beside the target (diagnosis.json, diagnosis.svg) and into its manifest
(``extras["diagnosis"]``: {"layers": [...], "search": {...}, "calibration_sizes": [...], ...})."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from zookit.errors import UsageError
from zookit.fsutil import refuse_links, write_bytes, write_json
from zookit.layout import Layout
from zookit.quantize.chart import sqnr_svg
from zookit.quantize.layers import layer_errors, layer_names, op_census
from zookit.quantize.search import Goal, calibration_sweep, search
from zookit.recipe import Recipe, Target
from zookit.records import Manifest

DEFAULT_SIZES = (8, 16, 32)


def diagnose(
    recipe: Recipe,
    zoo_dir: Path,
    target_name: str,
    images: Path,
    goal: Goal | None = None,
    sizes: tuple[int, ...] = DEFAULT_SIZES,
    workers: int | None = None,
) -> dict[str, Any]:
    from zookit.convert import converters
    from zookit.convert.prepare import prepare
    from zookit.convert.target import convert_model
    from zookit.data import calibration_samples
    from zookit.verify.model import random_sample_count, reference_outputs

    target = recipe.target(target_name)
    where = f"{recipe.name}/{target.name}"
    if target.format != "tflite" or target.quantization not in ("int8", "int16x8"):
        raise UsageError(
            f"{where}: diagnose takes TFLite int8 and int16x8 targets (this one is "
            f"{target.format} {target.quantization})"
        )
    folder = Layout(zoo_dir).target(recipe.name, target.name)
    refuse_links(Layout(zoo_dir).model(recipe.name), folder)
    manifest = Manifest.load(folder)
    if manifest is None or not manifest.output.intact(folder):
        raise UsageError(
            f"{where} is not converted; run `zoo convert {recipe.name} --target {target.name}` first"
        )
    prepared = prepare(recipe, zoo_dir)
    if prepared.kind != "tf-graph":
        raise UsageError(f"{where}: diagnose needs a TF source to convert from (this one is {prepared.kind})")
    workers = workers or max(1, min(2, os.cpu_count() or 1))
    started = time.monotonic()
    quant = (folder / manifest.output.file).read_bytes()
    pairs = reference_outputs(prepared, target, images).result()  # the source runs once per sample
    real = [x for x, _ in pairs[random_sample_count(recipe) :]] or [x for x, _ in pairs]
    float_model = convert_model(
        prepared, Target(name=f"{target.name}-float", format="tflite"), images, folder
    ).model
    layers = layer_errors(float_model, quant, real)
    census = op_census(quant)
    out: dict[str, Any] = {
        "target": target.name,
        "quantization": target.quantization,
        "samples": len(real),
        "images": str(images),
        "calibration_images": manifest.options.get("calibration"),
        "same_pictures": manifest.options.get("calibration") == str(images),
        "ops": census,
        "layers": [layer.as_dict() for layer in layers],
    }
    plain = target.model_copy(update={"keep_float": None})
    data = calibration_samples(recipe, prepared.inputs, target.calibration_samples, images, prepared.folder)

    def samples() -> Iterator[list[np.ndarray]]:
        for sample in data:
            yield [sample[p.name] for p in prepared.inputs]

    graph_file = converters.write_graph_def(prepared.graph_def, folder)
    try:
        if goal is not None:
            calibrated = converters.calibrated_tflite(
                graph_file, prepared.inputs, prepared.outputs, plain, recipe.custom_ops.allow, samples
            )
            known = layer_names(calibrated)
            ranked = [layer.tensor for layer in layers if layer.tensor in known]
            out["search"] = search(prepared, target, images, goal, quant, calibrated, ranked, workers)
        out["calibration_sizes"] = calibration_sweep(prepared, target, images, list(sizes), graph_file)
    finally:
        graph_file.unlink()
    out["calibration_frames"] = len(data)
    out["seconds"] = round(time.monotonic() - started, 2)
    write_json(folder / "diagnosis.json", out)
    write_bytes(folder / "diagnosis.svg", sqnr_svg(f"{recipe.name}/{target.name}", layers).encode())
    out["files"] = ["diagnosis.json", "diagnosis.svg"]
    manifest.extras["diagnosis"] = out
    manifest.save(folder)
    return out
