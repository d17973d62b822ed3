"""The README of a TIDL package: what each file is, the preprocessing the model expects, how to compile
it, and what is still missing before TI's tools can import it."""

from __future__ import annotations

from typing import Any, Protocol

from zookit.deploy.tidl import recipe_file
from zookit.deploy.tidl.check import Finding, problems
from zookit.deploy.tidl.inputs import describe_preprocessing, input_geometry, input_layout
from zookit.deploy.tidl.options import ARTIFACTS, IMPORT_OUT
from zookit.recipe import Recipe
from zookit.records import Manifest


class PackageFiles(Protocol):
    """What the README reads of the package being written (``package.PackageFiles``, which imports this
    module: named here by its shape, so the two modules do not import each other)."""

    recipe: Recipe
    tidl: Any  # the recipe's tidl section
    manifest: Manifest
    model_name: str
    config: str
    meta: str | None
    calibration: str | None


def readme(package: PackageFiles, findings: list[Finding], missing: list[str], notes: list[str]) -> str:
    recipe = package.recipe
    layout = input_layout(recipe, package.manifest)
    width, height, _ = input_geometry(package.manifest, layout)
    lines = [
        f"# TIDL import package: {recipe.name}",
        "",
        f"{recipe.description}. Written by `zoo tidl {recipe.name}` from `{recipe_file(recipe)}`;",
        "`package.json` lists every file with its checksum.",
        "",
        *_file_table(package),
        "",
        "## Preprocessing the model expects",
        "",
        f"{describe_preprocessing(recipe, width, height)}; input layout {layout}.",
        "The import config gives the importer the same mean and scale; `package.json` has it as data.",
        "",
        *_compiling(package, missing, notes),
        *_operators(findings),
    ]
    return "\n".join(lines) + "\n"


def _file_table(package: PackageFiles) -> list[str]:
    meta, calibration, config = package.meta, package.calibration, package.config
    rows = [
        "| file | what it is |",
        "|---|---|",
        f"| `{package.model_name}` | the model TIDL imports (target `{package.tidl.target}`, verified against the source) |",
        f"| `{config}` | config of TI's legacy import tool (`tidl_model_import.out {config}`, run in this folder) |",
        "| `runtime_options.json` | compile options for TI's TFLite delegate / ONNX Runtime execution provider |",
        f"| `{ARTIFACTS}/` | empty: TI's compile step writes the compiled artefacts here (it must exist and be empty) |",
        f"| `{IMPORT_OUT}/` | empty: TI's legacy import tool writes the imported net here (it makes no folder) |",
    ]
    if meta and meta.endswith(".prototxt"):
        rows.append(
            f"| `{meta}` | meta-architecture (caffe_ssd): TIDL's detection post-process after the heads |"
        )
    elif meta:
        rows.append(
            f"| `{meta}` | TF OD API pipeline config with box_input/class_input: TIDL's SSD post-process "
            "(metaArchType 1 of the legacy import tool) |"
        )
    if calibration:
        rows.append(f"| `{calibration}` | calibration list (`path label`; labels are unused placeholders) |")
        rows.append(
            "| `calibration/` | the calibration images, already resized and cropped to the input size |"
        )
    rows.append("| `check.json` | operators TIDL would not run on the accelerator (`zoo check`) |")
    return rows


def _compiling(package: PackageFiles, missing: list[str], notes: list[str]) -> list[str]:
    lines = [
        "## Compiling",
        "",
        "Every path in `runtime_options.json` and in the import config is relative to this folder: run TI's",
        "tools from inside it (`cd` here first), for example with TI's edgeai-tidl-tools:",
        "",
        "```python",
        "import json; options = json.load(open('runtime_options.json'))",
        "# onnxruntime: providers=['TIDLCompilationProvider', 'CPUExecutionProvider'],",
        "#              provider_options=[options, {}]",
        "# TFLite: tflite_runtime.interpreter.load_delegate('tidl_model_import_tflite.so', options)",
        "```",
        "",
    ]
    if missing:
        lines += ["**Not ready to import** (`package.json`: `ready_to_import: false`); missing:", ""]
        lines += [f"- {m}" for m in missing] + [""]
    lines += [f"Note: {n}." for n in notes] + ([""] if notes else [])
    recipe = package.recipe
    if recipe.detection is not None and recipe.detection.anchors:
        lines += [
            "The TFLite model ends in `TFLite_Detection_PostProcess`: TIDL's TFLite delegate takes it over when",
            "compiling through `runtime_options.json` (no meta_arch_type). TI's legacy import tool has no path for",
            "that op; the import config therefore uses TI's documented route, metaArchType 1 with the pipeline",
            "config, whose box_input/class_input name the head convolutions' outputs in the model.",
            "",
        ]
    return lines


def _operators(findings: list[Finding]) -> list[str]:
    bad = problems(findings)
    if not bad:
        return ["`zoo check` found no operator outside TI's published limits."]
    return [
        "Operators TIDL would not run on the accelerator:",
        *(f"- {f.op} (`{f.node}`): {f.reason}" for f in bad),
    ]
