"""`zoo inspect` and `zoo new` (issue #24 point 5): what a model file takes and gives, the trim-point
heuristic on the stand-ins with the real tensor names, a recipe scaffolded from a file or a URL served on
127.0.0.1, and every hostile input the project's rules name (NUL, a folder or FIFO as FILE, empty and
garbage files, a 404, a bad name, an existing recipe)."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pytest
import yaml

import standins
from conftest import FileServer
from zookit.__main__ import main
from zookit.convert.anchors import ssd_anchors
from zookit.recipe import load_recipe, parse_recipe
from zookit.trimpoints import GraphNode, trim_points

TRACEBACK = "Traceback (most recent call last)"


def zoo(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    assert TRACEBACK not in err.getvalue() and "internal error" not in err.getvalue(), err.getvalue()
    return code, out.getvalue(), err.getvalue()


def points(path: Path) -> list[str]:
    code, out, err = zoo("inspect", str(path), "--json")
    assert code == 0, err
    return [p["tensor"] for p in json.loads(out)["trim_points"]]


# --- inspect ---------------------------------------------------------------------------------------


def test_inspect_frozen_graph_resnet50_cut_is_the_logits(tmp_path: Path) -> None:
    standins.resnet50_like(tmp_path / "r.pb")
    _code, out, _err = zoo("inspect", str(tmp_path / "r.pb"), "--json")
    info = json.loads(out)
    assert info["format"] == "tf-frozen-graph"
    assert info["inputs"] == [
        {"name": "input_tensor", "shape": [1, 224, 224, 3], "dtype": "float32", "quantization": None}
    ]
    assert {o["name"] for o in info["outputs"]} == {"softmax_tensor", "ArgMax"}
    assert info["operators"]["Conv2D"] == 1 and info["nodes"] == sum(info["operators"].values())
    # the real recipe's cut (recipes/resnet50_v1.yaml) comes first, before the outputs
    first = info["trim_points"][0]
    assert first["tensor"] == "resnet_model/dense/BiasAdd" and first["shape"] == [1, 1001]
    assert "logits" in first["reason"]


def test_inspect_mobilenet_text_output(tmp_path: Path) -> None:
    standins.mobilenet_like(tmp_path / "m.pb")
    code, out, err = zoo("inspect", str(tmp_path / "m.pb"))
    assert code == 0, err
    assert "input  float32  [1, 224, 224, 3]" in out
    assert "MobilenetV1/Predictions/Reshape_1" in out and "likely trim points" in out
    assert "MobilenetV1/Logits/SpatialSqueeze" in points(tmp_path / "m.pb")


@pytest.mark.slow
def test_inspect_ssd_finds_the_raw_heads(tmp_path: Path) -> None:
    from conftest import REPO

    detection = load_recipe(REPO / "recipes" / "ssd_mobilenet_v1.yaml").detection
    assert detection is not None and detection.anchors is not None
    spec = detection.anchors
    standins.tf_ssd_like(tmp_path / "ssd.pb", ssd_anchors(spec))
    found = points(tmp_path / "ssd.pb")
    # recipes/ssd_mobilenet_v1.yaml trims at exactly these two, before the NMS
    assert found[:2] == ["Squeeze", "Postprocessor/convert_scores"] or set(found[:2]) == {
        "Squeeze",
        "Postprocessor/convert_scores",
    }
    assert "detection_boxes" in found


def test_inspect_onnx_and_tflite(tmp_path: Path) -> None:
    standins.onnx_classifier(tmp_path / "c.onnx")
    out = zoo("inspect", str(tmp_path / "c.onnx"), "--json")[1]
    info = json.loads(out)
    assert info["format"] == "onnx" and info["inputs"][0]["shape"] == [-1, 3, 32, 32]
    assert info["inputs"][0]["dtype"] == "float32" and info["outputs"][0]["name"] == "probs"
    assert [p["tensor"] for p in info["trim_points"]] == ["logits", "probs"]
    assert info["operators"] == {
        "Conv": 1,
        "Flatten": 1,
        "Gemm": 1,
        "GlobalAveragePool": 1,
        "Relu": 1,
        "Softmax": 1,
    }
    _code, out, _err = zoo("inspect", str(tmp_path / "c.onnx"))
    assert "image  float32  [?, 3, 32, 32]" in out


def test_trim_points_heuristic_on_a_node_view() -> None:
    """The rules on a hand-made graph: a detector's heads joined by Concat before NMS, a decode in between."""
    nodes = [
        GraphNode("conv_a", "Conv", ["x"], ["a"]),
        GraphNode("conv_b", "Conv", ["x"], ["b"]),
        GraphNode("ra", "Reshape", ["a"], ["ra"]),
        GraphNode("rb", "Reshape", ["b"], ["rb"]),
        GraphNode("boxes", "Concat", ["ra", "rb"], ["boxes"]),
        GraphNode("sq", "Squeeze", ["boxes"], ["boxes_sq"]),
        GraphNode("decode", "Mul", ["boxes_sq", "anchors"], ["decoded"]),
        GraphNode("clip", "Concat", ["decoded", "decoded"], ["clipped"]),  # not a join of heads
        GraphNode("score", "Sigmoid", ["a"], ["scores"]),
        GraphNode("nms", "NonMaxSuppression", ["clipped", "scores"], ["selected"]),
    ]
    found = trim_points(nodes, ["selected"])
    tensors = [p.tensor for p in found]
    assert set(tensors[:2]) == {"boxes_sq", "scores"} and tensors[2:] == ["selected"]


@pytest.mark.skipif(not Path(os.environ.get("ZOO_SHARED", "../shared")).is_dir(), reason="no ../shared")
def test_inspect_real_files_when_present() -> None:
    from conftest import SHARED_MODELS

    tiny = SHARED_MODELS / "mlperf_tiny" / "keyword_spotting" / "trained_models"
    if not tiny.is_dir():
        pytest.skip("../shared/models/mlperf_tiny is absent")
    _code, out, _err = zoo("inspect", str(tiny / "kws_ref_model.tflite"), "--json")
    info = json.loads(out)
    assert info["format"] == "tflite" and info["inputs"][0]["dtype"] == "int8"
    assert info["inputs"][0]["quantization"]["zero_point"] == 83


# --- hostile inputs ----------------------------------------------------------------------------------


def test_inspect_hostile_paths(tmp_path: Path) -> None:
    assert zoo("inspect", "a\0b")[0] == 2
    code, _, err = zoo("inspect", str(tmp_path))
    assert code == 2 and "saved_model.pb" in err and len(err.splitlines()) == 1
    fifo = tmp_path / "pipe.onnx"
    os.mkfifo(fifo)
    code, _, err = zoo("inspect", str(fifo))  # must not block reading a pipe
    assert code == 2 and "not a regular file" in err
    (tmp_path / "empty.onnx").write_bytes(b"")
    code, _, err = zoo("inspect", str(tmp_path / "empty.onnx"))
    assert code == 1 and "empty" in err
    for name, data in (("junk.onnx", b"hello"), ("junk.tflite", os.urandom(300)), ("junk.pb", b"\x0a\x05")):
        (tmp_path / name).write_bytes(data)
        code, _, err = zoo("inspect", str(tmp_path / name))
        assert code == 1 and name in err and len(err.strip().splitlines()) == 1, err
    (tmp_path / "junk.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    code, _, err = zoo("inspect", str(tmp_path / "junk.h5"))
    assert code == 1 and "Keras" in err
    (tmp_path / "notes.txt").write_text("hello")
    code, _out, err = zoo("inspect", str(tmp_path / "notes.txt"))
    assert code == 2 and "cannot tell the model format" in err
    assert zoo("inspect", str(tmp_path / "missing.onnx"))[0] == 2


# --- new ---------------------------------------------------------------------------------------------


def test_new_from_a_file_validates_and_is_not_overwritten(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    data = standins.onnx_classifier(model)
    out_dir = tmp_path / "recipes"
    code, out, err = zoo("new", "my_model", "--from", str(model), "--dir", str(out_dir))
    assert code == 0, err
    assert "wrote" in out and "edit: sources[0].urls" in out
    path = out_dir / "my_model.yaml"
    recipe = load_recipe(path)
    assert recipe.sources[0].size == len(data)
    assert recipe.sources[0].checksum is not None and recipe.sources[0].checksum.startswith("sha256:")
    assert recipe.model.format == "onnx" and recipe.targets[0].format == "onnx"
    assert recipe.inputs[0].shape == [1, 3, 32, 32] and recipe.outputs[0].name == "probs"
    assert zoo("--recipes", str(out_dir), "validate")[0] == 0
    before = path.read_bytes()
    code, out, err = zoo("new", "my_model", "--from", str(model), "--dir", str(out_dir))
    assert code == 2 and "--force" in err and path.read_bytes() == before
    code, out, err = zoo(
        "new",
        "my_model",
        "--from",
        str(model),
        "--dir",
        str(out_dir),
        "--force",
        "--url",
        "https://example.org/m.onnx",
    )
    assert code == 0 and "example.org/m.onnx" in path.read_text()
    assert [p.name for p in out_dir.iterdir()] == ["my_model.yaml"]  # no temporary file left


def test_new_hostile(tmp_path: Path, server: FileServer) -> None:
    model = tmp_path / "m.onnx"
    standins.onnx_classifier(model)
    d = str(tmp_path / "r")
    for bad in ("Bad Name", "../x", "", "a\0b", "-x"):
        code, _, err = zoo("new", bad, "--from", str(model), "--dir", d)
        assert code == 2, (bad, err)
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").iterdir())
    os.mkfifo(tmp_path / "fifo.onnx")
    for source in (str(tmp_path), str(tmp_path / "fifo.onnx"), "x\0y", str(tmp_path / "missing.onnx")):
        assert zoo("new", "ok", "--from", source, "--dir", d)[0] == 2
    (tmp_path / "empty.onnx").write_bytes(b"")
    assert zoo("new", "ok", "--from", str(tmp_path / "empty.onnx"), "--dir", d)[0] == 1
    gone = server.add("gone.onnx", b"", mode="404")
    code, _out, err = zoo("new", "ok", "--from", gone, "--dir", d, "--cache-dir", str(tmp_path / "c"))
    assert code == 1 and "404" in err and len(err.strip().splitlines()) == 1
    assert zoo("new", "ok", "--from", "ftp://x/y.onnx", "--dir", d)[0] == 2
    archive = server.add("m.tar.gz", b"x")
    assert zoo("new", "ok", "--from", archive, "--dir", d)[0] == 2
    assert zoo("new", "ok", "--from", str(model), "--dir", d, "--url", "not a url")[0] == 2
    assert zoo("new", "ok", "--from", str(model), "--dir", str(model))[0] == 2  # --dir names a file
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").iterdir())


def test_new_from_a_url_downloads_into_the_cache(tmp_path: Path, server: FileServer) -> None:
    data = standins.mobilenet_like(tmp_path / "built.pb")
    url = server.add("mobilenet_v1_1.0_224_frozen.pb", data)
    cache = tmp_path / "cache"
    code, out, err = zoo(
        "new",
        "mnet",
        "--from",
        url,
        "--dir",
        str(tmp_path / "r"),
        "--cache-dir",
        str(cache),
        "--tidl",
        "--json",
    )
    assert code == 0, err
    made = json.loads(out)
    doc = yaml.safe_load((tmp_path / "r" / "mnet.yaml").read_text())
    recipe = parse_recipe(doc, "mnet")
    assert recipe.sources[0].urls == [url] and recipe.sources[0].size == len(data)
    assert recipe.preprocessing is not None and recipe.tidl is not None and recipe.task == "classification"
    assert made["model"]["format"] == "tf-frozen-graph"
    assert list((cache / "files" / "sha256").rglob("*"))  # the bytes went through the cache
    assert len(server.route("mobilenet_v1_1.0_224_frozen.pb").requests) == 1
    # a second scaffold of the same URL is served from the cache
    assert zoo("new", "mnet2", "--from", url, "--dir", str(tmp_path / "r"), "--cache-dir", str(cache))[0] == 0
    assert len(server.route("mobilenet_v1_1.0_224_frozen.pb").requests) == 1
