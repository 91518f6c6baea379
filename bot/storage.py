"""TinyDB storage that never corrupts its file, and the single-process lock.

``AtomicJSONStorage`` writes the whole database to a temporary file in the same folder,
fsyncs it and renames it over the old file, so a crash leaves either the old or the new
file, never half of one. A file that cannot be read or parsed raises ``StoreError`` and is
left untouched.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tinydb.storages import Storage

from bot.errors import StoreError


class _OneShotEncoder(json.JSONEncoder):
    """``json.dump`` with the C encoder: by default it streams through the pure-Python one,
    about 4x slower (0.38 s against 0.09 s for 2 MB of documents)."""

    def iterencode(self, o: Any, _one_shot: bool = False) -> Iterator[str]:
        return super().iterencode(o, _one_shot=True)


def _is_tinydb_layout(data: Any) -> bool:
    """TinyDB's ``{table: {doc_id: {...}}}``."""
    return isinstance(data, dict) and all(
        isinstance(table, dict) and all(isinstance(doc, dict) for doc in table.values()) for table in data.values())


class AtomicJSONStorage(Storage):
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read the data file {self.path}: {exc.strerror}") from exc
        if not raw.strip():
            return None
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StoreError(
                f"the data file {self.path} is corrupt ({exc}); it was left untouched. "
                "Restore a backup or move it away to start empty."
            ) from exc
        if not _is_tinydb_layout(data):
            raise StoreError(f"the data file {self.path} is not a bot database; it was left untouched")
        layout: dict[str, dict[str, Any]] = data
        return layout

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False, separators=(",", ":"), cls=_OneShotEncoder)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def close(self) -> None:
        pass


class FileLock:
    """An exclusive lock beside the data file; a second process gets ``StoreError``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(str(path) + ".lock")
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            fh.close()
            raise StoreError(
                f"another bot process is already using {self.path.with_suffix('')}; "
                "run only one instance per data file"
            ) from exc
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None
