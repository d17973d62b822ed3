"""Issue 28, point 2: a command names the extra that installs what it lacks, and `zoo report` needs only the
`report` extra (it reads records; it must not import protobuf, TensorFlow or ONNX).

The libraries are made missing the way a slim install has them missing: a meta-path finder in the zoo's
process refuses to import them (the same ModuleNotFoundError, with the module's name)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import tomllib

from conftest import write_recipe
from test_pipeline import onnx_model
from test_report import a_zoo_of_records
from zookit.errors import missing_dependency

ROOT = Path(__file__).resolve().parents[1]
# a zoo whose imports of BLOCKED modules fail as if they were not installed (argv[1]: "a,b,c")
BLOCKING_ZOO = """
import runpy, sys
blocked = set(sys.argv[1].split(","))

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
sys.argv = ["zoo", *sys.argv[2:]]
runpy.run_module("zookit", run_name="__main__", alter_sys=True)
"""


def zoo_without(tmp_path: Path, blocked: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKING_ZOO, blocked, "--recipes", str(tmp_path / "recipes"), *argv],
        capture_output=True,
        text=True,
        env=dict(os.environ, ZOO_CACHE_DIR=str(tmp_path / "cache")),
        timeout=300,
    )


def extras_modules() -> list[tuple[str, str]]:
    """(extra, module) for every library of every extra in pyproject.toml a command may import: the
    distributions' top-level modules (a distribution's stray test or example folders left out)."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    modules: dict[str, set[str]] = {}
    for module, dists in packages_distributions().items():
        for dist in dists:
            modules.setdefault(dist.lower().replace("_", "-"), set()).add(module)
    out = []
    for extra, requirements in extras.items():
        if extra in ("test", "dev", "all"):
            continue
        for requirement in requirements:
            dist = requirement.split(";")[0].split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip()
            found = modules.get(dist.lower().replace("_", "-"), set()) - {"tests", "examples", "tools"}
            out += [(extra, module) for module in sorted(found)]
    return out


@pytest.mark.parametrize(("extra", "module"), extras_modules())
def test_a_missing_library_names_its_extra(extra: str, module: str) -> None:
    message = missing_dependency(ModuleNotFoundError(f"No module named {module!r}", name=f"{module}.sub"))
    assert f"install the '{extra}' extra" in message and f"zookit[{extra}]" in message, message


def test_every_extra_is_covered() -> None:
    assert {e for e, _ in extras_modules()} >= {"convert", "mcu", "openvino", "dask", "report"}
    assert "'convert'" not in missing_dependency(ModuleNotFoundError("No module named 'x'", name="x"))


@pytest.mark.parametrize(
    ("blocked", "argv", "extra"),
    [
        ("jinja2", ["report", "--all"], "report"),
        ("pygal", ["report", "--all"], "report"),
        ("tensorflow", ["convert", "good"], "convert"),
        ("distributed", ["run", "--all", "--scheduler", "tcp://127.0.0.1:9"], "dask"),
    ],
)
def test_each_command_names_the_extra_it_lacks(
    tmp_path: Path, blocked: str, argv: list[str], extra: str
) -> None:
    a_zoo_of_records(tmp_path)
    (tmp_path / "zoo/good/source").mkdir()
    (tmp_path / "zoo/good/source/toy.pb").write_bytes(b"a graph")  # what convert opens with TensorFlow
    proc = zoo_without(tmp_path, blocked, *argv, "--zoo-dir", str(tmp_path / "zoo"))
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr and proc.returncode in (1, 2), proc.stderr
    assert f"install the '{extra}' extra" in proc.stderr and "'convert'" not in proc.stderr.replace(
        f"'{extra}'", ""
    ), lines


def test_report_needs_only_the_report_extra(tmp_path: Path) -> None:
    """The report of a zoo with converted targets, TFLM, TIDL and OpenVINO records, made with protobuf,
    TensorFlow, ONNX and the runtimes missing."""
    a_zoo_of_records(tmp_path)
    doc = onnx_model("deployed") | {"openvino": {"target": "onnx", "int8": False}}
    write_recipe(tmp_path / "recipes", doc)
    for folder, record in (("onnx", "manifest.json"), ("tidl", "package.json"), ("openvino", "package.json")):
        (tmp_path / "zoo/deployed" / folder).mkdir(parents=True)
        (tmp_path / "zoo/deployed" / folder / record).write_text(json.dumps({"files": {}, "float": {}}))
    blocked = "google,tensorflow,onnx,onnxruntime,tf2onnx,ai_edge_litert,keras,openvino,nncf,tflite_micro"
    out = tmp_path / "out"
    proc = zoo_without(
        tmp_path, blocked, "report", "--all", "--zoo-dir", str(tmp_path / "zoo"), "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout and "3 model(s)" in proc.stdout
    names = {m["name"] for m in json.loads((out / "report.json").read_text())["models"]}
    assert names == {"good", "foreign", "deployed"}
