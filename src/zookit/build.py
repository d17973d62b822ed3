"""Convert and verify one recipe target into ``zoo/<model>/<target>/``, with a manifest of provenance.

The converted file is written to a temporary file in the target folder, verified against the source
model, and only then renamed to its final name; ``manifest.json`` is written last. A failed
conversion or verification leaves no artefact under a final name.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from zookit import __version__
from zookit.data import calibration_samples, image_inputs, random_inputs
from zookit.errors import ConversionError, UsageError, VerificationError, ZooError
from zookit.fetch import source_dir
from zookit.fsutil import atomic_path, read_json, write_json
from zookit.hashes import file_checksum
from zookit.recipe import Recipe, Target
from zookit.runtime import Runner, onnx_runner, tf_runner, tflite_runner
from zookit.trim import Port, load_graph_def, source_ports, trim_graph_def, trim_onnx
from zookit.verify import Report, compare, effective_tolerance

MANIFEST = "manifest.json"
VERIFY_RANDOM_SAMPLES = 4
TOOLS = ("tensorflow", "tensorflow-cpu", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert", "numpy")


@dataclass
class Prepared:
    """The trimmed source model, ready to convert and to run as the reference."""

    recipe: Recipe
    inputs: list[Port]
    outputs: list[Port]
    graph_def: Any = None  # TF sources
    onnx_model: Any = None  # ONNX sources
    reference: Runner | None = None


def tool_versions() -> dict[str, str]:
    out = {"zookit": __version__}
    for name in TOOLS:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def model_path(recipe: Recipe, zoo_dir: Path) -> Path:
    path = source_dir(zoo_dir, recipe.name) / recipe.model.path
    if not path.is_file():
        raise UsageError(f"{recipe.name}: {path} is missing; run `zoo fetch {recipe.name}` first")
    return path


def prepare(recipe: Recipe, zoo_dir: Path) -> Prepared:
    path = model_path(recipe, zoo_dir)
    where = f"{recipe.name} ({path.name})"
    inputs, outputs = source_ports(recipe)
    if recipe.model.format == "tf-frozen-graph":
        trimmed = trim_graph_def(load_graph_def(path), recipe, where)
        return Prepared(
            recipe, inputs, outputs, graph_def=trimmed, reference=tf_runner(trimmed, inputs, outputs)
        )
    if recipe.model.format == "onnx":
        import onnx

        try:
            original = onnx.load(str(path))
        except Exception as exc:
            raise ConversionError(f"{where}: not a readable ONNX model ({exc})") from None
        trimmed_onnx = trim_onnx(original, recipe, where)
        reference = onnx_runner(_expose(original, [p.name for p in outputs]), inputs, outputs)
        return Prepared(recipe, inputs, outputs, onnx_model=trimmed_onnx, reference=reference)
    raise ConversionError(f"{where}: model.format {recipe.model.format!r} cannot be converted yet")


def _expose(model: Any, names: list[str]) -> bytes:
    """The original ONNX model with interior tensors added as outputs, to run as the reference."""
    import onnx

    copy = onnx.ModelProto.FromString(model.SerializeToString())
    present = {o.name for o in copy.graph.output}
    for name in names:
        if name not in present:
            copy.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    data: bytes = copy.SerializeToString()
    return data


def with_quantization(recipe: Recipe, target: Target, quant: str | None) -> Target:
    """The target as asked on the command line: --quant makes a TFLite target of that mode."""
    if quant is None or quant == target.quantization:
        return target
    if target.format != "tflite":
        raise UsageError(f"--quant applies to TFLite targets; {recipe.name}/{target.name} is {target.format}")
    return Target(
        name=f"tflite-{quant}",
        format="tflite",
        quantization=quant,
        io_dtype=target.io_dtype if quant in ("int8",) else "float32",
        per_channel=target.per_channel,
        calibration_samples=target.calibration_samples,
    )


def convert_target(
    prepared: Prepared, target: Target, zoo_dir: Path, images: Path | None = None
) -> dict[str, Any]:
    """Convert, verify, and write the artefact and its manifest; return the manifest."""
    from zookit import convert

    recipe = prepared.recipe
    out_dir = zoo_dir / recipe.name / target.name
    out_file = out_dir / f"{recipe.name}.{target.format}"
    started = time.monotonic()
    allow_custom = recipe.custom_ops.allow
    if target.format == "tflite":
        if prepared.graph_def is None:
            raise ConversionError(f"{recipe.name}/{target.name}: TFLite targets need a TF source model")
        options = convert.tflite_options(target, allow_custom)
        samples = None
        if target.quantization in ("int8", "int16x8"):
            data = calibration_samples(recipe, prepared.inputs, target.calibration_samples, images)
            options["calibration"] = str(images) if images else "seeded random data (testing only)"

            def samples() -> Any:
                for sample in data:
                    yield [sample[p.name] for p in prepared.inputs]

        graph_file = convert.write_graph_def(prepared.graph_def, out_dir)
        try:
            model = convert.to_tflite(
                graph_file, prepared.inputs, prepared.outputs, target, allow_custom, samples
            )
        finally:
            graph_file.unlink()
    elif prepared.graph_def is not None:
        options = convert.onnx_options(target)
        model = convert.to_onnx(prepared.graph_def, prepared.inputs, prepared.outputs, target)
    else:
        options = {"converter": "onnx.utils.Extractor + onnx.shape_inference", "static_shapes": True}
        model = prepared.onnx_model.SerializeToString()
    convert_s = time.monotonic() - started
    with atomic_path(out_file) as tmp:
        tmp.write_bytes(model)
        started = time.monotonic()
        report = verify_model(prepared, target, model, images)
        verify_s = time.monotonic() - started
        if not report.passed:
            raise VerificationError(
                f"{recipe.name}/{target.name}: the converted model does not match the source: "
                + "; ".join(report.failures)
            )
    manifest = {
        "recipe": recipe.name,
        "recipe_digest": recipe.digest,
        "target": target.model_dump(mode="json"),
        "sources": _source_checksums(recipe, zoo_dir),
        "options": options,
        "versions": tool_versions(),
        "output": {
            "file": out_file.name,
            "checksum": file_checksum(out_file),
            "size": out_file.stat().st_size,
        },
        "verification": report.as_dict(),
        "timing": {"convert_s": round(convert_s, 3), "verify_s": round(verify_s, 3)},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_json(out_dir / MANIFEST, manifest)
    return manifest


def verify_model(prepared: Prepared, target: Target, model: bytes, images: Path | None) -> Report:
    assert prepared.reference is not None
    inputs, outputs = prepared.inputs, prepared.outputs
    if target.format == "tflite":
        runner = tflite_runner(model, inputs, outputs)
    else:
        runner = onnx_runner(model, inputs, outputs, nchw=target.inputs_as_nchw)
    samples = random_inputs(prepared.recipe, inputs, VERIFY_RANDOM_SAMPLES, seed=0)
    if images is not None:
        samples += image_inputs(prepared.recipe, inputs, images)
    tolerance = effective_tolerance(target.tolerance, target.quantization)
    return compare(prepared.reference, runner, samples, tolerance, prepared.recipe.task == "classification")


def reverify(prepared: Prepared, target: Target, zoo_dir: Path, images: Path | None) -> dict[str, Any]:
    """`zoo verify`: run an existing artefact against the source again and record the figures."""
    out_dir = zoo_dir / prepared.recipe.name / target.name
    manifest = read_json(out_dir / MANIFEST)
    if not isinstance(manifest, dict):
        raise UsageError(
            f"{out_dir} holds no converted model; run `zoo convert {prepared.recipe.name}` first"
        )
    out_file = out_dir / manifest["output"]["file"]
    if not out_file.is_file() or file_checksum(out_file) != manifest["output"]["checksum"]:
        raise VerificationError(f"{out_file} is missing or differs from its manifest; convert it again")
    report = verify_model(prepared, Target.model_validate(manifest["target"]), out_file.read_bytes(), images)
    manifest["verification"] = report.as_dict()
    write_json(out_dir / MANIFEST, manifest)
    if not report.passed:
        raise VerificationError(f"{prepared.recipe.name}/{target.name}: " + "; ".join(report.failures))
    return manifest


def _source_checksums(recipe: Recipe, zoo_dir: Path) -> dict[str, Any]:
    folder = source_dir(zoo_dir, recipe.name)
    out: dict[str, Any] = {}
    for s in recipe.sources:
        stamp = read_json(folder / f".fetched-{s.file}.json")
        out[s.file] = stamp.get("checksum") if isinstance(stamp, dict) else None
    model = folder / recipe.model.path
    out[recipe.model.path] = file_checksum(model)
    return out


def run_targets(
    recipe: Recipe,
    zoo_dir: Path,
    target_names: list[str] | None,
    quant: str | None,
    images: Path | None,
    verify_only: bool = False,
) -> list[dict[str, Any]]:
    """Convert (or re-verify) the chosen targets of one recipe; failures are collected per target."""
    targets = [recipe.target(n) for n in target_names] if target_names else list(recipe.targets)
    if quant:
        targets = [with_quantization(recipe, t, quant) for t in targets if t.format == "tflite"]
        if not targets:
            raise UsageError(f"{recipe.name}: --quant needs a TFLite target and the recipe has none selected")
    prepared = prepare(recipe, zoo_dir)
    results = []
    for target in targets:
        row: dict[str, Any] = {"model": recipe.name, "target": target.name}
        try:
            manifest = (reverify if verify_only else convert_target)(prepared, target, zoo_dir, images)
            row.update(
                status="ok",
                file=str(zoo_dir / recipe.name / target.name / manifest["output"]["file"]),
                size=manifest["output"]["size"],
                verification=manifest["verification"],
            )
        except ZooError as exc:
            row.update(status="failed", error=str(exc))
        results.append(row)
    return results


def summarize(row: dict[str, Any]) -> str:
    if row["status"] != "ok":
        return f"FAILED {row['model']}/{row['target']}: {row['error']}"
    v = row["verification"]
    worst = max((o["max_abs"] for o in v["outputs"].values()), default=0.0)
    top1 = f", top-1 agreement {v['top1_agreement']:.2f}" if v.get("top1_agreement") is not None else ""
    return f"ok {row['model']}/{row['target']}: {row['size'] / 1e6:.2f} MB, max abs error {worst:.3g}{top1}"
