"""Issue 29 and #28 point 10: Google's genuine quantized SSD-MobileNet v1 and MobileNet v1 through every
route (../shared/models/genuine), and class names for classifiers (a recipe's labels).

The acceptance test runs the two shipped recipes as they are, offline from ../shared/models (their
checksums are the published ones), on zookit's 32 shipped pictures."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from conftest import REPO, SHARED_MODELS
from zookit.errors import RecipeError, ZooError

GENUINE = SHARED_MODELS / "genuine"
needs_genuine = pytest.mark.skipif(
    not GENUINE.is_dir(), reason=f"Google's genuine quantized models not present at {GENUINE}"
)


def recipe_doc(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((REPO / "recipes" / f"{name}.yaml").read_text())
    return doc


def test_labels_section_names_a_source_file_or_the_classes() -> None:
    from zookit.recipe import parse_recipe

    doc = recipe_doc("mobilenet_v1_quant")
    assert parse_recipe(doc, "x.yaml").labels.file == "imagenet_labels.txt"  # type: ignore[union-attr]
    doc["labels"] = {"file": "labels.txt"}
    with pytest.raises(RecipeError, match=r"labels.file: 'labels.txt' is not one of the source files"):
        parse_recipe(doc, "x.yaml")
    doc["labels"] = {"names": ["a", "b"]}
    with pytest.raises(RecipeError, match=r"labels\.names: 2 names for num_classes 1001"):
        parse_recipe(doc, "x.yaml")
    doc["labels"] = {"names": ["a"], "file": "imagenet_labels.txt"}
    with pytest.raises(RecipeError, match="give either file or names"):
        parse_recipe(doc, "x.yaml")


def test_mlperf_tiny_classifiers_carry_their_class_names_in_mlperf_tinys_order() -> None:
    from zookit.recipe import load_recipe

    folder = REPO / "recipes" / "mlperf_tiny"
    names = {
        n: load_recipe(folder / f"{n}.yaml").labels for n in ("ic_resnet8", "vww_mobilenet", "kws_dscnn")
    }
    # CIFAR-10's batches.meta order; MLPerf Tiny VWW: 0 non-person, 1 person; kws get_dataset.py word_labels
    assert names["ic_resnet8"].names[:3] == ["airplane", "automobile", "bird"]  # type: ignore[union-attr]
    assert names["vww_mobilenet"].names == ["no person", "person"]  # type: ignore[union-attr]
    assert names["kws_dscnn"].names == [  # type: ignore[union-attr]
        "down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "silence", "unknown",
    ]  # fmt: skip


def test_class_figures_name_the_best_classes_and_count_top1_and_top5() -> None:
    from zookit.recipe import parse_recipe
    from zookit.verify.classes import class_detail, class_figures

    doc = recipe_doc("mobilenet_v1_quant")
    doc["num_classes"] = 6
    doc["labels"] = {"names": ["bg", "cat", "dog", "car", "bus", "cup"]}
    recipe = parse_recipe(doc, "x.yaml")
    source = [np.array([[0, 9, 1, 0, 0, 0]]), np.array([[0, 0, 0, 5, 6, 0]])]
    target = [np.array([[0, 8, 2, 0, 0, 0]]), np.array([[0, 0, 0, 7, 2, 0]])]  # 2nd: top-1 differs
    pairs = [({}, {"out": s}) for s in source]
    record = class_figures(recipe, pairs, [{"out": t} for t in target], [True, True], None, None)
    assert record is not None
    assert record["top1_agreement"] == 0.5 and record["top5_agreement"] == 1.0
    assert [c["name"] for c in record["samples"][0]["source"]] == ["cat", "dog", "bg"]
    assert record["samples"][1]["target"][0] == {"class": 3, "name": "car", "score": 7.0}
    detail = class_detail({"classes": record})
    assert detail["real_top1"] == 0.5 and detail["classes"] == "sample 0: cat (9); sample 1: bus (6)"


@needs_genuine
@pytest.mark.acceptance
def test_tflm_says_plainly_it_cannot_run_a_uint8_model() -> None:
    from zookit.deploy.mcu.package import _refuse_uint8

    model = (GENUINE / "mobilenet_v1_quant" / "mobilenet_v1_0.5_160_quant.tflite").read_bytes()
    with pytest.raises(
        ZooError, match="cannot run this uint8-quantized model: its CONV_2D kernel takes int8"
    ):
        _refuse_uint8(model, "mobilenet_v1_quant/tflite-uint8")


def _run(tmp_path: Path) -> tuple[int, dict[str, Any], str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TIDL_TOOLS_PATH", None)
    argv = [sys.executable, "-m", "zookit", "--recipes", str(REPO / "recipes"), "run"]
    argv += ["ssd_mobilenet_v1_quant", "mobilenet_v1_quant", "--mirror", str(SHARED_MODELS), "--offline"]
    argv += ["--zoo-dir", str(tmp_path / "zoo"), "--cache-dir", str(tmp_path / "cache"), "--json"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=900, env=env)
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}, proc.stderr


def _manifest(zoo: Path, model: str, target: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((zoo / model / target / "manifest.json").read_text())
    return data


@needs_genuine
@pytest.mark.acceptance
@pytest.mark.slow
def test_genuine_ssd_and_classifier_through_every_route(tmp_path: Path) -> None:
    code, report, err = _run(tmp_path)
    assert code == 0, err
    zoo = tmp_path / "zoo"
    released = GENUINE / "ssd_mobilenet_v1_quant" / "detect.tflite"

    # the file as released: its own detections, and TIDL's TFLite route packages exactly it
    first = _manifest(zoo, "ssd_mobilenet_v1_quant", "tflite-released")
    package = zoo / "ssd_mobilenet_v1_quant" / "tidl"
    packaged = package / "ssd_mobilenet_v1_quant.tflite"
    assert hashlib.sha256(packaged.read_bytes()).digest() == hashlib.sha256(released.read_bytes()).digest()
    options = json.loads((package / "runtime_options.json").read_text())
    assert options["advanced_options:quantization_scale_type"] == 3  # TI: a pre-quantized TFLite model
    assert "object_detection:meta_arch_type" not in options  # TI's od-2000: the delegate runs the op itself
    assert "quantizationStyle = 5" in (package / "tidl_import_ssd_mobilenet_v1_quant.txt").read_text()

    # zookit's anchors against the file's uint8 anchors constant: within half a quantization step
    zookit = _manifest(zoo, "ssd_mobilenet_v1_quant", "tflite-zookit-postprocess")
    anchors = zookit["anchors"]
    assert anchors["checked"] and anchors["count"] == 1917
    assert 0 < anchors["largest_difference"] <= anchors["file_quantization_step"] / 2 + 1e-6
    # zookit's post-process on the heads gives the released file's detections on the 32 pictures
    for manifest in (first, zookit):
        found = manifest["verification"]["detections"]
        assert manifest["verification"]["passed"] and found["compared"] > 32, found
        assert found["matched"] == found["compared"] and found["mean_iou"] > 0.999
        assert all(e == a for e, a in found["counts"]), found["counts"]
    # the detections are named from labelmap.txt (line 0 '???' is the background the model leaves out)
    labels = (GENUINE / "ssd_mobilenet_v1_quant" / "labelmap.txt").read_text().splitlines()
    named = [c for row in zookit["verification"]["classes"]["samples"] for c in row["source"]]
    assert named and all(c["name"] == labels[c["class"] + 1] for c in named)
    assert any(c["name"] == "person" for c in named)

    # the heads as ONNX (tf2onnx's reading of the uint8 file) and the IR of them
    heads = _manifest(zoo, "ssd_mobilenet_v1_quant", "onnx")["verification"]
    assert heads["passed"] and all(o["max_abs"] == 0 for o in heads["outputs"].values())
    ir = json.loads((zoo / "ssd_mobilenet_v1_quant" / "openvino" / "package.json").read_text())
    assert ir["float"]["verification"]["passed"]

    # the classifier: every target against the original file, classes named from ImageNet's labels
    imagenet = (SHARED_MODELS / "images" / "imagenet_labels.txt").read_text().splitlines()
    for target in ("tflite-uint8", "onnx"):
        classes = _manifest(zoo, "mobilenet_v1_quant", target)["verification"]["classes"]
        assert classes["top1_agreement"] == 1.0 and classes["top5_agreement"] == 1.0
        assert len(classes["samples"]) == 32
        assert all(c["name"] == imagenet[c["class"]] for r in classes["samples"] for c in r["source"])
    ov = json.loads((zoo / "mobilenet_v1_quant" / "openvino" / "package.json").read_text())
    assert ov["float"]["verification"]["classes"]["top5_agreement"] == 1.0
    cat = next(r for r in classes["samples"] if r["sample"] == "chelsea-full.jpg")
    assert "cat" in cat["source"][0]["name"]  # the shipped picture of Chelsea the cat
    stages = {(m["model"], s["stage"]): s for m in report["models"] for s in m["stages"]}
    detail = stages[("mobilenet_v1_quant", "convert:tflite-uint8")]["detail"]
    assert detail["real_top1"] == 1.0 and "chelsea-full.jpg: " in detail["classes"]
    ssd = stages[("ssd_mobilenet_v1_quant", "convert:tflite-zookit-postprocess")]["detail"]
    assert ssd["anchors_diff"] == anchors["largest_difference"] and ssd["detections_matched"] == 1.0

    # the report's page says what each model sees, named
    argv = [sys.executable, "-m", "zookit", "--recipes", str(REPO / "recipes"), "report", "--all"]
    page = subprocess.run([*argv, "--zoo-dir", str(zoo)], capture_output=True, text=True, timeout=300)
    assert page.returncode == 0, page.stderr
    html = (zoo / "report" / "index.html").read_text()
    sees = [line for line in html.splitlines() if "What it sees" in line]
    assert len(sees) == 2 and f"chelsea-full.jpg: {cat['source'][0]['name']}" in html
    assert any("person (" in line for line in sees)
