"""The noise floor of a float conversion, and the limits ``tolerance: {max_rel: auto}`` asks for.

A float32 model run by two correct sets of kernels gives two different answers: each sums in its own
order (oneDNN's blocked GEMM, Eigen's, XNNPACK's, LiteRT's reference loops), and which order a machine
takes depends on its CPU. A fixed limit set on one machine's kernels (``max_rel: 1e-4``) fails on
another whose kernels round the other way (MLPerf Tiny's AD autoencoder: 1.15e-4 here with oneDNN on).
So an ``auto`` limit is measured: the same samples through two kernel settings, the largest difference
per output is the *noise floor*, and the limit is ``margin`` times it (default 10):

- ``source``: a TensorFlow source, run again in a child process with ``TF_ENABLE_ONEDNN_OPTS`` flipped
  (oneDNN on <-> off: the switch that makes the kernels differ between machines); an ONNX source, run
  in OpenVINO's CPU plugin (f32) beside onnxruntime;
- ``kernels``: a TFLite target, its own file under LiteRT's default kernels (XNNPACK) and under the
  reference kernels (``OpResolverType.BUILTIN_REF``, which TFLM's kernels are ports of).

The floor is the larger of the two (per output, absolute and relative to the source output's largest
magnitude, as the errors are), and never below ``MIN_RELATIVE`` of the output's scale (two kernel sets
that happen to agree bit for bit still leave rounding room). A conversion that is right differs from its
source only by such reordering; a wrong one (a dropped bias, a swapped layout, a wrong op) differs by
orders of magnitude more, which ``margin`` 10 still catches.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from zookit.errors import VerificationError
from zookit.recipe import Tolerance
from zookit.reference import Expected, Prepared
from zookit.verify.noise_child import save_npz

DEFAULT_MARGIN = 10.0
MIN_RELATIVE = 2.0**-20  # ~9.5e-7 of the output's largest magnitude
ONEDNN = "TF_ENABLE_ONEDNN_OPTS"
Outputs = list[dict[str, np.ndarray]]


def is_auto(tolerance: Tolerance) -> bool:
    return "auto" in (tolerance.max_abs, tolerance.max_rel)


def differences(a: Outputs, b: Outputs, scale_from: Outputs) -> dict[str, dict[str, float]]:
    """Per output: the largest absolute difference of ``a`` and ``b`` and that over the largest magnitude
    of ``scale_from`` (the source's outputs)."""
    out = {}
    for name in a[0]:
        diff = max(
            float(
                np.max(np.abs(x[name].astype(np.float64) - y[name].astype(np.float64).reshape(x[name].shape)))
            )
            for x, y in zip(a, b, strict=True)
            if x[name].size
        )
        scale = max(float(np.max(np.abs(s[name]))) for s in scale_from if s[name].size)
        out[name] = {"max_abs": diff, "max_rel": diff / scale if scale > 0 else diff, "scale": scale}
    return out


def onednn_state() -> str:
    """Whether TensorFlow's oneDNN kernels are on in this process (TensorFlow's default on x86: on)."""
    return "off" if os.environ.get(ONEDNN, "1").strip().lower() in ("0", "false") else "on"


def source_floor(prepared: Prepared, pairs: Expected) -> dict[str, Any] | None:
    """The source run again with oneDNN flipped (a child process: the switch is read at TensorFlow's
    import), against this process's run of it; None for a source TensorFlow does not run."""
    if prepared.kind == "onnx" and prepared.onnx_model is not None:
        return _onnx_source_floor(prepared, pairs)
    if prepared.graph_def is None or prepared.kind != "tf-graph":
        return None
    here = onednn_state()
    there = "off" if here == "on" else "on"
    with tempfile.TemporaryDirectory(prefix="zoo-noise-") as tmp:
        folder = Path(tmp)
        (folder / "graph.pb").write_bytes(prepared.graph_def.SerializeToString())
        save_npz(folder / "feeds.npz", [sample for sample, _ in pairs])
        ports = {"inputs": [p.name for p in prepared.inputs], "outputs": [p.name for p in prepared.outputs]}
        (folder / "ports.json").write_text(json.dumps(ports))
        env = {**os.environ, ONEDNN: "1" if there == "on" else "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run(
            [sys.executable, "-m", "zookit.verify.noise_child", str(folder)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise VerificationError(
                f"measuring the noise floor (TensorFlow with oneDNN {there}) failed: {last}"
            )
        with np.load(folder / "outputs.npz") as data:
            theirs = [{p.name: data[f"{i}/{p.name}"] for p in prepared.outputs} for i in range(len(pairs))]
    ours = [outputs for _, outputs in pairs]
    return {
        "method": f"the source in TensorFlow with oneDNN {here} (this run) and {there} (a child process "
        f"with {ONEDNN}={'1' if there == 'on' else '0'})",
        "samples": len(pairs),
        "outputs": differences(ours, theirs, ours),
    }


def kernel_floor(default: Outputs, reference: Outputs, source: Outputs) -> dict[str, Any]:
    return {
        "method": "the converted file under LiteRT's default kernels (XNNPACK) and its reference kernels "
        "(OpResolverType.BUILTIN_REF)",
        "samples": len(default),
        "outputs": differences(default, reference, source),
    }


def minimum_floor(source: Outputs) -> dict[str, Any]:
    return {
        "method": "none: no second kernel set for this source and target here (the floor is the minimum, "
        f"{MIN_RELATIVE:.3g} of the output's scale)",
        "samples": len(source),
        "outputs": differences(source, source, source),
    }


def resolve(tolerance: Tolerance, floors: list[dict[str, Any]]) -> tuple[Tolerance, dict[str, Any] | None]:
    """The tolerance with ``auto`` replaced by margin x the floor (the largest over the measurements and
    the outputs), and the record of how (None when nothing was auto)."""
    if not is_auto(tolerance):
        return tolerance, None
    margin = tolerance.margin or DEFAULT_MARGIN
    names = {name for floor in floors for name in floor["outputs"]}
    floor_rel = max(
        (
            max(MIN_RELATIVE, *(f["outputs"][n]["max_rel"] for f in floors if n in f["outputs"]))
            for n in names
        ),
        default=MIN_RELATIVE,
    )
    floor_abs = max(
        (
            max(
                *(MIN_RELATIVE * f["outputs"][n]["scale"] for f in floors if n in f["outputs"]),
                *(f["outputs"][n]["max_abs"] for f in floors if n in f["outputs"]),
            )
            for n in names
        ),
        default=0.0,
    )
    limits: dict[str, float] = {}
    if tolerance.max_rel == "auto":
        limits["max_rel"] = float(f"{margin * floor_rel:.3g}")
    if tolerance.max_abs == "auto":
        limits["max_abs"] = float(f"{margin * floor_abs:.3g}") or MIN_RELATIVE
    resolved = tolerance.model_copy(update={**limits, "margin": None})
    record = {
        "rule": "limit = margin x noise floor (the largest difference between two kernel settings, never "
        f"below {MIN_RELATIVE:.3g} of the output's scale)",
        "margin": margin,
        "floor": {"max_rel": floor_rel, "max_abs": floor_abs},
        "limits": limits,
        "measured": floors,
        "machine_kernels": f"TensorFlow oneDNN {onednn_state()}",
    }
    return resolved, record


def _onnx_source_floor(prepared: Prepared, pairs: Expected) -> dict[str, Any] | None:
    """An ONNX source under OpenVINO's CPU plugin in f32 against onnxruntime (this run's reference): the
    other kernel set an ONNX file has here (onnxruntime's own graph optimizations change no sum order).
    None without OpenVINO (extra ``[openvino]``)."""
    import importlib.util

    if importlib.util.find_spec("openvino") is None:
        return None
    from zookit.runtimes import openvino as runtime

    with tempfile.TemporaryDirectory(prefix="zoo-noise-") as tmp:
        path = Path(tmp) / "source.onnx"
        path.write_bytes(prepared.onnx_model.SerializeToString())
        model = runtime.read_onnx(path, prepared.inputs, nchw=False)
        run = runtime.compile_runner(model, prepared.inputs, prepared.outputs, False, runtime.FLOAT_CONFIG)
        theirs = [run(sample) for sample, _ in pairs]
    ours = [outputs for _, outputs in pairs]
    return {
        "method": "the ONNX source in onnxruntime (this run) and in OpenVINO's CPU plugin with "
        "INFERENCE_PRECISION_HINT f32",
        "samples": len(pairs),
        "outputs": differences(ours, theirs, ours),
    }
