"""Issue 28 (the first hour, second pass): what a new user meets on the README's path. Each test is named
after the issue's point it pins: a missing optional deployer library skips that deployer with one line
(point 1); errors a user caused are one line naming the recipe field (point 6); TensorFlow's own noise
stays out of the terminal (point 7); every deployer of the table is a command (point 10)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import standins

# run zookit's command line with the named top-level modules made unimportable, as on an install
# without their extra (a meta-path finder placed first: `import openvino` raises ModuleNotFoundError)
BLOCKED_RUN = """
import sys
from importlib.abc import MetaPathFinder

class Blocked(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Blocked())
from zookit.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def zoo_without(blocked: set[str], *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    code = BLOCKED_RUN.format(blocked=blocked)
    return subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def zoo(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zookit", *argv], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def onnx_recipe(tmp: Path, **extra: Any) -> Path:
    """A recipe `zoo new` wrote for a small ONNX classifier, with ``extra`` sections added."""
    models = tmp / "models"
    models.mkdir(parents=True, exist_ok=True)
    standins.onnx_classifier(models / "c.onnx")
    made = zoo("new", "m", "--from", str(models / "c.onnx"), "--dir", "recipes", cwd=tmp)
    assert made.returncode == 0, made.stderr
    path = tmp / "recipes" / "m.yaml"
    doc = yaml.safe_load(path.read_text()) | extra
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_point1_a_missing_deployer_library_skips_that_deployer_with_one_line(tmp_path: Path) -> None:
    onnx_recipe(tmp_path, openvino={"target": "onnx", "int8": False, "latency": False})
    argv = ("--recipes", "recipes", "run", "m", "--mirror", "models", "--offline")
    run = zoo_without({"openvino", "nncf"}, *argv, "--json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr  # the model is ok: its conversion was made and verified
    report = json.loads(run.stdout)
    stages = {s["stage"]: s for s in report["models"][0]["stages"]}
    assert stages["convert:onnx"]["status"] == "done"
    assert stages["openvino"]["status"] == "skipped"
    assert stages["openvino"]["error"].startswith(
        "needs the openvino extra (pip install 'zookit[openvino]')"
    ), stages["openvino"]
    assert report["failed"] == 0 and report["models"][0]["status"] == "ok"

    table = zoo_without({"openvino", "nncf"}, *argv, cwd=tmp_path)  # nothing silent: the summary says it
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if line.startswith("m ") and "openvino" in line)
    assert "skipped" in row and "needs the openvino extra" in row, table.stdout
    assert "skipped: m: openvino: needs the openvino extra (pip install 'zookit[openvino]')" in table.stderr
    assert "Traceback" not in table.stderr
    assert "nothing changed" not in table.stdout  # the deployer was not current: it was left out

    made = zoo(*argv, "--json", cwd=tmp_path)  # with the library, the same recipe deploys
    assert made.returncode == 0, made.stderr
    assert {s["stage"]: s["status"] for s in json.loads(made.stdout)["models"][0]["stages"]}[
        "openvino"
    ] == "done"


def test_point1_a_missing_conversion_library_still_fails_the_model(tmp_path: Path) -> None:
    """Only a deployer's own library is skipped over: without onnxruntime the target cannot be verified,
    and that fails the model (exit 1), naming the extra."""
    onnx_recipe(tmp_path)
    run = zoo_without(
        {"onnxruntime"}, "--recipes", "recipes", "run", "m", "--mirror", "models", "--offline", cwd=tmp_path
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "install the 'convert' extra" in run.stderr


@pytest.mark.slow
def test_point6_a_frozen_graph_given_another_input_shape_is_one_line_naming_the_field(
    tmp_path: Path, frozen_new: tuple[Path, subprocess.CompletedProcess[str]]
) -> None:
    made, _ = frozen_new
    doc = yaml.safe_load((made / "recipes" / "f.yaml").read_text())
    doc["inputs"][0]["shape"] = [1, 160, 160, 3]  # the graph's placeholder is [1, 224, 224, 3]
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "f.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    run = zoo("--recipes", "recipes", "run", "f", "--mirror", str(made / "models"), "--offline", cwd=tmp_path)
    assert run.returncode == 1
    error = next(line for line in run.stderr.splitlines() if line.startswith("error: "))
    assert error == (
        "error: f: convert:tflite-float32: f (f.pb): inputs[0].shape: the recipe says [1, 160, 160, 3], "
        "the model takes [1, 224, 224, 3] (? = any size); set inputs[0].shape to the model's"
    )
    assert "internal error" not in run.stdout + run.stderr


def test_point6_every_member_docs_api_names_exists() -> None:
    """docs/api.md's examples use `zoo.X`, `package.X`, `made.X`, `info.X`: each must be a member of the
    object the docs say it is (`package.complete`, shown there, had become `ready_to_import`)."""
    import re

    import zookit
    from zookit.scaffold import NewRecipe

    docs = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
    owners: dict[str, Any] = {
        "zoo": zookit.Zoo,
        "package": zookit.Package,
        "made": NewRecipe,
        "info": zookit.ModelInfo,
    }
    named = set(re.findall(r"\b(zoo|package|made|info)\.([a-z_]+)\b(?!\.)", docs)) - {("package", "json")}
    assert ("package", "ready_to_import") in named and ("zoo", "tidl") in named
    for owner, member in sorted(named):
        cls = owners[owner]
        members = set(dir(cls)) | set(getattr(cls, "__dataclass_fields__", {}))
        assert member in members, f"docs/api.md names {owner}.{member}; {cls.__name__} has no {member}"


def test_point6_package_complete_is_a_deprecated_name_of_ready_to_import() -> None:
    import zookit

    package = zookit.Package({"files": {}, "ready_to_import": False, "missing": ["tidl_tools_path: ..."]})
    with pytest.warns(DeprecationWarning, match="ready_to_import"):
        assert package.complete is False
    assert zookit.Package({"files": {}, "ready_to_import": True}).ready_to_import is True


@pytest.fixture(scope="module")
def frozen_new(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A small frozen graph (input [1, 224, 224, 3]) in models/, and `zoo new f --from` it into recipes/."""
    tmp = tmp_path_factory.mktemp("frozen")
    (tmp / "models").mkdir()
    standins.mobilenet_like(tmp / "models" / "f.pb")
    new = zoo("new", "f", "--from", "models/f.pb", "--dir", "recipes", cwd=tmp)
    assert new.returncode == 0, new.stderr
    return tmp, new


@pytest.mark.slow
def test_point7_inspect_and_new_print_only_zookits_lines(
    frozen_new: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    tmp, new = frozen_new
    assert new.stdout.startswith("wrote recipes/f.yaml") and new.stderr == ""
    inspect = zoo("inspect", "models/f.pb", cwd=tmp)
    assert inspect.returncode == 0 and inspect.stdout.startswith("models/f.pb: tf-frozen-graph")
    assert inspect.stderr == ""  # TensorFlow's oneDNN and absl lines stay out of the terminal (-v shows them)


@pytest.mark.slow
def test_point7_zoo_convert_from_python_prints_no_tensorflow_deprecation(
    frozen_new: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    tmp, _ = frozen_new
    script = (
        "import zookit\n"
        "zoo = zookit.Zoo.open('recipes', zoo_dir='zoo', cache_dir='cache', mirrors=['models'], offline=True)\n"
        "zoo.fetch()\n"
        "print(zoo.convert('f')[0].worst_error)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp, timeout=600)
    assert run.returncode == 0, run.stderr
    assert float(run.stdout) < 1e-3
    assert "deprecated" not in run.stderr and "WARNING:tensorflow" not in run.stderr, run.stderr


def test_point1_the_all_extra_is_every_extra_and_the_readme_installs_it() -> None:
    import tomllib

    repo = Path(__file__).resolve().parents[1]
    extras = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    slim = sorted(set(extras) - {"all", "test", "dev"})
    assert extras["all"] == [f"zookit[{','.join(slim)}]"]
    assert "zookit[all]" in extras["test"]
    for doc in ("README.md", "docs/tutorial.md"):  # the set-up and quick-start lines install `all`
        installs = [line for line in (repo / doc).read_text().splitlines() if "pip install -e" in line]
        assert any('".[all]"' in line for line in installs), (doc, installs)
        assert not any('".[convert,mcu]"' in line or '".[convert]"' in line for line in installs), installs


def test_point10_every_deployer_of_the_table_is_a_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from zookit.__main__ import build_parser
    from zookit.deploy import DEPLOYERS, Deployer

    monkeypatch.setitem(  # the next deployer: one entry in the table, and its command exists
        DEPLOYERS,
        "nextdev",
        Deployer(section=lambda r: None, target=lambda r: "onnx", reads=repr, build=dict),
    )
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(DEPLOYERS) <= set(commands), sorted(set(DEPLOYERS) - set(commands))
    args = build_parser().parse_args(["openvino", "m", "--target", "onnx", "--json"])
    assert args.names == ["m"] and args.target == ["onnx"]
    args = build_parser().parse_args(["nextdev", "--all"])
    assert args.all and args.handler.args == ("nextdev",)


def test_point10_zoo_openvino_deploys_one_model_run_finds_it_current_and_benchmark_times_it(
    tmp_path: Path,
) -> None:
    onnx_recipe(tmp_path, openvino={"target": "onnx", "int8": False, "latency": False})
    fetched = zoo("--recipes", "recipes", "fetch", "m", "--mirror", "models", "--offline", cwd=tmp_path)
    assert fetched.returncode == 0, fetched.stderr
    made = zoo("--recipes", "recipes", "openvino", "m", "--json", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    (row,) = json.loads(made.stdout)["results"]
    assert row["stage"] == "openvino" and row["status"] == "ok" and row["converted"] is True
    assert row["figures"]["max_abs"] < 1e-4  # the IR against the ONNX source, on the verification samples
    assert (tmp_path / "zoo" / "m" / "openvino" / "m.xml").is_file()
    again = zoo("--recipes", "recipes", "run", "m", "--json", cwd=tmp_path)
    stages = {s["stage"]: s["status"] for s in json.loads(again.stdout)["models"][0]["stages"]}
    assert stages == {"fetch": "skipped", "convert:onnx": "skipped", "openvino": "skipped"}
    timed = zoo(
        "--recipes",
        "recipes",
        "benchmark",
        "m",
        "--threads",
        "1,2",
        "--warmup",
        "2",
        "--runs",
        "5",
        "--json",
        cwd=tmp_path,
    )
    assert timed.returncode == 0, timed.stderr
    (doc,) = json.loads(timed.stdout)["models"]
    assert doc == json.loads((tmp_path / "zoo" / "m" / "benchmark.json").read_text())  # recorded
    assert (doc["warmup"], doc["runs"]) == (2, 5)
    assert [(r["target"], r["runtime"], r["threads"]) for r in doc["results"]] == [
        ("onnx", "onnxruntime", 1),
        ("onnx", "onnxruntime", 2),
        ("openvino", "openvino", 1),
        ("openvino", "openvino", 2),
    ]
    for r in doc["results"]:
        assert 0 < r["min_ms"] <= r["p10_ms"] <= r["median_ms"] <= r["p90_ms"], r
    unknown = zoo("--recipes", "recipes", "benchmark", "m", "--target", "tflite-int8", cwd=tmp_path)
    assert unknown.returncode == 2 and "--target tflite-int8: not made (onnx, openvino)" in unknown.stderr
    refused = zoo("--recipes", "recipes", "tflm", "m", cwd=tmp_path)  # no TFLite C-array target
    assert refused.returncode == 2 and refused.stderr.startswith("zoo: m: the recipe deploys nothing to tflm")


def test_point9_adding_a_target_leaves_the_other_targets_tflm_stage_current(tmp_path: Path) -> None:
    """The tutorial: adding an int8 target makes only the new target. TFLM's stage of the float target
    read every target of the recipe, so adding one redid it; it reads its own target only."""
    from zookit.pipeline.deploy_stage import deploy_stage
    from zookit.pipeline.stages import ModelWork, RunOptions
    from zookit.recipe import parse_recipe

    doc = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "src/zookit/recipes/mlperf_tiny/ic_resnet8.yaml").read_text()
    )
    doc["targets"] = [t for t in doc["targets"] if t["name"] == "tflite-float32"]
    doc.pop("openvino", None)
    doc.pop("ethos_u", None)  # compiles the int8 target, which this document removes
    options = RunOptions(zoo_dir=tmp_path)

    def key(document: dict[str, Any]) -> str:
        work = ModelWork(parse_recipe(document, "recipes/ic.yaml"), options)
        return deploy_stage("tflm", "tflite-float32").key(work)

    before = key(doc)
    added = doc | {
        "targets": [
            *doc["targets"],
            {
                "name": "tflite-int8",
                "format": "tflite",
                "quantization": "int8",
                "io_dtype": "int8",
                "c_array": True,
            },
        ]
    }
    assert key(added) == before  # the float target's TFLM stage stays current
    changed = doc | {"targets": [doc["targets"][0] | {"tolerance": {"max_abs": 0.5}}]}
    assert key(changed) != before  # its own target's settings still count


def test_point9_the_readme_says_what_a_run_without_images_keeps() -> None:
    """A run naming no images keeps results made with the user's own only while they are current: after a
    recipe edit the stage is redone with the shipped set (what the README claimed otherwise)."""
    text = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text().split())
    assert "A run that names no images keeps results made with your own while they are current" in text
    assert "the shipped set when it names none, so name your folder again on such a run" in text
