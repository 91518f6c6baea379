"""One process per data file: an exclusive lock on the file's resolved real path.

The lock file sits beside the real data file (``<real path>.lock``), so the same file
reached through a symlink to it, a symlinked folder or ``./`` takes the same lock and a
second process is refused however it spelled the path.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from bot.errors import StoreError
from bot.store.files import check_regular, os_problem, refuse


class FileLock:
    def __init__(self, data_path: Path) -> None:
        self.path = Path(os.path.realpath(data_path)).with_name(Path(os.path.realpath(data_path)).name + ".lock")
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise refuse(
                self.path.parent,
                f"cannot be created ({os_problem(exc)})",
                "make the folder writable or start with --db pointing elsewhere",
            ) from exc
        check_regular(self.path)
        try:
            fh = self.path.open("a+")
        except OSError as exc:
            raise refuse(
                self.path,
                f"cannot be opened ({os_problem(exc)})",
                "make the folder writable or start with --db pointing elsewhere",
            ) from exc
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            fh.close()
            raise StoreError(
                f"another bot process is already using {self.path.with_suffix('')}; run only one instance per data file"
            ) from exc
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None
