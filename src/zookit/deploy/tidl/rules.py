"""TI's operator table as data: one ``Row`` per row of edgeai-tidl-tools ``docs/supported_ops_rts_versions.md``
(tag 11_00_06_00), with the row's number and its line in that file, and one check per constraint that a
model file shows. What a file cannot show (signedness, device-specific limits such as AM62A's, "validated
for" lists, performance notes) is not checked; ``docs/tidl_rules.md`` lists those.

A check takes a node and its graph and returns why TIDL would not run the node, or None. Axes are read
through ``Graph.named_axis``: TI's -1/-2/-3 are width/height/channels, in NCHW for ONNX and in NHWC for
TFLite (channels last).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from zookit.graphs import Graph, Node, Tensor

TI_TABLE = "edgeai-tidl-tools 11_00_06_00 docs/supported_ops_rts_versions.md"

Check = Callable[[Node, Graph], "str | None"]


@dataclass(frozen=True)
class Row:
    framework: str  # "onnx" or "tflite"
    number: str  # TI's row number ("12"; fused combinations "fused 1")
    line: int  # the row's line in TI_TABLE
    ops: tuple[str, ...]
    checks: tuple[Check, ...] = ()

    @property
    def where(self) -> str:
        return f"TI's {'ONNX' if self.framework == 'onnx' else 'TFLite'} table row {self.number} (line {self.line})"


# --- generic checks ------------------------------------------------------------------------------


def _big(shape: list[int] | None) -> int:
    return sum(1 for d in shape or [] if d > 1)  # unknown dimensions (-1) are not counted


def dims(limit: int) -> Check:
    """'Number of non-singleton variable input dimensions must be less than <= N'."""

    def check(n: Node, g: Graph) -> str | None:
        for t in n.variables():
            if _big(t.shape) > limit:
                return f"TIDL takes at most {limit} non-singleton dimensions in a variable input ({t.name} has shape {t.shape})"
        return None

    return check


def rank_at_most(limit: int, output: bool = False) -> Check:
    def check(n: Node, g: Graph) -> str | None:
        t = (n.outputs[0] if n.outputs else None) if output else n.input(0)
        if t is not None and t.rank is not None and t.rank > limit:
            side = "output" if output else "input"
            return f"{n.op} runs on TIDL only with at most {limit} {side} dimensions ({t.name} has shape {t.shape})"
        return None

    return check


def rank4(n: Node, g: Graph) -> str | None:
    t = n.input(0)
    if t is not None and t.rank is not None and t.rank != 4:
        return f"{n.op} runs on TIDL only on a 4D input (shape {t.shape})"
    return None


def variable_input(n: Node, g: Graph) -> str | None:
    t = n.input(0)
    return f"{n.op} runs on TIDL only on a variable input" if t is not None and t.constant else None


def one_variable(n: Node, g: Graph) -> str | None:
    if len(n.variables()) > 1:
        return f"{n.op} runs on TIDL only with one variable input (the weights must be constant)"
    return None


def constant(index: int, what: str) -> Check:
    def check(n: Node, g: Graph) -> str | None:
        t = n.input(index)
        return (
            f"{n.op} runs on TIDL only with a constant {what}" if t is not None and not t.constant else None
        )

    return check


def attr_in(key: str, allowed: tuple[object, ...], default: object) -> Check:
    def check(n: Node, g: Graph) -> str | None:
        value = n.attrs.get(key, default)
        value = value.decode() if isinstance(value, bytes) else value
        if value not in allowed:
            shown = " or ".join(repr(a) for a in allowed)
            return f"{n.op} runs on TIDL only with {key} {shown} (here {value!r})"
        return None

    return check


def not_individual(pattern: Callable[[Node, Graph], bool] | None = None, name: str = "") -> Check:
    def check(n: Node, g: Graph) -> str | None:
        if pattern is not None and pattern(n, g):
            return None
        inside = f", only inside {name}" if name else ""
        return f"{n.op} is not supported by TIDL as an individual operator{inside}"

    return check


def _axis_name(n: Node, g: Graph, axis: int, tensor: Tensor | None = None) -> str | None:
    t = tensor if tensor is not None else n.input(0)
    return g.named_axis(axis, t.rank) if t is not None and t.rank else None


def _ints(n: Node, key: str, index: int) -> list[int] | None:
    """An integer list given as an attribute (older opsets) or a constant input (newer ones)."""
    if key in n.attrs:
        return [int(v) for v in np.ravel(n.attrs[key])]
    t = n.input(index)
    if t is not None and t.value is not None:
        return [int(v) for v in np.ravel(t.value)]
    return None


# --- convolution and pooling ---------------------------------------------------------------------

DEPTHWISE_OK = {(3, 1), (3, 2), (5, 2), (7, 1), (7, 2)}  # "3x3s1, 3x3s2, 5x5s2, 5x5s2, 7x7s1 & 7x7s2"


def _conv_geometry(n: Node) -> tuple[list[int], list[int], bool, list[int]] | None:
    """Kernel (h, w), strides (h, w), depthwise, pads (left, right) of a convolution node."""
    x, w = n.input(0), n.input(1)
    if w is None or w.shape is None or len(w.shape) != 4:
        return None
    if n.op in ("Conv", "DeformConv"):
        kernel = [int(k) for k in n.attrs.get("kernel_shape", w.shape[2:])]
        strides = [int(s) for s in n.attrs.get("strides", [1, 1])]
        channels = x.shape[1] if x is not None and x.shape and len(x.shape) == 4 else -1
        group = int(n.attrs.get("group", 1))
        pads = [int(p) for p in n.attrs.get("pads", [0, 0, 0, 0])]
        left_right = [pads[1], pads[3]] if len(pads) == 4 else [0, 0]
        auto_pad = n.text("auto_pad", "NOTSET")
        width = x.shape[-1] if x is not None and x.shape and len(x.shape) == 4 else -1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER") and width > 0 and len(kernel) == 2:
            dilation = int(n.attrs.get("dilations", [1, 1])[-1])
            total = _same_padding(width, strides[-1], kernel[-1], dilation)
            small, large = total // 2, total - total // 2  # ONNX: SAME_UPPER puts the extra pad at the end
            left_right = [small, large] if auto_pad == "SAME_UPPER" else [large, small]
        return kernel, strides, group > 1 and group == channels, left_right
    kernel = [int(w.shape[1]), int(w.shape[2])]  # TFLite OHWI / 1HWO
    strides = [int(n.attrs.get("strideH", 1)), int(n.attrs.get("strideW", 1))]
    width = x.shape[2] if x is not None and x.shape and len(x.shape) == 4 else -1
    pads = [0, 0]
    if n.attrs.get("padding", 1) == 0 and width > 0:  # SAME: TFLite pads total // 2 on the left
        total = _same_padding(width, strides[1], kernel[1], int(n.attrs.get("dilationWFactor", 1)))
        pads = [total // 2, total - total // 2]
    return kernel, strides, n.op == "DEPTHWISE_CONV_2D", pads


def _same_padding(width: int, stride: int, kernel: int, dilation: int) -> int:
    """The total padding of 'same' padding along one axis (TFLite SAME, ONNX auto_pad SAME_*)."""
    return max((math.ceil(width / stride) - 1) * stride + (kernel - 1) * dilation + 1 - width, 0)


def conv(n: Node, g: Graph) -> str | None:
    geometry = _conv_geometry(n)
    if geometry is None:
        return None
    (kh, kw), (sh, sw), depthwise, pads = geometry
    if sh != sw:
        return f"{n.op} runs on TIDL only with the same stride in both directions (strides {[sh, sw]})"
    if sh == 2 and max(kh, kw) > 7:
        return f"{n.op} runs on TIDL only with kernels up to 7 at stride 2 (kernel {kh}x{kw})"
    if sh == 4 and (kh, kw) != (11, 11):
        return f"{n.op} runs on TIDL at stride 4 only with an 11x11 kernel (kernel {kh}x{kw})"
    if depthwise and (kh != kw or (kh, sh) not in DEPTHWISE_OK):
        return (
            f"depthwise {n.op} runs on TIDL only as 3x3s1, 3x3s2, 5x5s2, 7x7s1 or 7x7s2 (here {kh}x{kw}s{sh})"
        )
    x = n.input(0)
    width = (
        x.shape[-1 if g.framework == "onnx" else 2] if x is not None and x.shape and len(x.shape) == 4 else -1
    )
    if 0 < width < max(pads):
        return (
            f"{n.op} runs on TIDL only when the input width ({width}) is at least the padding ({max(pads)})"
        )
    return None


def conv_transpose(n: Node, g: Graph) -> str | None:
    w = n.input(1)
    kernel = list(n.attrs.get("kernel_shape", w.shape[2:] if w is not None and w.shape else []))
    strides = list(n.attrs.get("strides", [1, 1]))
    if [int(k) for k in kernel] not in ([4, 4], [2, 2]) or [int(s) for s in strides] != [2, 2]:
        return f"ConvTranspose runs on TIDL only with 4x4 or 2x2 kernels at stride 2x2 (kernel {kernel}, strides {strides})"
    if int(n.attrs.get("group", 1)) != 1:
        return f"ConvTranspose runs on TIDL only with group 1 (group {n.attrs['group']})"
    return None


def deform_conv(n: Node, g: Graph) -> str | None:
    geometry = _conv_geometry(n)
    if geometry is not None and (geometry[0] != [3, 3] or geometry[1] != [1, 1]):
        return f"DeformConv runs on TIDL only as 3x3 stride 1 (kernel {geometry[0]}, strides {geometry[1]})"
    return None


def onnx_pool(n: Node, g: Graph) -> str | None:
    if any(int(d) != 1 for d in n.attrs.get("dilations", [1, 1])):
        return f"{n.op} runs on TIDL only without dilation (dilations {list(n.attrs['dilations'])})"
    if int(n.attrs.get("storage_order", 0)) != 0:
        return f"{n.op} runs on TIDL only with storage_order 0"
    return None


# --- element-wise --------------------------------------------------------------------------------

TWO_INPUTS = {"Add", "Mul", "Sub", "Div", "ADD", "MUL", "SUB", "DIV"}


def eltwise(n: Node, g: Graph) -> str | None:
    present = [t for t in n.inputs if t is not None]
    if n.op in TWO_INPUTS and len(present) > 2:
        return f"{n.op} runs on TIDL only with 2 inputs (here {len(present)})"
    variables = n.variables()
    if n.op in ("Sub", "SUB") and len(variables) == 2:
        return f"{n.op} runs on TIDL only with one constant operand (both are variable here)"
    if n.op in ("Add", "Mul", "ADD", "MUL") and len(variables) == 2:
        a, b = variables[0].shape, variables[1].shape
        if a and b and len(a) == len(b) and len(a) >= 2 and a[0] != b[0] and min(a[0], b[0]) == 1:
            return f"{n.op} runs on TIDL only without broadcasting over the batch ({a} and {b})"
    if n.op in ("Sub", "SUB") and len(variables) == 1:
        return _sub_constant(n, g, variables[0])
    return None


def _sub_constant(n: Node, g: Graph, variable: Tensor) -> str | None:
    const = next((t for t in n.inputs if t is not None and t.constant), None)
    if const is None or const.shape is None:
        return None
    big = [i for i, d in enumerate(const.shape) if d > 1]
    if len(big) > 1:
        return (
            f"{n.op} runs on TIDL only with a constant that is a number or a 1D vector (shape {const.shape})"
        )
    if big and variable.rank:
        axis = big[0] - len(const.shape)  # aligned from the end, as broadcasting aligns it
        if g.named_axis(axis, variable.rank) not in ("channel", "width"):
            return f"{n.op} runs on TIDL only with a constant vector along the channels or the width (shape {const.shape} against {variable.shape})"
    return None


def clip(n: Node, g: Graph) -> str | None:
    low, high = n.attrs.get("min"), n.attrs.get("max")
    for index, current in ((1, low), (2, high)):
        t = n.input(index)
        if current is None and t is not None and t.value is not None and t.value.size == 1:
            if index == 1:
                low = float(t.value.ravel()[0])
            else:
                high = float(t.value.ravel()[0])
    if (low is not None and low > 0) or (high is not None and high <= 0):
        return f"Clip runs on TIDL only with min <= 0 and max > 0 (min {low}, max {high})"
    return None


# --- matrix products -----------------------------------------------------------------------------


def filter_rank(n: Node, g: Graph) -> str | None:
    w = n.input(1)
    if w is not None and w.rank is not None and w.rank < 2:
        return f"{n.op} runs on TIDL only with a filter of at least 2 dimensions (shape {w.shape})"
    return None


def bias_vector(n: Node, g: Graph) -> str | None:
    bias, out = n.input(2), n.outputs[0] if n.outputs else None
    if bias is None or bias.shape is None or out is None or not out.shape:
        return None
    size = out.shape[-1]
    if size > 0 and bias.shape not in ([size], [1, size]):
        return f"{n.op} runs on TIDL only with a bias of shape [N] or [1, N], N = {size} (bias {bias.shape})"
    return None


def gemm(n: Node, g: Graph) -> str | None:
    if (
        int(n.attrs.get("transA", 0)) != 0
        or n.attrs.get("alpha", 1.0) != 1.0
        or n.attrs.get("beta", 1.0) != 1.0
    ):
        return "Gemm runs on TIDL only with transA = 0, alpha = 1 and beta = 1"
    return None


# --- axes ----------------------------------------------------------------------------------------


def onnx_softmax(n: Node, g: Graph) -> str | None:
    axis = int(n.attrs.get("axis", -1 if g.opset >= 13 else 1))
    name = _axis_name(n, g, axis)
    if name not in ("width", "height", None):
        return f"Softmax runs on TIDL only along the width or the height (axis {axis}: {name})"
    return None


def concat(n: Node, g: Graph) -> str | None:
    out = n.outputs[0] if n.outputs else None
    axis = int(n.attrs.get("axis", 1))
    name = _axis_name(n, g, axis, out if out is not None and out.rank else None)
    if name is None:
        return None
    if g.framework == "onnx":
        rank = out.rank if out is not None and out.rank else 0
        a = axis - rank if axis >= 0 else axis
        if a not in (-1, -2, -3) or name == "batch":
            return f"Concat runs on TIDL only over axis -3, -2 or -1 and never the batch (axis {axis}, rank {rank})"
    elif name not in ("width", "height", "channel"):
        return f"CONCATENATION runs on TIDL only across the width, height or channels, never the batch (axis {axis})"
    return None


def argmax(n: Node, g: Graph) -> str | None:
    if g.framework == "onnx":
        if int(n.attrs.get("keepdims", 1)) != 1:
            return "ArgMax runs on TIDL only with keepdims = 1"
        if int(n.attrs.get("select_last_index", 0)) != 0:
            return "ArgMax runs on TIDL only with select_last_index = 0"
        axis: int | None = int(n.attrs.get("axis", 0))
    else:
        values = _ints(n, "", 1)
        axis = values[0] if values and len(values) == 1 else None
    name = _axis_name(n, g, axis) if axis is not None else "not constant"
    if name not in ("channel", None):
        return f"{n.op} runs on TIDL only over the channels, TI's axis -3 (here axis {axis}: {name})"
    return None


def reduce_height(n: Node, g: Graph) -> str | None:
    if int(n.attrs.get("keepdims", 1)) != 1:
        return f"{n.op} runs on TIDL only with keepdims = 1"
    axes = _ints(n, "axes", 1)
    names = [_axis_name(n, g, a) for a in axes] if axes is not None else ["all"]
    if names not in (["height"], [None]):
        return f"{n.op} runs on TIDL only along the height (axes {axes if axes is not None else 'all'})"
    return None


def topk(n: Node, g: Graph) -> str | None:
    if int(n.attrs.get("sorted", 1)) == 0:
        return "TopK runs on TIDL only with sorted = 1"
    k = n.input(1)
    if k is not None and not k.constant:
        return "TopK runs on TIDL only with K an initializer"
    axis = int(n.attrs.get("axis", -1))
    if _axis_name(n, g, axis) not in ("height", None):
        return f"TopK runs on TIDL only along the height (axis {axis})"
    return None


def layer_norm(n: Node, g: Graph) -> str | None:
    axis, x = int(n.attrs.get("axis", -1)), n.input(0)
    if x is not None and x.rank and axis not in (-1, x.rank - 1):
        return f"LayerNormalization runs on TIDL only across the width, the last axis (axis {axis} of rank {x.rank})"
    for t in (n.input(1), n.input(2)):
        if (
            t is not None
            and t.shape is not None
            and len(t.shape) > 1
            and not (len(t.shape) == 2 and t.shape[0] == 1)
        ):
            return (
                f"LayerNormalization runs on TIDL only with scale and bias of shape [N] or [1, N] ({t.shape})"
            )
    return None


# --- data movement -------------------------------------------------------------------------------


def reshape(n: Node, g: Graph) -> str | None:
    shape = n.input(1)
    if shape is not None and not shape.constant:
        return f"{n.op} runs on TIDL only to a constant shape"
    if int(n.attrs.get("allowzero", 0)) == 1:
        return "Reshape runs on TIDL only with allowzero = 0"
    return None


def slice_(n: Node, g: Graph) -> str | None:
    """ONNX Slice/Split and TFLite STRIDED_SLICE: constant 1D parameters, a variable input of at most 4
    dimensions and batch 1; ONNX Slice needs its axes input and stride 1."""
    x = n.input(0)
    if x is not None and x.rank is not None and x.rank > 4:
        return f"{n.op} runs on TIDL only on inputs of at most 4 dimensions (shape {x.shape})"
    if x is not None and x.shape and len(x.shape) >= 2 and x.shape[0] > 1:
        return f"{n.op} runs on TIDL only with batch size 1 (shape {x.shape})"
    if n.op == "Split":
        return None
    params = [t for t in n.inputs[1:4]]
    if len(params) < 3 or any(t is None for t in params):
        return f"{n.op} runs on TIDL only with 4 inputs: the data, then constant starts, ends and axes"
    if any(not t.constant or (t.rank or 0) > 1 for t in params if t is not None):
        return f"{n.op} runs on TIDL only with constant 1D starts/begin, ends and axes/strides"
    steps = n.input(4)
    if n.op == "Slice" and steps is not None and (steps.value is None or np.any(steps.value != 1)):
        return f"Slice runs on TIDL only with stride 1 (steps {steps.value.tolist() if steps.value is not None else 'variable'})"
    return None


def gather(n: Node, g: Graph) -> str | None:
    data, indices = n.input(0), n.input(1)
    if data is not None and data.constant:
        return "Gather runs on TIDL only from variable data (only the indices may be constant)"
    if data is not None and data.rank is not None and data.rank < 2:
        return f"Gather runs on TIDL only on inputs of more than 1 dimension (shape {data.shape})"
    if indices is not None and indices.rank is not None and indices.rank != 1:
        return f"Gather runs on TIDL only with 1D indices (indices shape {indices.shape})"
    axis = int(n.attrs.get("axis", 0))
    if data is not None and data.shape:
        a = axis if axis >= 0 else axis + len(data.shape)
        if any(d > 1 for d in data.shape[:a]):
            return f"Gather runs on TIDL only when the dimensions before the axis are 1 (shape {data.shape}, axis {axis})"
    return None


def pad(n: Node, g: Graph) -> str | None:
    x = n.input(0)
    if n.text("mode", "constant") != "constant":
        return f"Pad runs on TIDL only in constant mode (mode {n.text('mode', 'constant')!r})"
    pads = _ints(n, "pads", 1)
    if x is None or x.rank is None or pads is None:
        return None
    rank = x.rank
    if g.framework == "tflite":
        if len(pads) != 8:
            return f"PAD runs on TIDL only with 8 pad values (a 4D input; here {len(pads)})"
        per_axis = [pads[2 * i] + pads[2 * i + 1] for i in range(rank)]
    else:
        axes = _ints(n, "", 3) or list(range(rank))
        per_axis = [0] * rank
        for i, a in enumerate(axes):
            per_axis[a] += pads[i] + pads[i + len(axes)]
    padded = [i for i, p in enumerate(per_axis) if p]
    if any(g.named_axis(i, rank) not in ("height", "width") for i in padded):
        return f"{n.op} runs on TIDL only padding the width and height (pads {pads} of a {rank}D input)"
    return None


def depth_to_space(n: Node, g: Graph) -> str | None:
    x, block = n.input(0), int(n.attrs.get("blocksize", n.attrs.get("blockSize", 0)))
    if x is None or not x.shape or len(x.shape) != 4 or block <= 0:
        return None
    channels = x.shape[1] if g.framework == "onnx" else x.shape[3]
    if channels > 0 and channels % (block * block):
        return f"{n.op} runs on TIDL only when the channels ({channels}) are a multiple of blocksize^2 ({block * block})"
    return None


def space_to_depth(n: Node, g: Graph) -> str | None:
    x, block = n.input(0), int(n.attrs.get("blocksize", n.attrs.get("blockSize", 0)))
    if x is None or not x.shape or len(x.shape) != 4 or block <= 0:
        return None
    h, w = (x.shape[2], x.shape[3]) if g.framework == "onnx" else (x.shape[1], x.shape[2])
    if (h > 0 and h % block) or (w > 0 and w % block):
        return f"{n.op} runs on TIDL only when height and width ({h}x{w}) are multiples of the blocksize ({block})"
    return None


def scatter(n: Node, g: Graph) -> str | None:
    reduction = n.text("reduction", "none")
    if n.op == "ScatterElements" and reduction != "none":
        return f"ScatterElements runs on TIDL only with reduction 'none' (here {reduction!r})"
    if n.op == "ScatterND" and reduction == "mul":
        return "ScatterND does not run on TIDL with reduction 'mul'"
    data, updates = n.input(0), n.input(2)
    if data is not None and (not data.constant or (data.value is not None and np.any(data.value != 0))):
        return f"{n.op} runs on TIDL only into a constant all-zero 'data' tensor"
    if updates is not None and updates.shape and len(updates.shape) >= 3 and updates.shape[1] > 1:
        return f"{n.op} runs on TIDL only with updates of at most 1 channel (updates shape {updates.shape})"
    if n.op == "ScatterElements":
        axis = int(n.attrs.get("axis", 0))
        if _axis_name(n, g, axis) not in ("width", None):
            return f"ScatterElements runs on TIDL only along the width (axis {axis})"
    return None


def grid_sample(n: Node, g: Graph) -> str | None:
    mode = n.text("mode", "bilinear" if g.opset < 20 else "linear")
    if mode not in ("nearest", "bilinear", "linear"):  # opset 20 renamed bilinear to linear
        return f"GridSample runs on TIDL only in nearest or bilinear mode (mode {mode!r})"
    if n.text("padding_mode", "zeros") != "zeros":
        return f"GridSample runs on TIDL only with zero padding (padding_mode {n.text('padding_mode', '')!r})"
    grid = n.input(1)
    if grid is not None and grid.rank is not None and grid.rank != 4:
        return f"GridSample runs on TIDL only with a 2D grid (grid shape {grid.shape})"
    return None


def quantize_axis(n: Node, g: Graph) -> str | None:
    scale = n.input(1)
    if scale is not None and scale.shape and _big(scale.shape) and int(n.attrs.get("axis", 1)) != 1:
        return f"{n.op} runs on TIDL only with axis 1 (axis {n.attrs['axis']})"
    return None


def cast(n: Node, g: Graph) -> str | None:
    x = n.input(0)
    if x is None or x.name in g.inputs or x.constant or all(o.name in g.outputs for o in n.outputs):
        return None
    return "Cast runs on TIDL only at the terminal nodes (right after an input or as an output)"


# --- resize --------------------------------------------------------------------------------------


def _resize_scales(n: Node) -> list[float] | None:
    x, out = n.input(0), n.outputs[0] if n.outputs else None
    if "scales" in n.attrs:  # Upsample-7
        return [float(s) for s in n.attrs["scales"]]
    scales = n.input(2 if n.op == "Resize" and len(n.inputs) > 2 else 1)
    if scales is not None and scales.value is not None and scales.value.size:
        return [float(s) for s in np.ravel(scales.value)]
    known = x is not None and out is not None and x.shape and out.shape and len(x.shape) == len(out.shape)
    if not known or any(d <= 0 for d in x.shape + out.shape):  # type: ignore[union-attr, operator]
        return None  # sizes or shapes not in the file
    return [o / i for i, o in zip(x.shape, out.shape, strict=True)]  # type: ignore[union-attr, arg-type]


def resize(n: Node, g: Graph) -> str | None:
    mode = n.text("mode", "nearest")
    if mode not in ("nearest", "linear", "bilinear"):
        return f"{n.op} runs on TIDL only in 'nearest' or 'linear' mode (mode {mode!r})"
    scales = _resize_scales(n)
    if scales is not None and len(scales) >= 3:
        if any(s != 1.0 for s in scales[:-2]):
            return f"{n.op} runs on TIDL only along the width and height (scales {scales})"
        sh, sw = scales[-2:]
        if sh < 1 or sw < 1:
            return f"{n.op} runs on TIDL only upscaling: scales < 1 are not supported (scales {scales})"
        if sh != sw:
            return f"{n.op} runs on TIDL only with the same width and height scale (scales {scales})"
        if not math.log2(sh).is_integer():
            return f"{n.op} runs on TIDL only with power-of-2 scales (scale {sh})"
    for key, allowed, default in (("antialias", 0, 0), ("exclude_outside", 0, 0)):
        if int(n.attrs.get(key, default)) != allowed:
            return f"{n.op} runs on TIDL only with {key} = {allowed}"
    if n.text("keep_aspect_ratio_policy", "stretch") != "stretch":
        return f"{n.op} runs on TIDL only with keep_aspect_ratio_policy 'stretch'"
    return _resize_coordinates(n) if n.op == "Resize" else None


def _resize_coordinates(n: Node) -> str | None:
    mode, ctm = n.text("mode", "nearest"), n.text("coordinate_transformation_mode", "half_pixel")
    nearest = n.text("nearest_mode", "round_prefer_floor")
    if ctm not in ("half_pixel", "pytorch_half_pixel", "asymmetric"):
        return f"Resize runs on TIDL only with coordinate_transformation_mode half_pixel, pytorch_half_pixel or asymmetric (here {ctm!r})"
    if mode == "nearest" and ctm != "asymmetric" and nearest != "round_prefer_ceil":
        return f"Resize runs on TIDL in nearest mode with {ctm!r} only with nearest_mode 'round_prefer_ceil' (here {nearest!r})"
    if mode == "nearest" and ctm == "asymmetric" and nearest != "floor":
        return f"Resize runs on TIDL in nearest mode with 'asymmetric' only with nearest_mode 'floor' (here {nearest!r})"
    if mode == "linear" and ctm == "asymmetric":
        return "Resize runs on TIDL in linear mode only with half_pixel or pytorch_half_pixel coordinates, not 'asymmetric'"
    out = n.outputs[0] if n.outputs else None
    if ctm == "pytorch_half_pixel" and out is not None and out.shape and 0 < min(out.shape[-2:]) <= 1:
        return "Resize with 'pytorch_half_pixel' does not run on TIDL for output sizes <= 1"
    return None


# --- fused combinations --------------------------------------------------------------------------


def _in_layer_norm(n: Node, g: Graph) -> bool:
    """ReduceMean inside ReduceMean-Sub-Pow(2)-ReduceMean-Add-Sqrt-Div."""
    out = n.outputs[0]
    return "Sub" in g.consumer_ops(out) or (
        g.producer_op(n.input(0)) == "Pow" and "Add" in g.consumer_ops(out)
    )


def _in_gelu(n: Node, g: Graph) -> bool:
    """Erf inside Div-Erf-Add-Mul."""
    return g.producer_op(n.input(0)) == "Div" and "Add" in g.consumer_ops(n.outputs[0])


# --- the table -----------------------------------------------------------------------------------

D4, D6 = dims(4), dims(6)


def _rows(framework: str, spec: list[tuple[str, int, str, tuple[Check, ...]]]) -> dict[str, Row]:
    table: dict[str, Row] = {}
    for number, line, ops, checks in spec:
        names = tuple(ops.split("/"))
        row = Row(framework, number, line, names, checks)
        table.update({op: row for op in names})
    return table


# (TI's row number, line in TI_TABLE, TI's operator names, checks)
ONNX_TABLE = _rows(
    "onnx",
    [
        ("1", 12, "Conv", (one_variable, D4, conv)),
        ("2", 13, "AveragePool/GlobalAveragePool/MaxPool", (variable_input, D4, onnx_pool)),
        ("3", 14, "Relu", (D6,)),
        ("4", 15, "PRelu", (D6, constant(1, "slope"))),
        ("5", 16, "Sum/Add/Mul/Div/Sub/Max", (D6, eltwise)),
        ("6", 17, "Gemm", (D4, filter_rank, bias_vector, gemm)),
        ("7", 18, "MatMul", (D4, filter_rank)),
        ("8", 19, "Softmax", (D6, onnx_softmax)),
        ("9", 20, "BatchNormalization", (attr_in("training_mode", (0,), 0), D6)),
        ("10", 21, "ConvTranspose", (one_variable, D4, conv_transpose)),
        ("11", 22, "Concat", (concat, D6)),
        ("12", 23, "Slice/Split", (slice_,)),
        ("13", 24, "Flatten", (D6,)),
        ("14", 25, "Dropout", (not_individual(),)),
        ("15", 26, "ArgMax", (argmax, D4)),
        ("16", 27, "Upsample/Resize", (D4, resize)),
        ("17", 28, "DepthToSpace", (rank4, depth_to_space)),
        ("18", 29, "Sigmoid", (D6,)),
        ("19", 30, "Pad", (rank_at_most(6), pad)),
        ("20", 31, "ReduceMin/ReduceMax", (reduce_height,)),
        ("21", 32, "ScatterND/ScatterElements", (D4, scatter)),
        ("22", 33, "Squeeze", (D6,)),
        ("23", 34, "Tanh", (D6,)),
        ("24", 35, "HardSigmoid", (D6,)),
        ("25", 36, "Elu", (D6,)),
        ("26", 37, "Reshape", (reshape, D6)),
        ("27", 38, "Gather", (gather,)),
        ("28", 39, "Transpose", (D6,)),
        ("29", 40, "LayerNormalization", (D6, layer_norm)),
        ("30", 41, "GridSample", (grid_sample,)),
        ("31", 42, "TopK", (topk,)),
        ("32", 43, "DeformConv", (deform_conv,)),
        ("33", 44, "Clip", (D6, clip)),
        ("34", 45, "LeakyRelu", (D6,)),
        ("35", 46, "Identity", (not_individual(),)),
        ("36", 47, "DequantizeLinear", (quantize_axis,)),
        ("37", 48, "QuantizeLinear", (quantize_axis,)),
        ("38", 49, "Sqrt", (D6,)),
        ("40", 51, "Pow", (D6,)),
        ("41", 52, "Cast", (cast,)),
        ("42", 53, "Asin", (D6,)),
        ("43", 54, "Asinh", (D6,)),
        ("44", 55, "HardSwish", (D6,)),
        ("45", 56, "Mish", (D6,)),
        ("46", 57, "Log", (D6,)),
        ("47", 58, "Unsqueeze", (rank_at_most(6, output=True),)),
        ("48", 59, "Abs", (D6,)),
        ("49", 60, "Floor", (D6,)),
        ("50", 61, "Exp", (D6,)),
        ("51", 62, "Sin", (D6,)),
        ("52", 63, "InstanceNormalization", (D6,)),
        ("53", 64, "SpaceToDepth", (rank4, space_to_depth)),
        ("54", 65, "Acos", (D6,)),
        ("55", 66, "Atan", (D6,)),
        ("56", 67, "Sinh", (D6,)),
        ("57", 68, "Neg", (D6,)),
        ("58", 69, "Cos", (D6,)),
        ("59", 70, "Cosh", (D6,)),
        ("60", 71, "Tan", (D6,)),
        # Rows 35 (Erf) and 39 (ReduceMean), "not supported as an individual operator", with the
        # fused-combination table's rows that take them inside a pattern.
        ("fused 1 / 39", 84, "ReduceMean", (not_individual(_in_layer_norm, "a layer norm"),)),
        ("fused 2 / 35", 85, "Erf", (not_individual(_in_gelu, "GELU (Div-Erf-Add-Mul)"),)),
    ],
)

TFLITE_TABLE = _rows(
    "tflite",
    [
        ("1", 98, "DEPTHWISE_CONV_2D/CONV_2D", (one_variable, D4, conv)),
        ("2", 99, "AVERAGE_POOL_2D/MEAN/MAX_POOL_2D", (variable_input, D4)),
        ("3", 100, "PRELU/RELU", (D6,)),
        ("4", 101, "MUL/SUB/ADD/DIV", (D6, eltwise)),
        ("5", 102, "FULLY_CONNECTED", (D4, filter_rank, bias_vector)),
        ("6", 103, "SOFTMAX", (D6,)),
        ("7", 104, "CONCATENATION", (concat, D6)),
        ("8", 105, "STRIDED_SLICE", (slice_,)),
        ("9", 106, "ARG_MAX", (argmax, D4)),
        ("10", 107, "RESIZE_BILINEAR/RESIZE_NEAREST_NEIGHBOR", (D4,)),
        ("11", 108, "DEPTH_TO_SPACE", (rank4, depth_to_space)),
        ("12", 109, "LOGISTIC", (D6,)),
        ("13", 110, "PAD", (rank_at_most(6), pad)),
        ("14", 111, "QUANTIZE/DEQUANTIZE", ()),
        ("15", 112, "SQUEEZE", ()),
        ("16", 113, "TANH", (D6,)),
        ("17", 114, "ELU", (D6,)),
        ("18", 115, "RESHAPE", (reshape, D6)),
        ("19", 116, "TRANSPOSE", (D6,)),
        ("20", 117, "LEAKY_RELU", (D6,)),
        ("21", 118, "BATCH_TO_SPACE_ND", ()),
        ("22", 119, "SPACE_TO_BATCH_ND", ()),
        ("23", 120, "PACK", ()),
        ("24", 121, "CAST", ()),
        ("25", 122, "SPACE_TO_DEPTH", (rank4, space_to_depth)),
    ],
)

# Not layers: data the graph carries. An ONNX Constant node feeds the layers above.
DATA_OPS = {"Constant"}


def row_for(framework: str, op: str) -> Row | None:
    return (ONNX_TABLE if framework == "onnx" else TFLITE_TABLE).get(op)


def verdict(node: Node, graph: Graph) -> tuple[Row | None, str | None]:
    """The row TI lists the node under (None: not listed) and why TIDL would not run it (None: it would)."""
    row = row_for(graph.framework, node.op)
    if row is None:
        return None, f"{node.op} is not in TI's supported-operator table: runs on ARM"
    for check in row.checks:
        reason = check(node, graph)
        if reason:
            return row, reason
    return row, None
