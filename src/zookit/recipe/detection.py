"""A detector's ``detection`` section: its anchors or prior boxes, box coder, heads and the parameters of
its post-process (NMS)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from zookit.recipe.names import Fraction, FrozenModel, PositiveFloat, PositiveInt


class BoxCoder(FrozenModel):
    y_scale: PositiveFloat = 10.0
    x_scale: PositiveFloat = 10.0
    h_scale: PositiveFloat = 5.0
    w_scale: PositiveFloat = 5.0


class SsdAnchors(FrozenModel):
    """TF OD API ssd_anchor_generator (multiple-grid anchors)."""

    num_layers: PositiveInt
    min_scale: PositiveFloat
    max_scale: PositiveFloat
    aspect_ratios: list[PositiveFloat] = Field(min_length=1)
    reduce_boxes_in_lowest_layer: bool = True
    interpolated_scale_aspect_ratio: float = 1.0
    feature_map_sizes: list[PositiveInt] = Field(min_length=1)
    graph_anchors: str | None = Field(None, description="Tensor of the anchors the source graph computes.")

    @model_validator(mode="after")
    def _check(self) -> SsdAnchors:
        if len(self.feature_map_sizes) != self.num_layers:
            raise ValueError(
                f"feature_map_sizes: {len(self.feature_map_sizes)} sizes for num_layers {self.num_layers}"
            )
        if self.min_scale >= self.max_scale:
            raise ValueError("min_scale: must be below max_scale")
        return self


class PriorBox(FrozenModel):
    """One head's priors, as Caffe's PriorBoxParameter (TIDL's caffe_ssd meta architecture)."""

    min_size: list[PositiveFloat] = Field(min_length=1)
    max_size: list[PositiveFloat] = Field(default_factory=list)
    aspect_ratio: list[PositiveFloat] = Field(default_factory=list)
    flip: bool = True
    clip: bool = False
    variance: list[PositiveFloat] = Field(default_factory=lambda: [0.1, 0.1, 0.2, 0.2])
    step: PositiveFloat
    offset: float = 0.5
    feature_map_size: PositiveInt | None = Field(None, description="Grid size of this head (square).")

    @model_validator(mode="after")
    def _check(self) -> PriorBox:
        if len(self.variance) != 4:
            raise ValueError(f"variance: TIDL needs exactly 4 values, got {len(self.variance)}")
        if self.max_size and len(self.max_size) != len(self.min_size):
            raise ValueError("max_size: give one per min_size")
        return self


class PostProcess(FrozenModel):
    """Parameters of the detection post-process (NMS) step."""

    max_detections: PositiveInt = 100
    max_classes_per_detection: PositiveInt = 1
    detections_per_class: PositiveInt = 100
    use_regular_nms: bool = False
    score_threshold: Fraction = 0.3
    iou_threshold: Fraction = 0.6
    keep_top_k: PositiveInt | None = None
    top_k: PositiveInt | None = None


class Heads(FrozenModel):
    """Where the backbone ends: the raw box and class outputs."""

    box_encodings: str | None = Field(None, description="TF: concatenated box encodings [1,N,4].")
    class_predictions: str | None = Field(None, description="TF: class scores after the score converter.")
    box_inputs: list[str] = Field(default_factory=list, description="ONNX: the box-head convolutions.")
    class_inputs: list[str] = Field(default_factory=list, description="ONNX: the class-head convolutions.")


class Detection(FrozenModel):
    num_classes: PositiveInt = Field(description="Object classes, without the background class.")
    background_label_id: int = 0
    score_converter: Literal["sigmoid", "softmax", "identity"] = "sigmoid"
    box_code: Literal["center_size", "corner"] = "center_size"
    box_coder: BoxCoder = Field(default_factory=BoxCoder)
    anchors: SsdAnchors | None = None
    priors: list[PriorBox] = Field(default_factory=list)
    postprocess: PostProcess = Field(default_factory=PostProcess)
    heads: Heads = Field(default_factory=Heads)
    data_layout: Literal["separated", "interleaved"] = Field(
        "separated", description="caffe_ssd: how the heads lay out each prior's values (TIDL data_layout)."
    )

    @model_validator(mode="after")
    def _check(self) -> Detection:
        if self.anchors is None and not self.priors:
            raise ValueError("anchors/priors: a detector needs ssd anchors or prior boxes")
        if self.anchors is not None and self.priors:
            raise ValueError("anchors/priors: give one of them, not both")
        return self
