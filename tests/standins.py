"""Stand-in models built by the tests: the real tensor names and tail structure, tiny weights."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    data: bytes = model.SerializeToString()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data
