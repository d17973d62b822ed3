"""Issue 27: the evaluate stage of `zoo run` and `zoo evaluate` on a small Keras classifier with a
labelled set written here (uint8 pictures, ic01's format): the source's figure is the Keras model's own
top-1 on the held-out part, int8 calibrates on the other part, the stage is skipped when current and
redone when a data file changes, and a run without data says so. (The MLPerf Tiny zoo on the shared
sets: test_mlperf_tiny.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import FileServer, minimal_recipe, write_recipe
from test_run import statuses, zoo_run
from test_sources import keras_classifier, serve

pytestmark = pytest.mark.slow
PICTURES = 24


def stage(report: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [s for m in report["models"] for s in m["stages"] if s["stage"] == name]
    return found


def toy_zoo(server: FileServer, tmp_path: Path) -> tuple[Path, float]:
    """The recipe, the served model and the labelled set; the Keras model's top-1 on the held-out part."""
    import keras

    keras_classifier(tmp_path / "m.h5")
    doc = minimal_recipe(
        "toy",
        model={"format": "keras", "path": "m.h5"},
        inputs=[{"name": "input_1", "shape": [1, 16, 16, 3], "value_range": [0.0, 1.0]}],
        outputs=[{"name": "dense", "shape": [1, 4]}],
        preprocessing={"mean": [0.0], "scale": [1 / 255], "size": [16, 16]},
        targets=[
            {"name": "tflite-float32", "format": "tflite"},
            {
                "name": "tflite-int8",
                "format": "tflite",
                "quantization": "int8",
                "calibration_samples": 8,
                "tolerance": {"max_rel": 1.0},
            },
        ],
        evaluation={
            "set": "toyset",
            "format": "ic01",
            "metric": "top1",
            "max_drop": 1.0,
            "calibration_per_class": 1,
        },
    )
    serve(server, doc, {"m.h5": ((tmp_path / "m.h5").read_bytes(), None)})
    write_recipe(tmp_path / "recipes", doc)
    pixels = np.random.default_rng(5).integers(0, 256, (PICTURES, 16, 16, 3), dtype=np.uint8)
    predicted = keras.models.load_model(tmp_path / "m.h5", compile=False).predict(pixels / 255, verbose=0)
    labels = predicted.argmax(axis=1)
    labels[[3, 9, 15]] = (labels[[3, 9, 15]] + 1) % 4  # three the model gets wrong
    folder = tmp_path / "data" / "mlperf" / "toyset"
    folder.mkdir(parents=True)
    names = [f"p{i:02d}.bin" for i in range(PICTURES)]
    for name, picture in zip(names, pixels, strict=True):
        (folder / name).write_bytes(picture.tobytes())
    (folder / "y_labels.csv").write_text("".join(f"{n},4,{y}\n" for n, y in zip(names, labels, strict=True)))
    # the split: the first file (by name) of each class calibrates, the others are judged
    first = {int(y): n for n, y in reversed(list(zip(names, labels, strict=True)))}
    held_out = [i for i, n in enumerate(names) if n not in first.values()]
    right = predicted[held_out].argmax(axis=1) == labels[held_out]
    return tmp_path / "data", float(np.mean(right))


def test_the_evaluate_stage_is_incremental_and_says_what_it_measured(
    server: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from zookit.__main__ import main

    monkeypatch.delenv("ZOO_DATA", raising=False)
    data, expected = toy_zoo(server, tmp_path)
    code, report, err = zoo_run(tmp_path, "--data", str(data))
    assert code == 0, err
    assert statuses(report)[("toy", "evaluate")] == "done"
    record = json.loads((tmp_path / "zoo" / "toy" / "evaluation.json").read_text())
    figures = {m["name"]: m for m in record["figures"]}
    assert figures["source"]["value"] == pytest.approx(expected)  # Keras's own top-1 on the held-out part
    assert figures["tflite-float32"]["value"] == pytest.approx(expected)
    assert set(figures) == {"source", "tflite-float32", "tflite-int8"} and record["passed"]
    assert figures["tflite-int8"]["runtime"].startswith("LiteRT") and figures["tflite-int8"]["passes"]
    split = record["split"]
    assert split["calibration"] + split["evaluation"] == PICTURES
    assert record["measured_on"] == f"toyset: {split['evaluation']} held-out files"
    int8 = json.loads((tmp_path / "zoo" / "toy" / "tflite-int8" / "manifest.json").read_text())
    assert "calibration part of labelled set toyset" in int8["options"]["calibration"]
    assert f"{split['calibration']} files" in int8["options"]["calibration"]
    assert stage(report, "evaluate")["detail"]["evaluation"].startswith("top1 on toyset")

    code, report, err = zoo_run(tmp_path, "--data", str(data))
    assert code == 0 and set(statuses(report).values()) == {"skipped"}, err

    held_out = sorted(
        set((data / "mlperf" / "toyset").glob("*.bin"))
        - {data / "mlperf" / "toyset" / f for f in split["calibration_files"]}
    )
    held_out[0].write_bytes(bytes(16 * 16 * 3))  # a judged picture changes: evaluated again, not converted
    code, report, err = zoo_run(tmp_path, "--data", str(data))
    assert code == 0, err
    assert statuses(report)[("toy", "evaluate")] == "done"
    assert statuses(report)[("toy", "convert:tflite-int8")] == "skipped"

    code, report, err = zoo_run(tmp_path)  # no data: nothing to evaluate on, and the int8 model is kept
    assert code == 0 and set(statuses(report).values()) == {"skipped"}, err
    assert (
        stage(report, "evaluate")["detail"]["evaluation"]
        == "no data: give --data DIR or $ZOO_DATA holding toyset/"
    )

    # zoo evaluate, in this process (TensorFlow is loaded already): $ZOO_DATA, one target, --json
    zoo = ["--recipes", str(tmp_path / "recipes"), "evaluate", "toy", "--zoo-dir", str(tmp_path / "zoo")]
    monkeypatch.setenv("ZOO_DATA", str(data))
    capsys.readouterr()
    assert main([*zoo, "--target", "tflite-int8", "--json"]) == 0
    names = [m["name"] for m in json.loads(capsys.readouterr().out)["models"]["toy"]["figures"]]
    assert names == ["source", "tflite-int8"]
    monkeypatch.delenv("ZOO_DATA")
    assert main([*zoo, "--data", str(tmp_path / "recipes")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"zoo: evaluation set toyset (a folder holding y_labels.csv) not found below {tmp_path / 'recipes'} "
        "(3 levels deep); give the folder holding it with --data DIR or $ZOO_DATA"
    ]

    # review finding: converting the int8 target again without the set it was calibrated on is refused
    # (it would be calibrated on other data under a key naming the set)
    convert = ["--recipes", str(tmp_path / "recipes"), "convert", "toy", "--zoo-dir", str(tmp_path / "zoo")]
    assert main([*convert, "--target", "tflite-int8"]) != 0
    assert "was calibrated on the labelled set toyset; give --data DIR" in capsys.readouterr().err
    # a judged artefact's file changes under the same deploy key: the evaluate key follows the files
    from zookit.pipeline.evaluation import _key
    from zookit.pipeline.stages import ModelWork, RunOptions
    from zookit.recipe import load_recipe

    recipe = load_recipe(tmp_path / "recipes" / "toy.yaml")
    work = ModelWork(recipe, RunOptions(zoo_dir=tmp_path / "zoo", data=(data,)))
    before = _key(work)
    manifest = tmp_path / "zoo" / "toy" / "tflite-int8" / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["output"]["checksum"] = "sha256:" + "0" * 64
    manifest.write_text(json.dumps(doc))
    assert _key(ModelWork(recipe, RunOptions(zoo_dir=tmp_path / "zoo", data=(data,)))) != before
