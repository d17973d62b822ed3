"""One pipeline: stage keys from what each stage reads, `zoo run --dry-run`, the deployer and format
tables, typed records, and the parsed-recipe cache of big zoos.

The models are a small ONNX classifier with a TIDL section (onnxruntime only: quick), served from
127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import standins
from conftest import FileServer, minimal_recipe, write_recipe
from test_convert import serve_source
from test_run import statuses, zoo_run

ZOO = [sys.executable, "-m", "zookit", "--recipes"]


def onnx_model(name: str) -> dict[str, Any]:
    doc = minimal_recipe(name)
    doc.update(
        model={"format": "onnx", "path": "c.onnx"},
        inputs=[{"name": "image", "shape": [1, 3, 32, 32], "layout": "NCHW"}],
        outputs=[{"name": "probs", "shape": [1, 10]}],
        preprocessing={
            "mean": [127.5, 127.5, 127.5],
            "scale": [0.0078125, 0.0078125, 0.0078125],
            "channel_order": "RGB",
            "layout": "NCHW",
        },
        targets=[{"name": "onnx", "format": "onnx", "tolerance": {"max_abs": 1e-5, "top1_agreement": 1.0}}],
        tidl={"target": "onnx", "tensor_bits": 8},
    )
    doc["sources"][0]["file"] = "c.onnx"
    return doc


def small_zoo(server: FileServer, tmp_path: Path, names: tuple[str, ...] = ("cls_a", "cls_b")) -> None:
    data = standins.onnx_classifier(tmp_path / "c.onnx")
    for name in names:
        doc = onnx_model(name)
        serve_source(doc, server, "c.onnx", data)
        write_recipe(tmp_path / "recipes", doc)


def dry_run(tmp_path: Path) -> dict[tuple[str, str], str]:
    """(model, stage) -> the reason it would run, or "current"."""
    proc = subprocess.run(
        [
            *ZOO,
            str(tmp_path / "recipes"),
            "run",
            "--all",
            "--dry-run",
            "--json",
            "--zoo-dir",
            str(tmp_path / "zoo"),
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, ZOO_CACHE_DIR=str(tmp_path / "cache")),
    )
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["stages"]
    return {(r["model"], r["stage"]): r["reason"] for r in rows}


def edit(recipe: Path, old: str, new: str) -> None:
    text = recipe.read_text()
    assert old in text, (old, text)
    recipe.write_text(text.replace(old, new))


def test_dry_run_says_what_would_be_redone_and_why_and_keys_follow_what_stages_read(
    server: FileServer, tmp_path: Path
) -> None:
    small_zoo(server, tmp_path)
    before = dry_run(tmp_path)
    assert before[("cls_a", "fetch")].startswith("c.onnx is not in the zoo")
    assert before[("cls_a", "convert:onnx")] == "not converted yet"
    assert before[("cls_a", "tidl")] == "target onnx is converted first"
    assert not (tmp_path / "zoo").exists() or not any((tmp_path / "zoo").rglob("*.onnx"))  # ran nothing

    code, report, err = zoo_run(tmp_path)
    assert code == 0, err
    assert set(dry_run(tmp_path).values()) == {"current"}

    # The description is read by no stage: nothing is redone. The TIDL settings are read by the
    # deploy stage alone: only the package is made again.
    a = tmp_path / "recipes" / "cls_a.yaml"
    edit(a, "description: a toy model for tests", "description: a toy model, described again")
    assert set(dry_run(tmp_path).values()) == {"current"}
    edit(a, "tensor_bits: 8", "tensor_bits: 16")
    plan = dry_run(tmp_path)
    assert plan[("cls_a", "tidl")] == "the converted model, deploy settings or tool versions changed"
    assert plan[("cls_a", "convert:onnx")] == "current" and plan[("cls_b", "tidl")] == "current"
    code, report, err = zoo_run(tmp_path)
    assert code == 0, err
    after = statuses(report)
    assert after[("cls_a", "tidl")] == "done" and after[("cls_a", "convert:onnx")] == "skipped"
    assert after[("cls_b", "tidl")] == "skipped"

    # A changed converted file, a missing package file and new images are each named.
    model = tmp_path / "zoo" / "cls_b" / "onnx" / "cls_b.onnx"
    model.write_bytes(model.read_bytes() + b"\0")
    (tmp_path / "zoo" / "cls_a" / "tidl" / "README.md").unlink()
    plan = dry_run(tmp_path)
    assert plan[("cls_b", "convert:onnx")] == "cls_b.onnx changed or is missing"
    assert plan[("cls_a", "tidl")] == "README.md is missing"
    # the text report: one line per stage, and a count
    proc = subprocess.run(
        [*ZOO, str(tmp_path / "recipes"), "run", "cls_b", "--dry-run", "--zoo-dir", str(tmp_path / "zoo")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0
    assert "run   cls_b  convert:onnx  cls_b.onnx changed or is missing" in proc.stdout
    assert proc.stdout.rstrip().endswith("2 of 3 stage(s) would run")  # the package follows the model


def test_a_new_deployer_is_its_own_entry_in_the_table(
    server: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deployer added to DEPLOYERS alone (here: a folder with the model and a package record) runs as
    a stage of every recipe its section selects, keyed and skipped like the others."""
    from zookit.deploy import DEPLOYERS, Deployer
    from zookit.deploy.common import DeployJob
    from zookit.fsutil import write_json
    from zookit.hashes import file_checksum
    from zookit.layout import Layout
    from zookit.pipeline.run import run_model
    from zookit.pipeline.stages import RunOptions
    from zookit.recipe import load_recipe

    made: list[str] = []

    def build(job: DeployJob) -> dict[str, Any]:
        folder = Layout(job.zoo_dir).deploy(job.recipe.name, "copy")
        folder.mkdir(parents=True, exist_ok=True)
        model = Layout(job.zoo_dir).target(job.recipe.name, "onnx") / job.manifest.output.file
        (folder / "model.onnx").write_bytes(model.read_bytes())
        record = {
            "files": {"model.onnx": file_checksum(folder / "model.onnx")},
            "ready_to_import": True,
            "stage_key": job.stage_key,
        }
        write_json(folder / "package.json", record)
        made.append(job.recipe.name)
        return record

    copy = Deployer(section=lambda r: r.task, target=lambda r: "onnx", reads=lambda r: r.name, build=build)
    monkeypatch.setitem(DEPLOYERS, "copy", copy)
    small_zoo(server, tmp_path, ("cls_a",))
    recipe = load_recipe(tmp_path / "recipes" / "cls_a.yaml")
    options = RunOptions(zoo_dir=tmp_path / "zoo", cache_dir=tmp_path / "cache")
    first = run_model(recipe, options)
    assert [(s.stage, s.status) for s in first.stages] == [
        ("fetch", "done"),
        ("convert:onnx", "done"),
        ("tidl", "done"),
        ("copy", "done"),
    ], first.as_dict()
    assert made == ["cls_a"] and (tmp_path / "zoo" / "cls_a" / "copy" / "model.onnx").is_file()
    again = run_model(recipe, options)
    assert {s.status for s in again.stages} == {"skipped"} and made == ["cls_a"]


def test_the_format_table_names_what_no_converter_makes() -> None:
    from zookit.convert.formats import FORMATS, converter
    from zookit.convert.prepare import SOURCES, Prepared
    from zookit.errors import ConversionError
    from zookit.recipe import Target, parse_recipe

    kinds = {s.kind for s in SOURCES.values()}
    assert kinds == {"tf-graph", "onnx", "tflite"}
    assert set(FORMATS["onnx"].converters) == kinds  # ONNX is made from every source
    recipe = parse_recipe(onnx_model("x"), "x.yaml")
    prepared = Prepared(recipe, [], [], kind="onnx")
    with pytest.raises(ConversionError, match=r"x/t: no converter makes tflite from a onnx source"):
        converter(prepared, Target(name="t", format="tflite"))


def test_records_load_what_stages_wrote_and_refuse_what_they_did_not(tmp_path: Path) -> None:
    from zookit.hashes import file_checksum
    from zookit.records import FileRecord, Manifest, Package

    assert Manifest.load(tmp_path) is None and Package.load(tmp_path) is None
    (tmp_path / "manifest.json").write_text('{"recipe": "x"}')  # another version's, or hand-made
    assert Manifest.load(tmp_path) is None
    (tmp_path / "m.onnx").write_bytes(b"model")
    manifest = Manifest(
        recipe="x",
        recipe_digest="d",
        conversion_digest="c",
        images=None,
        target={"name": "onnx"},
        sources={},
        options={},
        versions={},
        output=FileRecord.of(tmp_path / "m.onnx", file_checksum(tmp_path / "m.onnx")),
        stage_key="k",
        inputs=[],
        outputs=[],
        verification={"outputs": {"probs": {"max_abs": 0.5}}},
        timing={},
        created="now",
        extras={"heads": {"box": ["b"]}},
    )
    manifest.save(tmp_path)
    loaded = Manifest.load(tmp_path)
    assert loaded == manifest and loaded.heads == {"box": ["b"]} and loaded.worst_error == 0.5
    data = json.loads((tmp_path / "manifest.json").read_text())
    assert data["heads"] == {"box": ["b"]} and data["output"]["file"] == "m.onnx"  # the same document
    assert loaded.stale_because("k", None, tmp_path) is None
    assert loaded.stale_because("other", None, tmp_path) is not None
    st = (tmp_path / "m.onnx").stat()
    (tmp_path / "m.onnx").write_bytes(b"mode1")  # the same size and, set back, the same modification time
    os.utime(tmp_path / "m.onnx", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert loaded.stale_because("k", None, tmp_path) == "m.onnx changed or is missing"


def test_the_parsed_recipe_cache_never_serves_an_edited_file(tmp_path: Path) -> None:
    """`zoo list` keeps the parsed YAML of a folder's recipes; an edit (even one that keeps the size)
    is read again, and a broken edit is reported, not hidden by the cache."""
    env = dict(os.environ, ZOO_CACHE_DIR=str(tmp_path / "cache"))
    recipe = write_recipe(tmp_path / "recipes", minimal_recipe("toy", description="first words"))
    old = time.time() - 60
    os.utime(recipe, (old, old))

    def listed() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*ZOO, str(tmp_path / "recipes"), "list", "--json"],
            capture_output=True,
            text=True,
            env=env,
        )

    assert json.loads(listed().stdout)["recipes"][0]["description"] == "first words"
    assert list((tmp_path / "cache" / "recipe-verdicts").glob("*.json"))  # kept for the next listing
    recipe.write_text(recipe.read_text().replace("first words", "other words"))  # the same size
    os.utime(recipe, (old + 1, old + 1))
    assert json.loads(listed().stdout)["recipes"][0]["description"] == "other words"
    recipe.write_text(recipe.read_text().replace("task: classification", "task: [classification"))
    broken = listed()
    assert broken.returncode == 2 and "toy.yaml" in broken.stderr and "not valid YAML" in broken.stderr


def test_the_step_by_step_commands_record_what_zoo_run_finds_current(
    server: FileServer, tmp_path: Path
) -> None:
    """`zoo fetch`, `zoo convert` and `zoo tidl` run the pipeline's stages and record their keys: a `zoo run`
    after them has nothing to redo."""
    small_zoo(server, tmp_path, ("cls_a",))
    env = dict(os.environ, ZOO_CACHE_DIR=str(tmp_path / "cache"))
    for command in ("fetch", "convert", "tidl"):
        done = subprocess.run(
            [*ZOO, str(tmp_path / "recipes"), command, "cls_a", "--zoo-dir", str(tmp_path / "zoo")],
            capture_output=True,
            text=True,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        plan = dry_run(tmp_path)
        if command == "convert":
            assert (
                plan[("cls_a", "convert:onnx")] == "current" and plan[("cls_a", "tidl")] == "not packaged yet"
            )
    assert set(plan.values()) == {"current"}
    code, report, err = zoo_run(tmp_path)
    assert code == 0 and set(statuses(report).values()) == {"skipped"}, err


def test_a_labels_edit_makes_the_deployers_that_show_class_names_stale() -> None:
    """The TFLM and OpenVINO records carry class names: their stage keys read the recipe's labels."""
    import yaml

    from zookit.deploy import DEPLOYERS
    from zookit.recipe import load_recipe

    path = Path(__file__).resolve().parents[1] / "recipes" / "mobilenet_v1_quant.yaml"
    doc = yaml.safe_load(path.read_text())
    before = load_recipe(path, doc)
    doc["labels"] = {"names": [f"class {i}" for i in range(1001)]}
    after = load_recipe(path, doc)
    for name in ("openvino", "tflm"):
        assert DEPLOYERS[name].reads(before)["labels"] != DEPLOYERS[name].reads(after)["labels"], name
