"""`zoo run` over the four recipes built from stand-ins: cold with -j 1 and -j 2, then a warm re-run.

The stand-ins are the tests' own (tests/standins.py), served from 127.0.0.1 as the upstream files are
packed; each cold run starts from an empty zoo and an empty download cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from common import WORK, median_runs, run_measured, serve_folder, table, zoo_command

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _sha256(data: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()


def prepare(work: Path, base_url: str) -> tuple[Path, Path]:
    """Stand-in files in work/served and the real recipes pointing at them in work/recipes."""
    import standins
    from zookit.convert.anchors import ssd_anchors
    from zookit.recipe import parse_recipe

    served, recipes = work / "served", work / "recipes"
    served.mkdir(parents=True, exist_ok=True)
    recipes.mkdir()
    docs = {
        n: yaml.safe_load((REPO / "recipes" / f"{n}.yaml").read_text())
        for n in ("mobilenet_v1", "resnet50_v1", "ssd_mobilenet_v1", "resnet34_ssd1200")
    }
    ssd_dir = "ssd_mobilenet_v1_coco_2018_01_28"
    shared = REPO.parent / "shared" / "models" / "standins"
    if shared.is_dir():  # the real-structure, real-size stand-ins: work that dominates start-up
        frozen_ssd = (shared / ssd_dir / "frozen_inference_graph.pb").read_bytes()
        frozen_mobilenet = (shared / "mobilenet_v1_1.0_224" / "mobilenet_v1_1.0_224_frozen.pb").read_bytes()
    else:
        anchors = ssd_anchors(parse_recipe(docs["ssd_mobilenet_v1"], "r").detection.anchors)
        frozen_ssd = standins.tf_ssd_like(work / "ssd.pb", anchors)
        frozen_mobilenet = standins.mobilenet_like(work / "m.pb")
    files = {
        "mobilenet_v1": (
            "mobilenet_v1_1.0_224.tgz",
            standins.targz(
                {
                    "./mobilenet_v1_1.0_224_frozen.pb": frozen_mobilenet,
                    "./mobilenet_v1_1.0_224_info.txt": b"info\n",
                }
            ),
        ),
        "resnet50_v1": ("resnet50_v1.pb", standins.resnet50_like(work / "r.pb")),
        "ssd_mobilenet_v1": (
            f"{ssd_dir}.tar.gz",
            standins.targz(
                {f"{ssd_dir}/frozen_inference_graph.pb": frozen_ssd, f"{ssd_dir}/pipeline.config": b"\n"}
            ),
        ),
        "resnet34_ssd1200": ("resnet34-ssd1200.onnx", standins.onnx_ssd(work / "s.onnx")),
    }
    for name, (file, data) in files.items():
        (served / file).write_bytes(data)
        source = docs[name]["sources"][0]
        source.update(urls=[f"{base_url}/{file}"], size=len(data), checksum=_sha256(data))
        for member in source.get("members", []):
            member.pop("checksum", None)
            member.pop("size", None)
    docs["ssd_mobilenet_v1"]["targets"][0]["tolerance"]["detection_match"] = (
        0.95  # see tests/test_detection.py
    )
    for name, doc in docs.items():
        for target in doc[
            "targets"
        ]:  # random weights: top-1 of an int8 model means nothing (tests do the same)
            if target.get("quantization") == "int8":
                target.setdefault("tolerance", {})["top1_agreement"] = 0.0
        (recipes / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return served, recipes


def measure(repeat: int = 3) -> list[tuple[str, ...]]:
    """Cold -j 1 and -j 2 runs, ``repeat`` rounds each (medians), then one warm re-run."""
    work = WORK / "batch"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    images = work / "images"
    images.mkdir()
    for photo in sorted((REPO.parent / "shared" / "models" / "images").glob("*.jpg"))[:3]:
        shutil.copy(photo, images)
    rows = []
    (work / "served").mkdir()
    with serve_folder(work / "served") as base:
        _, recipes = prepare(work, base)
        walls: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
        argvs = {}
        for jobs in (1, 2):
            argvs[jobs] = [*zoo_command(), "--recipes", str(recipes), "run", "--all", "-j", str(jobs)]
            argvs[jobs] += ["--zoo-dir", str(work / f"zoo-j{jobs}")]
            if any(images.iterdir()):
                argvs[jobs] += ["--calibration-images", str(images)]
        for round_ in range(repeat):
            for jobs in (1, 2):  # taking turns, so that a slow spell of the machine falls on both
                zoo, cache = work / f"zoo-j{jobs}", work / f"cache-j{jobs}"
                shutil.rmtree(zoo, ignore_errors=True)
                shutil.rmtree(cache, ignore_errors=True)
                walls[jobs].append(run_measured(argvs[jobs], env={"ZOO_CACHE_DIR": str(cache)}))
                print(f"  round {round_ + 1}: -j {jobs} {walls[jobs][-1][0]:.1f} s", file=sys.stderr)
        medians = {}
        for jobs in (1, 2):
            wall, peak, spread = median_runs(walls[jobs])
            medians[jobs] = wall
            rows.append(
                (
                    f"cold zoo run --all -j {jobs}",
                    f"{wall:.1f} s",
                    f"median of {repeat} ({spread}); {peak:.0f} MB (largest process)",
                )
            )
        ratios = sorted(w2 / w1 for (w1, _), (w2, _) in zip(walls[1], walls[2], strict=True))
        rows.append(
            (
                "-j 2 / -j 1",
                f"{medians[2] / medians[1]:.2f}x",
                "per round: " + ", ".join(f"{r:.2f}x" for r in ratios),
            )
        )
        zoo = work / "zoo-j1"
        argv = [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "zookit",
            "--recipes",
            str(recipes),
            "run",
            "--all",
            "--zoo-dir",
            str(zoo),
        ]
        if any(images.iterdir()):
            argv += ["--calibration-images", str(images)]
        import time

        start = time.perf_counter()
        done = subprocess.run(
            argv, capture_output=True, text=True, env={**os.environ, "ZOO_CACHE_DIR": str(work / "cache-j1")}
        )
        wall = time.perf_counter() - start
        imported = "tensorflow" in done.stderr
        rows.append(
            ("warm zoo run --all", f"{wall:.2f} s", f"TensorFlow imported: {'yes' if imported else 'no'}")
        )
    return rows


def main() -> None:
    print("zoo run over the four stand-in recipes (fetch from 127.0.0.1 -> convert -> verify -> tidl)")
    print(table(measure(), ("what", "time", "memory / note")))


if __name__ == "__main__":
    main()
