"""The OpenVINO deployer: from the recipe's ONNX target (``openvino.target``), write the OpenVINO IR
(``<model>.xml`` + ``.bin``, FP16 weights when ``fp16``) and an int8 IR quantized by NNCF on the same
calibration data as the TFLite int8 targets (``<model>_int8.xml`` + ``.bin``); read each written IR
back, compile it for the CPU and verify it against the source on the verification samples every
target is checked on, with the float target's (or the section's) and the TFLite int8 target's (or the
section's) tolerances; time both on this CPU. The IR carries the recipe's preprocessing in its
``rt_info``. Written in a staging folder swapped in whole as ``zoo/<model>/openvino/``, with
``package.json``; the ONNX target's ``manifest.json`` gets the figures (``openvino``).

Why the ONNX target and not ``openvino.convert_model`` on the TensorFlow/Keras source: the ONNX target is
itself verified against the source, every shipped source (TF graph, Keras, SavedModel, ONNX) has one,
the deployer imports no TensorFlow, and OpenVINO's ONNX reader took 0.5-1.4 s on the MLPerf Tiny
models where reading the Keras files took 2-14 s (and failed on VWW's DepthwiseConv2D under Keras 3),
with the same errors against the source (README.md, OpenVINO).
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from zookit.deploy.common import DeployJob
from zookit.errors import VerificationError, ZooError
from zookit.fsutil import folder_listing, swap_in, temp_dir, write_json, write_text
from zookit.hashes import file_checksum
from zookit.layout import Layout
from zookit.libs import threads
from zookit.recipe import Recipe, Target, Tolerance
from zookit.recipe.openvino import Limits, int8_like
from zookit.records import Manifest, worst_error
from zookit.runtimes import openvino as runtime
from zookit.verify.compare import measured_on_text

NAME = "openvino"
RECORD = "package.json"


def build(job: DeployJob) -> dict[str, Any]:
    from zookit.verify.model import reference_outputs

    recipe, ov = job.recipe, job.recipe.openvino
    assert ov is not None and job.prepared is not None
    target = recipe.target(ov.target)
    layout = Layout(job.zoo_dir)
    source = layout.target(recipe.name, target.name) / job.manifest.output.file
    if file_checksum(source) != job.manifest.output.checksum:
        raise ZooError(f"{source} differs from its manifest; run `zoo convert {recipe.name}` again")
    prepared = job.prepared()
    pairs = reference_outputs(prepared, target, job.calibration_images).result()
    nchw = target.inputs_as_nchw
    model = runtime.read_onnx(source, prepared.inputs, nchw)
    facts = preprocessing_facts(recipe, target)
    runtime.record_facts(model, {k: v if isinstance(v, str) else json.dumps(v) for k, v in facts.items()})
    model_dir = layout.model(recipe.name)
    staging = temp_dir(model_dir, f".{NAME}-")
    try:
        variants = {"float": _variant(job, model, staging / f"{recipe.name}.xml", ov.fp16, pairs, "float")}
        if ov.int8 is not None:
            quantized, calibration = _quantize(job, model)
            variants["int8"] = _variant(
                job, quantized, staging / f"{recipe.name}_int8.xml", False, pairs, "int8"
            )
            variants["int8"]["calibration"] = calibration
        write_text(staging / "README.md", readme(recipe.name, variants))
        files = sorted(p.name for p in staging.iterdir())
        record = {
            "deployer": NAME,
            "recipe": recipe.name,
            "target": target.name,
            "model_checksum": job.manifest.output.checksum,
            "reader": "openvino.convert_model on the ONNX target (see zookit.deploy.openvino.package)",
            "device": f"CPU ({runtime.cpu_name()})",
            "preprocessing": facts,
            **variants,
            "files": {name: file_checksum(staging / name) for name in files},
            "complete": True,
            "stage_key": job.stage_key,
            "calibration_listing": folder_listing(job.calibration_images),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        if "int8" in variants:
            record["int8_side_by_side"] = side_by_side(job, variants["int8"])
        write_json(staging / RECORD, record)
        swap_in(staging, layout.deploy(recipe.name, NAME))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    job.manifest.extras[NAME] = summary(record)
    job.manifest.save(layout.target(recipe.name, target.name))
    return record


def _variant(job: DeployJob, model: Any, xml: Path, fp16: bool, pairs: Any, kind: str) -> dict[str, Any]:
    """Save the IR, read it back, verify it against the source on ``pairs`` and time it."""
    from zookit.libs import load
    from zookit.verify.classes import class_figures
    from zookit.verify.compare import compare_outputs, real_figures
    from zookit.verify.model import model_noise_floor, random_sample_count
    from zookit.verify.noise import is_auto, resolve

    recipe, prepared = job.recipe, job.prepared() if job.prepared else None
    assert prepared is not None and recipe.openvino is not None
    target = recipe.target(recipe.openvino.target)
    runtime.save(model, xml, fp16)
    written = load("openvino").Core().read_model(str(xml))
    nchw = target.inputs_as_nchw
    config = {"INFERENCE_NUM_THREADS": threads(), **runtime.FLOAT_CONFIG}
    run = runtime.compile_runner(written, prepared.inputs, prepared.outputs, nchw, config)
    run = _dequantizing(run, Layout(job.zoo_dir).target(recipe.name, target.name) / job.manifest.output.file)
    actual = [run(sample) for sample, _ in pairs]
    real = [i >= random_sample_count(recipe) for i in range(len(pairs))]
    tolerance, noise = tolerance_for(recipe, kind), None
    if is_auto(tolerance):
        floor = model_noise_floor(prepared, job.calibration_images, pairs)
        tolerance, noise = resolve(tolerance, [floor] if floor is not None else [])
    classifier = recipe.task == "classification"
    report = compare_outputs(pairs, actual, tolerance, classifier, kind == "int8", real)
    report.real = real_figures(pairs, actual, real, random_sample_count(recipe))
    report.classes = class_figures(recipe, pairs, actual, real, job.calibration_images, prepared.folder)
    report.runtime = "OpenVINO CPU f32"
    report.runtime_detail = f"OpenVINO {runtime.version()} CPU plugin, INFERENCE_PRECISION_HINT f32"
    report.limits, report.noise_floor = tolerance.model_dump(exclude_none=True), noise
    # what a user gets from a plain core.compile_model(xml, "CPU"): recorded beside, not judged
    plain = runtime.compile_runner(
        written, prepared.inputs, prepared.outputs, nchw, {"INFERENCE_NUM_THREADS": threads()}
    )
    plain = _dequantizing(
        plain, Layout(job.zoo_dir).target(recipe.name, target.name) / job.manifest.output.file
    )
    default_actual = [plain(sample) for sample, _ in pairs]
    default = compare_outputs(pairs, default_actual, tolerance, classifier, kind == "int8", real)
    default.real = real_figures(pairs, default_actual, real, random_sample_count(recipe))
    precision = runtime.default_precision()
    default.runtime = f"OpenVINO CPU default ({precision})"
    default.runtime_detail = (
        f"OpenVINO {runtime.version()} CPU plugin, a plain compile_model (INFERENCE_PRECISION_HINT {precision} "
        f"on this CPU)"
    )
    report.other_kernels = {"precision": precision, "judged": False, **default.as_dict()}
    where = f"{recipe.name}/{NAME} ({kind})"
    if not report.passed:
        raise VerificationError(
            f"{where}: on OpenVINO's CPU plugin the IR does not match the source: "
            + "; ".join(report.failures)
        )
    out: dict[str, Any] = {
        "files": [xml.name, xml.with_suffix(".bin").name],
        "ir_bytes": xml.stat().st_size + xml.with_suffix(".bin").stat().st_size,
        "weights": "FP16 (compress_to_fp16)" if fp16 else ("int8 (NNCF)" if kind == "int8" else "FP32"),
        "tolerance": tolerance.model_dump(exclude_none=True),
        "verification": report.as_dict(),
        "precision": {
            "verified": "f32",
            "default_on_this_cpu": report.other_kernels["precision"],
            "ask_for_f32": 'core.compile_model(xml, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})',
            "note": "OpenVINO's CPU plugin reads no inference precision from the IR's rt_info (it reads only "
            "KV-cache and dynamic-quantization options under runtime_options): the figures hold for f32 when "
            "the application asks for it; a plain compile_model uses the CPU's default precision",
        },
    }
    latency = recipe.openvino.latency
    if latency is not None:
        feed = runtime.ordered_inputs(written, prepared.inputs, pairs[-1][0], nchw)
        out["latency"] = runtime.latency(written, feed, latency.threads, latency.warmup, latency.runs)
    return out


def _dequantizing(run: Any, onnx_file: Path) -> Any:
    """The runner with the outputs the ONNX model quantizes (a pre-quantized model's QDQ boundary) given
    as real values, as LiteRT's and ONNX Runtime's runners give them (raw codes otherwise)."""
    from zookit.ports import onnx_tensor_name
    from zookit.runtimes.onnx import boundary_quantization

    quantized = boundary_quantization(onnx_file.read_bytes())
    if not quantized:
        return run

    def dequantized(feed: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = run(feed)
        for name, value in out.items():
            q = quantized.get(onnx_tensor_name(name, quantized) or name)
            if q is not None and value.dtype != np.float32:
                scale, zero = q["quantization"]
                out[name] = ((value.astype(np.float32) - zero) * scale).astype(np.float32)
        return out

    return dequantized


def readme(name: str, variants: dict[str, Any]) -> str:
    """Which precision the package's figures hold for, and how a user asks for it."""
    lines = [f"# {name}: OpenVINO IR", ""]
    for kind, variant in variants.items():
        v, precision = variant["verification"], variant["precision"]
        on = v["measured_on"]
        default = v["other_kernels"]
        lines += [
            f"## {variant['files'][0]} ({kind})",
            "",
            f"Verified against the source on {on['data']}: {on['runtime_detail']}.",
            f"- f32 (verified, judged): max_abs {worst_error(v):.3g}, limits {v['limits']}"
            + (f", top-1 agreement {v['top1_agreement']:.3g}" if v.get("top1_agreement") is not None else ""),
            f'- a plain `core.compile_model(xml, "CPU")` on this CPU runs in {precision["default_on_this_cpu"]}: '
            f"max_abs {worst_error(default):.3g}"
            + (
                f", top-1 agreement {default['top1_agreement']:.3g}"
                if default.get("top1_agreement") is not None
                else ""
            )
            + " (recorded, not judged)",
            "",
        ]
    lines += [
        "The figures above hold for f32. Ask for it when compiling:",
        "",
        "```python",
        "import openvino as ov",
        'compiled = ov.Core().compile_model(xml, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})',
        "```",
        "",
        "OpenVINO reads no inference precision from the IR itself (its CPU plugin reads only KV-cache and "
        "dynamic-quantization options from the IR's rt_info), so the application has to ask. A CPU with "
        "AVX-512 BF16 or AMX runs a float model in bf16 by default; one without them, in f32.",
        "",
    ]
    return "\n".join(lines)


def tolerance_for(recipe: Recipe, kind: str) -> Tolerance:
    """The limits an IR is judged with: the section's, else the float target's (fp16: float16's
    defaults) or the TFLite int8 target's, else zookit's defaults for that quantization."""
    from zookit.verify.compare import effective_tolerance

    ov = recipe.openvino
    assert ov is not None
    limits: Limits | None = ov.tolerance if kind == "float" else (ov.int8.tolerance if ov.int8 else None)
    if limits is not None:
        return Tolerance(**limits.model_dump())
    if kind == "float":
        target = recipe.target(ov.target)
        return effective_tolerance(
            Tolerance() if ov.fp16 else target.tolerance, "float16" if ov.fp16 else "float32"
        )
    like: Target | None = int8_like(recipe)
    return effective_tolerance(like.tolerance if like else Tolerance(), "int8")


def _quantize(job: DeployJob, model: Any) -> tuple[Any, dict[str, Any]]:
    """NNCF on the calibration data the TFLite int8 target is made with (the same call, the same count)."""
    from zookit.data import calibration_samples, takes_pictures

    recipe, prepared = job.recipe, job.prepared() if job.prepared else None
    assert prepared is not None and recipe.openvino is not None and recipe.openvino.int8 is not None
    settings = recipe.openvino.int8
    like = int8_like(recipe)
    count = settings.calibration_samples or (like.calibration_samples if like else 16)
    images = job.calibration_images
    labelled = None
    if prepared.labelled is not None:  # the labelled set's calibration part, as tflite-int8's
        from zookit.datasets.calibration import labelled_calibration

        data, labelled = labelled_calibration(prepared, count)
    else:
        data = calibration_samples(recipe, prepared.inputs, count, images, prepared.folder)
    nchw = recipe.target(recipe.openvino.target).inputs_as_nchw
    quantized = runtime.quantize(
        model, [runtime.ordered_inputs(model, prepared.inputs, s, nchw) for s in data], settings.preset
    )
    if labelled is not None:
        what = labelled
    elif takes_pictures(recipe, prepared.inputs):
        what = str(images) if images else "seeded random data (testing only)"  # as tflite-int8 records it
    else:
        from zookit.datasets.calibration import non_picture_calibration

        what = non_picture_calibration(recipe, images)
    return quantized, {
        "quantizer": "nncf.quantize (post-training, OpenVINO backend)",
        "preset": settings.preset,
        "activation_ranges": runtime.RANGE_ESTIMATOR,
        "subset_size": len(data),
        "data": what,
        "same_as": like.name if like else None,
    }


def side_by_side(job: DeployJob, int8: dict[str, Any]) -> dict[str, Any]:
    """The model's three int8 routes as recorded when this package was made: the TFLite int8 target
    (its manifest), TIDL's calibration settings (TI's importer calibrates itself; not run here) and
    OpenVINO's NNCF int8 IR."""
    recipe = job.recipe
    out: dict[str, Any] = {}
    like = int8_like(recipe)
    if like is not None:
        manifest = Manifest.load(Layout(job.zoo_dir).target(recipe.name, like.name))
        if manifest is not None:
            v = manifest.verification
            out["tflite_int8"] = {
                "target": like.name,
                "calibration": manifest.options.get("calibration"),
                "calibration_samples": like.calibration_samples,
                "io_dtype": like.io_dtype,
                "max_abs": worst_error(v),
                "top1_agreement": v.get("top1_agreement"),
                "bytes": manifest.output.size,
            }
    if recipe.tidl is not None:
        t = recipe.tidl
        out["tidl"] = {
            "target": t.target,
            "tensor_bits": t.tensor_bits,
            "calibration_frames": t.calibration_frames,
            "calibration_iterations": t.calibration_iterations,
            "accuracy_level": t.accuracy_level,
            "note": "TI's importer calibrates on the package's pictures; it does not run here",
        }
    v = int8["verification"]
    out["openvino_int8"] = {
        **{k: int8["calibration"][k] for k in ("preset", "subset_size", "data")},
        "max_abs": worst_error(v),
        "top1_agreement": v.get("top1_agreement"),
        "bytes": int8["ir_bytes"],
    }
    return out


def preprocessing_facts(recipe: Recipe, target: Target) -> dict[str, Any]:
    """What a user of the IR must do to a picture (or sample) before it, written into the IR's rt_info
    (``model_info``) and the record. OpenVINO's ``scale_values`` divide: 1 / the recipe's scale."""
    from zookit.data import per_channel

    facts: dict[str, Any] = {"task": recipe.task, "zookit_recipe": recipe.name}
    spec = recipe.inputs[0]
    facts["input_layout"] = "NCHW" if target.inputs_as_nchw else (spec.layout or "")
    p = recipe.preprocessing
    if p is None:
        facts["value_range"] = " ".join(f"{v:g}" for v in spec.value_range or [])
        return facts
    facts |= {
        "mean_values": " ".join(f"{v:g}" for v in per_channel(p.mean)),
        "scale_values": " ".join(f"{1 / v:.8g}" for v in per_channel(p.scale)),
        "channel_order": p.channel_order,
        "resize": f"{p.size[0]}x{p.size[1]}"
        if p.size
        else f"shorter side {p.resize}"
        if p.resize
        else "none",
        "crop": str(p.crop or ""),
    }
    return facts


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """What the target's manifest and the run summary show of the record."""
    out: dict[str, Any] = {"size": record["float"]["ir_bytes"]}
    for kind, prefix in (("float", ""), ("int8", "int8_")):
        variant = record.get(kind)
        if variant is None:
            continue
        v = variant["verification"]
        out[f"{prefix}max_abs"] = worst_error(v)
        if v.get("top1_agreement") is not None:
            out[f"{prefix}top1_agreement"] = v["top1_agreement"]
        if kind == "int8":
            out["int8_bytes"] = variant["ir_bytes"]
        if "latency" in variant:
            out[f"{prefix}latency_ms"] = variant["latency"]["median_ms"]
            out["threads"] = variant["latency"]["threads"]
    tflite = record.get("int8_side_by_side", {}).get("tflite_int8")
    if tflite:
        out["tflite_int8_max_abs"] = tflite["max_abs"]
    default = record["float"]["verification"].get("other_kernels")
    if default:  # what a plain compile_model gives (not judged)
        out["default_precision"] = default.get("precision")
        out["default_max_abs"] = worst_error(default)
    out["data"] = record["float"]["verification"].get("real", {}).get("data")
    out["measured_on"] = measured_on_text(record["float"]["verification"])
    from zookit.verify.classes import class_detail

    return out | class_detail(record["float"]["verification"])
