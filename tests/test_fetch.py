"""zoo fetch against a real HTTP server on 127.0.0.1 that misbehaves on purpose.

Every case ends in a verified file or a clear error, never in a corrupted file or cache entry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import standins
from conftest import FileServer, minimal_recipe, sha256, write_recipe
from zookit.__main__ import main
from zookit.errors import ChecksumError
from zookit.fetch import Fetcher, FetchOptions, FileResult
from zookit.fetch.cache import Cache
from zookit.fetch.downloaders import HttpOptions
from zookit.fetch.lockfile import ChecksumLock
from zookit.hashes import file_checksum
from zookit.recipe import Recipe, parse_recipe

PAYLOAD = os.urandom(300_000)
FAST = HttpOptions(connect_timeout=2, read_timeout=0.5, retries=2, backoff=0.01, chunk_size=8192)


def recipe_for(
    urls: list[str],
    checksum: str | None = sha256(PAYLOAD),
    size: int | None = len(PAYLOAD),
    file: str = "toy.pb",
    name: str = "toy",
    **source: Any,
) -> Recipe:
    doc = minimal_recipe(name)
    doc["sources"] = [{"file": file, "urls": urls, "size": size, "checksum": checksum, **source}]
    return parse_recipe(doc, f"{name}.yaml")


def options(tmp_path: Path, **kw: Any) -> FetchOptions:
    base: dict[str, Any] = {
        "zoo_dir": tmp_path / "zoo",
        "cache": Cache(tmp_path / "cache"),
        "mirrors": [],
        "http": FAST,
    }
    base.update(kw)
    return FetchOptions(**base)


def fetch(recipe: Recipe, opts: FetchOptions) -> FileResult:
    fetcher = Fetcher(opts)
    try:
        (result,) = fetcher.fetch_all([recipe])
    finally:
        fetcher.close()
    return result


def assert_no_leftovers(tmp_path: Path) -> None:
    """No temporary or partial file carries a final name anywhere."""
    for path in tmp_path.rglob("*"):
        assert not path.name.endswith(".tmp"), path
        assert ".unpack-" not in str(path), path


def zoo_file(tmp_path: Path, name: str = "toy.pb", model: str = "toy") -> Path:
    return tmp_path / "zoo" / model / "source" / name


# --- the good paths -------------------------------------------------------------------------------


def test_download_verifies_and_places_the_file(server: FileServer, tmp_path: Path) -> None:
    url = server.add("toy.pb", PAYLOAD)
    result = fetch(recipe_for([url]), options(tmp_path))
    assert result.status == "downloaded", result.error
    assert zoo_file(tmp_path).read_bytes() == PAYLOAD
    assert result.checksum == sha256(PAYLOAD)
    assert_no_leftovers(tmp_path)


def test_second_fetch_is_present_and_other_zoo_uses_cache(server: FileServer, tmp_path: Path) -> None:
    url = server.add("toy.pb", PAYLOAD)
    recipe = recipe_for([url])
    assert fetch(recipe, options(tmp_path)).status == "downloaded"
    assert fetch(recipe, options(tmp_path)).status == "present"
    other = fetch(recipe, options(tmp_path, zoo_dir=tmp_path / "zoo2"))
    assert other.status == "cached"
    assert (tmp_path / "zoo2" / "toy" / "source" / "toy.pb").read_bytes() == PAYLOAD
    assert len(server.route("toy.pb").requests) == 1  # the network was touched once


def test_changed_zoo_file_is_replaced_from_cache(server: FileServer, tmp_path: Path) -> None:
    url = server.add("toy.pb", PAYLOAD)
    recipe = recipe_for([url])
    fetch(recipe, options(tmp_path))
    target = zoo_file(tmp_path)
    target.unlink()
    target.write_bytes(b"tampered")
    assert fetch(recipe, options(tmp_path)).status == "cached"
    assert target.read_bytes() == PAYLOAD


def test_corrupted_cache_entry_is_replaced_never_used(server: FileServer, tmp_path: Path) -> None:
    url = server.add("toy.pb", PAYLOAD)
    recipe = recipe_for([url])
    fetch(recipe, options(tmp_path))
    entry = Cache(tmp_path / "cache").entry(sha256(PAYLOAD))
    entry.chmod(0o644)
    entry.write_bytes(b"x" * len(PAYLOAD))
    result = fetch(recipe, options(tmp_path, zoo_dir=tmp_path / "zoo2"))
    assert result.status == "downloaded"
    assert entry.read_bytes() == PAYLOAD
    assert (tmp_path / "zoo2" / "toy" / "source" / "toy.pb").read_bytes() == PAYLOAD


def test_mirror_folder_is_tried_first(server: FileServer, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "toy.pb").write_bytes(PAYLOAD)
    url = server.add("toy.pb", PAYLOAD)
    result = fetch(recipe_for([url]), options(tmp_path, mirrors=[str(mirror)]))
    assert result.status == "copied" and result.origin.startswith("mirror")  # not "downloaded"
    assert server.route("toy.pb").requests == []


def test_a_mirror_folder_is_searched_below_its_top(server: FileServer, tmp_path: Path) -> None:
    """A copy of ../shared/models keeps upstream's folders: the file is found where it lies (#24 point 1)."""
    deep = tmp_path / "mirror" / "mlperf" / "trained_models"
    deep.mkdir(parents=True)
    (tmp_path / "mirror" / "mlperf" / "toy.pb").write_bytes(b"a same-named file with other bytes")
    (deep / "toy.pb").write_bytes(PAYLOAD)
    url = server.add("toy.pb", PAYLOAD)
    result = fetch(recipe_for([url]), options(tmp_path, mirrors=[str(tmp_path / "mirror")], offline=True))
    assert result.status == "copied" and result.origin == f"mirror {deep / 'toy.pb'}", result.error
    assert zoo_file(tmp_path).read_bytes() == PAYLOAD and server.route("toy.pb").requests == []


def test_a_file_no_mirror_holds_names_the_folders_searched(tmp_path: Path) -> None:
    (tmp_path / "mirror" / "a").mkdir(parents=True)
    result = fetch(
        recipe_for(["http://127.0.0.1:9/toy.pb"]),
        options(tmp_path, mirrors=[str(tmp_path / "mirror")], offline=True),
    )
    assert result.status == "failed"
    assert f"no file named toy.pb is in the mirror folder(s) {tmp_path / 'mirror'}" in result.error
    assert "levels deep" in result.error


def test_an_unresolvable_host_is_not_retried(tmp_path: Path) -> None:
    import time

    started = time.monotonic()
    slow = HttpOptions(connect_timeout=1, retries=4, backoff=2.0)
    result = fetch(recipe_for(["http://host.invalid/toy.pb"]), options(tmp_path, http=slow))
    assert result.status == "failed" and "cannot resolve the host name" in result.error
    assert "attempts" not in result.error and time.monotonic() - started < 6  # 4 retries would wait 30 s


def test_fetch_verify_rehashes_a_file_changed_in_place(server: FileServer, tmp_path: Path) -> None:
    """The zoo's copy is a hard link to the read-only cache entry: a byte flipped in place (time kept)
    passes the fetch record; --verify re-hashes and fetches again (#24 point 10)."""
    url = server.add("toy.pb", PAYLOAD)
    recipe = recipe_for([url])
    assert fetch(recipe, options(tmp_path)).status == "downloaded"
    entry = Cache(tmp_path / "cache").entry(sha256(PAYLOAD))
    assert entry.stat().st_mode & 0o222 == 0  # read-only
    assert fetch(recipe, options(tmp_path, verify=True)).status == "verified"
    target = zoo_file(tmp_path)
    st = target.stat()
    target.chmod(0o644)
    with open(target, "r+b") as f:
        f.write(bytes([PAYLOAD[0] ^ 1]))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert entry.read_bytes() != PAYLOAD  # the same file: both are damaged
    assert fetch(recipe, options(tmp_path)).status == "present"  # the record alone cannot tell
    result = fetch(recipe, options(tmp_path, verify=True))
    assert result.status == "downloaded", result.error
    assert target.read_bytes() == PAYLOAD and entry.read_bytes() == PAYLOAD


def test_mirror_url_and_bad_mirror_falls_through(server: FileServer, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "toy.pb").write_bytes(b"wrong bytes")
    server.add("m/toy.pb", PAYLOAD)
    result = fetch(
        recipe_for(["http://127.0.0.1:9/nothing"]),
        options(tmp_path, mirrors=[str(mirror), f"{server.base}/m"]),
    )
    assert result.status == "downloaded", result.error
    assert result.origin == f"mirror {server.base}/m"


def test_offline_uses_only_cache_and_mirrors(server: FileServer, tmp_path: Path) -> None:
    url = server.add("toy.pb", PAYLOAD)
    result = fetch(recipe_for([url]), options(tmp_path, offline=True))
    assert result.status == "failed"
    assert "--offline forbids the network" in result.error and "--mirror" in result.error
    assert server.route("toy.pb").requests == []
    assert not zoo_file(tmp_path).exists()


# --- misbehaving servers --------------------------------------------------------------------------


def test_404_then_next_url(server: FileServer, tmp_path: Path) -> None:
    dead = server.add("dead.pb", b"", mode="404")
    good = server.add("toy.pb", PAYLOAD)
    result = fetch(recipe_for([dead, good]), options(tmp_path))
    assert result.status == "downloaded" and result.origin == good


def test_500_then_success_is_retried(server: FileServer, tmp_path: Path) -> None:
    url = server.add("toy.pb", PAYLOAD, mode="500-then-ok", failures=2)
    result = fetch(recipe_for([url]), options(tmp_path))
    assert result.status == "downloaded", result.error
    assert len(server.route("toy.pb").requests) == 3


def test_dropped_connection_resumes_with_range(server: FileServer, tmp_path: Path) -> None:
    url = server.add("toy.pb", PAYLOAD, mode="drop-half")
    result = fetch(recipe_for([url]), options(tmp_path))
    assert result.status == "downloaded", result.error
    requests = server.route("toy.pb").requests
    assert len(requests) == 2
    resumed_at = int(requests[1]["Range"].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= len(PAYLOAD) // 2  # whole chunks received before the drop are kept
    assert zoo_file(tmp_path).read_bytes() == PAYLOAD


def test_ignored_range_falls_back_to_full_download(server: FileServer, tmp_path: Path) -> None:
    url = server.add("toy.pb", PAYLOAD, mode="ignore-range")
    result = fetch(recipe_for([url]), options(tmp_path))
    assert result.status == "downloaded", result.error
    assert "Range" in server.route("toy.pb").requests[1]
    assert zoo_file(tmp_path).read_bytes() == PAYLOAD


def test_unpinned_resume_after_drop_and_no_size(server: FileServer, tmp_path: Path) -> None:
    url = server.add("toy.pb", PAYLOAD, mode="drop-half")
    result = fetch(recipe_for([url], checksum=None, size=None), options(tmp_path))
    assert result.status == "downloaded", result.error
    assert zoo_file(tmp_path).read_bytes() == PAYLOAD


def test_wrong_content_length_is_an_error_not_a_file(server: FileServer, tmp_path: Path) -> None:
    url = server.add("toy.pb", PAYLOAD, mode="short-length", failures=99)
    result = fetch(recipe_for([url], size=None), options(tmp_path))
    assert result.status == "failed"
    assert "announces" in result.error or "connection closed" in result.error or "broken" in result.error
    assert not zoo_file(tmp_path).exists()
    assert not list((tmp_path / "cache").glob("files/**/*.*"))


def test_wrong_content_length_against_recipe_size(server: FileServer, tmp_path: Path) -> None:
    url = server.add("toy.pb", PAYLOAD, mode="short-length", failures=99)
    result = fetch(recipe_for([url]), options(tmp_path))
    assert result.status == "failed" and "the recipe says" in result.error


def test_slow_trickle_trips_the_read_timeout(server: FileServer, tmp_path: Path) -> None:
    url = server.add("toy.pb", PAYLOAD, mode="trickle", failures=99)
    opts = options(tmp_path, http=HttpOptions(connect_timeout=2, read_timeout=0.3, retries=1, backoff=0.01))
    result = fetch(recipe_for([url]), opts)
    assert result.status == "failed"
    assert "timed out" in result.error
    assert not zoo_file(tmp_path).exists()


def test_checksum_mismatch_names_file_url_and_both_checksums(server: FileServer, tmp_path: Path) -> None:
    url = server.add("toy.pb", PAYLOAD, mode="wrong-bytes")
    fetcher = Fetcher(options(tmp_path))
    with pytest.raises(ChecksumError) as info:
        fetcher._fetch(recipe_for([url]), recipe_for([url]).sources[0], FileResult("toy", "toy.pb", "failed"))
    message = str(info.value)
    assert "toy/toy.pb" in message and url in message
    assert sha256(PAYLOAD) in message and sha256(bytes(reversed(PAYLOAD))) in message
    assert not zoo_file(tmp_path).exists()
    assert not Cache(tmp_path / "cache").entry(sha256(PAYLOAD)).exists()
    assert not list((tmp_path / "cache" / "partial").iterdir())


def test_no_internet_names_the_url_and_suggests_mirror(tmp_path: Path) -> None:
    url = "http://host.invalid/toy.pb"
    result = fetch(recipe_for([url]), options(tmp_path, http=HttpOptions(connect_timeout=1, retries=0)))
    assert result.status == "failed"
    assert url in result.error and "--mirror" in result.error and "--offline" in result.error


def test_every_url_failing_lists_each_attempt(server: FileServer, tmp_path: Path) -> None:
    a = server.add("a.pb", b"", mode="404")
    b = server.add("b.pb", b"", mode="always-500", failures=99)
    result = fetch(recipe_for([a, b]), options(tmp_path))
    assert result.status == "failed"
    assert f"{a}: HTTP 404" in result.error and f"{b}: gave up after 3 attempts" in result.error


# --- unpinned files and the lock file -------------------------------------------------------------


def test_unpinned_file_is_recorded_then_enforced(server: FileServer, tmp_path: Path) -> None:
    url = server.add("toy.pb", PAYLOAD)
    recipe = recipe_for([url], checksum=None, size=None)
    result = fetch(recipe, options(tmp_path))
    assert result.status == "downloaded" and result.unpinned
    assert ChecksumLock(tmp_path / "zoo").get("toy", "toy.pb") == sha256(PAYLOAD)
    # Upstream changes the file: the next fetch (into a fresh zoo folder with the same lock) refuses it.
    server.add("toy.pb", bytes(reversed(PAYLOAD)), mode="ok")
    (tmp_path / "zoo" / "toy").rename(tmp_path / "old")
    Cache(tmp_path / "cache").entry(sha256(PAYLOAD)).chmod(0o644)
    Cache(tmp_path / "cache").entry(sha256(PAYLOAD)).unlink()
    again = fetch(recipe, options(tmp_path, zoo_dir=tmp_path / "zoo"))
    assert again.status == "failed" and "checksum mismatch" in again.error


def test_require_hashes_refuses_unpinned(server: FileServer, tmp_path: Path) -> None:
    url = server.add("toy.pb", PAYLOAD)
    result = fetch(recipe_for([url], checksum=None), options(tmp_path, require_hashes=True))
    assert result.status == "failed" and "--require-hashes" in result.error
    assert server.route("toy.pb").requests == []


def test_md5_and_git_blob_pins(server: FileServer, tmp_path: Path) -> None:
    import hashlib

    url = server.add("toy.pb", PAYLOAD)
    md5 = "md5:" + hashlib.md5(PAYLOAD).hexdigest()
    assert fetch(recipe_for([url], checksum=md5), options(tmp_path)).status == "downloaded"
    blob = "git-blob:" + hashlib.sha1(b"blob %d\0" % len(PAYLOAD) + PAYLOAD).hexdigest()
    assert (
        fetch(recipe_for([url], checksum=blob), options(tmp_path, zoo_dir=tmp_path / "z2")).status
        == "downloaded"
    )


# --- archives -------------------------------------------------------------------------------------


def make_tgz(members: dict[str, bytes]) -> bytes:
    return standins.targz(members)


def test_archive_is_unpacked_and_members_verified(server: FileServer, tmp_path: Path) -> None:
    tgz = make_tgz({"./model.pb": PAYLOAD, "./info.txt": b"hello", "./big.ckpt": b"0" * 1000})
    url = server.add("model.tgz", tgz)
    recipe = recipe_for(
        [url],
        checksum=sha256(tgz),
        size=len(tgz),
        file="model.tgz",
        members=[{"path": "./model.pb", "checksum": sha256(PAYLOAD)}, {"path": "info.txt"}],
    )
    result = fetch(recipe, options(tmp_path))
    assert result.status == "downloaded", result.error
    src = tmp_path / "zoo" / "toy" / "source"
    assert (src / "model.pb").read_bytes() == PAYLOAD and (src / "info.txt").read_bytes() == b"hello"
    assert not (src / "big.ckpt").exists() and not (src / "model.tgz").exists()
    assert_no_leftovers(tmp_path)


def test_member_checksum_mismatch_leaves_nothing(server: FileServer, tmp_path: Path) -> None:
    tgz = make_tgz({"model.pb": PAYLOAD})
    url = server.add("model.tgz", tgz)
    recipe = recipe_for(
        [url],
        checksum=sha256(tgz),
        size=len(tgz),
        file="model.tgz",
        members=[{"path": "model.pb", "checksum": sha256(b"other")}],
    )
    result = fetch(recipe, options(tmp_path))
    assert result.status == "failed" and "member model.pb: checksum mismatch" in result.error
    assert not (tmp_path / "zoo" / "toy" / "source" / "model.pb").exists()
    assert_no_leftovers(tmp_path)


def test_missing_member_is_named_with_close_names(server: FileServer, tmp_path: Path) -> None:
    tgz = make_tgz({"dir/model.pb": PAYLOAD})
    url = server.add("model.tgz", tgz)
    recipe = recipe_for(
        [url], checksum=sha256(tgz), size=len(tgz), file="model.tgz", members=[{"path": "model.pb"}]
    )
    result = fetch(recipe, options(tmp_path))
    assert (
        result.status == "failed"
        and "has no member 'model.pb'" in result.error
        and "dir/model.pb" in result.error
    )


# --- the command ----------------------------------------------------------------------------------


def test_cli_fetch_all_from_mirror_with_json(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "a.pb").write_bytes(PAYLOAD)
    tgz = make_tgz({"b.pb": b"bbb"})
    (mirror / "b.tgz").write_bytes(tgz)
    recipes = tmp_path / "recipes"
    for name, file, data in (("a", "a.pb", PAYLOAD), ("b", "b.tgz", tgz)):
        doc = minimal_recipe(name)
        doc["sources"] = [
            {
                "file": file,
                "urls": ["http://host.invalid/" + file],
                "size": len(data),
                "checksum": sha256(data),
            }
        ]
        write_recipe(recipes, doc)
    argv = [
        "--recipes",
        str(recipes),
        "fetch",
        "--all",
        "--zoo-dir",
        str(tmp_path / "zoo"),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--mirror",
        str(mirror),
        "--offline",
        "--json",
        "-j",
        "2",
    ]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["failed"] == 0 and {f["status"] for f in out["files"]} == {"copied"}  # from a mirror folder, not the network
    assert (tmp_path / "zoo" / "b" / "source" / "b.pb").read_bytes() == b"bbb"
    assert main(argv) == 0
    assert {f["status"] for f in json.loads(capsys.readouterr().out)["files"]} == {"present"}


def test_cli_fetch_failure_exit_code_and_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipes = tmp_path / "recipes"
    doc = minimal_recipe("a")
    doc["sources"] = [
        {"file": "a.pb", "urls": ["http://host.invalid/a.pb"], "size": 3, "checksum": sha256(b"abc")}
    ]
    write_recipe(recipes, doc)
    code = main(
        [
            "--recipes",
            str(recipes),
            "fetch",
            "a",
            "--zoo-dir",
            str(tmp_path / "zoo"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--offline",
        ]
    )
    assert code == 1
    assert "--offline forbids the network" in capsys.readouterr().err


# --- two processes at once ------------------------------------------------------------------------

CONCURRENT = """
import sys
from pathlib import Path
from zookit.fetch.cache import Cache
from zookit.fetch.downloaders import HttpOptions
from zookit.fetch import FetchOptions, Fetcher
from zookit.recipe import parse_recipe
import json
doc = json.loads(sys.argv[1])
tmp = Path(sys.argv[2])
opts = FetchOptions(zoo_dir=tmp / "zoo", cache=Cache(tmp / "cache"), mirrors=[], http=HttpOptions(retries=1))
(r,) = Fetcher(opts).fetch_all([parse_recipe(doc, "toy.yaml")])
print(r.status, r.error)
sys.exit(0 if r.status != "failed" else 1)
"""


def test_two_concurrent_fetches_in_separate_processes(server: FileServer, tmp_path: Path) -> None:
    big = os.urandom(8_000_000)
    url = server.add("toy.pb", big)
    doc = minimal_recipe()
    doc["sources"] = [{"file": "toy.pb", "urls": [url], "size": len(big), "checksum": sha256(big)}]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT, json.dumps(doc), str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    statuses = sorted(o[0].split()[0] for o in outs)
    assert statuses in (["downloaded", "present"], ["cached", "downloaded"]), statuses
    assert file_checksum(zoo_file(tmp_path)) == sha256(big)
    assert len(server.route("toy.pb").requests) == 1
    assert_no_leftovers(tmp_path)
