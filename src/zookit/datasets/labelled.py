"""Labelled sets: where a recipe's set is (``--data DIR`` / ``$ZOO_DATA``), its labels file, the
deterministic calibration/evaluation split, and each format's reader.

Formats (one file = one sample unless noted; every reader checks a file's size against the model's input
and fails with one line naming the file):

- ``ic01``, ``vww01``: uint8 HWC pictures (``.bin``), normalised as the recipe's preprocessing says;
- ``kws01``: int8 MFCC maps, dequantized with the section's scale and zero point;
- ``ad01``: float32 spectrograms read as sliding windows (width and stride in bytes from the labels file,
  else one input wide with a stride of a fifth of it); a clip is judged by the mean of its windows;
- ``pictures``: image files (png/jpg...) named by a CSV ``file,class`` (an optional header line).
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zookit.errors import UsageError
from zookit.ports import Port
from zookit.recipe import Recipe
from zookit.recipe.evaluation import Evaluation

ENV = "ZOO_DATA"
DEPTH = 3  # how many folder levels below each data folder a set's folder is looked for


class DataError(UsageError):
    """A labelled set that is missing, or holds what its format does not allow."""


@dataclass(frozen=True)
class Item:
    file: str
    label: int
    window: tuple[int, int] | None = None  # ad01: window width and stride in bytes


@dataclass(frozen=True)
class LabelledSet:
    evaluation: Evaluation
    folder: Path
    items: tuple[Item, ...]

    @property
    def name(self) -> str:
        return self.evaluation.set

    def split(self) -> tuple[list[Item], list[Item]]:
        """(calibration, evaluation): the first ``calibration_per_class`` files of each class by name
        calibrate, the rest are judged; the two never share a file."""
        n = self.evaluation.calibration_per_class
        calibration: list[Item] = []
        taken: dict[int, int] = {}
        for item in sorted(self.items, key=lambda i: i.file):
            if taken.get(item.label, 0) < n:
                taken[item.label] = taken.get(item.label, 0) + 1
                calibration.append(item)
        chosen = {i.file for i in calibration}
        held_out = [i for i in sorted(self.items, key=lambda i: i.file) if i.file not in chosen]
        if not held_out:
            raise DataError(
                f"evaluation set {self.name} ({self.folder}): calibration_per_class "
                f"{n} leaves no file to evaluate on"
            )
        if self.evaluation.metric == "auc" and len({i.label for i in held_out}) != 2:
            raise DataError(
                f"evaluation set {self.name} ({self.folder / self.evaluation.labels}): AUC needs normal and "
                f"anomalous clips among the held-out files, and calibration_per_class {n} leaves only class "
                f"{sorted({i.label for i in held_out})}; add clips or lower calibration_per_class"
            )
        return calibration, held_out

    def split_record(self) -> dict[str, object]:
        calibration, held_out = self.split()
        return {
            "rule": f"the first {self.evaluation.calibration_per_class} files of each class (by name) "
            "calibrate; the rest are evaluated",
            "calibration": len(calibration),
            "evaluation": len(held_out),
            "calibration_files": [i.file for i in calibration],
        }

    def digest(self, items: Sequence[Item] | None = None) -> str:
        """The checksum of the labels file and of the contents of ``items`` (default: all)."""
        h = hashlib.sha256()
        h.update((self.folder / self.evaluation.labels).read_bytes())
        for item in sorted(items if items is not None else self.items, key=lambda i: i.file):
            h.update(item.file.encode() + b"\0")
            h.update(hashlib.sha256((self.folder / item.file).read_bytes()).digest())
        return "sha256:" + h.hexdigest()


def data_dirs(given: Sequence[Path] = ()) -> list[Path]:
    """The folders sets are looked for below: ``--data`` (in order), then ``$ZOO_DATA`` (os.pathsep list)."""
    env = [Path(p) for p in os.environ.get(ENV, "").split(os.pathsep) if p]
    return [*given, *env]


def find_set_folder(name: str, labels: str, dirs: Sequence[Path]) -> Path | None:
    """The first folder called ``name`` holding ``labels``: each data folder itself, then below it (a
    few levels deep, sorted, so the answer does not depend on the file system's order)."""
    for top in dirs:
        if top.name == name and (top / labels).is_file():
            return top
        level = [top]
        for _ in range(DEPTH):
            below: list[Path] = []
            for folder in level:
                try:
                    below += sorted(p for p in folder.iterdir() if p.is_dir())
                except OSError:
                    continue
            for folder in below:
                if folder.name == name and (folder / labels).is_file():
                    return folder
            level = below
    return None


def locate(evaluation: Evaluation, given: Sequence[Path] = ()) -> LabelledSet | None:
    """The recipe's set: None when no data folder is given at all; a DataError naming the set and the
    folders searched when none of them holds it."""
    dirs = data_dirs(given)
    if not dirs:
        return None
    folder = find_set_folder(evaluation.set, evaluation.labels, dirs)
    if folder is None:
        searched = ", ".join(str(d) for d in dirs)
        raise DataError(
            f"evaluation set {evaluation.set} (a folder holding {evaluation.labels}) not found below "
            f"{searched} ({DEPTH} levels deep); give the folder holding it with --data DIR or ${ENV}"
        )
    return LabelledSet(evaluation, folder, tuple(read_labels(folder, evaluation)))


def read_labels(folder: Path, evaluation: Evaluation) -> list[Item]:
    path = folder / evaluation.labels
    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"labels file {path}: cannot be read ({exc})") from None
    rows = [[c.strip() for c in r] for r in rows if r and any(c.strip() for c in r)]
    if rows and evaluation.format == "pictures" and not _is_int(rows[0][1] if len(rows[0]) > 1 else ""):
        rows = rows[1:]  # a header line
    if not rows:
        raise DataError(f"labels file {path}: names no files (an empty set cannot be evaluated)")
    items = [_item(row, n, path, evaluation) for n, row in enumerate(rows, 1)]
    seen: set[str] = set()
    for item in items:
        if item.file in seen:
            raise DataError(f"labels file {path}: names {item.file} twice")
        seen.add(item.file)
        if not (folder / item.file).is_file():
            raise DataError(f"labels file {path}: names {item.file}, which is not in {folder}")
    return items


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _item(row: list[str], line: int, path: Path, evaluation: Evaluation) -> Item:
    where = f"labels file {path}, line {line}"
    picture_csv = evaluation.format == "pictures"
    need = 2 if picture_csv else 3
    if len(row) < need or not all(_is_int(c) for c in row[1:]):
        shape = "file,class" if picture_csv else "file,classes,class[,window,stride]"
        raise DataError(f"{where}: expected {shape} with whole numbers, got {','.join(row)!r}")
    file = row[0]
    if Path(file).name != file or file.startswith("."):
        raise DataError(f"{where}: {file!r} is not a plain file name in the set's folder")
    label = int(row[1] if picture_csv else row[2])
    classes = None if picture_csv else int(row[1])
    if label < 0 or (classes is not None and label >= classes):
        raise DataError(f"{where}: class {label} is outside 0..{(classes or 1) - 1}")
    window = (int(row[3]), int(row[4])) if len(row) >= 5 and evaluation.format == "ad01" else None
    if window is not None and (window[0] <= 0 or window[1] <= 0):
        raise DataError(f"{where}: window width and stride must be positive, got {window}")
    return Item(file, label, window)


# --- readers: one file -> its model inputs [n, *input shape without batch] ---------------------------


def read_item(labelled: LabelledSet, item: Item, recipe: Recipe, port: Port) -> np.ndarray:
    """The model inputs one file holds: [1, ...] for a picture or MFCC map, [windows, ...] for a clip."""
    path = labelled.folder / item.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    shape = [1 if d == -1 else d for d in port.shape]
    size = int(np.prod(shape[1:]))
    fmt = labelled.evaluation.format
    if fmt in ("ic01", "vww01"):
        return _pictures_bin(data, path, recipe, port, size)
    if fmt == "kws01":
        return _kws(data, path, labelled.evaluation, port, size)
    if fmt == "ad01":
        return _windows(data, path, item, port, size)
    return _picture_file(path, recipe, port)


def _exact(data: bytes, path: Path, expected: int, what: str) -> None:
    if len(data) != expected:
        raise DataError(
            f"{path}: {len(data)} bytes, but {what} needs {expected} (truncated or not this set?)"
        )


def _pictures_bin(data: bytes, path: Path, recipe: Recipe, port: Port, size: int) -> np.ndarray:
    from zookit.data import normalize

    assert recipe.preprocessing is not None
    p = recipe.preprocessing
    _exact(data, path, size, f"input {port.name} {list(port.shape)} as uint8")
    hwc = [*port.shape[2:4], port.shape[1]] if p.layout == "NCHW" else list(port.shape[1:])
    pixels = np.frombuffer(data, np.uint8).reshape([1, *hwc])
    if port.dtype == "uint8":
        return np.asarray(pixels.copy())
    return normalize(pixels, p, port.dtype)


def _kws(data: bytes, path: Path, ev: Evaluation, port: Port, size: int) -> np.ndarray:
    assert ev.quantization is not None
    _exact(data, path, size, f"input {port.name} {list(port.shape)} as int8")
    q = np.frombuffer(data, np.int8).astype(np.float32)
    values = (q - ev.quantization.zero_point) * ev.quantization.scale
    return values.reshape([1, *port.shape[1:]]).astype(port.dtype)


def _windows(data: bytes, path: Path, item: Item, port: Port, size: int) -> np.ndarray:
    width, stride = item.window or (size * 4, size * 4 // 5)
    if width != size * 4:
        raise DataError(f"{path}: a window of {width} bytes does not fit input {port.name} ({size} float32)")
    if len(data) % 4 or len(data) < width or stride % 4:
        raise DataError(
            f"{path}: {len(data)} bytes is not a float32 clip of at least one {width}-byte window "
            f"(stride {stride}); truncated or not this set?"
        )
    clip = np.frombuffer(data, "<f4")
    if not np.isfinite(clip).all():
        raise DataError(f"{path}: holds NaN or infinite values")
    n, step = size, stride // 4
    windows = np.stack([clip[s : s + n] for s in range(0, len(clip) - n + 1, step)])
    return windows.reshape([len(windows), *port.shape[1:]]).astype(port.dtype)


def _picture_file(path: Path, recipe: Recipe, port: Port) -> np.ndarray:
    from zookit.data import preprocess_image

    assert recipe.preprocessing is not None
    return preprocess_image(path, recipe.preprocessing, port)
