"""Child process of verify/noise.py: run a frozen TensorFlow graph on saved feeds and save its outputs
(the parent sets ``TF_ENABLE_ONEDNN_OPTS`` for it). Usage: ``python -m zookit.verify.noise_child DIR``
with ``graph.pb``, ``feeds.npz`` and ``ports.json`` in DIR; writes ``outputs.npz`` there."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np


def main(folder: Path) -> None:
    from zookit.libs import load
    from zookit.ports import Port
    from zookit.runtimes.tensorflow import tf_runner

    tf = load("tensorflow")
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString((folder / "graph.pb").read_bytes())
    ports = json.loads((folder / "ports.json").read_text())
    outputs = [Port(name, (), "float32") for name in ports["outputs"]]
    run = tf_runner(graph_def, [Port(name, (), "float32") for name in ports["inputs"]], outputs)
    with np.load(folder / "feeds.npz") as data:
        count = len({key.split("/", 1)[0] for key in data.files})
        feeds = [{name: data[f"{i}/{name}"] for name in ports["inputs"]} for i in range(count)]
    save_npz(folder / "outputs.npz", [run(feed) for feed in feeds])


def save_npz(path: Path, samples: list[dict[str, np.ndarray]]) -> None:
    """Samples (or outputs) keyed ``i/name`` in one ``.npz``, written whole under its final name."""
    arrays: dict[str, Any] = {f"{i}/{k}": v for i, sample in enumerate(samples) for k, v in sample.items()}
    with open(path.with_name(path.name + ".tmp"), "wb") as handle:
        np.savez(handle, **arrays)
    path.with_name(path.name + ".tmp").replace(path)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
