"""Convert and verify one recipe target into ``zoo/<model>/<target>/``, with a manifest of provenance.

The converted file is written to a temporary file in the target folder, verified against the source
model, and only then renamed to its final name; ``manifest.json`` is written last. A failed
conversion or verification leaves no artefact under a final name.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from zookit import __version__
from zookit.convert import mcu
from zookit.convert import ssd as detection
from zookit.convert.mcu import tflite_facts
from zookit.convert.trim import Port, node_name, source_ports, static_onnx, trim_graph_def, trim_onnx
from zookit.data import calibration_samples, image_inputs, normalize, random_inputs, takes_pictures
from zookit.errors import ConversionError, UsageError, VerificationError, ZooError
from zookit.fetch import source_dir
from zookit.fsutil import atomic_path, first_link, folder_listing, read_json, write_bytes, write_json
from zookit.hashes import file_checksum
from zookit.recipe import Recipe, Target
from zookit.verify.compare import (
    Report,
    compare_detections,
    compare_outputs,
    compare_reference,
    effective_tolerance,
)
from zookit.verify.runners import Runner, onnx_runner, tf_runner, tflite_runner

MANIFEST = "manifest.json"
VERIFY_RANDOM_SAMPLES = 4
# A model that takes no pictures (spectrograms, feature vectors) is checked on seeded random data alone.
NON_IMAGE_SAMPLES = 32
TOOLS = ("tensorflow", "tensorflow-cpu", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert", "numpy")
# the source model's run on the verification samples: (sample, outputs) pairs
Expected = list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]


@dataclass
class Prepared:
    """The trimmed source model, ready to convert and to run as the reference."""

    recipe: Recipe
    inputs: list[Port]
    outputs: list[Port]
    graph_def: Any = None  # TF sources
    onnx_model: Any = None  # ONNX sources
    reference: Runner | None = None
    source_graph: Any = None  # the whole TF graph of an SSD, for its anchors and its own detections
    heads: detection.Heads | None = None  # the heads found in an ONNX SSD
    prior_counts: list[int] | None = None
    whole_onnx: Any = None  # an ONNX SSD with its own post-process kept (static shapes, heads named)
    whole_reference: Runner | None = None  # the source ONNX SSD as shipped, to check whole_onnx against
    tflite_model: bytes | None = None  # TFLite sources
    tflite_path: Path | None = None
    folder: Path | None = None  # the model's source folder (for files a target is compared with)
    _expected: dict[Any, Future[Expected]] = field(default_factory=dict, repr=False)

    def expected(self, key: Any, compute: Callable[[], Expected]) -> Future[Expected]:
        """The source model's outputs on one set of verification samples, computed once per model (every
        target is checked against the same figures) and in a background thread. TensorFlow and
        onnxruntime release the GIL while they run, so this overlaps the parts of a conversion that do
        too (TFLite's converter call itself holds the GIL)."""
        if key not in self._expected:
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoo-reference")
            self._expected[key] = pool.submit(compute)
            pool.shutdown(wait=False)  # the thread ends when the work is done
        return self._expected[key]


def tool_versions() -> dict[str, str]:
    out = {"zookit": __version__}
    for name in TOOLS:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def model_path(recipe: Recipe, zoo_dir: Path) -> Path:
    path = source_dir(zoo_dir, recipe.name) / recipe.model.path
    present = path.is_dir() if recipe.model.format == "tf-saved-model" and not path.suffix else path.is_file()
    if not present:
        raise UsageError(f"{recipe.name}: {path} is missing; run `zoo fetch {recipe.name}` first")
    return path


def prepare(recipe: Recipe, zoo_dir: Path) -> Prepared:
    path = model_path(recipe, zoo_dir)
    prepared = PREPARERS[recipe.model.format](recipe, path, f"{recipe.name} ({path.name})")
    prepared.folder = source_dir(zoo_dir, recipe.name)
    return prepared


def _prepare_tf(recipe: Recipe, path: Path, where: str) -> Prepared:
    """A TF source (frozen graph, SavedModel, Keras) as a frozen graph, trimmed."""
    from zookit.convert.sources import GRAPH_LOADERS

    inputs, outputs = source_ports(recipe)
    full = GRAPH_LOADERS[recipe.model.format](path, recipe, where)
    trimmed = trim_graph_def(full, recipe, where)
    return Prepared(
        recipe,
        inputs,
        outputs,
        graph_def=trimmed,
        reference=tf_runner(trimmed, inputs, outputs),
        source_graph=full if recipe.detection and recipe.detection.anchors else None,
    )


def _prepare_onnx(recipe: Recipe, path: Path, where: str) -> Prepared:
    import onnx

    inputs, outputs = source_ports(recipe)
    try:
        original = onnx.load(str(path))
    except Exception as exc:
        raise ConversionError(f"{where}: not a readable ONNX model ({exc})") from None
    if recipe.detection and recipe.detection.priors:
        return _prepare_onnx_ssd(recipe, original, inputs, where)
    trimmed_onnx = trim_onnx(original, recipe, where)
    reference = onnx_runner(_expose(original, [p.name for p in outputs]), inputs, outputs)
    return Prepared(recipe, inputs, outputs, onnx_model=trimmed_onnx, reference=reference)


def _prepare_tflite(recipe: Recipe, path: Path, where: str) -> Prepared:
    """A TFLite source runs as it is in LiteRT (the reference for every target made from it)."""
    inputs, outputs = source_ports(recipe)
    model = path.read_bytes()
    try:
        reference = tflite_runner(model, inputs, outputs)
    except VerificationError as exc:
        raise ConversionError(f"{where}: {exc}") from None
    return Prepared(recipe, inputs, outputs, tflite_model=model, tflite_path=path, reference=reference)


def _prepare_onnx_ssd(recipe: Recipe, original: Any, inputs: list[Port], where: str) -> Prepared:
    """Find the heads by structure, check the priors against them, and cut after the heads."""
    static = static_onnx(original, recipe, where)
    heads = detection.discover_heads(static, recipe, where)
    counts = detection.check_priors(recipe, heads, where)
    static = detection.rename_heads(static, heads)
    outputs = [
        Port(h.name, (1, h.channels, h.height, h.width), "float32") for h in heads.boxes + heads.classes
    ]
    trimmed = trim_onnx(static, recipe, where, outputs)
    reference = onnx_runner(_expose(static, [p.name for p in outputs]), inputs, outputs)
    _, declared = _declared_ports(recipe)
    return Prepared(
        recipe,
        inputs,
        outputs,
        onnx_model=trimmed,
        reference=reference,
        heads=heads,
        prior_counts=counts,
        whole_onnx=static,
        whole_reference=onnx_runner(original.SerializeToString(), inputs, declared),
    )


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


PREPARERS: dict[str, Callable[[Recipe, Path, str], Prepared]] = {
    "tf-frozen-graph": _prepare_tf,
    "tf-saved-model": _prepare_tf,
    "keras": _prepare_tf,
    "onnx": _prepare_onnx,
    "tflite": _prepare_tflite,
}


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
    prepared: Prepared,
    target: Target,
    zoo_dir: Path,
    images: Path | None = None,
    stage_key: str | None = None,
) -> dict[str, Any]:
    """Convert, verify, and write the artefact and its manifest; return the manifest."""
    from zookit.convert import converters as convert

    recipe = prepared.recipe
    out_dir = zoo_dir / recipe.name / target.name
    link = first_link(zoo_dir / recipe.name, out_dir)
    if link:
        raise ConversionError(
            f"{link} is a symbolic link; zookit does not write through links in the zoo (remove it)"
        )
    out_file = out_dir / f"{recipe.name}.{target.format}"
    started = time.monotonic()
    reference_outputs(prepared, target, images)  # started now, in the background, collected by verify_model
    allow_custom = recipe.custom_ops.allow
    outputs = prepared.outputs
    extras: dict[str, Any] = {}
    if target.format == "tflite" and prepared.tflite_model is not None:
        model = prepared.tflite_model
        options = {
            "converter": "none: the source TFLite file as it is",
            **tflite_facts(model, target, recipe),
        }
    elif target.format == "onnx" and prepared.tflite_path is not None:
        options = convert.onnx_options(target) | {"converter": "tf2onnx.convert.from_tflite"}
        model = convert.tflite_to_onnx(prepared.tflite_path, target)
    elif target.format == "tflite":
        if prepared.graph_def is None:
            raise ConversionError(f"{recipe.name}/{target.name}: TFLite targets need a TF source model")
        graph_def = prepared.graph_def
        options = convert.tflite_options(target, allow_custom)
        if target.postprocess:
            graph_def, outputs, extras = _with_postprocess(prepared, target)
            options["postprocess"] = extras["postprocess"]
        samples = None
        if target.quantization in ("int8", "int16x8"):
            data = calibration_samples(recipe, prepared.inputs, target.calibration_samples, images)
            if not takes_pictures(recipe, prepared.inputs):
                options["calibration"] = "seeded random data within the inputs' value_range (no pictures)"
            else:
                options["calibration"] = str(images) if images else "seeded random data (testing only)"

            def samples() -> Any:
                for sample in data:
                    yield [sample[p.name] for p in prepared.inputs]

        graph_file = convert.write_graph_def(graph_def, out_dir)
        try:
            model = convert.to_tflite(graph_file, prepared.inputs, outputs, target, allow_custom, samples)
        finally:
            graph_file.unlink()
    elif prepared.graph_def is not None:
        options = convert.onnx_options(target)
        model = convert.to_onnx(prepared.graph_def, prepared.inputs, prepared.outputs, target)
    elif target.postprocess:
        if prepared.whole_onnx is None:
            raise ConversionError(f"{recipe.name}/{target.name}: postprocess needs an ONNX SSD source")
        options = {
            "converter": "onnx.shape_inference (static input shape; head outputs named after their nodes)",
            "static_shapes": True,
            "postprocess": "the source's own (TIDL's meta architecture replaces it after the heads)",
        }
        model = prepared.whole_onnx.SerializeToString()
        outputs = _declared_ports(recipe)[1]
    else:
        options = {"converter": "onnx.utils.Extractor + onnx.shape_inference", "static_shapes": True}
        model = prepared.onnx_model.SerializeToString()
    if prepared.heads is not None:
        extras["heads"] = _heads_record(prepared)
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
    if recipe.detection and recipe.detection.anchors and not target.postprocess:
        extras["anchors"] = _write_anchors(recipe, out_dir)
    if target.c_array:
        extras["c_array"] = mcu.c_array(model, out_dir, f"{recipe.name}_{target.name}")
    manifest = {
        "recipe": recipe.name,
        "recipe_digest": recipe.digest,
        "conversion_digest": recipe.conversion_digest,
        "images": folder_listing(images),
        "target": target.model_dump(mode="json"),
        "sources": _source_checksums(recipe, zoo_dir),
        "options": options,
        "versions": tool_versions(),
        "output": {
            "file": out_file.name,
            "checksum": file_checksum(out_file),
            "size": out_file.stat().st_size,
            "mtime_ns": out_file.stat().st_mtime_ns,
        },
        "stage_key": stage_key,
        "inputs": [_port_record(p) for p in prepared.inputs],
        "outputs": [_port_record(p) for p in outputs],
        **extras,
        "verification": report.as_dict(),
        "timing": {"convert_s": round(convert_s, 3), "verify_s": round(verify_s, 3)},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_json(out_dir / MANIFEST, manifest)
    return manifest


def _port_record(port: Port) -> dict[str, Any]:
    return {"name": port.name, "shape": list(port.shape), "dtype": port.dtype}


def _with_postprocess(prepared: Prepared, target: Target) -> tuple[Any, list[Port], dict[str, Any]]:
    """The trimmed SSD graph with anchors and the post-process op, after checking the anchors."""
    recipe = prepared.recipe
    where = f"{recipe.name}/{target.name}"
    anchors = detection.recipe_anchors(recipe)
    detection.check_graph_anchors(prepared.source_graph, recipe, anchors, where)
    boxes = _box_count(prepared)
    if boxes != len(anchors):
        raise ConversionError(
            f"{where}: detection.anchors: {len(anchors)} anchors for {boxes} box encodings; "
            "check feature_map_sizes, aspect_ratios and reduce_boxes_in_lowest_layer"
        )
    graph_def = detection.add_postprocess(prepared.graph_def, recipe, anchors)
    assert recipe.detection is not None
    record = {
        "op": detection.POSTPROCESS_OP,
        "anchors": len(anchors),
        "anchors_checked_against_graph": bool(
            recipe.detection.anchors and recipe.detection.anchors.graph_anchors
        ),
        **recipe.detection.postprocess.model_dump(mode="json"),
    }
    return graph_def, detection.postprocess_outputs(recipe), {"postprocess": record}


def _box_count(prepared: Prepared) -> int:
    """Boxes the trimmed graph's box-encoding head produces (one run on a blank input)."""
    assert prepared.reference is not None and prepared.recipe.detection is not None
    feed = {p.name: np.zeros(p.shape, p.dtype) for p in prepared.inputs}
    name = prepared.recipe.detection.heads.box_encodings or prepared.outputs[0].name
    values = prepared.reference(feed)
    shape = values[name].shape if name in values else next(iter(values.values())).shape
    return int(shape[1])


def _write_anchors(recipe: Recipe, out_dir: Path) -> dict[str, Any]:
    anchors = detection.recipe_anchors(recipe)
    buffer = io.BytesIO()
    np.save(buffer, anchors)
    write_bytes(out_dir / "anchors.npy", buffer.getvalue())
    return {
        "file": "anchors.npy",
        "shape": list(anchors.shape),
        "layout": "ycenter, xcenter, h, w (normalised)",
    }


def _heads_record(prepared: Prepared) -> dict[str, Any]:
    heads = prepared.heads
    assert heads is not None
    return {
        "box": [h.name for h in heads.boxes],
        "class": [h.name for h in heads.classes],
        "feature_maps": [[h.height, h.width] for h in heads.boxes],
        "priors": prepared.prior_counts,
        "total_boxes": heads.total_boxes,
        "classes_per_prior": heads.classes_per_prior,
    }


def verification_samples(
    recipe: Recipe, ports: list[Port], images: Path | None
) -> list[dict[str, np.ndarray]]:
    """Seeded random samples (VERIFY_RANDOM_SAMPLES for a picture model, NON_IMAGE_SAMPLES for one that
    takes no pictures), then one per real image."""
    samples = random_inputs(recipe, ports, random_sample_count(recipe), seed=0)
    if images is not None and takes_pictures(recipe, ports):
        samples += image_inputs(recipe, ports, images)
    return samples


def random_sample_count(recipe: Recipe) -> int:
    return VERIFY_RANDOM_SAMPLES if recipe.takes_images else NON_IMAGE_SAMPLES


def reference_outputs(prepared: Prepared, target: Target, images: Path | None) -> Future[Expected]:
    """Start (or find) the source model's run on the verification samples: (sample, outputs) pairs.

    A plain target is compared on the trimmed source; a target with the post-process op is compared
    with the whole source graph, which takes the raw picture (its preprocessor included).
    """
    recipe = prepared.recipe

    def compute() -> Expected:
        if target.postprocess and prepared.whole_reference is not None:
            samples = verification_samples(recipe, prepared.inputs, images)
            return [(x, prepared.whole_reference(x)) for x in samples]
        if target.postprocess:
            picture, declared = _declared_ports(recipe)
            source = tf_runner(prepared.source_graph, picture, declared)
            return [(p, source(p)) for p in verification_samples(recipe, picture, images)]
        assert prepared.reference is not None
        samples = verification_samples(recipe, prepared.inputs, images)
        return [(x, prepared.reference(x)) for x in samples]

    return prepared.expected(("detections" if target.postprocess else "outputs", images), compute)


def _declared_ports(recipe: Recipe) -> tuple[list[Port], list[Port]]:
    picture = [Port(node_name(s.name), tuple(s.shape), s.dtype) for s in recipe.inputs]
    declared = [Port(node_name(s.name), tuple(s.shape), s.dtype) for s in recipe.outputs]
    return picture, declared


def verify_model(prepared: Prepared, target: Target, model: bytes, images: Path | None) -> Report:
    expected = reference_outputs(prepared, target, images)
    inputs, outputs = prepared.inputs, prepared.outputs
    if target.postprocess and target.format == "tflite":
        return _verify_detections(prepared, target, model, expected.result())
    if target.postprocess:  # an ONNX SSD with its own post-process: the same outputs as the source's
        outputs = _declared_ports(prepared.recipe)[1]
    if target.format == "tflite":
        runner = tflite_runner(model, inputs, outputs)
    else:
        runner = onnx_runner(model, inputs, outputs, nchw=target.inputs_as_nchw)
    tolerance = effective_tolerance(target.tolerance, target.quantization)
    recipe = prepared.recipe
    pairs = expected.result()
    real = [i >= random_sample_count(recipe) for i in range(len(pairs))]
    classifier = recipe.task == "classification"
    quantized = target.quantization != "float32"
    actual = [runner(sample) for sample, _ in pairs]  # once, for the check and the upstream comparison
    report = compare_outputs(pairs, actual, tolerance, classifier, quantized, real)
    if target.compare_with is not None:
        assert prepared.folder is not None
        other = prepared.folder / target.compare_with
        if not other.is_file():
            raise VerificationError(
                f"{recipe.name}/{target.name}: compare_with: {other} is missing; fetch it"
            )
        upstream = tflite_runner(other.read_bytes(), inputs, outputs)
        report.reference = compare_reference(pairs, actual, upstream, target.compare_with, classifier, real)
    return report


def _verify_detections(prepared: Prepared, target: Target, model: bytes, expected: Expected) -> Report:
    """The converted SSD's detections against the whole source graph's own, on the same pictures; the
    converted model takes each picture normalised as the recipe's preprocessing says."""
    recipe = prepared.recipe
    assert recipe.preprocessing is not None  # validation: a detector takes pictures
    picture, declared = _declared_ports(recipe)
    converted = tflite_runner(model, prepared.inputs, detection.postprocess_outputs(recipe))
    pairs = [
        (outputs, {prepared.inputs[0].name: normalize(p[picture[0].name], recipe.preprocessing)})
        for p, outputs in expected
    ]
    tolerance = target.tolerance
    return compare_detections(
        converted,
        pairs,
        [p.name for p in declared],
        min_iou=tolerance.box_iou if tolerance.box_iou is not None else 0.9,
        score_abs=tolerance.score_abs if tolerance.score_abs is not None else 1e-3,
        label_offset=detection.TF_OD_API_LABEL_OFFSET,
        required=tolerance.detection_match if tolerance.detection_match is not None else 1.0,
    )


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
    if model.is_dir():  # a SavedModel folder: its files are among the sources above
        model = model / "saved_model.pb"
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


def package_model(
    recipe: Recipe,
    zoo_dir: Path,
    images: Path | None,
    calibration_images: Path | None,
    strict: bool = False,
    tidl_tools: Path | None = None,
) -> dict[str, Any]:
    """`zoo tidl` for one model: convert the TIDL target when it is missing or stale, then package it."""
    from zookit.deploy.tidl.package import build_package, target_manifest

    if recipe.tidl is None:
        raise UsageError(
            f"{recipe.name}: the recipe has no tidl section, so there is no TIDL package to make"
        )
    manifest = target_manifest(recipe, zoo_dir)
    converted = manifest is None
    if manifest is None:
        row = run_targets(recipe, zoo_dir, [recipe.tidl.target], None, images or calibration_images)[0]
        if row["status"] != "ok":
            raise ZooError(row["error"])
        manifest = target_manifest(recipe, zoo_dir)
        assert manifest is not None
    record = build_package(recipe, zoo_dir, manifest, calibration_images, strict, tidl_tools=tidl_tools)
    return {
        "model": recipe.name,
        "status": "ok",
        "folder": str(zoo_dir / recipe.name / "tidl"),
        "converted": converted,
        **record,
    }
