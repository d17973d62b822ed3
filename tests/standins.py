"""Stand-in models built by the tests: the real tensor names and tail structure, tiny weights."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def targz(members: dict[str, bytes]) -> bytes:
    """A .tar.gz holding ``members`` (archive name -> bytes), in order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            tar.addfile(entry, io.BytesIO(data))
    return buf.getvalue()


def _save_onnx(graph, path: Path) -> bytes:  # type: ignore[no-untyped-def]
    """The graph as an opset-13 model file at ``path``; returns its bytes."""
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    data: bytes = model.SerializeToString()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def _freeze(build, outputs: list[str], path: Path) -> bytes:  # type: ignore[no-untyped-def]
    import tensorflow as tf

    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        build(tf, np.random.default_rng(0))
        graph_def = graph.as_graph_def()
    data: bytes = graph_def.SerializeToString()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    del tf1
    return data


def resnet50_like(path: Path) -> bytes:
    """input_tensor [1,224,224,3] -> conv -> pool -> dense -> resnet_model/dense/BiasAdd -> softmax_tensor, ArgMax."""

    def build(tf, rng):  # type: ignore[no-untyped-def]
        x = tf.compat.v1.placeholder(tf.float32, [1, 224, 224, 3], name="input_tensor")
        w = tf.constant(rng.normal(0, 0.02, (7, 7, 3, 8)).astype(np.float32))
        y = tf.nn.relu(tf.nn.conv2d(x, w, strides=4, padding="SAME", name="resnet_model/conv2d/Conv2D"))
        y = tf.reduce_mean(y, axis=[1, 2], name="resnet_model/Mean")
        kernel = tf.constant(rng.normal(0, 1.0, (8, 1001)).astype(np.float32))
        bias = tf.constant(rng.normal(0, 0.1, (1001,)).astype(np.float32))
        logits = tf.nn.bias_add(
            tf.matmul(y, kernel, name="resnet_model/dense/MatMul"), bias, name="resnet_model/dense/BiasAdd"
        )
        tf.nn.softmax(logits, name="softmax_tensor")
        tf.argmax(logits, axis=1, name="ArgMax")

    return _freeze(build, ["softmax_tensor", "ArgMax"], path)


def retrained_like(path: Path) -> bytes:
    """A retrained graph as TensorFlow for Poets leaves it: the new head reads the bottleneck through a
    PlaceholderWithDefault (``input_1/BottleneckInputPlaceholder``) that is never fed."""

    def build(tf, rng):  # type: ignore[no-untyped-def]
        x = tf.compat.v1.placeholder(tf.float32, [1, 32, 32, 3], name="input")
        w = tf.constant(rng.normal(0, 0.1, (3, 3, 3, 8)).astype(np.float32))
        y = tf.reduce_mean(tf.nn.relu(tf.nn.conv2d(x, w, strides=2, padding="SAME")), axis=[1, 2])
        y = tf.compat.v1.placeholder_with_default(y, [None, 8], name="input_1/BottleneckInputPlaceholder")
        kernel = tf.constant(rng.normal(0, 1.0, (8, 5)).astype(np.float32))
        tf.nn.softmax(tf.matmul(y, kernel), name="final_result")

    return _freeze(build, ["final_result"], path)


def mobilenet_like(path: Path) -> bytes:
    """input [1,224,224,3] -> conv -> depthwise -> pool -> 1x1 conv logits -> Softmax -> Reshape_1."""

    def build(tf, rng):  # type: ignore[no-untyped-def]
        x = tf.compat.v1.placeholder(tf.float32, [1, 224, 224, 3], name="input")
        w = tf.constant(rng.normal(0, 0.3, (3, 3, 3, 8)).astype(np.float32))
        y = tf.nn.relu6(tf.nn.conv2d(x, w, strides=8, padding="SAME", name="MobilenetV1/Conv2d_0/Conv2D"))
        dw = tf.constant(rng.normal(0, 0.3, (3, 3, 8, 1)).astype(np.float32))
        y = tf.nn.relu6(
            tf.nn.depthwise_conv2d(
                y, dw, [1, 2, 2, 1], "SAME", name="MobilenetV1/Conv2d_1_depthwise/depthwise"
            )
        )
        y = tf.reduce_mean(y, axis=[1, 2], keepdims=True, name="MobilenetV1/Logits/AvgPool_1a/AvgPool")
        k = tf.constant(rng.normal(0, 1.0, (1, 1, 8, 1001)).astype(np.float32))
        y = tf.nn.conv2d(y, k, strides=1, padding="VALID", name="MobilenetV1/Logits/Conv2d_1c_1x1/Conv2D")
        logits = tf.squeeze(y, [1, 2], name="MobilenetV1/Logits/SpatialSqueeze")
        probs = tf.nn.softmax(logits, name="MobilenetV1/Predictions/Softmax")
        tf.reshape(probs, [-1, 1001], name="MobilenetV1/Predictions/Reshape_1")

    return _freeze(build, ["MobilenetV1/Predictions/Reshape_1"], path)


def onnx_classifier(path: Path) -> bytes:
    """A small ONNX model: image -> Conv -> Relu -> GlobalAveragePool -> Flatten -> Gemm 'logits' -> Softmax 'probs'."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "conv_w"),
        numpy_helper.from_array(rng.normal(0, 1.0, (10, 8)).astype(np.float32), "fc_w"),
        numpy_helper.from_array(rng.normal(0, 0.1, (10,)).astype(np.float32), "fc_b"),
    ]
    nodes = [
        helper.make_node(
            "Conv", ["image", "conv_w"], ["conv"], strides=[2, 2], pads=[1, 1, 1, 1], name="Conv_0"
        ),
        helper.make_node("Relu", ["conv"], ["relu"], name="Relu_1"),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"], name="Pool_2"),
        helper.make_node("Flatten", ["pool"], ["flat"], name="Flatten_3"),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], transB=1, name="Gemm_4"),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1, name="Softmax_5"),
    ]
    graph = helper.make_graph(
        nodes,
        "classifier",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 32, 32])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 10])],
        inits,
    )
    return _save_onnx(graph, path)


# Head node numbers of the zenodo ResNet34-SSD1200 file as TI publishes them (box, class per map).
R34_BOX_HEADS = (338, 360, 382, 404, 426, 448)
R34_CLASS_HEADS = (349, 371, 393, 415, 437, 459)


def onnx_ssd(
    path: Path,
    size: int = 1200,
    priors: tuple[int, ...] = (4, 6, 6, 6, 4, 4),
    classes: int = 81,
    width: int = 8,
    seed: int = 0,
) -> bytes:
    """An ONNX SSD shaped like ResNet34-SSD1200 (PyTorch export): image [1,3,size,size] -> strided convs to
    six feature maps (50, 25, 13, 7, 3, 3 at 1200) -> per map a box Conv (4 x priors channels) and a class
    Conv (classes x priors) -> Reshape [1,4,-1] / [1,classes,-1] -> Concat -> Softmax, decode against
    constant priors, NonMaxSuppression -> bboxes [1,K,4], labels [1,K] int64, scores [1,K].

    Nodes are named like a PyTorch export (``Conv_338``, outputs ``338``); the heads carry TI's numbers.
    """
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes: list = []
    inits: list = []
    counter = iter(range(1000, 100000))

    def const(array: np.ndarray) -> str:
        name = f"c{next(counter)}"
        inits.append(numpy_helper.from_array(array, name))
        return name

    def node(op: str, inputs: list[str], number: int | None = None, **attrs) -> str:  # type: ignore[no-untyped-def]
        n = number if number is not None else next(counter)
        out = str(n)
        nodes.append(helper.make_node(op, inputs, [out], name=f"{op}_{n}", **attrs))
        return out

    def conv(
        x: str, cin: int, cout: int, k: int, s: int, p: int, number: int | None = None, scale: float = 0.3
    ) -> str:
        w = const(rng.normal(0, scale, (cout, cin, k, k)).astype(np.float32))
        b = const(rng.normal(0, 0.1, (cout,)).astype(np.float32))
        return node("Conv", [x, w, b], number, kernel_shape=[k, k], strides=[s, s], pads=[p] * 4)

    # strides within TIDL's limits (a kernel above 7 at stride 2, or stride 4 without an 11x11 kernel,
    # would not run there): 1200 -> 600 -> 300 -> 150 -> 50
    x = node("Relu", [conv("image", 3, width, 3, 2, 1)])
    x = node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = node("Relu", [conv(x, width, width, 3, 3, 0)])  # 50 at 1200
    maps = [x]
    for stride, pad in ((2, 1), (2, 1), (2, 1), (2, 0), (1, 1)):
        maps.append(node("Relu", [conv(maps[-1], width, width, 3, stride, pad)]))
    boxes, scores = [], []
    for i, (fmap, k) in enumerate(zip(maps, priors, strict=True)):
        box = conv(fmap, width, 4 * k, 3, 1, 1, R34_BOX_HEADS[i], scale=0.05)
        cls = conv(fmap, width, classes * k, 3, 1, 1, R34_CLASS_HEADS[i], scale=0.2)
        boxes.append(node("Reshape", [box, const(np.array([1, 4, -1], np.int64))]))
        scores.append(node("Reshape", [cls, const(np.array([1, classes, -1], np.int64))]))
    box_all = node("Concat", boxes, axis=2)  # [1,4,N]
    cls_all = node("Concat", scores, axis=2)  # [1,C,N]
    total = sum(k * s * s for k, s in zip(priors, _map_sizes(size), strict=True))
    anchors = rng.uniform(0.1, 0.9, (1, total, 4)).astype(np.float32)
    decoded = node(
        "Add",
        [node("Mul", [node("Transpose", [box_all], perm=[0, 2, 1]), const(np.float32(0.1))]), const(anchors)],
    )
    probs = node("Softmax", [cls_all], axis=1)
    axes0 = const(np.array([0], np.int64))
    fg = node(
        "Slice",
        [
            probs,
            const(np.array([1], np.int64)),
            const(np.array([classes], np.int64)),
            const(np.array([1], np.int64)),
        ],
    )
    selected = node(
        "NonMaxSuppression",
        [
            decoded,
            fg,
            const(np.array([200], np.int64)),
            const(np.array([0.5], np.float32)),
            const(np.array([0.3], np.float32)),
        ],
    )
    cls_idx = node(
        "Squeeze",
        [node("Gather", [selected, const(np.array([1], np.int64))], axis=1), const(np.array([1], np.int64))],
    )
    box_idx = node(
        "Squeeze",
        [node("Gather", [selected, const(np.array([2], np.int64))], axis=1), const(np.array([1], np.int64))],
    )
    picked = node("Gather", [node("Squeeze", [decoded, axes0]), box_idx], axis=0)
    picked_scores = node(
        "GatherND",
        [
            node("Squeeze", [fg, axes0]),
            node(
                "Slice",
                [
                    selected,
                    const(np.array([1], np.int64)),
                    const(np.array([3], np.int64)),
                    const(np.array([1], np.int64)),
                ],
            ),
        ],
    )
    nodes.append(helper.make_node("Unsqueeze", [picked, axes0], ["bboxes"], name="Unsqueeze_bboxes"))
    labels = node("Add", [cls_idx, const(np.array(1, np.int64))])
    nodes.append(helper.make_node("Unsqueeze", [labels, axes0], ["labels"], name="Unsqueeze_labels"))
    nodes.append(helper.make_node("Unsqueeze", [picked_scores, axes0], ["scores"], name="Unsqueeze_scores"))
    graph = helper.make_graph(
        nodes,
        "ssd_r34_standin",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])],
        [
            helper.make_tensor_value_info("bboxes", TensorProto.FLOAT, [1, "n", 4]),
            helper.make_tensor_value_info("labels", TensorProto.INT64, [1, "n"]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, "n"]),
        ],
        inits,
    )
    return _save_onnx(graph, path)


def _map_sizes(size: int) -> list[int]:
    s = size // 24
    out = [s]
    for stride, pad in ((2, 1), (2, 1), (2, 1), (2, 0), (1, 1)):
        s = (s + 2 * pad - 3) // stride + 1
        out.append(s)
    return out


def tf_ssd_like(
    path: Path,
    anchors_yxhw: np.ndarray,
    seed: int = 0,
    grids: tuple[int, ...] = (19, 10, 5, 3, 2, 1),
    per_cell: tuple[int, ...] = (3, 6, 6, 6, 6, 6),
) -> bytes:
    """A small TF OD API SSD with SSD-MobileNet's tensor names and tail: image_tensor uint8 [1,300,300,3]
    -> Preprocessor/sub ((2/255) x - 1) -> strided convs to six feature maps (19, 10, 5, 3, 2, 1) -> per map
    a box-encoding Conv and a class Conv (BoxPredictor_i/...), reshaped and concatenated as the TF OD API
    does -> box encodings 'Squeeze' [1,N,4] and sigmoid scores 'Postprocessor/convert_scores' [1,N,91];
    anchors 'MultipleGridAnchorGenerator/Identity' (corner form); faster-rcnn decoding (10,10,5,5),
    per-class NMS (0.3 / 0.6, 100 per class, 100 in all), boxes clipped to the image, classes + 1 ->
    detection_boxes/scores/classes, num_detections."""
    n = len(anchors_yxhw)
    assert n == sum(g * g * k for g, k in zip(grids, per_cell, strict=True)), "anchors and grids disagree"

    def build(tf, rng):  # type: ignore[no-untyped-def]
        image = tf.compat.v1.placeholder(tf.uint8, [1, 300, 300, 3], name="image_tensor")
        x = tf.subtract(tf.cast(image, tf.float32) * (2.0 / 255.0), 1.0, name="Preprocessor/sub")

        def conv(x, cout, k, stride, name, scale=0.3, bias=0.0):  # type: ignore[no-untyped-def]
            w = tf.constant(rng.normal(0, scale, (k, k, int(x.shape[-1]), cout)).astype(np.float32))
            b = tf.constant(rng.normal(bias, 0.5 if bias else 0.05, (cout,)).astype(np.float32))
            return tf.nn.bias_add(tf.nn.conv2d(x, w, strides=stride, padding="SAME"), b, name=name)

        maps = [tf.nn.relu6(conv(x, 8, 16, 16, "FeatureExtractor/Conv2d_0"))]
        for i in range(1, len(grids)):
            maps.append(tf.nn.relu6(conv(maps[-1], 8, 3, 2, f"FeatureExtractor/Conv2d_{i}")))
        encodings, logits = [], []
        for i, (fmap, k) in enumerate(zip(maps, per_cell, strict=True)):
            box = conv(fmap, 4 * k, 1, 1, f"BoxPredictor_{i}/BoxEncodingPredictor/BiasAdd", scale=0.4)
            cls = conv(fmap, 91 * k, 1, 1, f"BoxPredictor_{i}/ClassPredictor/BiasAdd", bias=-2.0)
            encodings.append(tf.reshape(box, [1, -1, 1, 4], name=f"BoxPredictor_{i}/Reshape"))
            logits.append(tf.reshape(cls, [1, -1, 91], name=f"BoxPredictor_{i}/Reshape_1"))
        encodings = tf.squeeze(tf.concat(encodings, axis=1, name="concat"), axis=2, name="Squeeze")
        scores = tf.sigmoid(tf.concat(logits, axis=1, name="concat_1"), name="Postprocessor/convert_scores")
        yc, xc, h, w_ = (anchors_yxhw[:, i] for i in range(4))
        corners = np.stack([yc - h / 2, xc - w_ / 2, yc + h / 2, xc + w_ / 2], 1).astype(np.float32)
        anchors = tf.identity(tf.constant(corners), name="MultipleGridAnchorGenerator/Identity")
        ymin, xmin, ymax, xmax = tf.unstack(anchors, axis=1)
        ha, wa = ymax - ymin, xmax - xmin
        ty, tx, th, tw = tf.unstack(encodings[0], axis=1)
        ycen, xcen = ty / 10.0 * ha + ymin + ha / 2, tx / 10.0 * wa + xmin + wa / 2
        hh, ww = tf.exp(th / 5.0) * ha, tf.exp(tw / 5.0) * wa
        boxes = tf.stack([ycen - hh / 2, xcen - ww / 2, ycen + hh / 2, xcen + ww / 2], axis=1)
        nms = tf.image.combined_non_max_suppression(
            tf.reshape(boxes, [1, n, 1, 4]), scores[:, :, 1:], 100, 100, 0.6, 0.3, clip_boxes=True
        )
        tf.identity(nms.nmsed_boxes, name="detection_boxes")
        tf.identity(nms.nmsed_scores, name="detection_scores")
        tf.identity(nms.nmsed_classes + 1.0, name="detection_classes")
        tf.cast(nms.valid_detections, tf.float32, name="num_detections")

    return _freeze(build, ["detection_boxes"], path)
