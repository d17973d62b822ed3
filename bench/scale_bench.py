"""Big zoos: `zoo list` and `zoo validate` over 400 generated recipes, a warm `zoo run --all` over 100
complete models (no TensorFlow import), and a cold run on a Dask LocalCluster of 2 workers against
local processes (-j 2), both on the same machine.

The 100 models are one small ONNX classifier (a convolution and a pooling, 3x32x32 pictures) under 100
names, fetched from a local mirror: the warm run measures zookit's own bookkeeping per model (recipe,
lock, stage keys, records), which is what grows with the zoo, not the models' size.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from common import WORK, table, timed, zoo_command

REPO = Path(__file__).resolve().parents[1]


def tiny_onnx() -> bytes:
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "w")
    nodes = [
        helper.make_node("Conv", ["input", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["p"]),
        helper.make_node("Flatten", ["p"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["prob"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 8])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    return model.SerializeToString()


def tiny_zoo(count: int) -> tuple[Path, Path]:
    """``count`` recipes of the tiny ONNX classifier, and the mirror folder holding its file."""
    work = WORK / f"tiny-{count}"
    recipes, mirror = work / "recipes", work / "mirror"
    if recipes.is_dir() and len(list(recipes.glob("*.yaml"))) == count:
        return recipes, mirror
    shutil.rmtree(work, ignore_errors=True)
    recipes.mkdir(parents=True)
    mirror.mkdir()
    data = tiny_onnx()
    (mirror / "tiny.onnx").write_bytes(data)
    for i in range(count):
        doc = {
            "name": f"tiny_{i:03d}",
            "description": "a small ONNX classifier (benchmark)",
            "task": "classification",
            "license": "Apache-2.0",
            "sources": [
                {
                    "file": "tiny.onnx",
                    "urls": ["https://example.invalid/tiny.onnx"],
                    "size": len(data),
                    "checksum": "sha256:" + hashlib.sha256(data).hexdigest(),
                }
            ],
            "model": {"format": "onnx", "path": "tiny.onnx"},
            "inputs": [{"name": "input", "shape": [1, 3, 32, 32], "dtype": "float32", "layout": "NCHW"}],
            "outputs": [{"name": "prob", "shape": [1, 8], "dtype": "float32"}],
            "preprocessing": {
                "mean": [127.5, 127.5, 127.5],
                "scale": [0.0078125, 0.0078125, 0.0078125],
                "channel_order": "RGB",
                "layout": "NCHW",
            },
            "targets": [{"name": "onnx", "format": "onnx", "tolerance": {"max_abs": 1e-5}}],
            "tidl": {"target": "onnx", "tensor_bits": 8},
        }
        (recipes / f"{doc['name']}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return recipes, mirror


def run(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **env})
    return time.perf_counter() - start, done


def listing(count: int = 400) -> list[tuple[str, ...]]:
    from fetch_bench import big_zoo

    recipes = big_zoo(count)
    rows = []
    for argv, target in ((["list"], 0.5), (["validate"], 1.0)):
        command = [*zoo_command(), "--recipes", str(recipes), *argv]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)  # the parsed-recipe cache filled
        seconds = timed(lambda c=command: subprocess.run(c, check=True, stdout=subprocess.DEVNULL), repeat=5)
        rows.append((f"zoo {argv[0]} over {count} recipes", f"{seconds:.3f} s", f"target <= {target} s"))
    return rows


def warm_run(count: int = 100) -> list[tuple[str, ...]]:
    recipes, mirror = tiny_zoo(count)
    zoo, cache = WORK / f"tiny-{count}" / "zoo", WORK / f"tiny-{count}" / "cache"
    base = [*zoo_command(), "--recipes", str(recipes), "run", "--all", "--zoo-dir", str(zoo)]
    base += ["--mirror", str(mirror), "--offline"]
    env = {"ZOO_CACHE_DIR": str(cache), "TF_CPP_MIN_LOG_LEVEL": "2"}
    cold, done = run([*base, "-j", "2"], env)
    if done.returncode != 0:
        raise SystemExit(f"the cold run over {count} models failed:\n{done.stderr[-2000:]}")
    walls = []
    for _ in range(3):
        wall, done = run(base, env)
        assert done.returncode == 0, done.stderr
        walls.append(wall)
    wall, traced = run(
        [sys.executable, "-X", "importtime", *base[1:]] if base[0] == sys.executable else base, env
    )
    imported = "tensorflow" in traced.stderr
    return [
        (
            f"cold zoo run --all -j 2 over {count} models",
            f"{cold:.1f} s",
            "convert + verify + TIDL package each",
        ),
        (
            f"warm zoo run --all over {count} complete models",
            f"{sorted(walls)[1]:.2f} s",
            f"median of 3; target <= 2 s; TensorFlow imported: {'yes' if imported else 'no'}",
        ),
    ]


def local_then_dask(what: str, recipes: Path, work: Path, extra: list[str]) -> list[tuple[str, ...]]:
    """One cold `zoo run --all` on local processes (-j 2), then one on a LocalCluster of 2 worker
    processes (1 thread each, started before the run); the ratio is of these two runs."""
    from distributed import LocalCluster

    walls: dict[str, float] = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        for name, executor in (("local", ["-j", "2"]), ("dask", ["--scheduler", cluster.scheduler_address])):
            zoo, cache = work / f"zoo-{name}", work / f"cache-{name}"
            shutil.rmtree(zoo, ignore_errors=True)
            shutil.rmtree(cache, ignore_errors=True)
            argv = [*zoo_command(), "--recipes", str(recipes), "run", "--all", "--zoo-dir", str(zoo)]
            wall, done = run(
                [*argv, *extra, *executor], {"ZOO_CACHE_DIR": str(cache), "TF_CPP_MIN_LOG_LEVEL": "2"}
            )
            if done.returncode != 0:
                raise SystemExit(f"{what}: the {name} run failed:\n{done.stderr[-2000:]}")
            walls[name] = wall
    return [
        (f"cold zoo run, {what}: local -j 2", f"{walls['local']:.1f} s", ""),
        (
            f"cold zoo run, {what}: Dask LocalCluster (2 workers)",
            f"{walls['dask']:.1f} s",
            f"dask / local = {walls['dask'] / walls['local']:.2f}x",
        ),
    ]


def dask_vs_local(count: int = 20) -> list[tuple[str, ...]]:
    """``count`` tiny models: what the executors themselves cost."""
    recipes, mirror = tiny_zoo(count)
    return local_then_dask(
        f"{count} tiny models", recipes, WORK / f"tiny-{count}", ["--mirror", str(mirror), "--offline"]
    )


def dask_vs_local_standins() -> list[tuple[str, ...]]:
    """The four stand-in recipes (bench/batch_bench.py: real TensorFlow conversions), served from
    127.0.0.1."""
    import batch_bench
    from common import serve_folder

    work = WORK / "dask-standins"
    shutil.rmtree(work, ignore_errors=True)
    (work / "served").mkdir(parents=True)
    with serve_folder(work / "served") as base:
        _, recipes = batch_bench.prepare(work, base)
        return local_then_dask("4 stand-ins", recipes, work, [])


def measure() -> list[tuple[str, ...]]:
    return listing() + warm_run() + dask_vs_local() + dask_vs_local_standins()


def main() -> None:
    print(table(measure(), ("what", "time", "note")))


if __name__ == "__main__":
    main()
