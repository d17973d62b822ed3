"""Issue 31: the Ethos-U deployer through Arm's Vela 5.2 (real Vela, no TensorFlow).

The model is a small int8 TFLite made here (tests/ethos_u_models.py): a max pool, which Vela places on the
NPU, then SPACE_TO_DEPTH, which it leaves on the CPU. It is the recipe's source, packaged as it is by the
tflite-int8 target (LiteRT verifies it), then compiled by the real stage for two configurations. Every figure
of the record is compared with Vela run by hand with the same options, its name and reason with what Vela
printed, and `zoo check --ethos-u` with both.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import FileServer, minimal_recipe, sha256, write_recipe
from ethos_u_models import OUT_SHAPE, OUTPUT, POOLED, SHAPE, pool_then_space_to_depth
from zookit.errors import RecipeError
from zookit.recipe import parse_recipe

pytest.importorskip("ethosu.vela", reason="Vela (extra [ethos-u]) is not installed")

U55 = {
    "accelerator": "ethos-u55-128",
    "system_config": "Ethos_U55_High_End_Embedded",
    "memory_mode": "Shared_Sram",
}
U65 = {
    "accelerator": "ethos-u65-256",
    "system_config": "Ethos_U65_High_End",
    "memory_mode": "Dedicated_Sram",
    "name": "u65",
}
RECORD_KEYS = {
    "deployer", "target", "accelerator", "system_config", "memory_mode", "config_file", "optimise",
    "vela_version", "files", "sram_kib", "flash_kib", "inference_time_ms", "cycles", "npu_cycles", "macs",
    "npu_operators", "cpu_operators", "cpu_fallbacks", "layers", "budgets", "created",
}  # fmt: skip
EXTRA_KEYS = {"stage_key", "dram_kib"}  # the pipeline's key; Vela's DRAM figure (U65 Dedicated_Sram)


def recipe_doc(model: bytes, url: str, **ethos_u: Any) -> dict[str, Any]:
    return minimal_recipe(
        "npu",
        task="anomaly-detection",
        sources=[{"file": "m.tflite", "urls": [url], "size": len(model), "checksum": sha256(model)}],
        model={"format": "tflite", "path": "m.tflite"},
        inputs=[{"name": "input", "shape": SHAPE, "dtype": "int8", "value_range": [-6.4, 6.35]}],
        outputs=[{"name": OUTPUT, "shape": OUT_SHAPE, "dtype": "int8"}],
        targets=[{"name": "tflite-int8", "format": "tflite", "quantization": "int8", "io_dtype": "int8"}],
        ethos_u={"targets": ["tflite-int8"], "configs": [U55, U65]} | ethos_u,
    )


def zoo(root: Path, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    where = [] if argv[0] == "check" else ["--zoo-dir", str(root / "zoo")]
    return subprocess.run(
        [sys.executable, "-m", "zookit", "--recipes", str(root / "recipes"), *argv, *where],
        capture_output=True,
        text=True,
        timeout=300,
        env=(env or dict(os.environ)) | {"ZOO_CACHE_DIR": str(root / "cache")},
    )


def vela_by_hand(model: Path, config: dict[str, str], out: Path) -> str:
    """Vela run as a user would, with the same options the stage names."""
    from zookit.recipe.ethos_u import config_path

    done = subprocess.run(
        [sys.executable, "-m", "ethosu.vela", str(model), "--output-dir", str(out), "--accelerator-config",
         config["accelerator"], "--config", str(config_path(None)), "--system-config", config["system_config"],
         "--memory-mode", config["memory_mode"], "--optimise", "Performance", "--verbose-performance"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("ethos_u")
    model = pool_then_space_to_depth(root / "m.tflite")
    server = FileServer()
    try:
        url = server.add("m.tflite", model.read_bytes())
        write_recipe(root / "recipes", recipe_doc(model.read_bytes(), url))
        fetched = zoo(root, "fetch", "npu")
        assert fetched.returncode == 0, fetched.stderr
    finally:
        server.stop()
    done = zoo(root, "ethos-u", "npu", "--json")
    assert done.returncode == 0, done.stderr
    folder = root / "zoo" / "npu" / "tflite-int8" / "ethos_u"
    records = {c: json.loads((folder / c / "ethos_u.json").read_text()) for c in ("ethos-u55-128", "u65")}
    return {
        "root": root,
        "model": model,
        "result": json.loads(done.stdout),
        "folder": folder,
        "records": records,
    }


def test_the_operator_vela_leaves_on_the_cpu_is_named_with_vela_s_reason(built: dict[str, Any]) -> None:
    printed = vela_by_hand(built["model"], U55, built["root"] / "by_hand_reason")
    said = re.search(r"operator: (\w+), ofm: '(.*)'\nReason: (.*)", printed)
    assert said is not None, printed
    assert said.groups() == ("SPACE_TO_DEPTH", OUTPUT, "Unsupported opType")
    counts = dict(re.findall(r"^(CPU|NPU) operators = (\d+)", printed, re.MULTILINE))
    assert counts == {"CPU": "1", "NPU": "1"}, printed
    for record in built["records"].values():
        assert set(record) >= RECORD_KEYS and set(record) - RECORD_KEYS <= EXTRA_KEYS
        assert record["cpu_fallbacks"] == [{"name": OUTPUT, "op": said.group(1), "reason": said.group(3)}]
        assert (record["npu_operators"], record["cpu_operators"]) == (1, 1)
        where = {row["name"]: row["where"] for row in record["layers"]}
        assert where == {POOLED: "NPU", OUTPUT: "CPU"}
    check = zoo(built["root"], "check", str(built["model"]), "--ethos-u", "ethos-u55-128",
                "--system-config", U55["system_config"], "--memory-mode", U55["memory_mode"])  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert f"cpu: SPACE_TO_DEPTH at {OUTPUT}: Unsupported opType" in check.stdout
    assert "1 on the NPU, 1 on the CPU" in check.stdout
    floating = pool_then_space_to_depth(built["root"] / "float.tflite", "float32")  # not int8: all on the CPU
    check = zoo(built["root"], "check", str(floating), "--ethos-u", "ethos-u55-128",
                "--system-config", U55["system_config"], "--memory-mode", U55["memory_mode"])  # fmt: skip
    assert (
        "cpu: MAX_POOL_2D at pooled: Operation has tensor with unsupported DataType Float32" in check.stdout
    )
    assert "0 on the NPU, 2 on the CPU" in check.stdout
    strict = zoo(built["root"], "check", str(built["model"]), "--ethos-u", "ethos-u55-128", "--strict",
                 "--system-config", U55["system_config"], "--memory-mode", U55["memory_mode"])  # fmt: skip
    assert strict.returncode == 1  # --strict: an operator on the CPU fails the check
    as_json = zoo(built["root"], "check", str(built["model"]), "--ethos-u", "ethos-u55-128", "--json",
                  "--system-config", U55["system_config"], "--memory-mode", U55["memory_mode"])  # fmt: skip
    document = json.loads(as_json.stdout)
    assert [(r["name"], r["where"], r["reason"]) for r in document["operators"]] == [
        (POOLED, "NPU", None),
        (OUTPUT, "CPU", "Unsupported opType"),
    ]


@pytest.mark.parametrize("config", [U55, U65], ids=["u55", "u65"])
def test_the_record_s_figures_are_vela_s_own_for_the_same_options(built: dict[str, Any], config: Any) -> None:
    label = config.get("name", config["accelerator"])
    record, package = built["records"][label], built["folder"] / label
    out = built["root"] / f"by_hand_{label}"
    vela_by_hand(built["model"], config, out)
    with open(out / f"m_summary_{config['system_config']}.csv", newline="") as f:
        (vela,) = csv.DictReader(f)
    assert record["sram_kib"] == float(vela["sram_memory_used"])
    assert record["flash_kib"] == float(vela["off_chip_flash_memory_used"]) + float(
        vela["on_chip_flash_memory_used"]
    )
    assert record["dram_kib"] == float(vela["dram_memory_used"])
    assert record["inference_time_ms"] == float(vela["inference_time"]) * 1000
    assert (record["cycles"], record["npu_cycles"], record["macs"]) == (
        int(float(vela["cycles_total"])),
        int(float(vela["cycles_npu"])),
        int(float(vela["nn_macs"])),
    )
    by_hand_layers = (out / "m_per-layer.csv").read_text().splitlines()[1:]
    assert [row["cycles"] for row in record["layers"]] == [int(line.split(",")[5]) for line in by_hand_layers]
    assert record["accelerator"] == config["accelerator"] and record["config_file"] == "Arm/vela.ini"
    # the package: Vela's model byte for byte, its C array (16-byte aligned) holding the same bytes
    vela_model = (out / "m_vela.tflite").read_bytes()
    assert (package / "npu_tflite-int8_vela.tflite").read_bytes() == vela_model
    source = (package / "npu_tflite_int8_vela_model_data.cc").read_text()
    assert "alignas(16) const unsigned char npu_tflite_int8_vela_model_data[]" in source
    assert bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", source)) == vela_model
    from zookit.hashes import file_checksum

    assert record["files"] == {name: file_checksum(package / name) for name in record["files"]}
    assert not [p for p in package.parent.iterdir() if p.name.startswith(".")]  # no staging left


def test_a_second_run_skips_and_an_option_change_reruns_only_its_stage(
    built: dict[str, Any], tmp_path: Path
) -> None:
    root = tmp_path
    shutil.copytree(built["root"] / "recipes", root / "recipes")
    shutil.copytree(built["root"] / "zoo", root / "zoo")
    shutil.copytree(built["root"] / "cache", root / "cache")
    first = zoo(root, "run", "npu", "--json")
    assert first.returncode == 0, first.stderr
    ran = {s["stage"]: s["status"] for m in json.loads(first.stdout)["models"] for s in m["stages"]}
    assert (
        ran["ethos_u:tflite-int8:ethos-u55-128"] == "skipped" and ran["ethos_u:tflite-int8:u65"] == "skipped"
    )
    doc = yaml.safe_load((root / "recipes" / "npu.yaml").read_text())
    doc["ethos_u"]["configs"][1]["memory_mode"] = "Sram_Only"
    write_recipe(root / "recipes", doc)
    second = zoo(root, "run", "npu", "--json")
    assert second.returncode == 0, second.stderr
    ran = {s["stage"]: s["status"] for m in json.loads(second.stdout)["models"] for s in m["stages"]}
    assert ran["ethos_u:tflite-int8:u65"] == "done"
    assert [s for s, status in ran.items() if status == "done"] == ["ethos_u:tflite-int8:u65"]
    record = json.loads((root / "zoo/npu/tflite-int8/ethos_u/u65/ethos_u.json").read_text())
    assert record["memory_mode"] == "Sram_Only"


def test_over_a_budget_the_stage_fails_with_one_line_and_writes_nothing(
    built: dict[str, Any], tmp_path: Path
) -> None:
    shutil.copytree(built["root"] / "recipes", tmp_path / "recipes")
    shutil.copytree(built["root"] / "zoo", tmp_path / "zoo")
    doc = yaml.safe_load((tmp_path / "recipes" / "npu.yaml").read_text())
    sram = built["records"]["ethos-u55-128"]["sram_kib"]
    limit = sram / 2
    doc["ethos_u"]["configs"] = [U55 | {"budgets": {"sram_kib": limit}}]
    write_recipe(tmp_path / "recipes", doc)
    done = zoo(tmp_path, "ethos-u", "npu")
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert f"SRAM {sram:.2f} KiB > ethos_u budgets.sram_kib {limit:g}" in line and "ethos-u55-128" in line
    record = tmp_path / "zoo/npu/tflite-int8/ethos_u/ethos-u55-128/ethos_u.json"
    assert json.loads(record.read_text())["budgets"] is None  # the earlier package stays, untouched


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (
            {"configs": [U55 | {"system_config": "Ethos_U55_Tiny"}]},
            "ethos_u.configs[0].system_config: 'Ethos_U55_Tiny' is not defined in Arm/vela.ini; valid: "
            "Ethos_U55_Deep_Embedded, Ethos_U55_High_End_Embedded",
        ),
        (
            {"configs": [U55 | {"memory_mode": "Shared"}]},
            "ethos_u.configs[0].memory_mode: 'Shared' is not defined in Arm/vela.ini; valid: Sram_Only",
        ),
        (
            {"configs": [U55 | {"accelerator": "ethos-u55-100"}]},
            "ethos_u.configs[0].accelerator: Input should be",
        ),
        ({"configs": [U55, U55]}, "ethos_u.configs: 'ethos-u55-128' twice"),
        ({"targets": ["tflite-float32"]}, "ethos_u.targets[0]: 'tflite-float32' is a tflite float32 target"),
        ({"targets": ["nope"]}, "ethos_u.targets[0]: 'nope' is not one of the targets"),
        (
            {"config_file": "/nonexistent/my.ini"},
            "ethos_u.config_file: '/nonexistent/my.ini' is not a readable",
        ),
        ({"budgets": {"sram_kib": -1}}, "ethos_u.budgets.sram_kib: Input should be greater than 0"),
        ({"optimise": "Speed"}, "ethos_u.optimise: Input should be 'Performance' or 'Size'"),
    ],
)
def test_recipe_section_rules(change: dict[str, Any], fragment: str) -> None:
    doc = recipe_doc(b"x", "http://127.0.0.1:9/m.tflite", **change)
    doc["targets"].append({"name": "tflite-float32", "format": "tflite"})
    with pytest.raises(RecipeError) as info:
        parse_recipe(doc, "recipes/npu.yaml")
    assert fragment in str(info.value)


def test_a_bad_configuration_name_is_exit_2_with_one_line_naming_the_field(tmp_path: Path) -> None:
    doc = recipe_doc(b"x", "http://127.0.0.1:9/m.tflite", configs=[U65 | {"memory_mode": "Dedicated"}])
    write_recipe(tmp_path / "recipes", doc)
    done = zoo(tmp_path, "ethos-u", "npu")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "ethos_u.configs[0].memory_mode: 'Dedicated' is not defined in Arm/vela.ini" in line
    check = zoo(tmp_path, "check", str(tmp_path / "recipes" / "npu.yaml"), "--ethos-u", "ethos-u55-128",
                "--system-config", "Ethos_U55_High_End_Embedded", "--memory-mode", "Shared_Sram")  # fmt: skip
    assert check.returncode == 2 and "--ethos-u checks a .tflite model" in check.stderr


def test_without_vela_the_deployer_and_check_name_the_extra(built: dict[str, Any], tmp_path: Path) -> None:
    """Vela made unimportable (a package ``ethosu`` first on the path that raises ImportError)."""
    shadow = tmp_path / "shadow" / "ethosu"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('Vela is broken here')\n")
    path = os.pathsep.join([str(shadow.parent), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path)
    done = zoo(built["root"], "ethos-u", "npu", env=env)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "ethos-u" in line and "pip install 'zookit[ethos-u]'" in line
    check = zoo(built["root"], "check", str(built["model"]), "--ethos-u", "ethos-u55-128",
                "--system-config", U55["system_config"], "--memory-mode", U55["memory_mode"], env=env)  # fmt: skip
    assert check.returncode == 2 and "zookit[ethos-u]" in check.stderr
    run = zoo(built["root"], "run", "npu", "--json", env=env)  # zoo run skips the deployer, saying why
    assert run.returncode == 0, run.stderr
    stages = {s["stage"]: s for m in json.loads(run.stdout)["models"] for s in m["stages"]}
    for name in ("ethos_u:tflite-int8:ethos-u55-128", "ethos_u:tflite-int8:u65"):
        assert stages[name]["status"] == "skipped"
        assert stages[name]["error"].startswith("needs the ethos-u extra (pip install 'zookit[ethos-u]')")
