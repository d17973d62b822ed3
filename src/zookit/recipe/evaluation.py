"""The recipe's ``evaluation`` section: a labelled set to measure the model and every target on, the
metric, MLPerf-style quality target and the largest drop a target may show against the source on the
same data (model.py imports it)::

    evaluation:
      set: kws01                # the set's folder, searched below `--data DIR` / $ZOO_DATA
      format: kws01             # ic01 | vww01 (uint8 HWC pictures), kws01 (int8 MFCC maps), ad01
                                # (float32 spectrograms read as sliding windows), pictures (+ a CSV)
      labels: y_labels.csv      # the set's labels file (default)
      metric: top1              # top1 | top5 | auc (anomaly score: mean reconstruction MSE of a clip)
      quality_target: 0.90      # the absolute target (shown beside; MLPerf's hold for the full sets)
      max_drop: 0.01            # the gate: a target more than this below the source fails
      quantization: {scale: 0.5847, zero_point: 83}   # kws01: the stored int8 values' quantization
      calibration_per_class: 5  # the first N files of each class (by name) calibrate; the rest judge
      calibrate: true           # int8 targets calibrate on that part when the set is found

Nothing here imports numpy or a framework.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from zookit.recipe.names import Fraction, FrozenModel

EvalFormat = Literal["ic01", "vww01", "kws01", "ad01", "pictures"]
PICTURE_FORMATS = ("ic01", "vww01", "pictures")


class StoredQuantization(FrozenModel):
    scale: float = Field(gt=0)
    zero_point: int = Field(ge=-128, le=127)


class Evaluation(FrozenModel):
    set: str = Field(
        min_length=1,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="The labelled set's folder name, searched below --data DIR / $ZOO_DATA.",
    )
    format: EvalFormat = Field(
        description="ic01/vww01: uint8 HWC pictures (.bin); kws01: int8 MFCC maps (.bin, with quantization); "
        "ad01: float32 spectrograms read as sliding windows; pictures: image files and a CSV (file,class)."
    )
    labels: str = Field("y_labels.csv", min_length=1, description="The labels file inside the set's folder.")
    metric: Literal["top1", "top5", "auc"] = Field(
        description="top1/top5 accuracy, or auc: ROC AUC of a clip's mean reconstruction error (anomaly)."
    )
    quality_target: Fraction | None = Field(
        None, description="The absolute quality target, shown beside each figure (MLPerf's: full sets)."
    )
    max_drop: Fraction = Field(
        description="The largest drop of a target's figure below the source's on the same data (0.01: 1 point)."
    )
    quantization: StoredQuantization | None = Field(
        None, description="kws01: the scale and zero point the stored int8 values were quantized with."
    )
    calibration_per_class: int = Field(
        4,
        ge=0,
        description="The first N files of each class (sorted by name) form the calibration part; accuracy "
        "is reported on the rest only.",
    )
    calibrate: bool = Field(
        True, description="int8 targets calibrate on the calibration part when the set is found."
    )

    @model_validator(mode="after")
    def _check(self) -> Evaluation:
        if self.format == "kws01" and self.quantization is None:
            raise ValueError(
                "quantization: required for format kws01 (the stored int8 values' scale, zero point)"
            )
        if self.format != "kws01" and self.quantization is not None:
            raise ValueError(f"quantization: only format kws01 stores quantized values, not {self.format}")
        if (self.metric == "auc") != (self.format == "ad01"):
            raise ValueError(
                f"metric {self.metric}: auc goes with format ad01 (anomaly clips), top1/top5 with the others"
            )
        return self


def evaluation_problems(recipe: Any) -> list[str]:
    """What the evaluation section needs of the whole recipe."""
    ev = recipe.evaluation
    if ev is None:
        return []
    problems = []
    if ev.metric == "auc" and recipe.task != "anomaly-detection":
        problems.append(f"evaluation.metric: auc is for anomaly-detection recipes, this one is {recipe.task}")
    if ev.metric != "auc" and recipe.task != "classification":
        problems.append(
            f"evaluation.metric: {ev.metric} is for classification recipes, this one is {recipe.task}"
        )
    if ev.format in PICTURE_FORMATS and recipe.preprocessing is None:
        problems.append(
            f"evaluation.format: {ev.format} holds pictures; the recipe needs a preprocessing section"
        )
    return problems
