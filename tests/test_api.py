"""The Python API (issue #24 point 5), used exactly as docs/api.md shows it: open a zoo, scaffold a
recipe from a URL (a real HTTP server on 127.0.0.1), fetch, convert, run, inspect and check, typed
records back and the project's error types raised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import standins
import zookit
from conftest import FileServer


def test_public_names() -> None:
    for name in ("Zoo", "RunReport", "inspect", "check", "new_recipe", "ZooError", "Manifest", "Package"):
        assert name in zookit.__all__ and hasattr(zookit, name)
    assert issubclass(zookit.FetchError, zookit.ZooError) and issubclass(zookit.UsageError, zookit.ZooError)


def test_open_a_shipped_zoo_or_a_folder(tmp_path: Path) -> None:
    zoo = zookit.Zoo.open("mlperf-tiny", zoo_dir=tmp_path / "zoo")
    assert sorted(zoo.recipes) == ["ad_autoencoder", "ic_resnet8", "kws_dscnn", "vww_mobilenet"]
    assert sorted(zookit.Zoo.open("mlperf_tiny").recipes) == sorted(zoo.recipes)
    recipe = zoo.recipe("ic_resnet8")
    assert recipe.inputs[0].shape == [1, 32, 32, 3]
    assert "ssd_mobilenet_v1" in zookit.Zoo.open().recipes  # the default: the MLPerf inference recipes
    with pytest.raises(zookit.UsageError, match="did you mean 'ic_resnet8'"):
        zoo.recipe("ic_resnet")
    with pytest.raises(zookit.UsageError, match="does not exist"):
        zookit.Zoo.open(tmp_path / "no-such-folder")


def test_from_a_model_url_to_a_verified_model(tmp_path: Path, server: FileServer) -> None:
    data = standins.mobilenet_like(tmp_path / "built.pb")
    url = server.add("mobilenet_frozen.pb", data)
    cache = tmp_path / "cache"

    # docs/api.md: "A recipe for a new model"
    made = zookit.new_recipe("mnet", url, tmp_path / "recipes", cache_dir=cache)
    assert made.path == tmp_path / "recipes" / "mnet.yaml"
    assert made.info.inputs[0].name == "input" and made.recipe.sources[0].size == len(data)

    # docs/api.md: "Fetch, convert, run"
    zoo = zookit.Zoo.open(tmp_path / "recipes", zoo_dir=tmp_path / "zoo", cache_dir=cache)
    files = zoo.fetch(["mnet"])
    assert [(f.file, f.status) for f in files] == [("mobilenet_frozen.pb", "cached")]
    manifests = zoo.convert("mnet")
    assert [m.target["name"] for m in manifests] == ["tflite-float32"]
    manifest = manifests[0]
    assert manifest.worst_error is not None and manifest.worst_error < 1e-3
    assert (tmp_path / "zoo" / "mnet" / "tflite-float32" / manifest.output.file).is_file()
    assert zoo.manifest("mnet", "tflite-float32") == manifest

    report = zoo.run(["mnet"])
    assert not report.failed
    stages = {s.stage: s.status for s in report.models[0].stages}
    assert stages == {"fetch": "skipped", "convert:tflite-float32": "skipped"}
    document = report.as_dict()  # what `zoo run --json` prints
    assert document["failed"] == 0 and document["models"][0]["model"] == "mnet"
    json.dumps(document)
    report.raise_for_failures()

    # docs/api.md: "Model files"
    info = zookit.inspect(tmp_path / "zoo" / "mnet" / "tflite-float32" / "mnet.tflite")
    assert info.format == "tflite" and info.inputs[0].shape == [1, 224, 224, 3]
    findings = zookit.check(tmp_path / "zoo" / "mnet" / "tflite-float32" / "mnet.tflite")
    assert {f.op for f in findings} >= {"CONV_2D", "SOFTMAX"}


def test_errors_are_the_projects_types(tmp_path: Path, server: FileServer) -> None:
    standins.onnx_classifier(tmp_path / "c.onnx")
    zookit.new_recipe("gone", tmp_path / "c.onnx", tmp_path / "recipes", url=server.add("c.onnx", b"", "404"))
    zoo = zookit.Zoo.open(tmp_path / "recipes", zoo_dir=tmp_path / "zoo", cache_dir=tmp_path / "cache")
    with pytest.raises(zookit.FetchError, match="404"):
        zoo.fetch()
    with pytest.raises(zookit.UsageError, match="exists"):
        zookit.new_recipe("gone", tmp_path / "c.onnx", tmp_path / "recipes")
    with pytest.raises(zookit.UsageError, match="not a valid name"):
        zookit.new_recipe("Not Valid", tmp_path / "c.onnx", tmp_path / "recipes")
    with pytest.raises(zookit.UsageError, match="run `zoo fetch gone` first"):
        zoo.convert("gone")
    report = zoo.run(["gone"])
    assert [m.model for m in report.failed] == ["gone"]
    with pytest.raises(zookit.ZooError, match="gone: fetch"):
        report.raise_for_failures()
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    with pytest.raises(zookit.ZooError):
        zookit.inspect(tmp_path / "junk.onnx")
    with pytest.raises(zookit.UsageError):
        zookit.check(tmp_path)
