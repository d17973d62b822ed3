"""The convert stage's work for one recipe target: convert (``convert.target``), then verify
(``verify.model``), into ``zoo/<model>/<target>/`` with a manifest of provenance.

The converted file is written to a temporary file in the target folder, verified against the source
model, and only then renamed to its final name; ``manifest.json`` is written last. A failed
conversion or verification leaves no artefact under a final name.
"""

from __future__ import annotations

import io
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from zookit.convert import mcu, ssd
from zookit.convert.formats import FORMATS, converter
from zookit.convert.target import convert_model
from zookit.errors import ConversionError, VerificationError
from zookit.fsutil import atomic_path, first_link, folder_listing, read_json, write_bytes
from zookit.hashes import file_checksum
from zookit.layout import Layout
from zookit.libs import tool_versions
from zookit.ports import Port
from zookit.recipe import Recipe, Target
from zookit.records import FileRecord, Manifest
from zookit.reference import Prepared
from zookit.verify.model import reference_outputs, verify_model


def convert_target(
    prepared: Prepared,
    target: Target,
    zoo_dir: Path,
    images: Path | None = None,
    stage_key: str | None = None,
) -> Manifest:
    """Convert, verify, and write the artefact and its manifest; return the manifest."""
    recipe = prepared.recipe
    layout = Layout(zoo_dir)
    out_dir = layout.target(recipe.name, target.name)
    link = first_link(layout.model(recipe.name), out_dir)
    if link:
        raise ConversionError(
            f"{link} is a symbolic link; zookit does not write through links in the zoo (remove it)"
        )
    out_file = layout.target_file(recipe.name, target.name, FORMATS[target.format].suffix)
    converter(prepared, target)  # no converter for this pair: say so before any work
    started = time.monotonic()
    reference_outputs(prepared, target, images)  # started now, in the background, collected by verify_model
    made = convert_model(prepared, target, images, out_dir)
    extras = dict(made.extras)
    convert_s = time.monotonic() - started
    with atomic_path(out_file) as tmp:
        tmp.write_bytes(made.model)
        started = time.monotonic()
        report = verify_model(prepared, target, made.model, images)
        verify_s = time.monotonic() - started
        if not report.passed:
            raise VerificationError(
                f"{recipe.name}/{target.name}: the converted model does not match the source: "
                + "; ".join(report.failures)
            )
    if recipe.detection and recipe.detection.anchors and not target.postprocess:
        extras["anchors"] = _write_anchors(recipe, out_dir)
    if target.c_array:
        extras["c_array"] = mcu.c_array(made.model, out_dir, f"{recipe.name}_{target.name}")
    manifest = Manifest(
        recipe=recipe.name,
        recipe_digest=recipe.digest,
        conversion_digest=recipe.conversion_digest,
        images=folder_listing(images),
        target=target.model_dump(mode="json"),
        sources=_source_checksums(recipe, layout),
        options=made.options,
        versions=tool_versions(),
        output=FileRecord.of(out_file, file_checksum(out_file)),
        stage_key=stage_key,
        inputs=[_port_record(p) for p in prepared.inputs],
        outputs=[_port_record(p) for p in made.outputs],
        extras=extras,
        verification=report.as_dict(),
        timing={"convert_s": round(convert_s, 3), "verify_s": round(verify_s, 3)},
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    manifest.save(out_dir)
    return manifest


def _port_record(port: Port) -> dict[str, Any]:
    return {"name": port.name, "shape": list(port.shape), "dtype": port.dtype}


def _write_anchors(recipe: Recipe, out_dir: Path) -> dict[str, Any]:
    anchors = ssd.recipe_anchors(recipe)
    buffer = io.BytesIO()
    np.save(buffer, anchors)
    write_bytes(out_dir / "anchors.npy", buffer.getvalue())
    return {
        "file": "anchors.npy",
        "shape": list(anchors.shape),
        "layout": "ycenter, xcenter, h, w (normalised)",
    }


def _source_checksums(recipe: Recipe, layout: Layout) -> dict[str, Any]:
    folder = layout.source(recipe.name)
    out: dict[str, Any] = {}
    for s in recipe.sources:
        stamp = read_json(layout.stamp(recipe.name, s.file))
        out[s.file] = stamp.get("checksum") if isinstance(stamp, dict) else None
    model = folder / recipe.model.path
    if model.is_dir():  # a SavedModel folder: its files are among the sources above
        model = model / "saved_model.pb"
    out[recipe.model.path] = file_checksum(model)
    return out
