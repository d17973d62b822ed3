"""The fetch flow for one source file: already in the zoo and unchanged -> the shared cache (re-verified)
-> mirrors and URLs (``mirrors``) -> verified, stored in the cache, installed (linked, or unpacked member
by member) with its fetch record (``installed``). Protocols, archives and the cache are modules of their
own; this one knows none of their details.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from zookit.errors import ChecksumError, FetchError, ZooError, describe_os_error
from zookit.fetch.archives import unpack
from zookit.fetch.cache import key_for, origin_of, place
from zookit.fetch.downloaders import HttpDownloader, SourceFailed, copy_local, no_network_hint
from zookit.fetch.encoding import gunzip_if_it_verifies
from zookit.fetch.installed import (
    expected_checksum,
    output_stats,
    remove_staging,
    safe_lock,
    staging_prefix,
    stamp_size,
    stamp_valid,
)
from zookit.fetch.lockfile import ChecksumLock
from zookit.fetch.mirrors import MIRROR_DEPTH, MirrorIndex, candidates
from zookit.fetch.options import FetchOptions, FileResult
from zookit.fsutil import first_link, write_json, write_text
from zookit.hashes import PREFERRED, file_checksum, matches, parse_checksum
from zookit.layout import Layout
from zookit.progress import Progress
from zookit.recipe import Member, Recipe, Source


class Fetcher:
    def __init__(self, options: FetchOptions, progress: Progress | None = None):
        self.options = options
        self.progress = progress or Progress(quiet=True)
        self.lock = ChecksumLock(options.zoo_dir)
        self._http: HttpDownloader | None = None
        self.mirror_index = MirrorIndex()

    @property
    def http(self) -> HttpDownloader:
        if self._http is None:
            self._http = HttpDownloader(self.options.http)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    # --- one recipe / many -----------------------------------------------------------------------

    def fetch_all(self, recipes: list[Recipe]) -> list[FileResult]:
        """Fetch every source of every recipe, ``jobs`` files at a time; failures are collected."""
        work = [(r, s) for r in recipes for s in r.sources]
        with ThreadPoolExecutor(max_workers=max(1, self.options.jobs)) as pool:
            return list(pool.map(lambda rs: self.fetch_source(*rs), work))

    def fetch_source(self, recipe: Recipe, source: Source) -> FileResult:
        started = time.monotonic()
        result = FileResult(recipe.name, source.file, "failed")
        try:
            self._fetch(recipe, source, result)
        except ZooError as exc:
            result.status, result.error = "failed", str(exc)
        except OSError as exc:  # an unwritable folder, a full disk: this file fails, the others go on
            result.status, result.error = "failed", f"{recipe.name}/{source.file}: {describe_os_error(exc)}"
        result.seconds = round(time.monotonic() - started, 3)
        self.progress.line(_summary_line(result))
        return result

    # --- the steps -------------------------------------------------------------------------------

    def _fetch(self, recipe: Recipe, source: Source, result: FileResult) -> None:
        pinned = source.checksum
        expected = expected_checksum(recipe, source, self.lock)
        if expected is None and self.options.require_hashes:
            raise FetchError(
                f"{recipe.name}/{source.file}: the recipe pins no checksum and --require-hashes is set; "
                "add a checksum to the recipe (or fetch once without --require-hashes to record one)"
            )
        result.unpinned = pinned is None
        layout = Layout(self.options.zoo_dir)
        dest, stamp = layout.source(recipe.name), layout.stamp(recipe.name, source.file)
        link = first_link(layout.model(recipe.name), dest)
        if link:  # files would land where the link points
            raise FetchError(
                f"{link} is a symbolic link; zookit does not write through links in the zoo "
                "(remove it, or point --zoo-dir at the real folder)"
            )
        dest.mkdir(parents=True, exist_ok=True)
        with safe_lock(layout.source_lock(recipe.name, source.file)):
            remove_staging(dest, source.file)
            if expected and stamp_valid(stamp, dest, expected):
                if not self.options.verify:
                    result.status, result.checksum, result.origin = "present", expected, str(dest)
                    result.size = stamp_size(stamp)
                    return
                if not source.is_archive and matches(dest / source.dest, expected):
                    result.status, result.checksum, result.origin = "verified", expected, str(dest)
                    result.size = stamp_size(stamp)
                    return
                # an archive's members are unpacked again from the re-hashed cache entry below
                if not source.is_archive:
                    self.progress.line(
                        f"WARNING: {recipe.name}/{source.file}: the file in the zoo does not match {expected} "
                        "(changed in place); fetching it again"
                    )
            entry, origin, status = self._obtain(recipe, source, expected)
            checksum = expected or f"{PREFERRED}:{entry.name}"
            if expected is None:
                self.lock.record(recipe.name, source.file, checksum, entry.stat().st_size, origin)
                self.progress.line(
                    f"WARNING: {recipe.name}/{source.file} has no published checksum; recorded {checksum} in "
                    f"{self.lock.path}. Later fetches verify against it: keep that file (commit it)."
                )
            outputs = self._install(recipe, source, entry, dest)
            write_json(
                stamp,
                {"checksum": checksum, "size": entry.stat().st_size, "outputs": output_stats(dest, outputs)},
            )
        result.status, result.origin, result.checksum, result.size = (
            status,
            origin,
            checksum,
            entry.stat().st_size,
        )

    def _obtain(self, recipe: Recipe, source: Source, expected: str | None) -> tuple[Path, str, str]:
        """The verified cache entry for the file: (path, where it came from, status)."""
        cache = self.options.cache
        key = key_for(expected, source.urls[0])
        with cache.lock(key):
            known = expected or cache.recall(key)
            if known:
                hit = cache.lookup(known, source.size)
                if hit is not None:
                    return hit, f"cache {hit}", "cached"
            entry, origin, status = self._download(recipe, source, expected, cache.partial(key))
            if not expected:
                cache.remember(key, f"{PREFERRED}:{entry.name}")
            return entry, origin, status

    def _download(
        self, recipe: Recipe, source: Source, expected: str | None, part: Path
    ) -> tuple[Path, str, str]:
        algo = parse_checksum(expected)[0] if expected else PREFERRED
        tried: list[str] = []
        mismatch = False
        network_down = False
        origin = origin_of(part)
        for cand in candidates(source, self.options.mirrors, self.options.offline, self.mirror_index):
            label = f"{recipe.name}/{source.file}"
            where = cand.url or str(cand.path)
            # A partial file is resumed only from the source that produced it: bytes from one URL
            # (an error page, another version) must not be completed from another.
            if part.exists() and (not origin.is_file() or origin.read_text(encoding="utf-8") != where):
                part.unlink()
            write_text(origin, where)
            try:
                with self.progress.task(label, source.size) as task:
                    if cand.path is not None:
                        if part.exists():
                            part.unlink()
                        digest = copy_local(
                            cand.path, part, algo=algo, size=source.size, progress=task.update
                        )
                    else:
                        assert cand.url is not None
                        digest = self.http.download(
                            cand.url, part, algo=algo, size=source.size, progress=task.update
                        )
            except SourceFailed as exc:
                tried.append(f"{cand.label}: {exc}")
                network_down |= "resolve" in str(exc) or "refused" in str(exc)
                continue
            actual = f"{algo}:{digest}"
            if expected and actual != expected and gunzip_if_it_verifies(part, expected, source.size):
                actual = expected
            if expected and actual != expected:
                part.unlink()
                mismatch = True
                tried.append(f"{cand.label}: checksum mismatch: expected {expected}, got {actual}")
                continue
            origin.unlink(missing_ok=True)
            status = "copied" if cand.path is not None else "downloaded"
            return self.options.cache.store(part, actual), cand.label, status
        if not part.exists():
            origin.unlink(missing_ok=True)
        raise _no_source_error(recipe, source, tried, mismatch, network_down, self.options)

    def _install(self, recipe: Recipe, source: Source, entry: Path, dest: Path) -> list[Path]:
        """Link a plain file into the source folder, or unpack an archive's members there."""
        if not source.is_archive:
            target = dest / source.dest
            link = first_link(dest, target)
            if link:
                raise FetchError(f"{link} is a symbolic link; zookit does not write through links in the zoo")
            place(entry, target)
            return [target]
        members = {m.path: m for m in source.members}

        def verify(name: str, staged: Path) -> None:
            member = members.get(name)
            if member is not None:
                _verify_member(source.file, member, staged)

        return unpack(
            entry,
            dest,
            [m.path for m in source.members],
            self.options.max_unpacked,
            verify,
            label=f"{recipe.name}/{source.file}",
            staging_prefix=staging_prefix(source.file),
        )


def _verify_member(archive: str, member: Member, path: Path) -> None:
    size = path.stat().st_size
    if member.size is not None and size != member.size:
        raise ChecksumError(
            f"{archive}: member {member.path} has {size} bytes, the recipe says {member.size}"
        )
    if member.checksum:
        actual = file_checksum(path, parse_checksum(member.checksum)[0])
        if actual != member.checksum:
            raise ChecksumError(
                f"{archive}: member {member.path}: checksum mismatch: "
                f"expected {member.checksum}, got {actual}"
            )


def _no_source_error(
    recipe: Recipe,
    source: Source,
    tried: list[str],
    mismatch: bool,
    network_down: bool,
    options: FetchOptions,
) -> FetchError:
    name = f"{recipe.name}/{source.file}"
    folders = [m for m in options.mirrors if "://" not in m or m.startswith("file://")]
    if not tried:
        why = (
            "it is not in the cache and --offline forbids the network"
            if options.offline
            else "no source to try"
        )
        if folders:
            looked = ", ".join(folders)
            return FetchError(
                f"{name}: {why}, and no file named {source.file} is in the mirror folder(s) {looked} "
                f"(searched {MIRROR_DEPTH} levels deep); pass --mirror DIR with a folder that holds it"
            )
        return FetchError(f"{name}: {why}; pass --mirror DIR with a folder that holds {source.file}")
    lines = [f"{name}: no source gave a verified copy:"] + [f"  - {t}" for t in tried]
    if mismatch:
        lines.append(
            "  The bytes differ from the pinned checksum: the upstream file changed or a mirror is wrong."
        )
        return ChecksumError("\n".join(lines))
    if network_down:
        lines.append("  " + no_network_hint(source.file))
    return FetchError("\n".join(lines))


def _summary_line(r: FileResult) -> str:
    if r.status == "failed":
        label = f"{r.model}/{r.file}"
        return f"FAILED {r.error}" if r.error.startswith(label) else f"FAILED {label}: {r.error}"
    rate = f", {r.size / r.seconds / 1e6:.1f} MB/s" if r.status == "downloaded" and r.seconds > 0 else ""
    return f"{r.status} {r.model}/{r.file} ({r.size / 1e6:.1f} MB, {r.seconds:.2f} s{rate}) from {r.origin}"
