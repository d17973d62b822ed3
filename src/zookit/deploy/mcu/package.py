"""The TensorFlow Lite Micro deployer: for a TFLite target with ``c_array: true``, run the converted model
under TFLM on the verification samples and verify its outputs against the source with the target's own
tolerance (TFLM is the runtime the device uses: its figures are the ones that count); compare TFLM with
LiteRT's reference kernels; measure the arena and the flash the model needs, list its ops; check the
recipe's budgets; write ``<array>_op_resolver.h`` and ``<array>_settings.h`` beside the C array and the
record ``tflm.json``; add the footprint and figures to the target's ``manifest.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zookit.convert.mcu import c_identifier, tensor_facts
from zookit.deploy.common import DeployJob
from zookit.deploy.mcu import firmware
from zookit.errors import VerificationError, ZooError
from zookit.fsutil import folder_listing, write_json, write_text
from zookit.hashes import file_checksum
from zookit.layout import Layout
from zookit.recipe import Recipe, Target, Tolerance
from zookit.records import Manifest, largest_error
from zookit.reference import Runner
from zookit.runtimes import tflm as runtime
from zookit.runtimes.litert import dequantize
from zookit.runtimes.tflm_footprint import measure
from zookit.verify.compare import (
    compare_outputs,
    compare_reference,
    effective_tolerance,
    measured_on_text,
    real_figures,
)
from zookit.verify.noise import is_auto

RECORD = "tflm.json"


UINT8_KERNELS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def _refuse_uint8(model: bytes, where: str) -> None:
    """TFLM's convolution and matrix kernels take int8 (or float) tensors: a uint8 model (TensorFlow 1's
    quantization-aware releases, e.g. Google's 2018 quantized MobileNet and SSD-MobileNet) fails in
    their prepare step with 'Hybrid models are not supported on TFLite Micro' (conv_common.cc). Said
    plainly, before the arena search turns it into an allocation failure."""
    from zookit.convert.tflite_trim import load_model, op_name

    tflite = load_model(model, where)
    graph = tflite.subgraphs[0]
    uint8 = 3  # TensorType.UINT8
    for op in graph.operators:
        name = op_name(tflite, op)
        if name in UINT8_KERNELS and op.inputs is not None and graph.tensors[int(op.inputs[0])].type == uint8:
            raise ZooError(
                f"{where}: TensorFlow Lite Micro cannot run this uint8-quantized model: its {name} kernel "
                "takes int8 or float tensors only (TFLM: 'Hybrid models are not supported'); give TFLM an "
                "int8 model (a target with quantization int8 and io_dtype int8 made from a float source)"
            )


def build(job: DeployJob) -> dict[str, Any]:
    recipe = job.recipe
    target = recipe.target(job.manifest.target["name"])
    where = f"{recipe.name}/{target.name}"
    folder = Layout(job.zoo_dir).target(recipe.name, target.name)
    model = _model_bytes(folder, job.manifest, where)
    _refuse_uint8(model, where)
    try:
        figures = measure(recipe, target, model)
        _check_budgets(recipe, figures, where)
        figures |= run_and_verify(job, target, model, figures["arena"]["measured"], folder)
    except runtime.TflmError as exc:
        raise ZooError(f"{where}: TensorFlow Lite Micro cannot run the model: {exc}") from None
    verification = figures["verification"]
    if not verification["passed"]:
        raise VerificationError(
            f"{where}: under TensorFlow Lite Micro the model does not match the source: "
            + "; ".join(verification["failures"])
        )
    files = _write_firmware(recipe, target, model, figures, folder)
    record = {
        "deployer": "tflm",
        "target": target.name,
        "files": {name: file_checksum(folder / name) for name in files},
        "complete": True,
        "stage_key": job.stage_key,
        "calibration_listing": folder_listing(job.calibration_images),
        **figures,
    }
    write_json(folder / RECORD, record)
    job.manifest.extras["tflm"] = summary(record)
    job.manifest.save(folder)
    return record


def _model_bytes(folder: Path, manifest: Manifest, where: str) -> bytes:
    path = folder / manifest.output.file
    if file_checksum(path) != manifest.output.checksum:
        raise ZooError(f"{where}: {path} differs from its manifest; convert it again")
    return path.read_bytes()


def _check_budgets(recipe: Recipe, figures: dict[str, Any], where: str) -> None:
    mcu = recipe.mcu
    if mcu is None:
        return
    arena, flash = figures["arena"]["measured"], figures["flash_bytes"]
    over = []
    if mcu.arena_limit_kb is not None and arena > mcu.arena_limit_kb * 1024:
        over.append(f"arena {arena} bytes ({arena / 1024:.1f} KiB) > arena_limit_kb {mcu.arena_limit_kb:g}")
    if mcu.flash_limit_kb is not None and flash > mcu.flash_limit_kb * 1024:
        over.append(f"flash {flash} bytes ({flash / 1024:.1f} KiB) > flash_limit_kb {mcu.flash_limit_kb:g}")
    if over:
        raise ZooError(f"{where}: over the recipe's mcu budget: {'; '.join(over)}")


def run_and_verify(job: DeployJob, target: Target, model: bytes, arena: int, folder: Path) -> dict[str, Any]:
    """TFLM on the verification samples, in the measured arena: against the source (judged with the
    target's tolerance), against LiteRT's reference kernels, and MLCommons'-style upstream model."""
    from zookit.verify.classes import class_figures
    from zookit.verify.model import random_sample_count, reference_outputs

    assert job.prepared is not None
    prepared = job.prepared()
    recipe = prepared.recipe
    pairs = reference_outputs(prepared, target, job.calibration_images).result()
    ins, outs = runtime.boundaries(model)
    in_index = runtime.match(prepared.inputs, ins, "input")
    out_index = runtime.match(prepared.outputs, outs, "output")
    raw, engine = runtime.tflm_raw(model, arena)
    reference = runtime.litert_reference_raw(model)
    feeds = [runtime.raw_inputs(sample, prepared.inputs, in_index, ins) for sample, _ in pairs]
    tflm_raw = [raw(feed) for feed in feeds]
    allocations = runtime.recorded_allocations(engine)
    actual = [
        {
            p.name: dequantize(y[i], outs[i].as_litert())
            for p, i in zip(prepared.outputs, out_index, strict=True)
        }
        for y in tflm_raw
    ]
    real = [i >= random_sample_count(recipe) for i in range(len(pairs))]
    classifier, quantized = recipe.task == "classification", target.quantization != "float32"
    tolerance = effective_tolerance(target.tolerance, target.quantization)
    if is_auto(tolerance):  # judged with the limits the file was verified with (measured then)
        tolerance = Tolerance(**job.manifest.verification.get("limits", {}))
    report = compare_outputs(pairs, actual, tolerance, classifier, quantized, real)
    report.real = real_figures(pairs, actual, real, random_sample_count(recipe))
    report.classes = class_figures(recipe, pairs, actual, real, job.calibration_images, prepared.folder)
    report.runtime = "TFLM"
    report.runtime_detail = (
        f"TensorFlow Lite Micro {_tflm_version()} (its reference kernels), arena {arena} bytes"
    )
    report.limits = tolerance.model_dump(exclude_none=True)
    if target.compare_with is not None and prepared.folder is not None:
        upstream = _upstream_runner(prepared.folder / target.compare_with, prepared)
        report.reference = compare_reference(pairs, actual, upstream, target.compare_with, classifier, real)
    return {
        "verification": report.as_dict(),
        "vs_litert_reference": _versus(tflm_raw, [reference(feed) for feed in feeds], outs),
        "recorded_allocations": allocations,
    }


def _tflm_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tflite-micro")
    except PackageNotFoundError:
        return ""


def _upstream_runner(path: Path, prepared: Any) -> Runner:
    """The upstream's own model (compare_with) under TFLM, in its own measured arena."""
    from zookit.verify.upstream import upstream_model

    model = upstream_model(path, prepared.inputs, prepared.outputs, f"{prepared.recipe.name} (TFLM)")
    return runtime.tflm_runner(model, runtime.minimum_arena(model), prepared)


def _versus(
    tflm: list[list[np.ndarray]], ref: list[list[np.ndarray]], outs: list[runtime.Boundary]
) -> dict[str, Any]:
    """TFLM's raw outputs against LiteRT's reference kernels' on the same raw inputs: how many output
    elements differ, and the largest difference (in quantization steps for integer outputs)."""
    differing = total = 0
    largest = 0.0
    for a_list, b_list in zip(tflm, ref, strict=True):
        for a, b in zip(a_list, b_list, strict=True):
            diff = np.abs(a.astype(np.float64) - b.astype(np.float64).reshape(a.shape))
            differing += int(np.count_nonzero(diff))
            total += int(diff.size)
            largest = max(largest, float(diff.max()) if diff.size else 0.0)
    integer = all(np.issubdtype(o.dtype, np.integer) for o in outs)
    return {
        "kernels": "LiteRT OpResolverType.BUILTIN_REF",
        "samples": len(tflm),
        "elements": total,
        "differing_elements": differing,
        ("max_steps" if integer else "max_abs"): int(largest) if integer else largest,
    }


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """What the manifest and the run summary show of a TFLM record."""
    v = record["verification"]
    out: dict[str, Any] = {
        "arena_bytes": record["arena"]["measured"],
        "tensor_arena_size": record["arena"]["size"],
        "flash_bytes": record["flash_bytes"],
        "ops": record["op_count"],
        "max_abs": max((o["max_abs"] for o in v["outputs"].values()), default=None),
    }
    if v.get("top1_agreement") is not None:
        out["top1_agreement"] = v["top1_agreement"]
    versus = record["vs_litert_reference"]
    out["ref_differing"] = versus["differing_elements"]
    out["ref_max_step" if "max_steps" in versus else "ref_max_abs"] = versus.get(
        "max_steps", versus.get("max_abs")
    )
    ref = v.get("reference")
    if ref:
        out["upstream"] = ref["file"]
        out["upstream_max_abs"] = largest_error(ref["upstream_error"])
    out["data"] = v.get("real", {}).get("data")
    out["measured_on"] = measured_on_text(v)
    from zookit.verify.classes import class_detail

    return out | class_detail(v)


def _write_firmware(
    recipe: Recipe, target: Target, model: bytes, figures: dict[str, Any], folder: Path
) -> list[str]:
    base = c_identifier(f"{recipe.name}_{target.name}")
    where = f"{recipe.name}/{target.name}"
    labels = recipe.mcu.labels if recipe.mcu else []
    resolver = firmware.op_resolver_header(base, where, figures["ops"])
    settings = firmware.settings_header(base, where, tensor_facts(model), figures["arena"], labels)
    names = [f"{base}_op_resolver.h", f"{base}_settings.h"]
    for name, text in zip(names, (resolver, settings), strict=True):
        write_text(folder / name, text)
    return names
