"""The zoo's lock file: checksums observed for files whose recipe pins none.

The first fetch of an unpinned file records what it got here; every later fetch verifies against
it, so a file that changes upstream is caught. The file is plain JSON, meant to be committed.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from filelock import FileLock

from zookit.errors import ZooError
from zookit.fsutil import write_json
from zookit.layout import ZOO_LOCK

LOCK_NAME = ZOO_LOCK


class ChecksumLock:
    def __init__(self, zoo_dir: Path):
        self.path = zoo_dir / LOCK_NAME
        self._mutex = FileLock(str(zoo_dir / f".{LOCK_NAME}.lock"))

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"version": 1, "files": {}}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ZooError(f"{self.path}: unreadable lock file ({exc}); fix or delete it") from None
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            raise ZooError(f"{self.path}: not a zookit lock file (no 'files' mapping); fix or delete it")
        return data

    def get(self, model: str, file: str) -> str | None:
        entry = self._read()["files"].get(f"{model}/{file}")
        return entry.get("checksum") if isinstance(entry, dict) else None

    def record(self, model: str, file: str, checksum: str, size: int, url: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._mutex:
            data = self._read()
            data["files"][f"{model}/{file}"] = {
                "checksum": checksum,
                "size": size,
                "url": url,
                "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
            write_json(self.path, data)
