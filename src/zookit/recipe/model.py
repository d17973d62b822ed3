"""The ``Recipe`` itself: one model's fields, made of the parts beside it (sources, tensors, targets,
detection and the deployers' sections), and the checks that need the whole recipe."""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from zookit.deployer_facts import DEPLOYER_FACTS
from zookit.errors import UsageError
from zookit.layout import SOURCE
from zookit.recipe.detection import Detection
from zookit.recipe.ethos_u import EthosU, ethos_u_problems
from zookit.recipe.evaluation import Evaluation, evaluation_problems
from zookit.recipe.labels import Labels, labels_problems
from zookit.recipe.mcu import Mcu, Sample, mcu_problems
from zookit.recipe.names import FrozenModel, ModelName, PositiveInt
from zookit.recipe.openvino import OpenVino, openvino_problems
from zookit.recipe.pictures import image_input_problems
from zookit.recipe.sources import ModelFile, Source
from zookit.recipe.targets import Target
from zookit.recipe.tensors import CustomOps, Preprocessing, TensorSpec, Trim
from zookit.recipe.tidl import Tidl, tidl_problems

# Marks a deployer's section: the conversion digest leaves it out (a new deployer's section needs no
# other edit here than its field).
DEPLOY: dict[str, Any] = {"deploy": True}


class Recipe(FrozenModel):
    """One model: where it comes from, what it computes, and how to make it target-ready."""

    _file: Path | None = None  # the file it was read from (load_recipe): private, in no key or dump

    name: ModelName
    description: str = Field(min_length=1)
    task: Literal["classification", "detection", "anomaly-detection"] = Field(
        description="classification (top-1 agreement is checked), detection, anomaly-detection (an "
        "autoencoder: its outputs are compared as they are)."
    )
    license: str = Field(min_length=1)
    num_classes: PositiveInt | None = Field(None, description="Classifier outputs (with background).")
    labels: Labels | None = Field(None, description="Class names (recipe/labels.py).")
    sources: list[Source] = Field(min_length=1)
    model: ModelFile
    inputs: list[TensorSpec] = Field(min_length=1)
    outputs: list[TensorSpec] = Field(min_length=1)
    preprocessing: Preprocessing | None = Field(
        None,
        description="How pictures become the input (image models only; a model without it takes no images).",
    )
    trim: Trim = Field(default_factory=Trim)
    custom_ops: CustomOps = Field(default_factory=CustomOps)
    targets: list[Target] = Field(min_length=1)
    detection: Detection | None = None
    # deploy sections (DEPLOY, json_schema_extra): what a deployer reads; no conversion reads them
    tidl: Tidl | None = Field(None, json_schema_extra=DEPLOY)
    samples: list[Sample] = Field(
        default_factory=list, description="Real input files among the sources (recipe/mcu.py)."
    )
    mcu: Mcu | None = Field(
        None,
        description="TensorFlow Lite Micro budgets and settings (recipe/mcu.py).",
        json_schema_extra=DEPLOY,
    )
    openvino: OpenVino | None = Field(
        None, description="OpenVINO IR, float and int8 (recipe/openvino.py).", json_schema_extra=DEPLOY
    )
    ethos_u: EthosU | None = Field(
        None, description="Arm Ethos-U NPUs via Vela (recipe/ethos_u.py).", json_schema_extra=DEPLOY
    )
    evaluation: Evaluation | None = Field(
        None,
        description="A labelled set, its metric, quality target and allowed drop (recipe/evaluation.py).",
        json_schema_extra=DEPLOY,
    )

    @model_validator(mode="after")
    def _check(self) -> Recipe:
        problems = (
            mcu_problems(self) + openvino_problems(self) + evaluation_problems(self) + labels_problems(self)
        )
        problems += _duplicates("sources", "file", [s.file for s in self.sources])
        problems += _duplicates("sources", "save_as", [s.dest for s in self.sources])
        problems += _duplicates("targets", "name", [t.name for t in self.targets])
        problems += _reserved_targets([t.name for t in self.targets])
        if self.task == "detection" and self.detection is None:
            problems.append("detection: required for a detection recipe")
        problems += self._impossible_targets()
        problems += image_input_problems(self)
        for i, t in enumerate(self.targets):
            if not t.postprocess:
                continue
            if t.format == "onnx":
                if self.model.format != "onnx" or self.detection is None or not self.detection.priors:
                    problems.append(
                        f"targets[{i}].postprocess: an ONNX target keeps the post-process of an ONNX SSD "
                        "source with detection.priors"
                    )
                continue
            if self.detection is None or self.detection.anchors is None:
                problems.append(f"targets[{i}].postprocess: needs detection.anchors")
            if "TFLite_Detection_PostProcess" not in self.custom_ops.ops:
                problems.append(
                    f"targets[{i}].postprocess: custom_ops must allow and list TFLite_Detection_PostProcess"
                )
        problems += tidl_problems(self) + ethos_u_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _impossible_targets(self) -> list[str]:
        """Targets no converter can make from this source."""
        problems = []
        files = {s.dest for s in self.sources}
        for i, t in enumerate(self.targets):
            if t.format == "tflite" and self.model.format == "onnx":
                problems.append(
                    f"targets[{i}].format: a TFLite target needs a TensorFlow, Keras or TFLite source; "
                    "this model is ONNX (converters go from TensorFlow to ONNX, not back)"
                )
            if self.model.format == "tflite" and t.postprocess and not self.trim.outputs:
                problems.append(
                    f"targets[{i}].postprocess: a TFLite source gets a post-process only when trim.outputs "
                    "cuts it at its heads"
                )
            if t.compare_with is not None:
                if t.compare_with not in files:
                    problems.append(
                        f"targets[{i}].compare_with: {t.compare_with!r} is not one of the source files "
                        f"({', '.join(sorted(files))})"
                    )
                elif not t.compare_with.endswith(".tflite"):
                    problems.append(f"targets[{i}].compare_with: {t.compare_with!r} is not a .tflite file")
        return problems

    @property
    def takes_images(self) -> bool:
        return self.preprocessing is not None

    def target(self, name: str) -> Target:
        for t in self.targets:
            if t.name == name:
                return t
        raise UsageError(
            f"recipe {self.name!r} has no target {name!r}; its targets are "
            + ", ".join(t.name for t in self.targets)
        )

    @cached_property
    def digest(self) -> str:
        """sha256 of the recipe's canonical content: changes whenever any fact in it changes."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    @cached_property
    def conversion_digest(self) -> str:
        """sha256 of what a conversion reads (the target aside): not the description, license, notes, the
        deploy sections (TIDL, MCU, OpenVINO) or the other targets, so editing those converts nothing again."""
        deploy = {name for name, f in Recipe.model_fields.items() if f.json_schema_extra == DEPLOY}
        data = self.model_dump(mode="json", exclude={"description", "license", "targets", *deploy})
        for source in data["sources"]:
            source.pop("note", None)
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _duplicates(field: str, key: str, values: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for i, v in enumerate(values):
        if v in seen:
            out.append(f"{field}[{i}].{key}: duplicate {v!r}")
        seen.add(v)
    return out


def _reserved_targets(names: list[str]) -> list[str]:
    """A target's folder sits beside the source folder and the deployers' package folders."""
    reserved = {SOURCE, *DEPLOYER_FACTS}
    return [
        f"targets[{i}].name: {n!r} is the name of zookit's own folder for the model ({', '.join(sorted(reserved))}"
        " are taken); choose another"
        for i, n in enumerate(names)
        if n in reserved
    ]


def json_schema() -> dict[str, Any]:
    schema = Recipe.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "zookit recipe"
    return schema
