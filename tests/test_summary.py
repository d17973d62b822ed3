"""The run summary puts a target's relative error and the upstream model's figures beside its absolute
error (issue #24 point 2), and the stage detail carries them for --json."""

from __future__ import annotations

from typing import Any

from zookit.pipeline.stages import convert_detail
from zookit.pipeline.summary import figures_text
from zookit.records import FileRecord, Manifest


def test_max_rel_and_the_upstream_figures_stand_beside_max_abs() -> None:
    verification = {
        "outputs": {"y": {"max_abs": 5.08, "max_rel": 0.071}},
        "reference": {
            "file": "ad01_int8.tflite",
            "upstream_error": {"y": {"max_abs": 16.1, "max_rel": 0.226}},
        },
    }
    manifest = manifest_with("ad", verification)
    detail = convert_detail(manifest)
    assert detail["max_rel"] == 0.071 and detail["upstream_max_rel"] == 0.226
    assert figures_text(detail) == (
        "max_abs 5.08 (upstream ad01_int8.tflite: 16.1), max_rel 0.071 (upstream ad01_int8.tflite: 0.226)"
    )


def test_every_figure_says_what_it_was_measured_on() -> None:
    """Issue 27 point 5: the row ends with the samples and the runtime, and a TFLite target's top-1 under
    LiteRT's reference kernels (TFLM's) stands beside the default kernels' figure."""
    import numpy as np

    from zookit.recipe import Tolerance
    from zookit.verify.compare import compare_outputs, real_figures

    pairs = [({"x": np.zeros(1)}, {"y": np.array([0.1, 0.9 - i * 0.1])}) for i in range(4)]
    real = [False, True, True, True]
    kernels = {
        "LiteRT default kernels": [0.5, 0.5, 0.5, 0.3],  # the last picture flips to class 0
        "LiteRT reference kernels": [0.5, 0.5, 0.5, 0.5],
    }
    reports = {}
    for runtime, second in kernels.items():
        actual = [{"y": np.array([0.4, s])} for s in second]
        report = compare_outputs(pairs, actual, Tolerance(top1_agreement=0.5), True, True, real)
        report.real = real_figures(pairs, actual, real, 1)
        report.runtime = runtime
        reports[runtime] = report
    verification = reports["LiteRT default kernels"].as_dict()
    verification["other_kernels"] = reports["LiteRT reference kernels"].as_dict()
    assert verification["measured_on"] == {
        "samples": 4,
        "data": "1 random + 3 real samples",
        "runtime": "LiteRT default kernels",
        "runtime_detail": None,
    }
    manifest = manifest_with("m", verification)
    text = figures_text(convert_detail(manifest))
    top1 = verification["top1_agreement"]
    ref_top1 = verification["other_kernels"]["top1_agreement"]
    assert top1 != ref_top1  # two runtimes, two figures: each says which
    assert f"top1_agreement {top1:.3g} (LiteRT reference kernels: {ref_top1:.3g})" in text
    assert text.endswith("; on 1 random + 3 real samples, LiteRT default kernels")


def manifest_with(recipe: str, verification: dict[str, Any]) -> Manifest:
    """A converted target's record holding only ``verification`` (what the summary reads)."""
    return Manifest(
        recipe=recipe,
        recipe_digest="",
        conversion_digest="",
        images=None,
        target={},
        sources={},
        options={},
        versions={},
        output=FileRecord("m.tflite", "sha256:" + "0" * 64, 10, 0),
        stage_key=None,
        inputs=[],
        outputs=[],
        verification=verification,
        timing={},
        created="",
    )
