"""Every route of the genuine SSD-MobileNet and MobileNet recipes against Google's original files, on a
folder of pictures (default: zookit's 32 shipped pictures). Run after `zoo run ssd_mobilenet_v1_quant
mobilenet_v1_quant --zoo-dir ZOO`:

    python bench/genuine_routes.py ZOO [PICTURES]

SSD routes: the released file (LiteRT), the heads with zookit's post-process (LiteRT), the ONNX heads
(ONNX Runtime) and the IR of them (OpenVINO) followed by zookit's post-process, the TIDL package's model.
Each route's detections are matched with the original's by class (IoU, score): matched/compared, mean
and smallest IoU, largest score difference, and how often the detection counts agree. The classifier:
top-1/top-5 agreement of each target with the original file and the top classes of three pictures.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from zookit.convert.tflite_trim import trim_tflite
from zookit.data import default_images, image_files, preprocess_image
from zookit.ports import POSTPROCESS_OP, Port
from zookit.recipe import RecipeBook
from zookit.recipe.labels import class_names
from zookit.verify.detections import DetectionMatch, match_detections

OUTS = [POSTPROCESS_OP, f"{POSTPROCESS_OP}:1", f"{POSTPROCESS_OP}:2", f"{POSTPROCESS_OP}:3"]


def litert(model: bytes) -> Any:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=model)
    it.allocate_tensors()

    def run(feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        for d in it.get_input_details():
            it.set_tensor(d["index"], feed[d["name"]])
        it.invoke()
        return [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]

    return run


def onnx_heads(path: Path) -> Any:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})


def openvino_heads(path: Path) -> Any:
    import openvino as ov

    from zookit.runtimes.openvino import FLOAT_CONFIG

    compiled = ov.Core().compile_model(str(path), "CPU", FLOAT_CONFIG)  # as zookit's verification runs it
    return lambda x: [np.asarray(v) for v in compiled(x).values()]


def detections(outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    boxes, classes, scores, count = outputs
    return boxes[0], scores[0], classes[0], int(count.ravel()[0])


def ssd(zoo: Path, pictures: list[Path]) -> None:
    book = RecipeBook()
    recipe = book.get("ssd_mobilenet_v1_quant")
    folder = zoo / recipe.name
    original = litert((folder / "source" / "detect.tflite").read_bytes())
    zookit = (folder / "tflite-zookit-postprocess" / f"{recipe.name}.tflite").read_bytes()
    # zookit's post-process alone: its model cut to start at the heads
    post = litert(trim_tflite(zookit, OUTS, ["Squeeze", "convert_scores"], "post-process"))
    port = Port("normalized_input_image_tensor", (1, 300, 300, 3), "uint8")
    assert recipe.preprocessing is not None
    feeds = [preprocess_image(p, recipe.preprocessing, port) for p in pictures]
    routes: dict[str, Any] = {
        "released file (LiteRT)": litert((folder / "tflite-released" / f"{recipe.name}.tflite").read_bytes()),
        "heads + zookit post-process (LiteRT)": litert(zookit),
        "TIDL package's model (LiteRT)": litert((folder / "tidl" / f"{recipe.name}.tflite").read_bytes()),
    }
    for title, heads in (
        (
            "ONNX heads (ONNX Runtime) + zookit post-process",
            onnx_heads(folder / "onnx" / f"{recipe.name}.onnx"),
        ),
        (
            "OpenVINO IR heads (CPU) + zookit post-process",
            openvino_heads(folder / "openvino" / f"{recipe.name}.xml"),
        ),
    ):
        routes[title] = lambda feed, heads=heads: post(
            dict(zip(["Squeeze", "convert_scores"], heads(feed[port.name]), strict=True))
        )
    names = class_names(recipe, folder / "source") or []
    expected = [original({port.name: x}) for x in feeds]
    print(f"SSD-MobileNet v1 quant, {len(pictures)} pictures; each route against the released file (LiteRT)")
    for title, run in routes.items():
        match, same_count = DetectionMatch(), 0
        for x, e in zip(feeds, expected, strict=True):
            a = run({port.name: x})
            match_detections(detections(e), detections(a), 0.5, 0.05, match)
            same_count += int(int(e[3].ravel()[0]) == int(a[3].ravel()[0]))
        mean = float(np.mean(match.ious)) if match.ious else float("nan")
        print(
            f"  {title}: matched {match.matched}/{match.considered}, mean IoU {mean:.6f}, smallest IoU "
            f"{match.min_iou:.4f}, largest score difference {match.max_score_diff:.4g}, same count {same_count}/{len(feeds)}"
        )
    whole = [(p, e) for p, e in zip(pictures, expected, strict=True) if "-full" in p.name]
    for picture, e in whole[:3]:
        _, scores, classes, _ = detections(e)
        best = ", ".join(f"{names[int(c)]} {s:.2f}" for c, s in zip(classes[:3], scores[:3], strict=True))
        print(f"  {picture.name}: {best}")


def classifier(zoo: Path, pictures: list[Path]) -> None:
    book = RecipeBook()
    recipe = book.get("mobilenet_v1_quant")
    folder = zoo / recipe.name
    port = Port("input", (1, 160, 160, 3), "uint8")
    assert recipe.preprocessing is not None
    feeds = [preprocess_image(p, recipe.preprocessing, port) for p in pictures]
    original = litert((folder / "source" / "mobilenet_v1_0.5_160_quant.tflite").read_bytes())
    expected = [original({"input": x})[0].ravel().astype(np.int64) for x in feeds]
    onnx = onnx_heads(folder / "onnx" / f"{recipe.name}.onnx")
    ov = openvino_heads(folder / "openvino" / f"{recipe.name}.xml")
    routes = {
        "tflite-uint8 (LiteRT)": lambda x: litert(
            (folder / "tflite-uint8" / f"{recipe.name}.tflite").read_bytes()
        )({"input": x})[0],
        "ONNX (ONNX Runtime)": lambda x: onnx(x)[0],
        "OpenVINO IR (CPU)": lambda x: ov(x)[0],
        "TIDL package's model (LiteRT)": lambda x: litert(
            (folder / "tidl" / f"{recipe.name}.tflite").read_bytes()
        )({"input": x})[0],
    }
    print(
        f"MobileNet v1 0.5/160 quant, {len(pictures)} pictures; each target against the original file (LiteRT)"
    )
    for title, run in routes.items():
        top1 = top5 = 0
        for x, e in zip(feeds, expected, strict=True):
            a = np.asarray(run(x)).ravel().astype(np.int64)
            top1 += int(np.argmax(a) == np.argmax(e))
            top5 += int(np.argmax(e) in np.argsort(-a, kind="stable")[:5])
        print(f"  {title}: top-1 {top1}/{len(feeds)}, top-5 {top5}/{len(feeds)}")
    names = class_names(recipe, folder / "source") or []
    for picture, e in [(p, e) for p, e in zip(pictures, expected, strict=True) if "-full" in p.name][:3]:
        best = np.argsort(-e, kind="stable")[:3]
        print(f"  {picture.name}: " + ", ".join(f"{names[i]} {e[i] / 256:.2f}" for i in best))


if __name__ == "__main__":
    zoo = Path(sys.argv[1])
    pictures = image_files(Path(sys.argv[2]) if len(sys.argv) > 2 else default_images())
    ssd(zoo, pictures)
    classifier(zoo, pictures)
