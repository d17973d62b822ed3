"""Issue 27: ``tolerance: {max_rel: auto}`` - the limit is a margin times a measured noise floor - and the
recipe rules for it. The measurement itself (oneDNN flipped in a child process, LiteRT's default against
its reference kernels) runs in test_convert's MobileNet stand-in and on the genuine MLPerf Tiny files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import minimal_recipe, write_recipe
from zookit.errors import ZooError
from zookit.recipe import Tolerance, load_recipe
from zookit.verify.noise import MIN_RELATIVE, differences, resolve


def floor(rel: float, scale: float = 2.0, name: str = "y") -> dict[str, Any]:
    return {
        "method": "m",
        "samples": 3,
        "outputs": {name: {"max_abs": rel * scale, "max_rel": rel, "scale": scale}},
    }


def test_differences_are_relative_to_the_source_scale() -> None:
    a = [{"y": np.array([1.0, -4.0], np.float32)}, {"y": np.array([0.5, 2.0], np.float32)}]
    b = [{"y": np.array([1.0, -4.002], np.float32)}, {"y": np.array([0.501, 2.0], np.float32)}]
    out = differences(a, b, a)["y"]
    assert out["max_abs"] == pytest.approx(0.002, rel=1e-3) and out["scale"] == 4.0
    assert out["max_rel"] == pytest.approx(0.0005, rel=1e-3)


def test_auto_is_margin_times_the_largest_floor() -> None:
    tolerance = Tolerance(max_rel="auto", max_abs="auto", top1_agreement=1.0)
    resolved, record = resolve(tolerance, [floor(1e-5), floor(3e-5)])
    assert resolved.max_rel == pytest.approx(3e-4) and resolved.max_abs == pytest.approx(6e-4)
    assert resolved.top1_agreement == 1.0 and resolved.margin is None
    assert record is not None and record["margin"] == 10 and record["floor"]["max_rel"] == pytest.approx(3e-5)
    assert record["limits"] == {"max_rel": resolved.max_rel, "max_abs": resolved.max_abs}
    assert len(record["measured"]) == 2 and "margin x noise floor" in record["rule"]


def test_a_recipe_margin_and_a_floor_of_zero() -> None:
    resolved, record = resolve(Tolerance(max_rel="auto", margin=4), [floor(0.0)])
    assert record is not None and record["floor"]["max_rel"] == MIN_RELATIVE  # kernels that agree bit for bit
    assert resolved.max_rel == pytest.approx(4 * MIN_RELATIVE, rel=1e-2)
    fixed = Tolerance(max_rel=1e-3)
    assert resolve(fixed, [floor(1.0)]) == (fixed, None)


@pytest.mark.parametrize(
    ("tolerance", "fragment"),
    [
        ({"max_rel": "automatic"}, "max_rel"),
        ({"max_rel": 1e-4, "margin": 10}, "margin: only with max_abs: auto or max_rel: auto"),
        ({"max_abs": "auto", "margin": -1}, "margin"),
    ],
)
def test_hostile_auto_tolerances(tmp_path: Path, tolerance: dict[str, Any], fragment: str) -> None:
    doc = minimal_recipe(targets=[{"name": "tflite-float32", "format": "tflite", "tolerance": tolerance}])
    with pytest.raises(ZooError, match=fragment):
        load_recipe(write_recipe(tmp_path, doc))


def test_auto_is_accepted(tmp_path: Path) -> None:
    doc = minimal_recipe(
        targets=[{"name": "tflite-float32", "format": "tflite", "tolerance": {"max_rel": "auto"}}]
    )
    recipe = load_recipe(write_recipe(tmp_path, doc))
    assert recipe.target("tflite-float32").tolerance.max_rel == "auto"


def test_without_a_second_kernel_set_the_minimum_floor_scales_with_the_output() -> None:
    from zookit.verify.noise import minimum_floor

    source = [{"y": np.array([3.0, -50.0], np.float32)}]
    resolved, record = resolve(Tolerance(max_abs="auto"), [minimum_floor(source)])
    assert record is not None and record["measured"][0]["method"].startswith("none:")
    assert resolved.max_abs == pytest.approx(10 * MIN_RELATIVE * 50, rel=1e-2)
