"""TensorFlow as the runtime of a source graph: a TF1 ``GraphDef`` run in a session, fed and read by the
recipe's tensor names (without ':0')."""

from __future__ import annotations

from typing import Any

import numpy as np

from zookit.libs import load, threads
from zookit.ports import Port
from zookit.reference import Runner


def tf_session_config() -> Any:
    """Sessions that run a source graph as it is: without Grappler's rewrites, which cost more (0.25 s
    on MobileNet's first run) than the few verification runs they would speed up, and would fuse ops
    the source graph keeps apart."""
    tf = load("tensorflow")

    n = threads()
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=n, inter_op_parallelism_threads=n)
    config.graph_options.rewrite_options.disable_meta_optimizer = True
    return config


def tf_runner(graph_def: Any, inputs: list[Port], outputs: list[Port]) -> Runner:
    tf = load("tensorflow")

    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    session = tf.compat.v1.Session(graph=graph, config=tf_session_config())
    fetches = [f"{p.name}:0" for p in outputs]

    def run(feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        values = session.run(fetches, {f"{k}:0": v for k, v in feed.items()})
        return {p.name: np.asarray(v) for p, v in zip(outputs, values, strict=True)}

    return run
