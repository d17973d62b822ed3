"""`zoo new NAME --from FILE_OR_URL`: a first recipe for a model file, with its facts filled in.

The file (a local file or SavedModel folder, or a URL downloaded with zookit's downloader into the
download cache, never straight to the destination) is inspected (``zookit.modelinfo``); the recipe gets
its source (file name, size, sha256), model format, inputs and outputs with shapes and dtypes, a float32
target, and placeholders (description, license, value ranges, preprocessing) marked for editing. The
recipe is validated before it is written, through a temporary file in the destination folder.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from zookit.errors import FetchError, RecipeError, UsageError, ZooError
from zookit.hashes import PREFERRED, file_checksum
from zookit.modelinfo import ModelInfo, TensorInfo, detect_format, inspect_model

PLACEHOLDER_HOST = "https://example.invalid/"  # a local file's URL until the user gives the real one
ARCHIVE_SUFFIXES = (".tar", ".tgz", ".tar.gz", ".zip", ".tar.bz2", ".tar.xz")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_./:-]+")  # a tensor name shown unquoted in a comment
IMAGE_RANGE = (0.0, 255.0)  # preprocessing mean 0, scale 1: raw pixel values


@dataclass
class NewRecipe:
    """What `zoo new` wrote: the recipe file, the model's description, and what is left to edit."""

    path: Path
    info: ModelInfo
    recipe: Any  # zookit.recipe.Recipe, parsed back from the file written
    todo: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"recipe": str(self.path), "model": self.info.as_dict(), "todo": self.todo}


def new_recipe(
    name: str,
    source: str | Path,
    folder: Path,
    *,
    force: bool = False,
    url: str | None = None,
    tidl: bool = False,
    c_array: bool = False,
    cache_dir: Path | None = None,
) -> NewRecipe:
    """Write ``folder/NAME.yaml`` for the model at ``source`` (a path, or an http(s) URL). ``url``: where a
    local file is published (default: a placeholder to replace). Refuses to overwrite without ``force``."""
    _check_name(name)
    dest = folder / f"{name}.yaml"
    if "\0" in str(folder):
        raise UsageError("a path cannot hold a NUL character")
    if dest.is_dir():
        raise UsageError(f"{dest} is a folder")
    if dest.exists() and not force:
        raise UsageError(f"{dest} exists; pass --force to replace it")
    text = str(source)
    if text.startswith(("http://", "https://")):
        if url is not None:
            raise UsageError("--url is for a local file: a model given by URL is fetched from that URL")
        with tempfile.TemporaryDirectory(prefix="zoo-new-") as scratch:
            local = download(text, Path(scratch), cache_dir)
            return _write(name, local, dest, [text], tidl, c_array)
    if "://" in text:
        raise UsageError(f"{text}: zoo new downloads http:// and https:// URLs only")
    if url is not None:
        _check_url(url)
    return _write(name, Path(text), dest, [url] if url else None, tidl, c_array)


def _check_name(name: str) -> None:
    from zookit.recipe.names import check_model_name
    from zookit.recipe.names import check_name as check

    try:
        check_model_name(check(name))
    except ValueError as exc:
        raise UsageError(f"NAME: {exc}") from None


def _check_url(url: str) -> None:
    from zookit.recipe.names import check_url as check

    try:
        if any(c.isspace() or not c.isprintable() for c in url):
            raise ValueError(f"{url!r} holds a space or a control character; percent-encode it (%20)")
        check(url)
    except ValueError as exc:
        raise UsageError(f"--url: {exc}") from None


def download(url: str, scratch: Path, cache_dir: Path | None) -> Path:
    """The file at ``url``, through the download cache (verified into its content-addressed entry), copied
    into ``scratch`` under the URL's file name for inspection."""
    from zookit.fetch.cache import Cache, key_for
    from zookit.fetch.downloaders import HttpDownloader, HttpOptions, SourceFailed

    file = unquote(Path(urlsplit(url).path).name)
    if not file or file.startswith(".") or "\0" in file:
        raise UsageError(f"{url}: the URL names no file (it must end in the model's file name)")
    if file.lower().endswith(ARCHIVE_SUFFIXES):
        raise UsageError(
            f"{url}: an archive; zoo new takes the model file itself. Unpack it and run zoo new on the "
            "model file, then describe the archive in sources (docs/recipes.md)"
        )
    cache = Cache(cache_dir)
    key = key_for(None, url)
    with cache.lock(key):
        known = cache.recall(key)
        entry = cache.lookup(known, None) if known else None
        if entry is None:
            part = cache.partial(key)
            part.unlink(missing_ok=True)  # a partial from an earlier attempt may come from other bytes
            downloader = HttpDownloader(HttpOptions())
            try:
                digest = downloader.download(url, part, algo=PREFERRED, size=None)
            except SourceFailed as exc:
                part.unlink(missing_ok=True)
                raise FetchError(f"{url}: {exc}") from None
            finally:
                downloader.close()
            entry = cache.store(part, f"{PREFERRED}:{digest}")
            cache.remember(key, f"{PREFERRED}:{digest}")
    local = scratch / file
    shutil.copyfile(entry, local)
    return local


# --- the recipe ------------------------------------------------------------------------------------


def _write(name: str, path: Path, dest: Path, urls: list[str] | None, tidl: bool, c_array: bool) -> NewRecipe:
    model_format, model_path = detect_format(path)
    info = inspect_model(path)
    todo: list[str] = []
    sources = _sources(model_format, model_path, urls, todo)
    document = _document(name, info, model_format, model_path, sources, tidl, c_array, todo)
    text = _render(document, info)
    from zookit.fsutil import atomic_path

    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding="utf-8")
        recipe = _as_meant(tmp, document, dest)  # before the rename: a wrong recipe never takes the name
    return NewRecipe(dest, info, recipe, todo)


def _as_meant(written: Path, document: dict[str, Any], dest: Path) -> Any:
    """The recipe read back from ``written``: exactly ``document`` (a name from the model file cannot have
    added or replaced a line), and valid."""
    from zookit.recipe import parse_recipe

    read = yaml.safe_load(written.read_text(encoding="utf-8"))
    meant = yaml.safe_load(yaml.safe_dump(document))  # the document as YAML holds it (a tuple is a list)
    if read != meant:
        changed = sorted(k for k in set(read or {}) | set(meant) if (read or {}).get(k) != meant.get(k))
        raise ZooError(
            f"zoo new wrote {dest.name} but it does not read back as meant ({', '.join(changed)} differ): "
            "a name in the model file holds characters a recipe cannot keep; nothing was written"
        )
    try:
        return parse_recipe(read, str(dest))
    except RecipeError as exc:  # a bug of this module, or a model no recipe can describe
        raise ZooError(f"zoo new made a recipe that does not validate: {exc}") from None


def _sources(
    model_format: str, model_path: Path, urls: list[str] | None, todo: list[str]
) -> list[dict[str, Any]]:
    if model_format == "tf-saved-model":
        files = sorted(p for p in model_path.rglob("*") if p.is_file() and not p.is_symlink())
        names = [p.name for p in files]
        if len(set(names)) != len(names):
            raise UsageError(
                f"{model_path}: two files of the SavedModel share a name; write its sources by hand"
            )
        if urls is not None:
            raise UsageError("--url: a SavedModel folder has several files; give their URLs in the recipe")
        todo.append("sources[*].urls: the public URL of each file of the SavedModel")
        return [_source(p, None, f"{model_path.name}/{p.relative_to(model_path).as_posix()}") for p in files]
    if urls is None:
        todo.append(f"sources[0].urls: the public URL of {model_path.name}")
    return [_source(model_path, urls, None)]


def _source(path: Path, urls: list[str] | None, save_as: str | None) -> dict[str, Any]:
    from zookit.recipe.names import check_file_name

    try:
        check_file_name(path.name)
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}; rename the file") from None
    source: dict[str, Any] = {
        "file": path.name,
        "urls": urls or [PLACEHOLDER_HOST + path.name],
        "size": path.stat().st_size,
        "checksum": file_checksum(path, PREFERRED),
    }
    if save_as is not None:
        source["save_as"] = save_as
    return source


QUANTIZED_STEPS = 16  # a quantized source's target may differ by this many of its output's quantization steps


def picture_layout(t: TensorInfo) -> str | None:
    """The layout of a picture input (4-D, 3 colour channels last or first, float or uint8 pixels), else
    None. Channels last wins a tie ([1, 3, 3, 3])."""
    if t.shape is None or len(t.shape) != 4 or not (t.dtype.startswith("float") or t.dtype == "uint8"):
        return None
    if t.shape[-1] == 3:
        return "NHWC"
    return "NCHW" if t.shape[1] == 3 else None


def _image_like(t: TensorInfo) -> bool:
    return picture_layout(t) is not None


def _spec(t: TensorInfo, images: bool, todo: list[str], where: str) -> dict[str, Any]:
    shape = list(t.shape) if t.shape is not None else [-1]
    if shape and shape[0] == -1:
        shape[0] = 1  # one sample at a time: what an embedded target runs
    if any(d == -1 for d in shape) and where.startswith("inputs"):
        todo.append(f"{where}.shape: {shape} has open dimensions; give the size the target runs at")
    dtype = (
        t.dtype
        if t.dtype in ("float32", "float16", "int8", "uint8", "int16", "int32", "int64", "bool")
        else "float32"
    )
    spec: dict[str, Any] = {"name": t.name, "shape": shape, "dtype": dtype}
    if images and where.startswith("inputs") and _image_like(t):
        spec["layout"] = picture_layout(t)  # value_range follows from preprocessing (recipe/pictures.py)
    elif where.startswith("inputs") and dtype.startswith("float"):
        spec["value_range"] = [-1.0, 1.0]
        todo.append(
            f"{where}.value_range: the range of valid inputs (random verification data is drawn from it)"
        )
    if where.startswith("outputs") and len(shape) == 2:
        spec["layout"] = "NC"
    return spec


def _document(
    name: str,
    info: ModelInfo,
    model_format: str,
    model_path: Path,
    sources: list[dict[str, Any]],
    tidl: bool,
    c_array: bool,
    todo: list[str],
) -> dict[str, Any]:
    if not info.inputs or not info.outputs:
        raise ZooError(f"{info.path}: the model declares no inputs or no outputs; zoo new cannot describe it")
    images = all(_image_like(t) for t in info.inputs)
    classifier = (
        len(info.outputs) == 1 and info.outputs[0].shape is not None and len(info.outputs[0].shape) == 2
    )
    todo += ["description", "license"]
    doc: dict[str, Any] = {
        "name": name,
        "description": f"{name}: {model_path.name} ({model_format})",
        "task": "classification" if classifier else "anomaly-detection",
        "license": "UNKNOWN",
    }
    if classifier and (info.outputs[0].shape or [0, 0])[1] > 1:
        doc["num_classes"] = (info.outputs[0].shape or [0, 0])[1]
    doc["sources"] = sources
    doc["model"] = {"format": model_format, "path": model_path.name}
    if model_format == "tf-saved-model" and info.signature and info.signature != "serving_default":
        doc["model"]["signature"] = info.signature
    doc["inputs"] = [_spec(t, images, todo, f"inputs[{i}]") for i, t in enumerate(info.inputs)]
    doc["outputs"] = [_spec(t, images, todo, f"outputs[{i}]") for i, t in enumerate(info.outputs)]
    if images:
        layout = picture_layout(info.inputs[0])
        shape = info.inputs[0].shape or [-1, -1, -1, -1]
        height, width = shape[2:4] if layout == "NCHW" else shape[1:3]
        doc["preprocessing"] = {"mean": [0.0], "scale": [1.0]}
        if layout == "NCHW":
            doc["preprocessing"]["layout"] = "NCHW"
        if height > 0 and width > 0:
            doc["preprocessing"]["size"] = [height, width]
        if any(t.dtype != "uint8" for t in info.inputs):  # uint8 pixels go in as they are
            todo.append("preprocessing: mean and scale as the model was trained ((pixel - mean) * scale)")
    target = _target(model_format, c_array, info, todo)
    doc["targets"] = [target]
    if tidl:
        if not images:
            raise UsageError(
                "--tidl: TIDL's import needs picture inputs (4-D, 3 colour channels first or last, float "
                f"or uint8 pixels); this model takes {_shapes(info.inputs)}"
            )
        doc["tidl"] = {"target": target["name"], "post_proc_type": "classification" if classifier else "none"}
    return doc


def _shapes(tensors: list[TensorInfo]) -> str:
    return ", ".join(f"{t.dtype} {t.shape}" for t in tensors)


def _target(model_format: str, c_array: bool, info: ModelInfo, todo: list[str]) -> dict[str, Any]:
    if model_format in ("onnx", "tflite"):
        if c_array:
            raise UsageError(
                "--c-array: C arrays are written for TFLite targets, made from TensorFlow or Keras sources"
            )
        target: dict[str, Any] = {"name": "onnx", "format": "onnx"}
        scales = [float(t.quantization["scale"]) for t in info.outputs if t.quantization]
        if scales:  # a quantized source: another runtime rounds each requantization its own way
            target["tolerance"] = {"max_abs": float(f"{QUANTIZED_STEPS * max(scales):.4g}")}
        return target
    target = {"name": "tflite-float32", "format": "tflite"}
    if c_array:
        target["c_array"] = True
    return target


COMMENTS = {
    "name": "Written by `zoo new`: every fact below was read from the model file; lines marked EDIT are "
    "placeholders.\nThe recipe format: docs/recipes.md; check it with `zoo validate`.",
    "description": "EDIT: describe the model",
    "license": "EDIT: the model's license",
    "sources": "size and sha256 measured on the file",
    "inputs": "read from the model file; a leading open batch dimension is set to 1",
    "preprocessing": "EDIT: (pixel - mean) * scale, as the model was trained",
    "targets": "float32, verified against the source on every run",
    "quantized": f"verified against the source on every run; the source is quantized: the tolerance is "
    f"{QUANTIZED_STEPS} steps of its output's quantization scale (docs/recipes.md)",
}


def _render(document: dict[str, Any], info: ModelInfo) -> str:
    lines: list[str] = []
    for key, value in document.items():
        comment = COMMENTS.get(key)
        if key == "targets" and any("tolerance" in t for t in value):
            comment = COMMENTS["quantized"]
        if key == "preprocessing" and all(t["dtype"] == "uint8" for t in document["inputs"]):
            comment = "the model takes uint8 pixels as they are (mean 0, scale 1), resized to size"
        if key == "inputs" and any(
            not _image_like(TensorInfo(t["name"], t["shape"], t["dtype"])) for t in value
        ):
            comment = (
                "EDIT: value_range, the range of valid inputs (random verification data comes from it); "
                + (comment or "")
            )
        if key == "sources" and any(PLACEHOLDER_HOST in u for s in value for u in s["urls"]):
            comment = "EDIT: urls (a placeholder until you give the public URL); " + (comment or "")
        if comment:
            lines += [f"# {_plain(line)}" for line in comment.splitlines()]
        flow = None if isinstance(value, (list, dict)) else False  # lists of numbers inline, keys in blocks
        chunk = yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=flow, width=110)
        lines += chunk.rstrip("\n").splitlines()
    if info.trim_points:
        lines.append("# likely trim points (zoo inspect): set trim.outputs to cut the model at one of them")
        lines += [f"#   {_quoted(p.tensor)} {p.shape}: {_plain(p.reason)}" for p in info.trim_points]
    return "\n".join(lines) + "\n"


def _plain(text: str) -> str:
    """``text`` for a comment line: every line break and control character escaped (a name from a model
    file is data; a line break in it would start a line of the recipe)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _quoted(name: str) -> str:
    """A tensor name in a comment: as it is when it is a plain path of a graph, else quoted as JSON writes
    it (YAML reads it alike), nothing left unescaped."""
    return name if _PLAIN_NAME.fullmatch(name) else _plain(json.dumps(name, ensure_ascii=False))
