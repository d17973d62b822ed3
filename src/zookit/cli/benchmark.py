"""`zoo benchmark NAME [--target T] [--threads 1,2,4] [--json]`: latency per target and thread count
(zookit.benchmark)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from zookit.cli import positive_int, whole_number
from zookit.cli.common import book, print_json


def thread_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected thread counts such as 1,2,4, got {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"thread counts must be 1 or more, got {text!r}")
    return list(dict.fromkeys(counts))


def add_parser(add: Any) -> None:
    p = add(
        "benchmark",
        cmd_benchmark,
        "latency of a model's targets on this CPU across thread counts (LiteRT, ONNX Runtime, OpenVINO)",
    )
    p.add_argument("names", nargs="+", metavar="NAME")
    p.add_argument("--zoo-dir", metavar="DIR", help="the model zoo folder (default: $ZOO_DIR or ./zoo)")
    p.add_argument(
        "--target",
        action="append",
        metavar="T",
        help="only this target (repeatable); openvino and openvino-int8 are the OpenVINO package's IRs",
    )
    p.add_argument(
        "--threads",
        type=thread_counts,
        default=[1, 2, 4],
        metavar="N,N",
        help="thread counts (default 1,2,4)",
    )
    p.add_argument(
        "--warmup", type=whole_number, default=10, metavar="N", help="runs not timed, 0 or more (default 10)"
    )
    p.add_argument("--runs", type=positive_int, default=50, metavar="N", help="timed runs (default 50)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")


def cmd_benchmark(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from zookit.benchmark import benchmark
    from zookit.cli.common import libraries_quiet
    from zookit.fetch import default_zoo_dir

    zoo_dir = Path(args.zoo_dir) if args.zoo_dir else default_zoo_dir()
    recipes = book(args).select(args.names, False)
    documents = []
    for recipe in recipes:
        with libraries_quiet(args, recipe.name):
            documents.append(benchmark(recipe, zoo_dir, args.target, args.threads, args.warmup, args.runs))
    if args.json:
        print_json({"models": documents})
        return 0
    rows = [("model", "target", "runtime", "threads", "median ms", "p10 ms", "p90 ms")]
    for doc in documents:
        for r in doc["results"]:
            rows.append(
                (
                    doc["model"],
                    r["target"],
                    r["runtime"],
                    str(r["threads"]),
                    f"{r['median_ms']:.3f}",
                    f"{r['p10_ms']:.3f}",
                    f"{r['p90_ms']:.3f}",
                )
            )
    from zookit.pipeline.summary import columns

    print("\n".join(columns(rows)))
    written = ", ".join(str(zoo_dir / doc["model"] / "benchmark.json") for doc in documents)
    print(
        f"{args.warmup} warm-up run(s), then {args.runs} timed run(s) each, one sample of seeded random "
        f"inputs; recorded in {written}"
    )
    return 0
