"""Hostile archives built here are refused, and nothing is written outside the folder."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from zookit.errors import ArchiveError
from zookit.fetch.archives import unpack


def tar_with(path: Path, *infos: tuple[tarfile.TarInfo, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for info, data in infos:
            info.size = len(data) if info.isfile() else 0
            tf.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def outside_untouched(tmp_path: Path) -> None:
    assert not (tmp_path / "evil").exists() and not (tmp_path / "escaped").exists()
    assert not list((tmp_path / "dest").glob(".unpack-*")) if (tmp_path / "dest").exists() else True


@pytest.mark.parametrize(
    ("infos", "fragment"),
    [
        ([(entry("../evil"), b"x")], "outside the destination"),
        ([(entry("a/../../evil"), b"x")], "outside the destination"),
        ([(entry("/tmp/evil-abs"), b"x")], "outside the destination"),
        ([(entry("link", tarfile.SYMTYPE, "../../escaped"), b"")], "is a link to '../../escaped'"),
        ([(entry("link", tarfile.SYMTYPE, "/etc/passwd"), b"")], "is a link to '/etc/passwd'"),
        ([(entry("hard", tarfile.LNKTYPE, "../escaped"), b"")], "is a link to"),
        ([(entry("dev", tarfile.CHRTYPE), b"")], "device, fifo or other special file"),
        ([(entry("fifo", tarfile.FIFOTYPE), b"")], "device, fifo or other special file"),
    ],
    ids=[
        "dotdot",
        "nested-dotdot",
        "absolute",
        "symlink-escape",
        "symlink-absolute",
        "hardlink-escape",
        "device",
        "fifo",
    ],
)
def test_hostile_tar_is_refused(
    tmp_path: Path, infos: list[tuple[tarfile.TarInfo, bytes]], fragment: str
) -> None:
    archive = tar_with(tmp_path / "bad.tgz", (entry("ok.txt"), b"fine"), *infos)
    with pytest.raises(ArchiveError, match=r"bad\.tgz") as info:
        unpack(archive, tmp_path / "dest", [])
    assert fragment in str(info.value)
    outside_untouched(tmp_path)
    assert not (tmp_path / "dest" / "ok.txt").exists()  # refused before anything was written


def test_oversized_archive_is_refused(tmp_path: Path) -> None:
    archive = tar_with(tmp_path / "big.tgz", (entry("a"), b"0" * 5000), (entry("b"), b"0" * 5000))
    with pytest.raises(ArchiveError, match="expands past the limit of 8000 bytes"):
        unpack(archive, tmp_path / "dest", [], max_unpacked=8000)
    assert not (tmp_path / "dest" / "a").exists()


def test_zip_bomb_beyond_declared_sizes_is_stopped(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros", b"\0" * 200_000)
    with pytest.raises(ArchiveError, match="expands past the limit"):
        unpack(archive, tmp_path / "dest", [], max_unpacked=100_000)


def test_hostile_zip_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", b"fine")
        zf.writestr("../evil", b"x")
    with pytest.raises(ArchiveError, match=r"'../evil' would be written outside"):
        unpack(archive, tmp_path / "dest", [])
    outside_untouched(tmp_path)


def test_zip_symlink_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ArchiveError, match="is a link to '/etc/passwd'"):
        unpack(archive, tmp_path / "dest", [])
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "target.txt")
    with pytest.raises(ArchiveError, match="is a symbolic link"):
        unpack(inner, tmp_path / "dest", [])


def test_truncated_archive_is_a_clear_error(tmp_path: Path) -> None:
    good = tar_with(tmp_path / "good.tgz", (entry("a"), bytes(range(256)) * 4000))
    cut = tmp_path / "cut.tgz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ArchiveError, match=r"cut\.tgz"):
        unpack(cut, tmp_path / "dest", [])
    assert not (tmp_path / "dest" / "a").exists()


def test_inner_links_and_plain_zip_unpack(tmp_path: Path) -> None:
    archive = tar_with(
        tmp_path / "ok.tgz", (entry("d/a.txt"), b"A"), (entry("d/link", tarfile.SYMTYPE, "a.txt"), b"")
    )
    written = unpack(archive, tmp_path / "dest", [])
    assert (tmp_path / "dest" / "d" / "a.txt").read_bytes() == b"A"
    assert {p.name for p in written} == {"a.txt", "link"}
    zpath = tmp_path / "ok.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("./m/model.onnx", b"onnx")
    unpack(zpath, tmp_path / "z", ["m/model.onnx"])
    assert (tmp_path / "z" / "m" / "model.onnx").read_bytes() == b"onnx"
