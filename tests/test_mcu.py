"""Issue 20: the mcu and samples recipe sections (hostile documents), the sample decoders on the genuine
files and on broken ones, and TensorFlow Lite Micro itself on MLCommons' int8 models: the arena by
bisection, the op list, the resolver header against the model's ops, and a model TFLM cannot run."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import SHARED_MODELS, minimal_recipe
from zookit.errors import RecipeError
from zookit.recipe import parse_recipe

TINY = SHARED_MODELS / "mlperf_tiny"
SAMPLES = TINY / "samples"
genuine = pytest.mark.skipif(not TINY.is_dir(), reason=f"genuine MLPerf Tiny files not present at {TINY}")


def ad_doc(**sample: Any) -> dict[str, Any]:
    doc = minimal_recipe(
        "ad",
        task="anomaly-detection",
        inputs=[{"name": "input_1", "shape": [1, 640], "value_range": [-84.8, 14.8]}],
        outputs=[{"name": "dense_9", "shape": [1, 640]}],
        targets=[{"name": "tflite", "format": "tflite", "c_array": True}],
    )
    doc["sources"].append(
        {"file": "clip.bin", "urls": ["http://127.0.0.1:9/clip.bin"], "size": None, "checksum": None}
    )
    entry = {"file": "clip.bin", "kind": "raw-float32", "shape": [200, 128], "window": {"size": 5}} | sample
    doc["samples"] = [{k: v for k, v in entry.items() if v is not None}]
    return doc


def problems(doc: Any) -> str:
    with pytest.raises(RecipeError) as info:
        parse_recipe(doc, "recipes/ad.yaml")
    return "\n".join(info.value.problems)


def test_the_sections_as_shipped_validate() -> None:
    recipe = parse_recipe(ad_doc() | {"mcu": {"arena_limit_kb": 256, "flash_limit_kb": 1024}}, "x")
    assert recipe.samples[0].window is not None and recipe.samples[0].sample_size() == 640
    assert recipe.mcu is not None and recipe.mcu.arena_margin == 0.1


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"mcu": {"arena_limit_kb": -1}}, "mcu.arena_limit_kb: Input should be greater than 0"),
        ({"mcu": {"flash_limit_kb": "lots"}}, "mcu.flash_limit_kb: Input should be a valid number"),
        ({"mcu": {"arena_limt_kb": 10}}, "unknown field 'arena_limt_kb' (did you mean 'arena_limit_kb'?)"),
        ({"mcu": {"arena_margin": -0.5}}, "mcu.arena_margin: Input should be greater than or equal to 0"),
        ({"mcu": {"labels": "cat"}}, "mcu.labels: Input should be a valid list"),
        ({"mcu": [1, 2]}, "mcu: Input should be a valid dictionary"),
        ({"smaples": []}, "unknown field 'smaples' (did you mean 'samples'?)"),
    ],
)
def test_hostile_mcu_sections(change: dict[str, Any], fragment: str) -> None:
    assert fragment in problems(ad_doc() | change)


@pytest.mark.parametrize(
    ("sample", "fragment"),
    [
        ({"file": "nope.bin"}, "samples[0].file: 'nope.bin' is not one of the source files"),
        ({"window": {"size": 201}}, "window.size: 201 frames is larger than the clip (200 frames)"),
        ({"window": {"size": 0}}, "samples[0].window.size: Input should be greater than 0"),
        ({"window": {"size": 4}}, "one sample holds 512 values, the input input_1 [1, 640] takes 640"),
        ({"shape": None}, "shape: a raw-float32 file has no header, so its shape is required"),
        ({"shape": [200, -128]}, "samples[0].shape[1]: Input should be greater than 0"),
        ({"kind": "wav"}, "samples[0].kind: Input should be 'raw-float32', 'c-int8', 'npy' or 'npz'"),
        ({"kind": "c-int8", "shape": None, "window": None}, "a c-int8 sample names its C array"),
        (
            {
                "kind": "c-int8",
                "shape": None,
                "window": None,
                "array": "1x",
                "quantization": {"scale": 1, "zero_point": 0},
            },
            "array: '1x' is not a C identifier",
        ),
        ({"use": ["training"]}, "samples[0].use[0]: Input should be 'verification' or 'calibration'"),
        ({"use": []}, "samples[0].use: List should have at least 1 item"),
        ({"windw": {"size": 5}}, "unknown field 'windw' (did you mean 'window'?)"),
    ],
)
def test_hostile_sample_entries(sample: dict[str, Any], fragment: str) -> None:
    assert fragment in problems(ad_doc(**sample))


def test_labels_must_match_the_classes() -> None:
    doc = minimal_recipe(num_classes=2, targets=[{"name": "t", "format": "tflite", "c_array": True}])
    assert "mcu.labels: 3 labels for num_classes 2" in problems(doc | {"mcu": {"labels": ["a", "b", "c"]}})
    assert "nothing runs under TensorFlow Lite Micro" in problems(minimal_recipe() | {"mcu": {}})


def test_mcu_settings_do_not_convert_again() -> None:
    a = parse_recipe(ad_doc() | {"mcu": {"arena_limit_kb": 1}}, "x")
    b = parse_recipe(ad_doc() | {"mcu": {"arena_limit_kb": 2}}, "x")
    c = parse_recipe(ad_doc(window={"size": 5, "stride": 2}), "x")
    assert a.conversion_digest == b.conversion_digest != c.conversion_digest


# --- decoders -------------------------------------------------------------------------------------


def port(shape: list[int]) -> Any:
    from zookit.ports import Port

    return Port("input_1", tuple(shape), "float32")


@genuine
def test_the_genuine_clip_gives_196_windows_of_5_frames(tmp_path: Path) -> None:
    from zookit.samples import recipe_samples

    recipe = parse_recipe(ad_doc(), "x")
    shutil.copy(SAMPLES / "normal_id_01_00000000_hist_librosa.bin", tmp_path / "clip.bin")
    feeds = recipe_samples(recipe, tmp_path, [port([1, 640])], "verification")
    clip = np.fromfile(SAMPLES / "normal_id_01_00000000_hist_librosa.bin", "<f4").reshape(200, 128)
    assert len(feeds) == 196
    assert np.array_equal(feeds[7]["input_1"], clip[7:12].reshape(1, 640))
    assert recipe_samples(recipe, tmp_path, [port([1, 640])], "calibration") == []


@genuine
def test_the_genuine_kws_map_is_read_from_the_c_source(tmp_path: Path) -> None:
    from zookit.recipe.mcu import Sample
    from zookit.samples import _as_input, decode

    sample = Sample(
        file="k.cc", kind="c-int8", array="g_kws_inputs", quantization={"scale": 0.5, "zero_point": 83}
    )
    (values,) = decode(sample, SAMPLES / "kws_input_data.cc")
    assert values.size == 490 and values[0] == (76 - 83) * 0.5 and values[-1] == (85 - 83) * 0.5
    assert _as_input(values, port([1, 49, 10, 1]), Path("k.cc")).shape == (1, 49, 10, 1)
    wrong = Sample(file="k.cc", kind="c-int8", array="g_other", quantization={"scale": 0.5, "zero_point": 83})
    with pytest.raises(Exception, match="no C array named 'g_other'"):
        decode(wrong, SAMPLES / "kws_input_data.cc")


def test_broken_sample_files_fail_with_one_line(tmp_path: Path) -> None:
    from zookit.samples import SampleError, recipe_samples

    recipe = parse_recipe(ad_doc(), "x")
    (tmp_path / "clip.bin").write_bytes(np.zeros(200 * 128 - 1, "<f4").tobytes())  # truncated
    with pytest.raises(
        SampleError, match=r"clip.bin: 102396 bytes, but shape \[200, 128\] of float32 needs 102400"
    ):
        recipe_samples(recipe, tmp_path, [port([1, 640])], "verification")
    (tmp_path / "clip.bin").unlink()
    with pytest.raises(SampleError, match=r"cannot be read .*; fetch it"):
        recipe_samples(recipe, tmp_path, [port([1, 640])], "verification")
    nan = np.zeros((200, 128), "<f4")
    nan[3, 3] = np.nan
    (tmp_path / "clip.bin").write_bytes(nan.tobytes())
    with pytest.raises(SampleError, match="NaN or infinite"):
        recipe_samples(recipe, tmp_path, [port([1, 640])], "verification")


def test_user_npy_samples(tmp_path: Path) -> None:
    from zookit.errors import UsageError
    from zookit.samples import SampleError, check_samples_option, user_samples

    np.save(tmp_path / "a.npy", np.ones((3, 640), np.float32))  # three stacked
    np.save(tmp_path / "b.npy", np.zeros((1, 640), np.float64))  # one, as the input
    feeds = user_samples(tmp_path, [port([1, 640])])
    assert (
        len(feeds) == 4 and feeds[0]["input_1"].shape == (1, 640) and feeds[0]["input_1"].dtype == np.float32
    )
    np.save(tmp_path / "c.npy", np.zeros(17))
    with pytest.raises(
        SampleError, match=r"c.npy: a sample of 17 values \(\[17\]\) does not fit the input input_1"
    ):
        user_samples(tmp_path, [port([1, 640])])
    (tmp_path / "c.npy").write_bytes(b"not numpy")
    with pytest.raises(SampleError, match=r"c\.npy: not a readable npy file"):
        user_samples(tmp_path, [port([1, 640])])
    empty = tmp_path / "empty"
    empty.mkdir()
    recipe = parse_recipe(ad_doc(), "x")
    with pytest.raises(UsageError, match=r"holds no \.npy files"):
        check_samples_option(empty, [recipe])


# --- TensorFlow Lite Micro itself -----------------------------------------------------------------


MLCOMMONS = {
    "ic": "image_classification/trained_models/pretrainedResnet_quant.tflite",
    "kws": "keyword_spotting/trained_models/kws_ref_model.tflite",
    "ad": "anomaly_detection/trained_models/ad01_int8.tflite",
}


@genuine
@pytest.mark.parametrize("name", sorted(MLCOMMONS))
def test_the_arena_is_the_smallest_that_allocates(name: str) -> None:
    from zookit.runtimes import tflm as runtime

    model = (TINY / MLCOMMONS[name]).read_bytes()
    arena = runtime.minimum_arena(model)
    with pytest.raises(runtime.TflmError, match="TFLM failed to allocate tensors"):
        runtime.interpreter(model, arena - 1)
    for more in (arena, arena + 1, arena + 7, arena + 4096):  # every larger arena allocates too
        runtime.interpreter(model, more)
    run, engine = runtime.tflm_raw(model, arena)
    ins, outs = runtime.boundaries(model)
    rng = np.random.default_rng(0)
    feed = [rng.integers(-128, 128, b.shape).astype(b.dtype) for b in ins]
    assert run(feed)[0].shape == tuple(outs[0].shape)
    recorded = runtime.recorded_allocations(engine)
    assert recorded["total"] == recorded["head"] + recorded["tail"] <= arena


@genuine
def test_the_resolver_header_registers_exactly_the_models_ops(tmp_path: Path) -> None:
    from ai_edge_litert.interpreter import Interpreter

    from zookit.deploy.mcu import firmware
    from zookit.runtimes import tflm as runtime

    model = (TINY / MLCOMMONS["kws"]).read_bytes()
    ops = runtime.op_counts(model)
    litert = Interpreter(model_content=model)
    listed = [op["op_name"] for op in litert._get_ops_details()]
    assert ops == {name: listed.count(name) for name in sorted(set(listed))}  # LiteRT's own op list
    header = firmware.op_resolver_header("kws", "kws/int8", ops)
    calls = re.findall(r"resolver\.(Add\w+)\(\)", header)
    count = int(re.search(r"kOpCount = (\d+);", header).group(1))  # type: ignore[union-attr]
    assert count == len(calls) == len(set(calls)) == len(ops)
    # TFLM's method names spell the op names in CamelCase (AVERAGE_POOL_2D: AddAveragePool2D)
    assert [c.removeprefix("Add").lower() for c in calls] == [op.replace("_", "").lower() for op in ops]
    assert {"AddConv2D", "AddDepthwiseConv2D", "AddAveragePool2D", "AddFullyConnected", "AddSoftmax"} <= set(
        calls
    )


def test_an_op_the_resolver_lacks_is_named() -> None:
    from zookit.errors import ZooError
    from zookit.runtimes.tflm_ops import resolver_methods

    with pytest.raises(
        ZooError, match="no Add method for TOPK_V2: the model cannot run under TensorFlow Lite Micro"
    ):
        resolver_methods({"CONV_2D": 1, "TOPK_V2": 1})


@pytest.mark.slow
def test_a_model_tflm_cannot_run_fails_with_one_line() -> None:
    """A real TFLite model with an op TFLM has no kernel for: the allocation fails, and the reason TFLM
    printed (not a traceback) is the message."""
    import tensorflow as tf

    from zookit.runtimes import tflm as runtime

    @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32)])
    def top(x: Any) -> Any:
        return tf.math.top_k(x, k=2).values

    model = tf.lite.TFLiteConverter.from_concrete_functions([top.get_concrete_function()]).convert()
    assert "TOPK_V2" in runtime.op_counts(model)
    with pytest.raises(runtime.TflmError) as info:
        runtime.minimum_arena(model)
    assert "TOPK_V2" in str(info.value) and "\n" not in str(info.value), str(info.value)


@pytest.mark.skipif(shutil.which("g++") is None, reason="no system C++ compiler (g++) on this machine")
def test_settings_header_compiles_with_the_c_array(tmp_path: Path) -> None:
    """The settings header and the C array, compiled and run as firmware would include them."""
    from zookit.deploy.mcu import firmware
    from zookit.runtimes.tflm_footprint import tensor_arena_size

    tensors = {
        "inputs": [
            {"name": "in", "dtype": "int8", "shape": [1, 49, 10, 1], "scale": 0.5847, "zero_point": 83}
        ],
        "outputs": [{"name": "out", "dtype": "int8", "shape": [1, 12], "scale": 1 / 256, "zero_point": -128}],
    }
    arena = {"measured": 24224, "margin": 0.1, "size": tensor_arena_size(24224, 0.1)}
    labels = ["down", 'say "hi"', "back\\slash"]
    (tmp_path / "m_settings.h").write_text(firmware.settings_header("m", "m/int8", tensors, arena, labels))
    (tmp_path / "main.cc").write_text(
        '#include <cstdio>\n#include "m_settings.h"\n#include "m_settings.h"\n'
        "alignas(16) static unsigned char arena[m::kTensorArenaSize];\n"
        'int main() { std::printf("%u %d %d %s %d\\n", m::kTensorArenaSize, m::kInput0Elements, '
        "m::kInput0ZeroPoint, m::kCategoryLabels[1], m::kCategoryCount); return arena[0]; }\n"
    )
    subprocess.run(
        [
            "g++",
            "-std=c++17",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-o",
            str(tmp_path / "m"),
            str(tmp_path / "main.cc"),
        ],
        check=True,
        capture_output=True,
    )
    out = subprocess.run([str(tmp_path / "m")], capture_output=True, text=True, check=True).stdout
    assert out.split(" ", 3)[:3] == ["26656", "490", "83"] and 'say "hi" 3' in out
    assert 26656 % 16 == 0 and 26656 >= 24224 * 1.1
