"""Every path in the zoo, in one place.

<zoo>/<model>/.lock                       one run at a time works on a model
<zoo>/<model>/source/<file>               fetched (and unpacked) source files
<zoo>/<model>/source/.fetched-<file>.json the fetch record of each source file
<zoo>/<model>/<target>/<model>.<suffix>   a converted target, with manifest.json
<zoo>/<model>/<deployer>/                 a deployer's package (tidl/), with package.json
<zoo>/<model>/last-run.json               the stages of the model's last `zoo run` (failures the report shows)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SOURCE = "source"
LOCK = ".lock"
LAST_RUN = "last-run.json"
ZOO_LOCK = "zoo-lock.json"  # the zoo's checksum lock file (fetch/lockfile.py), beside the model folders
# what a killed run leaves: temporary files, trimmed graphs being written, deploy staging folders
STALE_PATTERNS = (".*.tmp", ".trimmed-*.pb", ".tidl-*")


def default_cache_dir() -> Path:
    """The download cache (and the parsed-recipe cache): ``$ZOO_CACHE_DIR``, else the user cache folder."""
    env = os.environ.get("ZOO_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("zookit", appauthor=False))


@dataclass(frozen=True)
class Layout:
    zoo_dir: Path

    def model(self, name: str) -> Path:
        return self.zoo_dir / name

    def lock(self, name: str) -> Path:
        return self.model(name) / LOCK

    def source(self, name: str) -> Path:
        return self.model(name) / SOURCE

    def source_lock(self, name: str, file: str) -> Path:
        return self.model(name) / f".{file}.lock"

    def stamp(self, name: str, file: str) -> Path:
        return self.source(name) / f".fetched-{file}.json"

    def target(self, name: str, target: str) -> Path:
        return self.model(name) / target

    def target_file(self, name: str, target: str, suffix: str) -> Path:
        return self.target(name, target) / f"{name}{suffix}"

    def deploy(self, name: str, deployer: str) -> Path:
        return self.model(name) / deployer

    def last_run(self, name: str) -> Path:
        return self.model(name) / LAST_RUN
