"""TensorFlow Lite Micro itself, through its Python interpreter (the ``tflite-micro`` package, extra
``[mcu]``): run a model, measure the tensor arena it needs, list its ops; and LiteRT's reference kernels
to compare TFLM's integer outputs with.

The arena figure is the smallest ``arena_size`` with which TFLM's own ``AllocateTensors`` succeeds, found
by bisection over whole bytes: exact for this TFLM build on this host, because allocation is
deterministic for a given model and arena and succeeds for every larger arena (the planner lays out the
same buffers; only the room left over changes). The interpreter is TFLM's with its recording allocator
and the greedy memory planner, which is what ``MicroInterpreter`` uses on a device; the recording adds a
few hundred bytes of its own bookkeeping, so the figure is an upper bound for a plain ``MicroAllocator``,
and a 32-bit microcontroller's structures are smaller than this 64-bit host's. What the recording
allocator reports (``print_allocations``) is kept beside it: it counts the model's allocations only,
not the allocator's own objects, so an arena of that size fails to allocate.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from zookit.errors import ZooError
from zookit.libs import load
from zookit.ports import Port, node_name
from zookit.reference import Runner
from zookit.runtimes.litert import dequantize, quantize

ARENA_CEILING = 256 << 20  # no microcontroller has more: a model needing more fails the stage
FLASH_ALIGNMENT = 16  # the C array is alignas(16)
RawRunner = Callable[[list[np.ndarray]], list[np.ndarray]]


class TflmError(ZooError):
    """TFLM cannot run the model: the op it lacks or the allocation that failed, in one line."""


@contextmanager
def captured_stderr() -> Iterator[list[str]]:
    """What C code writes to file descriptor 2 inside the block (TFLM prints there), as one string in
    the yielded list once the block ends; Python's own stderr is flushed around it."""
    out: list[str] = []
    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as capture:
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            yield out
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            out.append(capture.read().decode("utf-8", "replace"))


def _why(log: str) -> str:
    """TFLM's own reason, from what it printed: the op it lacks, else the first allocation message."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in lines:
        if "find op" in line or "Unsupported" in line or "not supported" in line or "registration" in line:
            return line
    for line in lines:
        if "Failed" in line or "failed" in line or "missing" in line:
            return line
    return lines[0] if lines else "no reason printed"


def interpreter(model: bytes, arena: int) -> Any:
    """TFLM's interpreter with its tensors allocated in an arena of ``arena`` bytes; TflmError when it
    cannot (with TFLM's reason)."""
    runtime = load("tflite_micro.python.tflite_micro.runtime")
    with captured_stderr() as log:
        try:
            return runtime.Interpreter.from_bytes(model, arena_size=arena)
        except (RuntimeError, ValueError) as exc:
            failure = str(exc)
    raise TflmError(f"{failure}: {_why(log[0])}")


# The bisection runs in a child process: TFLM's Python interpreter crashes (SIGSEGV) on some failed
# allocations (seen with a 10-layer int8 autoencoder at 4096 and 8000 bytes), which must not take zookit
# down. The child reports each probe on stderr between markers, after TFLM's own messages; a crash counts
# as a failed allocation at the size being tried, and the search goes on in a new child.
_BISECT = r"""
import os, sys
from tflite_micro.python.tflite_micro import runtime
model = open(sys.argv[1], "rb").read()
low, high, ceiling = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def mark(text):
    os.write(2, ("\n@@" + text + "\n").encode())
def fits(size):
    mark("try %d" % size)
    try:
        runtime.Interpreter.from_bytes(model, arena_size=size)
    except (RuntimeError, ValueError):
        mark("fail %d" % size)
        return False
    mark("ok %d" % size)
    return True
if high == 0:
    high = max(4096, len(model), 2 * low)
    while not fits(high):
        if high >= ceiling:
            mark("ceiling")
            os._exit(3)
        low, high = high, min(2 * high, ceiling)
while high - low > 1:
    middle = (low + high) // 2
    if fits(middle):
        high = middle
    else:
        low = middle
mark("min %d" % high)
os._exit(0)
"""


def minimum_arena(model: bytes) -> int:
    """The smallest arena in which TFLM allocates the model, in bytes (module docstring: why exact)."""
    with tempfile.TemporaryDirectory(prefix="zookit-tflm-") as folder:
        path = os.path.join(folder, "model.tflite")
        with open(path, "wb") as f:
            f.write(model)
        low, high = 0, 0
        for _ in range(64):  # a new child after each crash
            found, low, high = _bisect_child(path, low, high)
            if found is not None:
                return found
    raise TflmError("TFLM crashed on every attempt to allocate the model")


def _bisect_child(path: str, low: int, high: int) -> tuple[int | None, int, int]:
    """One child's search from (low fails, high allocates or 0: unknown); (the minimum or None, low, high)."""
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-c", _BISECT, path, str(low), str(high), str(ARENA_CEILING)],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=600,
    )
    trying, reason, log = None, "", proc.stderr.split("\n@@")
    for chunk in log:
        head, _, rest = chunk.partition("\n")
        word, _, number = head.partition(" ")
        if word == "try":
            trying = int(number)
            reason = ""
        elif word == "fail":
            low, trying = max(low, int(number)), None
            if "find op" in reason or "registration" in reason:
                raise TflmError(f"TFLM failed to allocate tensors: {_why(reason)}")
        elif word == "ok":
            high, trying = int(number), None
        elif word == "min":
            return int(number), low, high
        elif word == "ceiling":
            raise TflmError(
                f"TFLM cannot allocate the model in {ARENA_CEILING >> 20} MiB of arena ({_why(reason)})"
            )
        reason += rest if word in ("try", "fail", "ok", "min", "ceiling") else chunk
    if trying is None:
        raise TflmError(f"TFLM's arena search stopped (exit code {proc.returncode}): {_why(reason)}")
    return None, max(low, trying), high  # crashed while trying: that size does not allocate


def recorded_allocations(engine: Any) -> dict[str, int]:
    """The recording allocator's own figures (after an invoke): total, head and tail bytes."""
    with captured_stderr() as log:
        engine.print_allocations()
    out = {}
    for part in ("total", "head", "tail"):
        found = re.search(rf"Arena allocation {part} (\d+) bytes", log[0])
        if found:
            out[part] = int(found.group(1))
    return out


@dataclass(frozen=True)
class Boundary:
    """An input or output tensor: its name, dtype and (per-tensor) quantization."""

    name: str
    dtype: Any
    shape: list[int]
    scale: float
    zero_point: int

    def as_litert(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "quantization": (self.scale, self.zero_point)}


def boundaries(model: bytes) -> tuple[list[Boundary], list[Boundary]]:
    """The model's inputs and outputs as the flatbuffer lists them."""
    schema = load("tflite_micro.tensorflow.lite.micro.python.schema_py_generated")
    root = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    graph = root.subgraphs[0]
    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}

    def one(index: int) -> Boundary:
        tensor = graph.tensors[index]
        q = tensor.quantization
        scales = list(q.scale) if q is not None and q.scale is not None else []
        zeros = list(q.zeroPoint) if q is not None and q.zeroPoint is not None else []
        name = tensor.name.decode() if isinstance(tensor.name, bytes) else str(tensor.name)
        return Boundary(
            name,
            np.dtype(types[tensor.type].lower()).type,
            [int(d) for d in tensor.shape],
            float(scales[0]) if scales else 0.0,
            int(zeros[0]) if zeros else 0,
        )

    return [one(i) for i in graph.inputs], [one(i) for i in graph.outputs]


def op_counts(model: bytes) -> dict[str, int]:
    """Every operator the model uses, by TFLite name (custom ops by their custom name), with counts."""
    schema = load("tflite_micro.tensorflow.lite.micro.python.schema_py_generated")
    runtime = load("tflite_micro.python.tflite_micro.runtime")
    root = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    counts: dict[str, int] = {}
    for graph in root.subgraphs:
        for op in graph.operators or []:
            code = root.operatorCodes[op.opcodeIndex]
            builtin = runtime.get_builtin_code_from_operator_code(code)
            name = names[builtin]
            if name == "CUSTOM":
                name = (
                    code.customCode.decode() if isinstance(code.customCode, bytes) else str(code.customCode)
                )
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def match(ports: list[Port], tensors: list[Boundary], kind: str) -> list[int]:
    """The model's tensor index of each port: by name, else by order when the counts agree."""
    names = [node_name(t.name) for t in tensors]
    if all(p.name in names for p in ports):
        return [names.index(p.name) for p in ports]
    if len(ports) != len(tensors):
        raise TflmError(f"the model has {len(tensors)} {kind}s ({names}), expected {len(ports)}")
    return list(range(len(ports)))


def tflm_raw(model: bytes, arena: int) -> tuple[RawRunner, Any]:
    """Run the model in TFLM in an arena of ``arena`` bytes on raw (already quantized) inputs in the
    model's order; returns the runner and the interpreter (for its recorded allocations)."""
    engine = interpreter(model, arena)
    count = len(boundaries(model)[1])

    def run(inputs: list[np.ndarray]) -> list[np.ndarray]:
        for i, x in enumerate(inputs):
            engine.set_input(x, i)
        with captured_stderr() as log:
            try:
                engine.invoke()
            except RuntimeError as exc:
                failure = str(exc)
            else:
                failure = ""
        if failure:
            raise TflmError(f"TFLM: {failure}: {_why(log[0])}")
        return [np.asarray(engine.get_output(i)) for i in range(count)]

    return run, engine


def litert_reference_raw(model: bytes) -> RawRunner:
    """LiteRT with its reference kernels (``OpResolverType.BUILTIN_REF``: TFLM's kernels are ports of
    them; LiteRT's default optimized kernels round differently) on raw inputs in the model's order."""
    litert = load("ai_edge_litert.interpreter")
    try:
        engine = litert.Interpreter(
            model_content=model, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF
        )
        engine.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise TflmError(f"LiteRT's reference kernels cannot load the model: {exc}") from None
    ins, outs = engine.get_input_details(), engine.get_output_details()

    def run(inputs: list[np.ndarray]) -> list[np.ndarray]:
        for detail, x in zip(ins, inputs, strict=True):
            engine.set_tensor(detail["index"], x)
        engine.invoke()
        return [np.asarray(engine.get_tensor(d["index"])) for d in outs]

    return run


def raw_inputs(
    sample: dict[str, np.ndarray], ports: list[Port], index: list[int], ins: list[Boundary]
) -> list[np.ndarray]:
    """A sample keyed by the recipe's input ports as the model's raw inputs, in its order: quantized
    with each tensor's parameters and shaped as the model declares it."""
    feed: list[np.ndarray] = [np.zeros(0)] * len(ins)
    for port, i in zip(ports, index, strict=True):
        x = quantize(sample[port.name], ins[i].as_litert())
        feed[i] = np.asarray(x.reshape(ins[i].shape).astype(ins[i].dtype))
    return feed


def tflm_runner(model: bytes, arena: int, prepared: Any) -> Runner:
    """``model`` under TensorFlow Lite Micro in ``arena`` bytes, fed and read as the recipe's real-valued
    ports (quantized inputs quantized, quantized outputs dequantized)."""
    ins, outs = boundaries(model)
    in_index = match(prepared.inputs, ins, "input")
    out_index = match(prepared.outputs, outs, "output")
    raw, _ = tflm_raw(model, arena)

    def run(sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        y = raw(raw_inputs(sample, prepared.inputs, in_index, ins))
        return {
            p.name: dequantize(y[i], outs[i].as_litert())
            for p, i in zip(prepared.outputs, out_index, strict=True)
        }

    return run
