"""``compare_with``: the upstream's own build of the model, checked before it is run on the target's samples.

It must be a readable TFLite file (zookit.graphs.TfliteModel checks names and indices) that
takes and gives tensors of the converted model's sizes; anything else is one error naming the file and what
differs, never a numpy broadcasting error or a decode error from the runtime.
"""

from __future__ import annotations

import math
from pathlib import Path

from zookit.errors import VerificationError
from zookit.ports import Port


def _size(shape: list[int] | tuple[int, ...]) -> int:
    return math.prod(max(1, d) for d in shape)  # an open dimension (-1) runs as 1


def upstream_model(path: Path, inputs: list[Port], outputs: list[Port], where: str) -> bytes:
    """The bytes of the compare_with model at ``path``, after checking it fits the converted model's ports
    (as many inputs and outputs, each of the same number of values)."""
    from zookit.graphs import TfliteModel

    if not path.is_file():
        raise VerificationError(f"{where}: compare_with: {path} is missing; fetch it")
    model = TfliteModel(path)  # ZooError naming the file for a hostile or broken one
    for kind, ports, indices in (
        ("input", inputs, sorted(model.inputs)),
        ("output", outputs, sorted(model.outputs)),
    ):
        if len(indices) != len(ports):
            raise VerificationError(
                f"{where}: compare_with: {path} has {len(indices)} {kind}(s), the converted model "
                f"{len(ports)}; compare_with names the upstream's own build of the same model"
            )
        theirs = {model.name(i): model.shape(i) for i in indices}
        sizes = sorted(_size(s) for s in theirs.values())  # paired by size: names may differ upstream
        if sizes != sorted(_size(p.shape) for p in ports):
            port = next(p for p in ports if _size(p.shape) not in sizes)
            name, shape = next(
                ((n, s) for n, s in theirs.items() if n == port.name), next(iter(theirs.items()))
            )
            raise VerificationError(
                f"{where}: compare_with: {path}: {kind} {name!r} is {list(shape)}, the converted model's "
                f"{port.name!r} is {list(port.shape)}; compare_with names the upstream's own build of the "
                "same model"
            )
    return path.read_bytes()
