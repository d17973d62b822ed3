"""The run summary puts a target's relative error and the upstream model's figures beside its absolute
error (issue #24 point 2), and the stage detail carries them for --json."""

from __future__ import annotations

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
    manifest = Manifest(
        recipe="ad",
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
    detail = convert_detail(manifest)
    assert detail["max_rel"] == 0.071 and detail["upstream_max_rel"] == 0.226
    assert figures_text(detail) == (
        "max_abs 5.08 (upstream ad01_int8.tflite: 16.1), max_rel 0.071 (upstream ad01_int8.tflite: 0.226)"
    )
