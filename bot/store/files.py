"""Every file operation of the embedded store, in one place (``Disk``).

Each file is checked to be a regular file before it is opened (a FIFO, a device, a folder or
a symlinked temp file where a file belongs is refused instead of hanging or writing through),
every ``OSError`` carries the name of the file it happened to, and every failure to start
becomes a ``StoreError`` whose message names the file and says what to do.

Each write, fsync, rename and removal first calls ``Disk.step``: a no-op here, and the one
place a crash test stops the store, as a kill would, at any of them in turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import os
import shutil
import stat
from collections.abc import Iterable
from pathlib import Path

from bot.errors import StoreError

WHAT_TO_DO = "restore it from the backup, or start with --db pointing elsewhere"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


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


def named(exc: OSError, path: Path) -> OSError:
    """The same error with the file's name in it (``os.write`` and ``os.fsync`` leave it out)."""
    if exc.filename:
        return exc
    return type(exc)(exc.errno or errno.EIO, exc.strerror or str(exc), str(path))


def check_regular(path: Path) -> bool:
    """True when ``path`` is a regular file, False when it does not exist; refuses anything else."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise refuse(path, f"cannot be examined ({os_problem(exc)})", "check its permissions") from exc
    if stat.S_ISLNK(mode):
        mode = _target_mode(path)
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "a special file (FIFO or device)"
        raise refuse(path, f"is {kind}, not a data file", "move it away or start with --db pointing elsewhere")
    return True


def _target_mode(path: Path) -> int:
    try:
        return os.stat(path).st_mode
    except OSError as exc:
        raise refuse(path, f"is a link that leads nowhere ({os_problem(exc)})", "move it away") from exc


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


class Disk:
    """Writes, fsyncs, renames and removals of the store's files; ``step`` runs before each."""

    def step(self, kind: str, path: Path) -> None:
        """Called before each operation that changes the disk (``kind``: write, fsync, rename,
        remove); a crash test raises here. Nothing by default."""

    def open_append(self, path: Path) -> int:
        """An append descriptor on ``path`` (created when missing, refused when not a file)."""
        check_regular(path)
        self.step("write", path)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o600)
        except OSError as exc:
            raise named(exc, path) from exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise refuse(path, "is not a regular file", "move it away or start with --db pointing elsewhere")
        return fd

    def create_new(self, path: Path) -> int:
        """A new, empty file at ``path`` (a temp file): whatever was there is removed first,
        never followed or written through."""
        self.remove(path)
        self.step("write", path)
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
        except OSError as exc:
            raise named(exc, path) from exc

    def write(self, fd: int, path: Path, data: bytes) -> None:
        """All of ``data``, or an ``OSError`` naming ``path`` (a short write is a full disk)."""
        self.step("write", path)
        view = memoryview(data)
        try:
            while view:
                done = os.write(fd, view)
                if done <= 0:
                    raise OSError(errno.ENOSPC, "short write", str(path))
                view = view[done:]
        except OSError as exc:
            raise named(exc, path) from exc

    def fsync(self, fd: int, path: Path) -> None:
        self.step("fsync", path)
        try:
            os.fsync(fd)
        except OSError as exc:
            raise named(exc, path) from exc

    async def fsync_later(self, fd: int, path: Path) -> None:
        """``fsync`` in a worker thread, so the event loop goes on meanwhile."""
        await asyncio.to_thread(self.fsync, fd, path)

    def truncate(self, fd: int, path: Path, size: int) -> None:
        self.step("write", path)
        try:
            os.ftruncate(fd, size)
        except OSError as exc:
            raise named(exc, path) from exc

    def rename(self, src: Path, dst: Path) -> None:
        """``src`` takes the place of ``dst`` in one step (whatever ``dst`` was)."""
        self.step("rename", dst)
        try:
            os.replace(src, dst)
        except OSError as exc:
            raise named(exc, src) from exc

    def remove(self, path: Path) -> None:
        """Remove a file or a whole folder; nothing when it is not there."""
        if not os.path.lexists(path):
            return
        self.step("remove", path)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise named(exc, path) from exc

    def fsync_folder(self, folder: Path) -> None:
        self.step("fsync", folder)
        try:
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise named(exc, folder) from exc

    def write_file(self, path: Path, chunks: Iterable[bytes]) -> None:
        """A new file with these bytes, fsynced (not yet in place; see ``write_atomic``)."""
        fd = self.create_new(path)
        try:
            for chunk in chunks:
                self.write(fd, path, chunk)
            self.fsync(fd, path)
        finally:
            os.close(fd)

    def write_atomic(self, path: Path, chunks: Iterable[bytes]) -> None:
        """Temp file in the same folder, fsync, rename over ``path``, fsync the folder."""
        tmp = temp_of(path)
        try:
            self.write_file(tmp, chunks)
        except OSError:
            self.remove(tmp)
            raise
        self.rename(tmp, path)
        self.fsync_folder(path.parent)


def temp_of(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def release_freed_memory() -> None:
    """Hand back to the system the heap that a start freed (the whole data file read at
    once, the parser's scraps): glibc keeps it otherwise, measured 20 MB at 10 000 lines.
    Nothing to do where the C library has no ``malloc_trim``."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
