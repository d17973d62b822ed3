"""SSD anchors and priors computed from a recipe, in plain numpy (no TensorFlow).

Two generators, one per family of SSD exporters:

- ``ssd_anchors``: the TF OD API multiple-grid generator (``ssd_anchor_generator``), normalised
  (ycenter, xcenter, h, w) boxes, the order TFLite_Detection_PostProcess expects: box spec fastest,
  then x, then y, then layer.
- ``prior_count`` / ``priors_per_cell``: Caffe's PriorBox (TIDL's ``caffe_ssd`` meta architecture),
  used to check that a prior specification matches the heads of the model it describes.
"""

from __future__ import annotations

import math

import numpy as np

from zookit.recipe import PriorBox, SsdAnchors


def layer_box_specs(spec: SsdAnchors) -> list[list[tuple[float, float]]]:
    """(scale, aspect ratio) of the boxes of each layer, as create_ssd_anchors defines them."""
    n = spec.num_layers
    scales = [spec.min_scale + (spec.max_scale - spec.min_scale) * i / (n - 1) for i in range(n)]
    scales.append(1.0)
    layers = []
    for i in range(n):
        if i == 0 and spec.reduce_boxes_in_lowest_layer:
            boxes = [(0.1, 1.0), (scales[0], 2.0), (scales[0], 0.5)]
        else:
            boxes = [(scales[i], ar) for ar in spec.aspect_ratios]
            if spec.interpolated_scale_aspect_ratio > 0:
                boxes.append((math.sqrt(scales[i] * scales[i + 1]), spec.interpolated_scale_aspect_ratio))
        layers.append(boxes)
    return layers


def ssd_anchors(spec: SsdAnchors) -> np.ndarray:
    """All anchors, [N, 4] float32 as (ycenter, xcenter, h, w) in normalised image coordinates."""
    parts = []
    for grid, boxes in zip(spec.feature_map_sizes, layer_box_specs(spec), strict=True):
        stride = 1.0 / grid
        centers = stride / 2 + stride * np.arange(grid)
        y, x = np.meshgrid(centers, centers, indexing="ij")
        sizes = np.array([(s / math.sqrt(ar), s * math.sqrt(ar)) for s, ar in boxes])  # (h, w) per box
        cells = np.stack([y.ravel(), x.ravel()], axis=1)  # [grid*grid, 2], x fastest
        layer = np.concatenate(
            [np.repeat(cells, len(boxes), axis=0), np.tile(sizes, (grid * grid, 1))], axis=1
        )
        parts.append(layer)
    return np.concatenate(parts).astype(np.float32)


def to_corners(anchors: np.ndarray) -> np.ndarray:
    """(ycenter, xcenter, h, w) -> (ymin, xmin, ymax, xmax), the TF OD API BoxList form."""
    yc, xc, h, w = anchors.T
    return np.stack([yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2], axis=1)


def priors_per_cell(prior: PriorBox) -> int:
    """Boxes per feature-map cell of one Caffe PriorBox layer.

    Per min_size: the min box, one sqrt(min*max) box when a max_size is given, and one box per aspect
    ratio other than 1 (two when flip: ar and 1/ar). Duplicate ratios count once, as Caffe does.
    """
    ratios: list[float] = []
    for ar in prior.aspect_ratio:
        for r in (ar, 1.0 / ar) if prior.flip else (ar,):
            if abs(r - 1.0) > 1e-6 and all(abs(r - seen) > 1e-6 for seen in ratios):
                ratios.append(r)
    per_min = 1 + len(ratios) + (1 if prior.max_size else 0)
    return per_min * len(prior.min_size)


def prior_count(priors: list[PriorBox], feature_map_sizes: list[tuple[int, int]]) -> list[int]:
    """Priors each head implies, given each head's (height, width)."""
    return [priors_per_cell(p) * h * w for p, (h, w) in zip(priors, feature_map_sizes, strict=True)]
