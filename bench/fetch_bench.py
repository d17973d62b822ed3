"""Fetch throughput: zookit against curl and a plain requests loop, same 200 MB file, same run.

Also the start-up time of `zoo list`. Prints figures; asserts nothing.
Run: .venv/bin/python bench/fetch_bench.py [--size-mb 200]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import WORK, serve_folder, table, timed, zoo_command
from zookit.fetch import Fetcher, FetchOptions
from zookit.fetch.cache import Cache
from zookit.recipe import parse_recipe

REPO = Path(__file__).resolve().parents[1]


def make_payload(folder: Path, size_mb: int) -> tuple[Path, str]:
    path = folder / "payload.bin"
    if not path.exists() or path.stat().st_size != size_mb * 2**20:
        with open(path, "wb") as f:
            for _ in range(size_mb):
                f.write(os.urandom(2**20))
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(2**20):
            h.update(chunk)
    return path, "sha256:" + h.hexdigest()


def zookit_fetch(url: str, checksum: str, size: int, out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    doc = {
        "name": "bench",
        "description": "benchmark",
        "task": "classification",
        "license": "none",
        "sources": [{"file": "payload.bin", "urls": [url], "size": size, "checksum": checksum}],
        "model": {"format": "onnx", "path": "payload.bin"},
        "inputs": [{"name": "x", "shape": [1]}],
        "outputs": [{"name": "y", "shape": [1]}],
        "preprocessing": {"mean": [0], "scale": [1]},
        "targets": [{"name": "onnx", "format": "onnx"}],
    }
    fetcher = Fetcher(FetchOptions(zoo_dir=out / "zoo", cache=Cache(out / "cache"), mirrors=[]))
    (result,) = fetcher.fetch_all([parse_recipe(doc, "bench")])
    fetcher.close()
    assert result.status == "downloaded", result.error


def requests_loop(url: str, out: Path) -> None:
    """What a careful script does by hand: stream, hash, write."""
    h = hashlib.sha256()
    with requests.get(url, stream=True, timeout=30) as resp, open(out, "wb") as f:
        for chunk in resp.iter_content(2**20):
            f.write(chunk)
            h.update(chunk)


def curl(url: str, out: Path) -> None:
    subprocess.run(["curl", "-sSf", "-o", str(out), url], check=True)


def measure(size_mb: int) -> list[tuple[str, ...]]:
    WORK.mkdir(parents=True, exist_ok=True)
    served = WORK / "served"
    served.mkdir(exist_ok=True)
    payload, checksum = make_payload(served, size_mb)
    size = payload.stat().st_size
    rows = []
    with serve_folder(served) as base:
        url = f"{base}/payload.bin"
        cases = [
            (
                "zookit fetch (sha256 + cache + zoo link)",
                lambda: zookit_fetch(url, checksum, size, WORK / "zk"),
            ),
            ("requests loop (sha256)", lambda: requests_loop(url, WORK / "req.bin")),
        ]
        if shutil.which("curl"):
            cases.append(("curl -o", lambda: curl(url, WORK / "curl.bin")))
        for label, fn in cases:
            seconds = timed(fn, repeat=3)
            rows.append((label, f"{size / seconds / 1e6:.0f} MB/s", f"{seconds:.2f} s"))
    for leftover in ("zk", "req.bin", "curl.bin"):
        target = WORK / leftover
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        elif target.exists():
            target.unlink()
    return rows


def big_zoo(count: int) -> Path:
    """``count`` recipes made from the shipped four (renamed copies): a zoo of the size of TI's catalogue."""
    folder = WORK / f"recipes-{count}"
    if folder.is_dir() and len(list(folder.glob("*.yaml"))) == count:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    shipped = sorted((REPO / "recipes").glob("*.yaml"))
    for i in range(count):
        source = shipped[i % len(shipped)]
        name = f"{source.stem}_{i}"
        text = source.read_text().replace(f"name: {source.stem}\n", f"name: {name}\n", 1)
        (folder / f"{name}.yaml").write_text(text)
    return folder


def startup() -> list[tuple[str, ...]]:
    rows = []
    for argv in (["list"], ["--help"]):
        seconds = timed(
            lambda a=argv: subprocess.run(zoo_command() + a, check=True, stdout=subprocess.DEVNULL), repeat=5
        )
        rows.append((f"zoo {' '.join(argv)} start-up", "", f"{seconds:.3f} s"))
    recipes = big_zoo(400)
    for argv in (["list"], ["validate"]):
        command = [*zoo_command(), "--recipes", str(recipes), *argv]
        seconds = timed(lambda c=command: subprocess.run(c, check=True, stdout=subprocess.DEVNULL), repeat=5)
        rows.append((f"zoo {argv[0]} over 400 recipes", "", f"{seconds:.3f} s"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=200)
    args = parser.parse_args()
    rows = measure(args.size_mb) + startup()
    print(f"fetch of a {args.size_mb} MiB file from 127.0.0.1 (median of 3)")
    print(table(rows, ("what", "throughput", "time")))


if __name__ == "__main__":
    main()
