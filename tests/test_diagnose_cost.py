"""Issue 31 point 4, cost-aware repair: per-tensor weights for dense layers (Target.per_channel_dense),
every diagnose candidate's device cost beside its accuracy (the TFLM arena and flash as the MCU deployer
measures them; Vela's cycles, SRAM, flash and CPU operators with --ethos-u), and bounds on that cost
that keep a candidate from being chosen. The model is the ResNet50 stand-in (conv, mean, dense 8->1001;
random weights: no claim about accuracy, only that every figure is measured and used)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import REPO, FileServer, write_recipe
from zookit.__main__ import main
from zookit.quantize.device_cost import Bound, over_bounds
from zookit.recipe import Target


def test_per_channel_dense_is_only_for_quantized_tflite_targets() -> None:
    Target(name="t", format="tflite", quantization="int16x8", per_channel_dense=False)
    for fields in ({"format": "tflite"}, {"format": "tflite", "quantization": "float16"}, {"format": "onnx"}):
        with pytest.raises(ValueError, match="per_channel_dense"):
            Target(name="t", per_channel_dense=False, **fields)


def test_a_cycles_bound_counts_operators_pushed_to_the_cpu_as_over() -> None:
    """Fewer NPU cycles because an operator left for the CPU are not a saving Vela can show."""
    base = {"ethos_u": {"cycles": 1000, "cpu_operators": 0}, "tflm": {"arena_bytes": 100}}
    moved = {"ethos_u": {"cycles": 800, "cpu_operators": 2}, "tflm": {"arena_bytes": 110}}
    assert over_bounds(moved, base, [Bound("arena", 0.1)]) == []
    (why,) = over_bounds(moved, base, [Bound("cycles", 0.1), Bound("arena", 0.05)])[:1]
    assert "2 more operator(s) on the CPU" in why
    assert "arena 110 is +10.0% over the all-int8 100" in over_bounds(moved, base, [Bound("arena", 0.05)])[0]
    broken = {"tflm": {"runs": False, "reason": "Didn't find op for builtin opcode 'TOPK_V2'"}}
    assert (
        "TFLM cannot run this candidate (Didn't find op"
        in over_bounds(broken, base, [Bound("arena", 1.0)])[0]
    )


def _recipes(tmp_path: Path) -> Path:
    import shutil

    import yaml

    recipes = tmp_path / "recipes"
    recipes.mkdir()
    shutil.copy(REPO / "src/zookit/recipes/mlperf_tiny/ic_resnet8.yaml", recipes)
    # and one whose Ethos-U section is gone: nothing names an Ethos-U configuration for its targets
    data = yaml.safe_load((recipes / "ic_resnet8.yaml").read_text())
    del data["ethos_u"]
    data["name"] = "ic_resnet8_no_npu"
    (recipes / "ic_resnet8_no_npu.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return recipes


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--ethos-u", "ethos-u99"], "--ethos-u 'ethos-u99': give ACCEL"),
        (["--ethos-u", "ethos-u55-128,Nope,Shared_Sram"], "'Nope' is not a System_Config"),
        (["--ethos-u", "ethos-u65-256,Ethos_U65_High_End,Nope"], "'Nope' is not a Memory_Mode"),
        (
            ["--goal", "top1=1", "--max-arena-increase", "ten"],
            "--max-arena-increase 'ten': give a percentage",
        ),
        (["--goal", "top1=1", "--max-sram-increase=-5%"], "--max-sram-increase '-5%'"),
        (
            ["--goal", "top1=1", "--max-cycles-increase", "10%", "--model", "ic_resnet8_no_npu"],
            "give --ethos-u ACCEL",
        ),
        (["--max-arena-increase", "10%"], "bounds the search: give --goal too"),
    ],
)
def test_bad_cost_options_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], fragment: str
) -> None:
    """Refused before any work (nothing is converted here: a check after the search would say so)."""
    model = extra[extra.index("--model") + 1] if "--model" in extra else "ic_resnet8"
    extra = extra[: extra.index("--model")] if "--model" in extra else extra
    argv = ["--recipes", str(_recipes(tmp_path)), "diagnose", model, "--target", "tflite-int8"]
    assert main([*argv, "--zoo-dir", str(tmp_path / "no-zoo"), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err, err


# --- on a converted stand-in (TensorFlow) ---------------------------------------------------------


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The stand-in converted twice for TFLM: per-channel dense weights (the default) and per-tensor."""
    from test_convert import resnet_variant

    root = tmp_path_factory.mktemp("cost")
    base = {"format": "tflite", "quantization": "int8", "c_array": True, "tolerance": {"max_abs": 100.0}}
    targets = [
        {"name": "tflite-int8", **base},
        {"name": "tflite-int8-dense", "per_channel_dense": False, **base},
    ]
    server = FileServer()
    try:
        write_recipe(root / "recipes", resnet_variant("costly", targets, server, root))
        place = ["--zoo-dir", str(root / "zoo"), "--cache-dir", str(root / "cache")]
        assert main(["--recipes", str(root / "recipes"), "fetch", "costly", *place]) == 0
        assert (
            main(["--recipes", str(root / "recipes"), "convert", "costly", "--zoo-dir", str(root / "zoo")])
            == 0
        )
    finally:
        server.stop()
    yield root


def _weight_scales(model: bytes) -> dict[str, int]:
    """How many quantization scales the weights of each CONV_2D / FULLY_CONNECTED op carry."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model)
    out = {}
    for op in interpreter._get_ops_details():
        if op["op_name"] in ("CONV_2D", "FULLY_CONNECTED"):
            weights = interpreter._get_tensor_details(op["inputs"][1], 0)
            out[op["op_name"]] = len(weights["quantization_parameters"]["scales"])
    return out


@pytest.mark.slow
def test_per_tensor_dense_weights_change_the_file_and_shrink_the_arena(zoo: Path) -> None:
    from zookit.quantize.device_cost import tflm_cost
    from zookit.recipe import load_recipe

    models, manifests = {}, {}
    for name in ("tflite-int8", "tflite-int8-dense"):
        folder = zoo / "zoo" / "costly" / name
        manifests[name] = json.loads((folder / "manifest.json").read_text())
        models[name] = (folder / manifests[name]["output"]["file"]).read_bytes()
        assert manifests[name]["verification"]["passed"], manifests[name]["verification"]
    # the dense layer's 1001 output channels: one scale each by default, one in all per tensor;
    # the convolution keeps its 8 per-channel scales either way
    assert _weight_scales(models["tflite-int8"]) == {"CONV_2D": 8, "FULLY_CONNECTED": 1001}
    assert _weight_scales(models["tflite-int8-dense"]) == {"CONV_2D": 8, "FULLY_CONNECTED": 1}
    assert manifests["tflite-int8-dense"]["options"]["per_channel_dense"] is False
    recipe = load_recipe(zoo / "recipes" / "costly.yaml")
    plain, dense = (
        tflm_cost(recipe, recipe.target(n), models[n]) for n in ("tflite-int8", "tflite-int8-dense")
    )
    assert dense["arena_bytes"] < plain["arena_bytes"] and dense["flash_bytes"] < plain["flash_bytes"]
    # the per-tensor file still computes the source's numbers, within what int8 allows (verified above):
    errors = {n: max(o["max_abs"] for o in manifests[n]["verification"]["outputs"].values()) for n in models}
    assert np.isfinite(errors["tflite-int8-dense"]) and errors["tflite-int8-dense"] < 100.0


def _diagnose(zoo: Path, *extra: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    argv = ["--recipes", str(zoo / "recipes"), "diagnose", "costly", "--target", "tflite-int8"]
    code = main([*argv, "--zoo-dir", str(zoo / "zoo"), "--calibration-sizes", "0", *extra])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def unmet(zoo: Path) -> dict[str, Any]:
    """A goal nothing meets (max_rel 0): every round of the search measured, on an Ethos-U55 too."""
    code = main(
        [
            *("--recipes", str(zoo / "recipes"), "diagnose", "costly", "--target", "tflite-int8"),
            *("--zoo-dir", str(zoo / "zoo"), "--calibration-sizes", "0", "--goal", "max_rel=0"),
            *("--ethos-u", "ethos-u55-128"),
        ]
    )
    assert code == 1  # the goal is not met
    return json.loads((zoo / "zoo/costly/tflite-int8/diagnosis.json").read_text())


@pytest.mark.slow
def test_every_candidate_carries_its_device_cost_and_a_float_layer_goes_to_the_cpu(
    unmet: dict[str, Any],
) -> None:
    steps = unmet["search"]["steps"]
    assert len(steps) >= 4 and unmet["ethos_u"] == "ethos-u55-128,Ethos_U55_High_End_Embedded,Shared_Sram"
    for step in steps:
        tflm, npu = step["cost"]["tflm"], step["cost"]["ethos_u"]
        assert tflm["runs"] and tflm["arena_bytes"] > 0 and tflm["flash_bytes"] >= step["size"]
        assert npu["cpu_operators"] + npu["npu_operators"] > 0 and npu["sram_kib"] >= 0
    first = steps[0]
    assert first["nodes"] == [] and first["cost"] == unmet["cost"]  # the target as converted now
    # Vela leaves the 7x7 stride-4 convolution to the CPU (its NPU takes strides up to 3): counted
    assert first["cost"]["ethos_u"]["cpu_operators"] >= 1
    pushed = [s for s in steps if s["float_ops"]]
    # a layer kept in float leaves that operator (and its conversions) to the CPU too
    base_cpu = first["cost"]["ethos_u"]["cpu_operators"]
    assert pushed and all(s["cost"]["ethos_u"]["cpu_operators"] >= base_cpu for s in pushed)
    assert any(s["cost"]["ethos_u"]["cpu_operators"] > base_cpu for s in pushed)
    dense, sixteen = unmet["alternatives"]  # shown beside the search, each measured the same way
    assert dense["change"] == {"per_channel_dense": False}  # the same model, a smaller arena
    assert dense["cost"]["tflm"]["arena_bytes"] < first["cost"]["tflm"]["arena_bytes"]
    assert sixteen["change"] == {"quantization": "int16x8", "io_dtype": "float32"}  # its float io kept
    # 16-bit activations throughout: larger activations in the arena, but nothing more left to the CPU
    assert sixteen["cost"]["tflm"]["arena_bytes"] > first["cost"]["tflm"]["arena_bytes"]
    assert sixteen["cost"]["ethos_u"]["cpu_operators"] <= base_cpu and sixteen["float_ops"] == 0


@pytest.mark.slow
def test_a_candidate_over_the_bound_is_shown_and_never_chosen(
    zoo: Path, unmet: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """The goal set to what the best one-layer candidate reaches, the bound to a figure that candidate
    grows (both taken from the unbounded search): it meets the goal, is marked, and is not chosen."""
    steps = unmet["search"]["steps"]
    first, round1 = steps[0], [s for s in steps if len(s["nodes"]) == 1]
    best = min(round1, key=lambda s: s["max_rel"])
    assert best["max_rel"] < first["max_rel"]
    figure = next(
        f for f in ("arena_bytes", "flash_bytes") if best["cost"]["tflm"][f] > first["cost"]["tflm"][f]
    )
    option = f"--max-{figure.split('_')[0]}-increase"
    # the goal just above the best candidate's own figure (rounding it to fewer digits could put the goal
    # below it, and then no candidate would meet it)
    goal = best["max_rel"] * (1 + 1e-6)
    assert first["max_rel"] > goal
    code, out, err = _diagnose(zoo, "--goal", f"max_rel={goal!r}", option, "0%", capsys=capsys)
    assert code == 1, err
    result = json.loads((zoo / "zoo/costly/tflite-int8/diagnosis.json").read_text())
    search = result["search"]
    assert not search["met"] and search["layers_changed"] is None and "next_run" not in result
    assert "over a cost bound" in search["stopped"]
    marked = [s for s in search["steps"] if s["nodes"] == best["nodes"]]
    assert marked and marked[0]["meets"] and not marked[0]["within_bounds"] and marked[0]["over"]
    assert "OVER THE BOUND: " + marked[0]["over"][0] in out and "search stopped" in out


def test_a_target_the_recipe_compiles_for_ethos_u_is_costed_on_its_first_configuration() -> None:
    """Without --ethos-u, diagnose measures Vela's figures on the recipe's own first configuration (the
    ethos_u stage's: same config file, optimise) when the section compiles the target; else none."""
    from zookit.quantize.device_cost import EthosU, from_recipe
    from zookit.recipe import load_recipe

    recipe = load_recipe(REPO / "src" / "zookit" / "recipes" / "mlperf_tiny" / "ic_resnet8.yaml")
    assert recipe.ethos_u is not None and "tflite-int8" in recipe.ethos_u.targets
    first = recipe.ethos_u.configs[0]
    assert from_recipe(recipe, "tflite-int8") == EthosU(
        first.accelerator,
        first.system_config,
        first.memory_mode,
        recipe.ethos_u.config_file,
        recipe.ethos_u.optimise,
    )
    assert from_recipe(recipe, "tflite-float32") is None
