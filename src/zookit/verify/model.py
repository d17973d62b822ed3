"""Verify a converted model against its source: the same samples through both, compared as the target's
tolerance says. Samples are seeded random inputs, then one per real picture; the source model's run
on them is computed once per model (in the background) and shared by every target.
"""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import Any, cast

import numpy as np

from zookit.data import image_inputs, normalize, random_inputs, takes_pictures
from zookit.errors import UsageError, VerificationError
from zookit.ports import TF_OD_API_LABEL_OFFSET, Port, declared_ports, postprocess_outputs
from zookit.recipe import Recipe, Target, Tolerance
from zookit.records import Manifest
from zookit.reference import Expected, Prepared
from zookit.runtimes.host import HOST_RUNNERS
from zookit.runtimes.litert import litert_kernels, tflite_runner
from zookit.runtimes.tensorflow import tf_runner
from zookit.samples import recipe_samples, user_samples
from zookit.verify import noise
from zookit.verify.classes import class_figures, detection_figures
from zookit.verify.compare import (
    Report,
    compare_detections,
    compare_outputs,
    compare_reference,
    effective_tolerance,
    real_figures,
)
from zookit.verify.reference_kernels import run_reference

VERIFY_RANDOM_SAMPLES = 4
# A model that takes no pictures (spectrograms, feature vectors) is checked on seeded random data alone.
NON_IMAGE_SAMPLES = 32


def verification_samples(
    recipe: Recipe, ports: list[Port], images: Path | None, folder: Path | None = None
) -> list[dict[str, np.ndarray]]:
    """Seeded random samples (VERIFY_RANDOM_SAMPLES for a picture model, NON_IMAGE_SAMPLES for one that
    takes no pictures), then the real ones: one per picture of ``images``; for a model that takes no
    pictures, the recipe's sample files (``folder``: its sources) and the ``.npy`` files of ``images``
    (``--samples DIR``)."""
    samples = random_inputs(recipe, ports, random_sample_count(recipe), seed=0)
    if images is not None and takes_pictures(recipe, ports):
        samples += image_inputs(recipe, ports, images)
    elif not takes_pictures(recipe, ports):
        samples += recipe_samples(recipe, folder, ports, "verification")
        if images is not None:
            samples += user_samples(images, ports)
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
            samples = verification_samples(recipe, prepared.inputs, images, prepared.folder)
            return [(x, prepared.whole_reference(x)) for x in samples]
        if target.postprocess:
            picture, declared = declared_ports(recipe)
            source = tf_runner(prepared.source_graph, picture, declared)
            return [(p, source(p)) for p in verification_samples(recipe, picture, images)]
        assert prepared.reference is not None
        samples = verification_samples(recipe, prepared.inputs, images, prepared.folder)
        return [(x, prepared.reference(x)) for x in samples]

    return prepared.expected(("detections" if target.postprocess else "outputs", images), compute)


def verify_model(prepared: Prepared, target: Target, model: bytes, images: Path | None) -> Report:
    expected = reference_outputs(prepared, target, images)
    inputs, outputs = prepared.inputs, prepared.outputs
    if target.postprocess and target.format == "tflite":
        return _verify_detections(prepared, target, model, expected.result(), images)
    if target.postprocess:  # an ONNX SSD with its own post-process: the same outputs as the source's
        outputs = declared_ports(prepared.recipe)[1]
    host = HOST_RUNNERS.get(target.format)
    if host is None:
        raise VerificationError(f"{prepared.recipe.name}/{target.name}: no runner for {target.format} here")
    runner = host(model, inputs, outputs, target)
    recipe = prepared.recipe
    pairs = expected.result()
    real = [i >= random_sample_count(recipe) for i in range(len(pairs))]
    classifier = recipe.task == "classification"
    quantized = target.quantization != "float32"
    actual = [runner(sample) for sample, _ in pairs]  # once, for the check and the upstream comparison
    # a TFLite file is judged under LiteRT's default kernels and under its reference kernels (TFLM's)
    ref_actual: list[dict[str, np.ndarray]] | str | None = None
    if target.format == "tflite":
        ref_actual = run_reference(model, inputs, outputs, [sample for sample, _ in pairs])
    ref_outputs = ref_actual if isinstance(ref_actual, list) else None
    tolerance, noise = auto_limits(prepared, target, images, pairs, actual, ref_outputs)
    report = compare_outputs(pairs, actual, tolerance, classifier, quantized, real)
    report.real = real_figures(pairs, actual, real, random_sample_count(recipe))
    report.classes = class_figures(recipe, pairs, actual, real, images, prepared.folder)
    report.runtime, report.runtime_detail = RUNTIMES[target.format]
    if target.format == "tflite":
        report.runtime_detail = litert_kernels()
    report.limits, report.noise_floor = tolerance.model_dump(exclude_none=True), noise
    if isinstance(ref_actual, str):  # recorded: a LiteRT bug is no fault of the converted file
        report.other_kernels = {"runtime": "LiteRT reference kernels", "problem": ref_actual}
    elif ref_actual is not None:
        ref_report = compare_outputs(pairs, ref_actual, tolerance, classifier, quantized, real)
        ref_report.real = real_figures(pairs, ref_actual, real, random_sample_count(recipe))
        ref_report.runtime = "LiteRT reference kernels"
        ref_report.runtime_detail = litert_kernels(reference=True)
        report.other_kernels = ref_report.as_dict()
        if model == prepared.tflite_model:  # the upstream's own file as it is: recorded, not judged
            report.other_kernels["judged"] = False  # (the two kernel sets differ, not zookit's work)
        else:
            report.failures += [f"under LiteRT's reference kernels: {f}" for f in ref_report.failures]
    if target.compare_with is not None:
        assert prepared.folder is not None
        from zookit.verify.upstream import upstream_model

        other = prepared.folder / target.compare_with
        upstream = tflite_runner(
            upstream_model(other, inputs, outputs, f"{recipe.name}/{target.name}"), inputs, outputs
        )
        report.reference = compare_reference(pairs, actual, upstream, target.compare_with, classifier, real)
    return report


# what runs a target's file in verification: (short, detailed)
RUNTIMES = {
    "tflite": ("LiteRT default kernels", ""),
    "onnx": ("onnxruntime", "onnxruntime CPUExecutionProvider, default graph optimizations"),
}


def auto_limits(
    prepared: Prepared,
    target: Target,
    images: Path | None,
    pairs: Expected,
    actual: list[dict[str, np.ndarray]],
    ref_actual: list[dict[str, np.ndarray]] | None,
) -> tuple[Tolerance, dict[str, Any] | None]:
    """The target's tolerance with ``auto`` limits measured (verify/noise.py), and how they were."""
    tolerance = effective_tolerance(target.tolerance, target.quantization)
    if not noise.is_auto(tolerance):
        return tolerance, None
    if target.postprocess:  # its outputs (detections after NMS) are not the ones the floor is measured on
        raise VerificationError(
            f"{prepared.recipe.name}/{target.name}: tolerance: auto is for targets without the post-process; "
            "set max_abs/max_rel as numbers"
        )
    floors = []
    source = model_noise_floor(prepared, images, pairs)
    if source is not None:
        floors.append(source)
    source_outputs = [outputs for _, outputs in pairs]
    if ref_actual is not None:
        floors.append(noise.kernel_floor(actual, ref_actual, source_outputs))
    if not floors:  # no second kernel set for this source and target here: the minimum floor alone
        floors.append(noise.minimum_floor(source_outputs))
    return noise.resolve(tolerance, floors)


def model_noise_floor(prepared: Prepared, images: Path | None, pairs: Expected) -> dict[str, Any] | None:
    """The source's floor (oneDNN on and off), measured once per model and shared by its targets."""
    future = prepared.expected(
        ("noise-floor", images), lambda: cast(Expected, noise.source_floor(prepared, pairs))
    )
    return cast("dict[str, Any] | None", future.result())


def _verify_detections(
    prepared: Prepared, target: Target, model: bytes, expected: Expected, images: Path | None
) -> Report:
    """The converted SSD's detections against the whole source graph's own, on the same pictures; the
    converted model takes each picture normalised as the recipe's preprocessing says."""
    recipe = prepared.recipe
    assert recipe.preprocessing is not None  # validation: a detector takes pictures
    picture, declared = declared_ports(recipe)
    converted = tflite_runner(model, prepared.inputs, postprocess_outputs(recipe))
    tflite_source = recipe.model.format == "tflite"  # the released file takes what the target takes
    pairs = [
        (
            outputs,
            p
            if tflite_source
            else {prepared.inputs[0].name: normalize(p[picture[0].name], recipe.preprocessing)},
        )
        for p, outputs in expected
    ]
    names = [p.name for p in declared]
    if (
        tflite_source
    ):  # boxes, classes, scores, count as the op gives them; compared as boxes, scores, classes
        names = [names[0], names[2], names[1], names[3]]
    tolerance = target.tolerance
    offset = 0 if tflite_source else TF_OD_API_LABEL_OFFSET
    report = compare_detections(
        converted,
        pairs,
        names,
        min_iou=tolerance.box_iou if tolerance.box_iou is not None else 0.9,
        score_abs=tolerance.score_abs if tolerance.score_abs is not None else 1e-3,
        label_offset=offset,
        required=tolerance.detection_match if tolerance.detection_match is not None else 1.0,
    )
    real = [i >= random_sample_count(recipe) for i in range(len(expected))]
    report.classes = detection_figures(recipe, expected, names, offset, real, images, prepared.folder)
    return report


def reverify(prepared: Prepared, target: Target, folder: Path, images: Path | None) -> Manifest:
    """`zoo verify`: run an existing artefact in ``folder`` against the source again and record the figures."""
    from zookit.hashes import file_checksum

    manifest = Manifest.load(folder)
    if manifest is None:
        raise UsageError(f"{folder} holds no converted model; run `zoo convert {prepared.recipe.name}` first")
    out_file = folder / manifest.output.file
    if not out_file.is_file() or file_checksum(out_file) != manifest.output.checksum:
        raise VerificationError(f"{out_file} is missing or differs from its manifest; convert it again")
    report = verify_model(prepared, Target.model_validate(manifest.target), out_file.read_bytes(), images)
    manifest.verification = report.as_dict()
    manifest.save(folder)
    if not report.passed:
        raise VerificationError(f"{prepared.recipe.name}/{target.name}: " + "; ".join(report.failures))
    return manifest
