"""Big zoos: `zoo list` and `zoo validate` over 10,000 copies of a MLPerf Tiny recipe (cold: an empty cache
folder, every file judged, by two worker processes from 500 files; warm: every verdict from the
validated-recipe cache), with the machine's load average before and after (the machine is shared: a cold
run's wall time follows what else runs on it), a warm `zoo run --all` over 100
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

from common import WORK, table, zoo_command

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


BOOK_RECIPE = REPO / "src" / "zookit" / "recipes" / "mlperf_tiny" / "ic_resnet8.yaml"

# one command in a fresh parent process: its wall time, peak RSS and CPU time (user + system) alone
_MEASURE = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
    "w = time.perf_counter() - t; u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(w, u.ru_maxrss, u.ru_utime + u.ru_stime, r.returncode)"
)


def book_zoo(folder: Path, count: int) -> Path:
    """``count`` copies of a shipped MLPerf Tiny recipe (ic_resnet8) under distinct names."""
    folder.mkdir(parents=True, exist_ok=True)
    text = BOOK_RECIPE.read_text()
    for i in range(count):
        name = f"ic_resnet8_{i:05d}"
        (folder / f"{name}.yaml").write_text(text.replace("name: ic_resnet8\n", f"name: {name}\n", 1))
    return folder


def measured(argv: list[str], cache: Path) -> tuple[float, float, float]:
    """(wall s, peak RSS MB, user+sys CPU s) of one command."""
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *argv],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "ZOO_CACHE_DIR": str(cache)},
    )
    wall, rss, cpu, code = out.stdout.split()
    if code != "0":
        raise SystemExit(f"{' '.join(argv[3:])} exited {code}")
    return float(wall), int(rss) / 1024, float(cpu)


def book(count: int = 10_000, repeat: int = 3) -> list[tuple[str, ...]]:
    """`zoo list`, `zoo list --json` and `zoo validate` over ``count`` recipes: cold (an empty cache
    folder, one run) and warm (median of ``repeat`` runs after it); then `zoo show` and `zoo run
    --dry-run` of one recipe among them."""
    import statistics
    import tempfile

    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="zoo-book-") as tmp:
        recipes = book_zoo(Path(tmp) / "recipes", count)
        targets = {"list": (1.0, 4.0), "list --json": (1.0, 4.0), "validate": (2.0, None)}
        for argv, (warm_target, cold_target) in targets.items():
            cache = Path(tmp) / f"cache-{argv.replace(' ', '')}"
            command = [*zoo_command(), "--recipes", str(recipes), *argv.split()]
            cold = measured(command, cache)
            warm = [measured(command, cache) for _ in range(repeat)]
            wall = statistics.median(w for w, _, _ in warm)
            cpu = statistics.median(c for _, _, c in warm)
            peak = max(p for _, p, _ in [cold, *warm])
            goal = f"goal < {cold_target} s" if cold_target else ""
            rows.append(
                (
                    f"zoo {argv}, {count} recipes, cold",
                    f"{cold[0]:.2f} s",
                    f"{cold[2]:.2f} s",
                    f"{cold[1]:.0f} MB",
                    goal,
                )
            )
            rows.append(
                (
                    f"zoo {argv}, {count} recipes, warm",
                    f"{wall:.2f} s",
                    f"{cpu:.2f} s",
                    f"{peak:.0f} MB",
                    f"median of {repeat}; goal < {warm_target} s, < 150 MB",
                )
            )
        # one recipe by name in the big folder (its file alone is read)
        middle = f"ic_resnet8_{count // 2:05d}"
        for argv in (f"show {middle}", f"run {middle} --dry-run --zoo-dir {tmp}/zoo"):
            command = [*zoo_command(), "--recipes", str(recipes), *argv.split()]
            runs = [measured(command, Path(tmp) / "cache-list") for _ in range(repeat)]
            shown = argv.replace(f" --zoo-dir {tmp}/zoo", "")
            rows.append(
                (
                    f"zoo {shown}, one of {count} recipes",
                    f"{statistics.median(w for w, _, _ in runs):.2f} s",
                    f"{statistics.median(c for _, _, c in runs):.2f} s",
                    f"{max(p for _, p, _ in runs):.0f} MB",
                    f"median of {repeat}",
                )
            )
    load = f"{load_before:.2f} / {os.getloadavg()[0]:.2f}"
    rows.append(("machine load (1-min average) before / after", load, "", "", f"{os.cpu_count()} cores"))
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
    rows = [(what, wall, f"user+sys {cpu}, peak {peak}; {note}") for what, wall, cpu, peak, note in book()]
    return rows + warm_run() + dask_vs_local() + dask_vs_local_standins()


def main() -> None:
    """``scale_bench.py`` runs everything; ``scale_bench.py book [N]`` only the recipe book's figures."""
    if sys.argv[1:2] == ["book"]:
        count = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
        print(table(book(count), ("what", "wall", "user+sys", "peak RSS", "note")))
        return
    print(table(measure(), ("what", "time", "note")))


if __name__ == "__main__":
    main()
