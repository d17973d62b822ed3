"""Where a recipe's files come from: the sources to download (URLs, checksums, archive members) and the
model file the later stages start from."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from zookit.recipe.names import Checksum, FileName, FrozenModel, PositiveInt, RelPath, SaveAs, Url


class Member(FrozenModel):
    """A file inside an archive: the recipe may pin it with its own checksum."""

    path: RelPath = Field(description="Path inside the archive ('./' prefixes are ignored).")
    size: PositiveInt | None = None
    checksum: Checksum | None = None


class Source(FrozenModel):
    """One file to download: several URLs tried in order (original first, mirrors after)."""

    file: FileName = Field(description="Name the file is saved under (and looked up by in mirrors).")
    urls: list[Url] = Field(min_length=1)
    size: PositiveInt | None = Field(description="Size in bytes, or null when no size is published.")
    checksum: Checksum | None = Field(
        description="'algo:hex' (sha256 preferred; sha384, md5, git-blob accepted), or null when none is "
        "published: the first fetch then records the observed checksum in the zoo's lock file."
    )
    note: str | None = Field(None, description="Where the checksum comes from, or why there is none.")
    unpack: bool | None = Field(None, description="Unpack this archive (default: by file extension).")
    save_as: SaveAs | None = Field(
        None,
        description="Where a plain file goes inside the model's source folder (default: its file name), "
        "e.g. 'kws/variables/variables.index' for a file of a SavedModel folder.",
    )
    members: list[Member] = Field(
        default_factory=list, description="Members to extract (default: all) and their checksums."
    )

    @property
    def is_archive(self) -> bool:
        if self.unpack is not None:
            return self.unpack
        return self.file.endswith((".tar", ".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz"))

    @model_validator(mode="after")
    def _members_need_archive(self) -> Source:
        if self.checksum and self.checksum.startswith("git-blob:") and self.size is None:
            raise ValueError("size: a git-blob checksum needs the file size")
        if self.members and not self.is_archive:
            raise ValueError(f"members: {self.file!r} is not unpacked, so it has no members")
        if self.save_as and self.is_archive:
            raise ValueError(f"save_as: {self.file!r} is an archive; its members keep their own paths")
        return self

    @property
    def dest(self) -> str:
        """The file's path inside the model's source folder."""
        return self.save_as or self.file


SourceFormat = Literal["tf-frozen-graph", "tf-saved-model", "keras", "onnx", "tflite"]


class ModelFile(FrozenModel):
    """The model file the later stages start from, inside the model's source folder."""

    format: SourceFormat = Field(
        description="tf-frozen-graph (.pb), tf-saved-model (the folder holding saved_model.pb), keras "
        "(.h5 or .keras), onnx, tflite."
    )
    path: RelPath
    signature: str = Field(
        "serving_default", min_length=1, description="tf-saved-model: the signature to convert, by name."
    )

    @model_validator(mode="after")
    def _check(self) -> ModelFile:
        if self.format == "keras" and not self.path.endswith((".h5", ".keras", ".hdf5")):
            raise ValueError(f"path: a keras model is a .h5 or .keras file, got {self.path!r}")
        if self.signature != "serving_default" and self.format != "tf-saved-model":
            raise ValueError("signature: only for tf-saved-model sources")
        return self
