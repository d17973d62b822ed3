"""What each stage leaves in the zoo, as typed records: a converted target's ``Manifest`` and a deployed
``Package``. Both load from their JSON file (None when absent or not a record), say whether they are
current for a stage key, and write back the same JSON document (``manifest.json``, ``package.json``).

A record is written last, after the files it describes, so a record on disk means complete files;
is-current also checks the files are still the ones recorded (their checksums: zookit.intact).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from zookit.fsutil import folder_listing, read_json, write_json
from zookit.intact import mismatched


@dataclass(frozen=True)
class FileRecord:
    """One file a stage wrote: its name in the stage's folder, checksum, size and modification time."""

    file: str
    checksum: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path, checksum: str) -> FileRecord:
        st = path.stat()
        return cls(path.name, checksum, st.st_size, st.st_mtime_ns)

    def intact(self, folder: Path) -> bool:
        """The file is still the one recorded: its size, then its checksum (zookit.intact: hashed once
        after each write, remembered while the system says the file was not written since)."""
        try:
            st = (folder / self.file).stat()
        except OSError:
            return False
        return st.st_size == self.size and mismatched(folder, {self.file: self.checksum}) is None


def images_current(recorded: Any, folder: Path | None) -> bool:
    """Images a stage was made with are current when the run names none (a result made with the user's
    images or the shipped set is kept, not redone with the shipped set) or names the same files."""
    return folder is None or recorded == folder_listing(folder)


def largest_error(errors: dict[str, dict[str, float]], key: str = "max_abs") -> float | None:
    """The largest ``key`` figure over the outputs of an error table (None: no output has it)."""
    return max((o[key] for o in errors.values() if key in o), default=None)


def worst_error(verification: dict[str, Any]) -> float | None:
    """The largest absolute error over a verification's outputs (None: no outputs compared)."""
    return largest_error(verification.get("outputs", {}))


@dataclass
class Manifest:
    """``zoo/<model>/<target>/manifest.json``: a converted, verified target and its provenance."""

    recipe: str
    recipe_digest: str
    conversion_digest: str
    images: Any  # the listing of the image folder used (records.images_current), or None
    target: dict[str, Any]
    sources: dict[str, Any]
    options: dict[str, Any]
    versions: dict[str, str]
    output: FileRecord
    stage_key: str | None
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    verification: dict[str, Any]
    timing: dict[str, float]
    created: str
    # what some targets add: heads (ONNX SSD), anchors, postprocess (TFLite SSD), c_array (MCU)
    extras: dict[str, Any] = field(default_factory=dict)

    FILE = "manifest.json"

    @classmethod
    def load(cls, folder: Path) -> Manifest | None:
        data = read_json(folder / cls.FILE)
        if not isinstance(data, dict):
            return None
        try:
            known = {f.name for f in fields(cls)} - {"extras", "output"}
            return cls(
                **{k: data[k] for k in known},
                output=FileRecord(**data["output"]),
                extras={k: v for k, v in data.items() if k not in known and k != "output"},
            )
        except (KeyError, TypeError):  # an older or foreign manifest: not a record of this version
            return None

    def save(self, folder: Path) -> None:
        write_json(folder / self.FILE, self.to_json())

    def to_json(self) -> dict[str, Any]:
        data = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("extras", "verification")
        }
        data["output"] = asdict(self.output)
        timing, created = data.pop("timing"), data.pop("created")
        return {
            **data,
            **self.extras,
            "verification": self.verification,
            "timing": timing,
            "created": created,
        }

    def stale_because(self, key: str, images: Path | None, folder: Path) -> str | None:
        """Why this target must be converted again under ``key``, or None when it is current."""
        if self.stage_key != key:
            return "recipe, source files, options or tool versions changed"
        if not images_current(self.images, images):
            return "the images changed"
        if not self.output.intact(folder):
            return f"{self.output.file} changed or is missing"
        return None

    @property
    def worst_error(self) -> float | None:
        return worst_error(self.verification)

    @property
    def heads(self) -> dict[str, Any] | None:
        heads: dict[str, Any] | None = self.extras.get("heads")
        return heads


@dataclass
class Package:
    """``zoo/<model>/<deployer>/package.json``: a deployer's package, every file with its checksum."""

    data: dict[str, Any]

    FILE = "package.json"

    @classmethod
    def load(cls, folder: Path, file: str = FILE) -> Package | None:
        data = read_json(folder / file)
        return cls(data) if isinstance(data, dict) and isinstance(data.get("files"), dict) else None

    @property
    def files(self) -> dict[str, str]:
        files: dict[str, str] = self.data["files"]
        return files

    @property
    def ready_to_import(self) -> bool:
        """The device toolchain can import the package as it is (else ``missing`` says what it lacks)."""
        return bool(self.data.get("ready_to_import"))

    @property
    def complete(self) -> bool:
        """The name ``ready_to_import`` had before zookit wrote ``missing`` (kept for older callers)."""
        warnings.warn(
            "Package.complete is deprecated: use Package.ready_to_import (and Package.missing for what it lacks)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.ready_to_import

    @property
    def missing(self) -> list[str]:
        return list(self.data.get("missing") or [])

    @property
    def tools(self) -> Path | None:
        """The deployer's tool folder the package was written with, while it is still a folder."""
        path = self.data.get("tools_path")
        return Path(path) if isinstance(path, str) and Path(path).is_dir() else None

    def summary(self) -> dict[str, Any]:
        """The figures of the package that `zoo run` reports."""
        return {"files": len(self.files), "ready_to_import": self.ready_to_import, "missing": self.missing}

    def stale_because(self, key: str, calibration_images: Path | None, folder: Path) -> str | None:
        """Why this package must be made again under ``key``, or None when it is current."""
        if self.data.get("stage_key") != key:
            return "the converted model, deploy settings or tool versions changed"
        if not images_current(self.data.get("calibration_listing"), calibration_images):
            return "the calibration images changed"
        return mismatched(folder, self.files)
