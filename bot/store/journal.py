"""The append-only journal: one record per committed unit of work.

A record is one line: ``<crc32 as 8 hex digits> <JSON [seq, ops]>\\n``, where ``ops`` is
``[[table, key, document or null], ...]`` and ``seq`` counts up by one from the snapshot's.
``append`` writes it with one ``write`` and one ``fsync``; when either fails the file is
cut back to where it was, so a failed unit leaves no trace.

Reading (``read``) accepts only whole, checked records in sequence. Damage at the very end
(the record being written when the process died) is a torn tail: it is reported so the
caller can log it and cut it off. Damage followed by a good record, or a gap in the
sequence, is corruption in the middle and is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import StoreError
from bot.store.files import fsync_folder, os_problem, read_bytes, refuse

Ops = list[tuple[str, str, dict[str, Any] | None]]


def encode(seq: int, ops: Ops) -> bytes:
    payload = json.dumps([seq, ops], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return b"%08x " % zlib.crc32(payload) + payload + b"\n"


def _decode(raw: bytes) -> tuple[int, Ops] | None:
    if len(raw) < 10 or raw[8:9] != b" ":
        return None
    payload = raw[9:]
    try:
        if int(raw[:8], 16) != zlib.crc32(payload):
            return None
        seq, ops = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(seq, int) or not isinstance(ops, list):
        return None
    return seq, [(str(t), str(k), d) for t, k, d in ops]


@dataclass
class Contents:
    records: list[tuple[int, Ops]]
    good_bytes: int  # where the whole records end
    torn: bool  # bytes after them: the record being written when the process died


def read(path: Path) -> Contents | None:
    """The journal's records, or None when the file does not exist."""
    data = read_bytes(path)
    if data is None:
        return None
    records: list[tuple[int, Ops]] = []
    pos, bad_at = 0, None
    while pos < len(data):
        end = data.find(b"\n", pos)
        line_end = len(data) if end < 0 else end + 1
        record = _decode(data[pos:line_end - (0 if end < 0 else 1)]) if end >= 0 else None
        if record is None:
            bad_at = pos if bad_at is None else bad_at
        elif bad_at is not None:
            raise refuse(path, f"is damaged at byte {bad_at} (a bad record followed by good ones)")
        else:
            if records and record[0] != records[-1][0] + 1:
                raise refuse(path, f"has a gap in its records after number {records[-1][0]}")
            records.append(record)
        pos = line_end
    good = bad_at if bad_at is not None else len(data)
    return Contents(records, good, torn=bad_at is not None)


class Journal:
    """Appends records to ``path``; the caller serialises calls (one event loop)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise refuse(path, f"cannot be opened for writing ({os_problem(exc)})",
                         "make the folder writable, free some space, or start with --db pointing elsewhere") from exc
        self.size = os.fstat(self._fd).st_size

    def cut(self, size: int) -> None:
        """Drop everything after ``size`` bytes (a torn tail found at start)."""
        os.ftruncate(self._fd, size)
        os.fsync(self._fd)
        self.size = size

    def append(self, seq: int, ops: Ops) -> None:
        record = encode(seq, ops)
        try:
            written = os.write(self._fd, record)
            if written != len(record):
                raise OSError(28, "short write")
            os.fsync(self._fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self.size)  # leave no half record behind
            raise
        self.size += len(record)

    def rotate(self, old: Path) -> None:
        """Move the records so far to ``old`` and go on in a new, empty file."""
        if old.exists():
            raise StoreError(f"{old} is still there; a compaction is unfinished")
        os.rename(self.path, old)
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fsync_folder(self.path.parent)
        self.size = 0

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
