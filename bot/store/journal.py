"""The append-only journal: one record per committed unit of work.

A record is one line: ``<crc32 as 8 hex digits> <JSON [seq, ops]>\\n``, where ``ops`` is
``[[table, key, document or null], ...]`` and ``seq`` counts up by one from the snapshot's.
``append`` writes it with one ``write`` and one ``fsync``; when either fails the file is
cut back to where it was, so a failed unit leaves no trace.

Reading (``read``) accepts only whole, checked records in sequence, each document decoded
and checked like a snapshot's. The one damage it lets through is a torn tail: bytes after
the last whole record, with no line end, that are the start of the next record (what a
process killed in the middle of an append leaves, maybe padded with zero bytes by the file
system); the caller logs it and cuts it off. Anything else (a bad record anywhere, a
complete line that fails its check, bytes that cannot be the start of a record, a gap in
the sequence) is refused with a message naming the file and the record.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.store.files import Disk, os_problem, read_bytes, refuse
from bot.store.snapshot import DAMAGE, check_document

Ops = list[tuple[str, str, dict[str, Any] | None]]
_HEX_PREFIX = re.compile(rb"[0-9a-f]{0,8}\Z")


def encode(seq: int, ops: Ops) -> bytes:
    payload = json.dumps([seq, ops], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return b"%08x " % zlib.crc32(payload) + payload + b"\n"


class _Bad(Exception):
    """A record that is whole but wrong; the text says how."""


def _decode(line: bytes) -> tuple[int, Ops]:
    if len(line) < 10 or line[8:9] != b" " or not _HEX_PREFIX.match(line[:8]):
        raise _Bad("it is not a journal record")
    payload = line[9:]
    if int(line[:8], 16) != zlib.crc32(payload):
        raise _Bad("its checksum does not match")
    try:
        seq, ops = json.loads(payload)
        if not isinstance(seq, int) or not isinstance(ops, list):
            raise ValueError("not [seq, ops]")
    except (ValueError, TypeError, UnicodeDecodeError):
        raise _Bad("it is not [number, operations]") from None
    out: Ops = []
    for op in ops:
        try:
            table, key, doc = op
            if not isinstance(table, str) or not isinstance(key, str) or not isinstance(doc, dict | None):
                raise ValueError("not [table, key, document]")
            if doc is not None:
                check_document(table, doc)
        except DAMAGE as exc:  # the type only: a value could be a code or an ICCID
            raise _Bad(
                f"it holds a damaged document ({type(exc).__name__} in {str(op[0])[:20]!r})"
                if isinstance(op, list) and op
                else "it holds a damaged operation"
            ) from None
        out.append((table, key, doc))
    return seq, out


def _starts_a_record(tail: bytes, seq: int | None) -> bool:
    """Whether ``tail`` (no line end in it) can be the first bytes of record ``seq``."""
    tail = tail.rstrip(b"\0")
    if not _HEX_PREFIX.match(tail[:8]):
        return False
    if len(tail) <= 8:
        return True
    if tail[8:9] != b" ":
        return False
    payload = tail[9:]
    text = payload.decode("utf-8", "surrogateescape")  # one character a byte, whatever the bytes
    try:
        end = json.JSONDecoder().raw_decode(text)[1]
    except ValueError:
        end = len(text)  # cut short inside the value
    if end != len(text):
        return False  # a whole value and more: the record was written whole and damaged since
    if seq is None:
        return payload == b"" or bool(re.match(rb"\[\d*\Z|\[\d+,", payload))
    start = b"[%d," % seq
    n = min(len(payload), len(start))
    return payload[:n] == start[:n]


@dataclass
class Contents:
    records: list[tuple[int, Ops]]
    good_bytes: int  # where the whole records end
    torn: bool  # bytes after them: the record being written when the process died


def read(path: Path, after: int | None = None) -> Contents | None:
    """The journal's records, or None when the file does not exist; ``after`` is the number
    of the record before the first one here, when known (the snapshot's)."""
    data = read_bytes(path)
    if data is None:
        return None
    records: list[tuple[int, Ops]] = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        number = len(records) + 1
        if end < 0:
            last = records[-1][0] if records else after
            if _starts_a_record(data[pos:], None if last is None else last + 1):
                return Contents(records, pos, torn=True)
            raise refuse(path, f"is damaged at byte {pos} (record {number}: not a whole record, nor the start of one)")
        try:
            record = _decode(data[pos:end])
        except _Bad as exc:
            raise refuse(path, f"is damaged at byte {pos} (record {number}: {exc})") from None
        if records and record[0] != records[-1][0] + 1:
            raise refuse(path, f"has a gap in its records after number {records[-1][0]} (at byte {pos})")
        records.append(record)
        pos = end + 1
    return Contents(records, pos, torn=False)


class Journal:
    """Appends records to ``path``; the caller serialises calls (one event loop)."""

    def __init__(self, path: Path, disk: Disk | None = None) -> None:
        self.path = path
        self.disk = disk or Disk()
        try:
            self._fd = self.disk.open_append(path)
        except OSError as exc:
            raise refuse(
                path,
                f"cannot be opened for writing ({os_problem(exc)})",
                "make the folder writable, free some space, or start with --db pointing elsewhere",
            ) from exc
        self.size = os.fstat(self._fd).st_size

    def cut(self, size: int) -> None:
        """Drop everything after ``size`` bytes (a torn tail found at start)."""
        self.disk.truncate(self._fd, self.path, size)
        self.disk.fsync(self._fd, self.path)
        self.size = size

    def append(self, seq: int, ops: Ops) -> None:
        """One record, durable, or an ``OSError`` naming the file and no trace of it."""
        record = encode(seq, ops)
        try:
            self.disk.write(self._fd, self.path, record)
            self.disk.fsync(self._fd, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                self.disk.truncate(self._fd, self.path, self.size)  # leave no half record behind
            raise
        self.size += len(record)

    def rotate(self, old: Path) -> None:
        """Move the records so far to ``old`` and go on in a new, empty file."""
        if old.exists():
            raise refuse(old, "is still there; a compaction is unfinished")
        self.disk.rename(self.path, old)
        os.close(self._fd)
        self._fd = -1
        self._fd = self.disk.open_append(self.path)
        self.disk.fsync_folder(self.path.parent)
        self.size = 0

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
