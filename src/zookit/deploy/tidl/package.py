"""`zoo tidl`: the TIDL import package of a model, in ``zoo/<model>/tidl/``.

The package holds the model file TIDL imports (the recipe's ``tidl.target``), the legacy import-tool
config, the runtime compile options of TI's TFLite delegate / ONNX Runtime provider as JSON (both in
``options``), the meta-architecture file of a detector (``meta``), a calibration list, the operator check,
a README (``readme``) and ``package.json``: what was written, from what, with checksums, and whether TI's
tools can import it as it is (``ready_to_import``; when not, ``missing`` names each missing fact and the
command that fills it in).

The package is built in a temporary folder beside ``tidl/`` and swapped in whole, so ``tidl/``
is either the previous whole package or the new one. Every prototxt is parsed back with the
schema in ``zookit.deploy.tidl.protos`` before it is written.
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from zookit.data import calibration_pictures
from zookit.deploy.tidl import TOOLS_ENV
from zookit.deploy.tidl.check import Finding, check_model, problems
from zookit.deploy.tidl.inputs import input_geometry, input_layout, preprocessing_of, preprocessing_record
from zookit.deploy.tidl.meta import caffe_ssd_prototxt, pipeline_config
from zookit.deploy.tidl.options import (
    ARTIFACTS,
    IMPORT_OUT,
    LEGACY_TOOLS,
    check_16bit_names,
    import_config,
    legacy_notes,
    model_output_names,
    runtime_options,
    thin_calibration,
    tool_files,
)
from zookit.deploy.tidl.readme import readme
from zookit.errors import UsageError, ZooError
from zookit.fsutil import folder_listing, swap_in, temp_dir, write_json
from zookit.hashes import file_checksum
from zookit.layout import Layout
from zookit.recipe import Recipe
from zookit.records import Manifest, Package

log = logging.getLogger(__name__)

PACKAGE = Package.FILE


def build_package(
    recipe: Recipe,
    zoo_dir: Path,
    manifest: Manifest,
    calibration_images: Path | None,
    strict: bool = False,
    stage_key: str | None = None,
    tidl_tools: Path | None = None,
) -> dict[str, Any]:
    """Write ``zoo/<model>/tidl/`` from the converted target; return the package record."""
    if recipe.tidl is None:
        raise UsageError(f"{recipe.name}: the recipe has no tidl section")
    tidl = recipe.tidl
    zoo = Layout(zoo_dir)
    model_dir = zoo.model(recipe.name)
    source = zoo.target(recipe.name, tidl.target) / manifest.output.file
    if file_checksum(source) != manifest.output.checksum:
        raise ZooError(f"{source} differs from its manifest; run `zoo convert {recipe.name}` again")
    heads = manifest.heads if recipe.detection is not None and recipe.detection.priors else None
    findings = check_model(source, (heads or {}).get("box", []) + (heads or {}).get("class", []))
    if strict and problems(findings):
        raise ZooError(_findings_error(source, problems(findings)))
    layout = input_layout(recipe, manifest)
    width, height, _ = input_geometry(manifest, layout)
    pictures = []
    if calibration_images:
        pictures = calibration_pictures(
            calibration_images, preprocessing_of(recipe), height, width, tidl.calibration_frames
        )

    check_16bit_names(recipe, source)
    thin = thin_calibration(len(pictures)) if calibration_images else None
    if thin:
        log.warning("%s: %s", recipe.name, thin)

    model_dir.mkdir(parents=True, exist_ok=True)
    staging = temp_dir(model_dir, ".tidl-")
    try:
        package = PackageFiles(recipe, manifest, source, staging, tidl_tools)
        files = package.write(pictures, findings)
        missing = package.missing()
        record = {
            "recipe": recipe.name,
            "recipe_digest": recipe.digest,
            "target": tidl.target,
            "model_checksum": manifest.output.checksum,
            "files": {name: file_checksum(staging / name) for name in sorted(files)},
            "calibration_images": len(pictures),
            "calibration_listing": folder_listing(calibration_images),
            **({"calibration_warning": thin} if thin else {}),
            # one meaning: TI's tools can import the package as it is; when not, each missing fact
            # with the command that fills it in
            "ready_to_import": not missing,
            "missing": missing,
            "tools_path": str(tidl_tools) if tidl_tools else None,
            "notes": package.notes(),
            "paths": "relative to this folder: run TI's tools from inside it",
            "preprocessing": preprocessing_record(recipe, width, height, layout),
            "check": [f.as_dict() for f in findings],
            "stage_key": stage_key,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        write_json(staging / PACKAGE, record)
        swap_in(staging, zoo.deploy(recipe.name, "tidl"))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return record


def _findings_error(path: Path, found: list[Finding]) -> str:
    listed = "; ".join(f"{f.op} at {f.node}: {f.reason}" for f in found)
    return f"{path}: {len(found)} operator(s) TIDL would not run on the accelerator: {listed}"


class PackageFiles:
    """The files of one TIDL package, written into ``out``."""

    def __init__(self, recipe: Recipe, manifest: Manifest, source: Path, out: Path, tools: Path | None):
        assert recipe.tidl is not None
        self.recipe, self.tidl, self.manifest, self.source, self.out = (
            recipe,
            recipe.tidl,
            manifest,
            source,
            out,
        )
        self.tools = tools
        self.model_name = source.name
        self.config = f"tidl_import_{recipe.name}.txt"
        self.meta: str | None = None
        self.calibration: str | None = None

    def write(self, pictures: list[tuple[Path, bytes]], findings: list[Finding]) -> list[str]:
        recipe, out = self.recipe, self.out
        files = [self.model_name]
        _link_or_copy(self.source, out / self.model_name)
        if recipe.detection is not None and recipe.detection.priors:
            self.meta = f"{recipe.name}_meta_arch.prototxt"
            (out / self.meta).write_text(caffe_ssd_prototxt(recipe, self.manifest, self.source, self.meta))
        elif recipe.detection is not None and recipe.detection.anchors:
            self.meta = f"{recipe.name}_pipeline.config"
            (out / self.meta).write_text(pipeline_config(recipe, self.manifest, self.source, self.meta))
        if self.meta:
            files.append(self.meta)
        if pictures:
            files += self._write_calibration(pictures)
        (out / ARTIFACTS).mkdir()  # TI's compile step needs the folder to exist and be empty
        (out / IMPORT_OUT).mkdir()  # the legacy import tool writes its net here and makes no folder
        frames = len(pictures)
        (out / self.config).write_text(
            import_config(
                recipe,
                self.manifest,
                self.model_name,
                self.meta,
                self.calibration,
                frames,
                self.tools,
                model_output_names(self.source),
            )
        )
        write_json(
            out / "runtime_options.json",
            runtime_options(recipe, self.manifest, self.meta, frames, self.tools),
        )
        write_json(
            out / "check.json", {"model": self.model_name, "findings": [f.as_dict() for f in findings]}
        )
        (out / "README.md").write_text(readme(self, findings, self.missing(), self.notes()))
        return [*files, self.config, "runtime_options.json", "check.json", "README.md"]

    def _write_calibration(self, pictures: list[tuple[Path, bytes]]) -> list[str]:
        (self.out / "calibration").mkdir()
        names: list[str] = []
        for path, png in pictures:
            name = f"{path.stem}.png"
            if f"calibration/{name}" in names:
                name = f"{path.stem}-{len(names)}.png"
            (self.out / "calibration" / name).write_bytes(png)
            names.append(f"calibration/{name}")
        self.calibration = "calibration_list.txt"
        (self.out / self.calibration).write_text("".join(f"{n} 0\n" for n in names))
        return [*names, self.calibration]

    def missing(self) -> list[str]:
        """Each fact TI's tools need that the package lacks, with the command that fills it in."""
        name = self.recipe.name
        missing = []
        if self.tools is None:
            missing.append(
                "tidl_tools_path: TI's compile step requires TI's tidl_tools folder (runtime_options.json "
                f"tidl_tools_path; the import config's {', '.join(LEGACY_TOOLS)}); run "
                f"`zoo tidl {name} --tidl-tools DIR` or set {TOOLS_ENV} (the model is not converted again)"
            )
        if self.tools is not None:
            absent = [f for f in tool_files(self.manifest) if not (self.tools / f).is_file()]
            if absent:
                missing.append(
                    f"tidl_tools_path: {self.tools} lacks TI's tool files {', '.join(absent)}; give the "
                    f"tidl_tools folder of TI's edgeai-tidl-tools (`zoo tidl {name} --tidl-tools DIR`)"
                )
        if self.calibration is None:
            missing.append(f"calibration list: run `zoo tidl {name} --calibration-images DIR`")
        return missing

    def notes(self) -> list[str]:
        return legacy_notes(self.tidl)


def _link_or_copy(source: Path, dest: Path) -> None:
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)
