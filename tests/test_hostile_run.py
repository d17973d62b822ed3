"""Issue 28, "Faults from an independent hostile run": each case the run found, as a test named after it.

Hangs, planted content (recipe lines, chart files, links out of the zoo), damaged packages served as
current, a user's file changed, internal errors on hostile model files and records, and the minor cases.
Each ends in one clear line naming the file and what is wrong (exit 2 for bad input, 1 for a failure),
or in a correct result; a hang is a test that times out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import write_recipe
from test_report import MANIFEST, a_zoo_of_records

TRACEBACK = "Traceback (most recent call last)"


def zoo(*argv: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """The zoo command in its own process; a hang fails the test by its timeout."""
    return subprocess.run(
        [sys.executable, "-m", "zookit", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **env),
        stdin=subprocess.DEVNULL,
    )


def one_line(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The one error line of a failed command: no traceback, no "internal error", the exit code asked."""
    err = [line for line in proc.stderr.splitlines() if line.strip()]
    assert TRACEBACK not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    assert proc.returncode == code and len(err) == 1, (proc.returncode, proc.stderr)
    return err[0]


def clean(proc: subprocess.CompletedProcess[str]) -> None:
    assert TRACEBACK not in proc.stderr and "internal error" not in proc.stderr, proc.stderr


# --- hangs ----------------------------------------------------------------------------------------


def cyclic_onnx(path: Path) -> Path:
    """Reshape -> Concat -> TopK, the Reshape reading its own output: a graph with a cycle."""
    import onnx
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Reshape", ["reshaped", "shape"], ["reshaped"], name="reshape"),
        helper.make_node("Concat", ["x", "reshaped"], ["joined"], axis=1, name="concat"),
        helper.make_node("TopK", ["joined", "k"], ["values", "indices"], name="topk"),
    ]
    graph = helper.make_graph(
        nodes,
        "cyclic",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("values", TensorProto.FLOAT, [1, 1])],
        initializer=[
            helper.make_tensor("shape", TensorProto.INT64, [2], [1, -1]),
            helper.make_tensor("k", TensorProto.INT64, [1], [1]),
        ],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_hang_inspect_and_new_on_a_cyclic_onnx_graph(tmp_path: Path) -> None:
    model = cyclic_onnx(tmp_path / "cyclic.onnx")
    proc = zoo("inspect", str(model), timeout=60)
    clean(proc)
    assert proc.returncode == 0 and "the graph is cyclic (tensor 'reshaped'" in proc.stdout, proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "zookit", "new", "cyc", "--from", str(model)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    clean(proc)
    assert proc.returncode == 0 and (tmp_path / "cyc.yaml").is_file(), proc.stderr


def test_trim_point_walks_end_on_cycles() -> None:
    from zookit.trimpoints import GraphNode, cycle_tensor, trim_points

    nodes = [
        GraphNode("a", "Reshape", ["b_out"], ["a_out"]),
        GraphNode("b", "Squeeze", ["a_out"], ["b_out"]),
        GraphNode("c", "Concat", ["a_out", "x"], ["c_out"]),
        GraphNode("nms", "NonMaxSuppression", ["c_out"], ["boxes"]),
    ]
    assert [p.tensor for p in trim_points(nodes, ["boxes"])] == ["boxes"]
    assert cycle_tensor(nodes) in ("a_out", "b_out")
    assert cycle_tensor(nodes[2:]) is None


@pytest.mark.parametrize("option", ["--baseline", "--run"])
def test_hang_report_baseline_fifo_and_dev_zero_link(tmp_path: Path, option: str) -> None:
    recipes = a_zoo_of_records(tmp_path)
    fifo = tmp_path / "old.json"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    for bad in (fifo, zero):
        proc = zoo("--recipes", str(recipes), "report", "--all", "--zoo-dir", str(tmp_path / "zoo"),
                   option, str(bad), timeout=60)  # fmt: skip
        line = one_line(proc, 2)
        assert line.endswith(
            f"{option} {bad}: not a regular file (a pipe, device or folder is not a JSON document)"
        )


# --- internal errors: zoo report on hostile records -------------------------------------------------


def hostile_records(tmp_path: Path) -> Path:
    """Records in the zoo that no zookit wrote: huge integers, deep nesting, wrong types everywhere."""
    recipes = a_zoo_of_records(tmp_path)
    good = tmp_path / "zoo/good/tflite-int8"
    manifest = json.loads(json.dumps(MANIFEST))  # readable, every list and key of the wrong type
    manifest["verification"]["failures"] = 7
    manifest["verification"]["top1"] = {"judged_on": ["real_images"], "real_images": 3}
    manifest["verification"]["reference"] = {
        "target_vs_upstream_top1": {"judged_on": ["all"]},
        "upstream_error": 5,
    }
    (tmp_path / "zoo/stray/onnx/manifest.json").write_text(json.dumps(manifest))
    manifest["verification"]["outputs"] = {"output": {"max_abs": 10**400}}
    text = json.dumps(manifest).replace('"size": 2048', '"size": ' + "9" * 400)
    (good / "manifest.json").write_text(text)
    (good / "tflm.json").write_text("[" * 100_000 + "]" * 100_000)
    tidl = tmp_path / "zoo/good/tidl"
    tidl.mkdir(parents=True)
    (tidl / "package.json").write_text(
        json.dumps({"files": {"a": "sha256:00"}, "check": "not a list", "missing": 5, "ready_to_import": 1})
    )
    ov = tmp_path / "zoo/foreign/openvino"
    ov.mkdir(parents=True)
    (ov / "package.json").write_text(
        json.dumps({"float": {"verification": {"passed": False, "failures": 3}}, "int8": [1]})
    )
    return recipes


def test_internal_error_report_on_hostile_records(tmp_path: Path) -> None:
    recipes = hostile_records(tmp_path)
    out = tmp_path / "out"
    proc = zoo("--recipes", str(recipes), "report", "--all", "--zoo-dir", str(tmp_path / "zoo"),
               "--out", str(out), "--json")  # fmt: skip
    clean(proc)
    assert proc.returncode == 0, proc.stderr
    models = {m["name"]: m for m in json.loads(proc.stdout)["models"]}
    good = models["good"]
    target = good["targets"][0]
    assert target["status"] == "unreadable" and "manifest.json" in target["problem"], target
    deployers = {d["deployer"]: d for d in good["deployers"]}
    assert deployers["tflm:tflite-int8"]["status"] == "unreadable"
    assert deployers["tflm:tflite-int8"]["problem"] == "tflm.json is not readable JSON (corrupted?)"
    assert deployers["tidl"]["missing"] == [] and deployers["tidl"]["operators"] == []
    assert "stray" in json.loads(proc.stdout)["left_out"]  # no recipe names it
    from zookit.report import build  # the folders no recipe names, read all the same (foreign=True)

    models = {m["name"]: m for m in build(tmp_path / "zoo", [], foreign=True)["models"]}
    stray = models["stray"]["targets"][0]
    assert (stray["status"], stray["problem"], stray["top1_on"]) == ("passed", None, "decisive samples")
    assert stray["reference"]["target_vs_upstream_top1"] is None
    ov = {d["deployer"]: d for d in models["foreign"]["deployers"]}["openvino"]
    assert ov["status"] == "failed" and ov["int8"] is None
    assert (out / "index.html").is_file()


def test_internal_error_report_on_hostile_run_and_baseline_rows(tmp_path: Path) -> None:
    recipes = a_zoo_of_records(tmp_path)
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"models": [
        {"model": "good", "stages": [{"stage": ["x"], "status": "failed", "error": {"a": 1}}, 5]},
        {"model": ["good"]}, {"model": "good", "stages": "nope"},
    ]}))  # fmt: skip
    baseline = tmp_path / "old.json"
    baseline.write_text(json.dumps({"format": "zookit-report", "models": [
        {"name": "good", "targets": [{"target": "tflite-int8", "status": 3, "top1_agreement": "high",
                                      "size": float("inf"), "settings": [1]}],
         "deployers": [{"deployer": "tflm:tflite-int8", "status": None, "arena_bytes": [1]}, 7]},
        {"name": ["good"], "targets": "x"}, {"name": "foreign", "targets": [5], "deployers": {"a": 1}},
    ]}))  # fmt: skip
    proc = zoo("--recipes", str(recipes), "report", "--all", "--zoo-dir", str(tmp_path / "zoo"),
               "--out", str(tmp_path / "out"), "--run", str(run), "--baseline", str(baseline))  # fmt: skip
    clean(proc)
    assert proc.returncode == 0, proc.stderr
    assert "against " in proc.stdout
    for content, message in (
        ("[" * 100_000 + "]" * 100_000, "nested more than 200 levels deep"),
        ('{"format": "zookit-report", "models": [], "x": ' + "1" * 400 + "}", "a number of 400 digits"),
    ):
        baseline.write_text(content)
        proc = zoo("--recipes", str(recipes), "report", "--all", "--zoo-dir", str(tmp_path / "zoo"),
                   "--out", str(tmp_path / "out"), "--baseline", str(baseline))  # fmt: skip
        assert f"--baseline {baseline}: {message}" in one_line(proc, 2)


# --- planted data in the page, writes outside the zoo ------------------------------------------------


def test_planted_data_in_the_page_chart_cache_files_and_links(tmp_path: Path) -> None:
    recipes = a_zoo_of_records(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-PASSWORD")
    argv = ["--recipes", str(recipes), "report", "--all", "--zoo-dir", str(tmp_path / "zoo")]
    env = {"ZOO_CACHE_DIR": str(tmp_path / "cache")}
    assert zoo(*argv, **env).returncode == 0
    planted = sorted((tmp_path / "cache").rglob("*.svg"))
    for i, svg in enumerate(planted):  # what a cache of drawn charts would be read back from
        svg.unlink()
        if i % 2:
            svg.symlink_to(secret)
        else:
            svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert("planted")</script></svg>')
    proc = zoo(*argv, **env)
    clean(proc)
    page = (tmp_path / "zoo/report/index.html").read_text()
    assert proc.returncode == 0 and "<svg" in page
    assert 'alert("planted")' not in page and "SECRET-PASSWORD" not in page


def test_writes_outside_the_zoo_report_folder_a_link(tmp_path: Path) -> None:
    recipes = a_zoo_of_records(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "zoo/report").symlink_to(elsewhere)
    proc = zoo("--recipes", str(recipes), "report", "--all", "--zoo-dir", str(tmp_path / "zoo"))
    line = one_line(proc, 1)
    assert f"{tmp_path / 'zoo/report'} is a symbolic link; zookit does not write through links" in line
    assert list(elsewhere.iterdir()) == []


# --- damaged packages served -----------------------------------------------------------------------


@pytest.fixture
def deployed(server: Any, tmp_path: Path) -> Path:
    """One ONNX classifier converted (onnx target) and deployed to TIDL and OpenVINO."""
    import standins
    from test_convert import serve_source
    from test_pipeline import onnx_model

    tmp = tmp_path
    doc = onnx_model("cls")
    doc["openvino"] = {"target": "onnx", "int8": False, "latency": False}
    serve_source(doc, server, "c.onnx", standins.onnx_classifier(tmp / "c.onnx"))
    write_recipe(tmp / "recipes", doc)
    proc = run_all(tmp)
    assert proc.returncode == 0, proc.stderr
    return tmp


def run_all(tmp: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return zoo("--recipes", str(tmp / "recipes"), "run", "--all", "--json", "--zoo-dir", str(tmp / "zoo"),
               *argv, timeout=600, ZOO_CACHE_DIR=str(tmp / "cache"))  # fmt: skip


def stage_status(proc: subprocess.CompletedProcess[str]) -> dict[str, str]:
    clean(proc)
    return {s["stage"]: s["status"] for m in json.loads(proc.stdout)["models"] for s in m["stages"]}


def damage(path: Path, how: str) -> None:
    """Change a file's bytes and set its modification time back: size and mtime say nothing changed."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    if how == "flip":
        data[len(data) // 2] ^= 0xFF
    elif how == "truncate":
        data = data[: len(data) // 2]
    else:
        data = bytearray(b"<garbage>" * (len(data) // 9 + 1))[: len(data)]
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_damaged_packages_served_openvino_tidl_and_the_converted_target(deployed: Path) -> None:
    zoo_dir = deployed / "zoo/cls"
    assert set(stage_status(run_all(deployed)).values()) == {"skipped"}  # warm: nothing redone
    bins = sorted((zoo_dir / "openvino").rglob("*.bin"))
    xmls = sorted((zoo_dir / "openvino").rglob("*.xml"))
    tidl = json.loads((zoo_dir / "tidl/package.json").read_text())["files"]
    # each round damages files of different stages at once: every one of them is redone, nothing else
    rounds = [
        [(bins[0], "flip", "openvino"), (zoo_dir / "tidl" / sorted(tidl)[0], "truncate", "tidl")],
        [(xmls[0], "garbage", "openvino"), (zoo_dir / "onnx/cls.onnx", "flip", "convert:onnx")],
    ]
    for damaged in rounds:
        for path, how, _ in damaged:
            damage(path, how)
        status = stage_status(run_all(deployed))
        redone = {stage for stage, s in status.items() if s == "done"}
        expected = {stage for _, _, stage in damaged}
        assert expected <= redone and ("convert:onnx" in redone) == ("convert:onnx" in expected), status
    assert set(stage_status(run_all(deployed)).values()) == {"skipped"}
    # writes outside the zoo: a package folder that is a link is not written through when redone
    outside = deployed / "outside"
    (zoo_dir / "tidl").rename(outside)
    (zoo_dir / "tidl").symlink_to(outside)
    damage(outside / sorted(tidl)[0], "flip")

    def contents() -> dict[str, bytes]:
        return {str(p.relative_to(outside)): p.read_bytes() for p in outside.rglob("*") if p.is_file()}

    before = contents()
    proc = run_all(deployed)
    clean(proc)
    assert proc.returncode == 1 and f"{zoo_dir / 'tidl'} is a symbolic link; zookit does not write" in (
        proc.stdout + proc.stderr
    )
    assert contents() == before


# --- a user's file changed --------------------------------------------------------------------------


def test_a_users_file_changed_cache_entry_hard_linked_to_a_0600_file(server: Any, tmp_path: Path) -> None:
    import stat

    from conftest import sha256
    from test_fetch import PAYLOAD, fetch, options, recipe_for
    from zookit.fetch.cache import Cache

    url = server.add("toy.pb", PAYLOAD)
    cache = Cache(tmp_path / "cache")
    assert fetch(recipe_for([url]), options(tmp_path, cache=cache)).status == "downloaded"
    entry = cache.entry(sha256(PAYLOAD))
    entry.unlink()
    user = tmp_path / "mine.pb"
    user.write_bytes(b"the user's own bytes")
    user.chmod(0o600)
    os.link(user, entry)  # the cache entry is another name of the user's file
    source = tmp_path / "zoo/toy/source/toy.pb"
    source.unlink()
    source.write_bytes(b"damaged")  # the zoo's copy needs repair: from the cache, else downloaded
    result = fetch(recipe_for([url]), options(tmp_path, cache=cache, verify=True))
    assert not result.error and (tmp_path / "zoo/toy/source/toy.pb").read_bytes() == PAYLOAD
    assert stat.S_IMODE(user.stat().st_mode) == 0o600 and user.read_bytes() == b"the user's own bytes"


# --- planted recipe content -------------------------------------------------------------------------

PLANTS = {
    "license": "out\nlicense: EVIL #",
    "sources": "out\nsources:\n- file: evil.onnx\n  urls: [https://evil.invalid/e.onnx]\n  size: 1\n"
    "  checksum: sha256:" + "0" * 64 + "\n#",
    "other breaks": "out\rlicense: EVIL\u2028x\u0085y #",
}


def onnx_with_output(path: Path, output: str) -> Path:
    """A one-node ONNX model (Relu) whose output tensor has the name given."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], [output], name="relu")],
        "planted",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, [1, 4])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_planted_recipe_content_tensor_names_in_comments(tmp_path: Path, plant: str) -> None:
    import yaml

    from zookit.hashes import file_checksum
    from zookit.scaffold import new_recipe

    model = onnx_with_output(tmp_path / "m.onnx", PLANTS[plant])
    made = new_recipe("m", model, tmp_path / "recipes")
    doc = yaml.safe_load(made.path.read_text())
    assert doc["license"] == "UNKNOWN"  # the placeholder zoo new writes
    assert [s["checksum"] for s in doc["sources"]] == [file_checksum(model)]
    assert doc["outputs"][0]["name"] == PLANTS[plant]  # the name itself is kept, as data
    assert made.recipe.outputs[0].name == PLANTS[plant]
    for line in made.path.read_text().splitlines():
        assert not line.startswith(("license: EVIL", "sources:\n- file: evil")), line


def test_planted_recipe_content_read_back_before_the_rename(tmp_path: Path) -> None:
    from zookit.errors import ZooError
    from zookit.scaffold import _as_meant

    meant = {"name": "m", "license": "EDIT: the model's license"}
    written = tmp_path / ".m.yaml.tmp"
    written.write_text("name: m\nlicense: 'EDIT: the model''s license'\n# x\nlicense: EVIL\n")
    with pytest.raises(ZooError, match=r"does not read back as meant \(license differ\)"):
        _as_meant(written, meant, tmp_path / "m.yaml")


# --- internal errors: hostile .tflite files ---------------------------------------------------------


def tflite_bytes(mutate: Any = None, names: tuple[bytes, ...] = (b"x", b"y")) -> bytes:
    """A valid one-operator TFLite model (RELU of a [1, 4] float tensor), built with the flatbuffer schema's
    object API; ``mutate`` changes the object tree before it is packed."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT()
    model.version = 3
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.RELU
    model.operatorCodes, model.buffers = [code], [schema.BufferT()]
    graph = schema.SubGraphT()
    graph.tensors = []
    for name in names:
        tensor = schema.TensorT()
        tensor.name, tensor.shape, tensor.type, tensor.buffer = name, [1, 4], schema.TensorType.FLOAT32, 0
        graph.tensors.append(tensor)
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0], [1]
    graph.operators, graph.inputs, graph.outputs = [op], [0], [1]
    model.subgraphs = [graph]
    if mutate is not None:
        mutate(model)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _set(path: str, value: Any) -> Any:
    def mutate(model: Any) -> None:
        *parents, last = path.split(".")
        obj = model.subgraphs[0]
        for part in parents:
            obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
        setattr(obj, last, value)

    return mutate


HOSTILE_TFLITE = {
    "tensor without a name": (_set("tensors.1.name", None), "tensor #1 has no name"),
    "non-UTF-8 name": (None, "tensor #1's name is not UTF-8 text"),
    "rank 255": (_set("tensors.1.shape", [1] * 255), "tensor 'y' has a shape of 255 dimensions (at most 16)"),
    "negative size": (
        _set("tensors.1.shape", [1, -7]),
        "tensor 'y' has a negative size in its shape [1, -7]",
    ),
    "operator tensor out of bounds": (_set("operators.0.inputs", [57]), "operator #0 (RELU) names tensor 57"),
    "graph output out of bounds": (_set("outputs", [9]), "the graph's inputs or outputs name tensor 9"),
    "buffer out of bounds": (_set("tensors.0.buffer", 40), "tensor 'x' names buffer 40; the file has 1"),
    "root offset out of the file": (None, "not a readable TFLite model (unpack_from requires"),
    "truncated": (None, "not a readable TFLite model"),
}


@pytest.fixture(scope="module")
def hostile_tflite(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tflite")
    out = {}
    for case, (mutate, _) in HOSTILE_TFLITE.items():
        if case == "non-UTF-8 name":
            data = tflite_bytes(names=(b"x", b"\xff\xfe"))
        elif case == "root offset out of the file":
            data = bytearray(tflite_bytes())
            data[0:4] = (len(data) + 1000).to_bytes(4, "little")
        elif case == "truncated":
            data = tflite_bytes()[:100]
        else:
            data = tflite_bytes(mutate)
        out[case] = folder / f"{case.replace(' ', '_')}.tflite"
        out[case].write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("case", sorted(HOSTILE_TFLITE))
def test_internal_error_hostile_tflite_in_inspect_new_check(
    hostile_tflite: dict[str, Path], case: str, tmp_path: Path
) -> None:
    from zookit.errors import ZooError
    from zookit.graphs import TfliteModel
    from zookit.modelinfo import inspect_model
    from zookit.scaffold import new_recipe

    path, fragment = hostile_tflite[case], HOSTILE_TFLITE[case][1]
    for attempt in (
        lambda: inspect_model(path),
        lambda: new_recipe("m", path, tmp_path),
        lambda: TfliteModel(path).as_graph(),  # what zoo check reads
    ):
        with pytest.raises(ZooError) as info:
            attempt()
        assert str(info.value).startswith(f"{path}: ") and fragment in str(info.value), info.value
    assert not list(tmp_path.iterdir())
    proc = zoo("check", str(path))
    assert fragment in one_line(proc, 1)


def test_a_valid_tflite_built_the_same_way_is_read() -> None:
    """The hostile files differ from a model zookit reads only by the fault each plants."""
    import tempfile

    from zookit.modelinfo import inspect_model

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ok.tflite"
        path.write_bytes(tflite_bytes())
        info = inspect_model(path)
    assert [(t.name, t.shape) for t in info.inputs + info.outputs] == [("x", [1, 4]), ("y", [1, 4])]
    assert info.operators == {"RELU": 1}


# --- minor --------------------------------------------------------------------------------------------


def test_minor_a_server_forcing_gzip_on_a_binary_is_decoded_when_it_verifies(
    server: Any, tmp_path: Path
) -> None:
    from conftest import sha256
    from test_fetch import PAYLOAD, fetch, options, recipe_for

    url = server.add("toy.pb", PAYLOAD, mode="gzip")  # really gzip-compressed, labelled so
    result = fetch(recipe_for([url]), options(tmp_path))
    assert result.status == "downloaded" and not result.error, result.error
    assert result.checksum == sha256(PAYLOAD)
    assert (tmp_path / "zoo/toy/source/toy.pb").read_bytes() == PAYLOAD
    # decoded bytes that do not verify are not taken: the file is refused as before
    url = server.add("other.pb", PAYLOAD[::-1], mode="gzip")
    result = fetch(recipe_for([url], name="other", file="other.pb"), options(tmp_path / "fresh"))
    assert result.status == "failed" and "checksum mismatch" in (result.error or ""), result.error


# --- internal errors: ONNX external data, compare_with, --samples ------------------------------------


def test_internal_error_check_onnx_external_data_outside_the_folder(tmp_path: Path) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    (tmp_path / "secret.bin").write_bytes(np.ones(16, np.float32).tobytes())
    weights = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    weights.data_location = TensorProto.EXTERNAL
    weights.ClearField("raw_data")
    weights.external_data.add(key="location", value="../secret.bin")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
        "external",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        initializer=[weights],
    )
    (tmp_path / "m").mkdir()
    model = tmp_path / "m/ext.onnx"
    model.write_bytes(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()
    )
    proc = zoo("check", str(model))
    line = one_line(proc, 1)
    assert f"{model}: initializer 'w' keeps its data in '../secret.bin', outside the model's folder" in line
    assert onnx.load(str(model), load_external_data=False).graph.initializer[0].name == "w"


def test_internal_error_compare_with_another_shape_or_a_non_utf8_name(tmp_path: Path) -> None:
    from zookit.errors import VerificationError, ZooError
    from zookit.ports import Port
    from zookit.verify.upstream import upstream_model

    inputs, outputs = [Port("x", (1, 4), "float32")], [Port("y", (1, 4), "float32")]
    good = tmp_path / "good.tflite"
    good.write_bytes(tflite_bytes())
    assert upstream_model(good, inputs, outputs, "m/t") == good.read_bytes()
    other = tmp_path / "other.tflite"
    other.write_bytes(tflite_bytes(_shape_all([1, 8])))  # the same graph on 8 values, not 4
    with pytest.raises(
        VerificationError,
        match=r"m/t: compare_with: .*other.tflite: input 'x' is \[1, 8\], the converted model's 'x' is \[1, 4\]",
    ):
        upstream_model(other, inputs, outputs, "m/t")
    named = tmp_path / "named.tflite"
    named.write_bytes(tflite_bytes(names=(b"x", b"\xff\xfe")))
    with pytest.raises(
        ZooError, match=r"named.tflite: not a valid TFLite model: tensor #1's name is not UTF-8"
    ):
        upstream_model(named, inputs, outputs, "m/t")
    with pytest.raises(VerificationError, match=r"compare_with: .*missing.tflite is missing; fetch it"):
        upstream_model(tmp_path / "missing.tflite", inputs, outputs, "m/t")


def _shape_all(shape: list[int]) -> Any:
    def mutate(model: Any) -> None:
        for tensor in model.subgraphs[0].tensors:
            tensor.shape = list(shape)

    return mutate


def test_internal_error_samples_npy_header_claiming_4_tib(tmp_path: Path) -> None:
    import io

    import numpy as np

    from zookit.ports import Port
    from zookit.samples import SampleError, user_samples

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (1 << 40,)}
    )
    folder = tmp_path / "samples"
    folder.mkdir()
    (folder / "huge.npy").write_bytes(header.getvalue() + b"\0" * 64)  # 64 bytes of data, not 4 TiB
    with pytest.raises(
        SampleError, match=r"huge.npy: its header claims \[1099511627776\] float32 \(4398046511104 bytes\)"
    ):
        user_samples(folder, [Port("x", (1, 4), "float32")])
    (folder / "huge.npy").unlink()
    np.save(folder / "ok.npy", np.arange(8, dtype=np.float32).reshape(2, 4))
    assert [s["x"].tolist() for s in user_samples(folder, [Port("x", (1, 4), "float32")])] == [
        [[0, 1, 2, 3]],
        [[4, 5, 6, 7]],
    ]
