"""Reading and writing the store's files safely: type checks, atomic replace, folder fsync.

Every file is opened without blocking and checked to be a regular file before it is read,
so a FIFO, a device or a folder where a file belongs is refused instead of hanging. Every
failure becomes a ``StoreError`` whose message names the file and says what to do.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from bot.errors import StoreError

WHAT_TO_DO = "restore it from the backup, or start with --db pointing elsewhere"


def refuse(path: Path, problem: str, hint: str = WHAT_TO_DO) -> StoreError:
    return StoreError(f"{path}: {problem}; nothing was changed. To go on, {hint}.")


def os_problem(exc: OSError) -> str:
    if exc.errno in (errno.EROFS,):
        return "the file system is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    return exc.strerror or type(exc).__name__


def check_regular(path: Path) -> bool:
    """True when ``path`` is a regular file, False when it does not exist; refuses anything else."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise refuse(path, f"cannot be examined ({os_problem(exc)})", "check its permissions") from exc
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "a special file (FIFO or device)"
        raise refuse(path, f"is {kind}, not a data file", "move it away or start with --db pointing elsewhere")
    return True


def read_bytes(path: Path) -> bytes | None:
    """The file's bytes, or None when it does not exist."""
    if not check_regular(path):
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise refuse(path, f"cannot be read ({os_problem(exc)})", "check its permissions") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped between the two looks
            raise refuse(path, "is not a regular file")
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise refuse(path, f"cannot be read ({os_problem(exc)})", "check the disk") from exc
    finally:
        os.close(fd)


def fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, chunks: Iterable[bytes]) -> None:
    """Temp file in the same folder, fsync, rename over ``path``, fsync the folder."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_folder(path.parent)
