"""A TFLite file under LiteRT's reference kernels (``OpResolverType.BUILTIN_REF``, no XNNPACK, one
thread), in a child process: LiteRT 2.3's reference kernels abort the process (SIGABRT) on some
quantized models (an int8 MobileNet with uint8 I/O: CONV_2D, DEPTHWISE_CONV_2D, MEAN, QUANTIZE, RESHAPE,
SOFTMAX), which must not take zookit down with them. ``python -m zookit.verify.reference_kernels DIR``
reads ``model.tflite`` and ``feeds.npz`` (float-domain feeds keyed ``i/name``) and ``ports.json`` from
DIR and writes ``outputs.npz``."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from zookit.ports import Port
from zookit.verify.noise_child import save_npz

Outputs = list[dict[str, np.ndarray]]


def run_reference(model: bytes, inputs: list[Port], outputs: list[Port], feeds: Outputs) -> Outputs | str:
    """The outputs under the reference kernels, or why there are none (one line)."""
    with tempfile.TemporaryDirectory(prefix="zoo-ref-") as tmp:
        folder = Path(tmp)
        (folder / "model.tflite").write_bytes(model)
        save_npz(folder / "feeds.npz", feeds)
        ports = {
            "inputs": [[p.name, list(p.shape), p.dtype] for p in inputs],
            "outputs": [p.name for p in outputs],
        }
        (folder / "ports.json").write_text(json.dumps(ports))
        done = subprocess.run(
            [sys.executable, "-m", "zookit.verify.reference_kernels", str(folder)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or [""])[-1]
            how = f"signal {-done.returncode}" if done.returncode < 0 else f"exit {done.returncode}"
            return f"LiteRT's reference kernels failed on this model ({how}){': ' + last if last else ''}"
        with np.load(folder / "outputs.npz") as data:
            return [{p.name: data[f"{i}/{p.name}"] for p in outputs} for i in range(len(feeds))]


def main(folder: Path) -> None:
    from zookit.runtimes.litert import tflite_runner

    ports = json.loads((folder / "ports.json").read_text())
    inputs = [Port(name, tuple(shape), dtype) for name, shape, dtype in ports["inputs"]]
    outputs = [Port(name, (), "float32") for name in ports["outputs"]]
    run = tflite_runner((folder / "model.tflite").read_bytes(), inputs, outputs, reference=True)
    with np.load(folder / "feeds.npz") as data:
        count = len({key.split("/", 1)[0] for key in data.files})
        feeds = [{p.name: data[f"{i}/{p.name}"] for p in inputs} for i in range(count)]
    save_npz(folder / "outputs.npz", [run(feed) for feed in feeds])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
