"""The snapshot: every table in TinyDB's own JSON layout, plus a ``meta`` record.

``TinyDB(path)`` opens a snapshot for inspection. The ``meta`` table, written last, holds one
document, ``{"_key": "store", "schema": 2, "seq": N, "crc32": "..."}``: the journal records
after ``N`` come on top, and the checksum covers every byte before the meta table and ``N``.
``decode`` refuses anything that is not a whole snapshot of ours, naming the file.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from bot.records import AlertState, Household, Line, OrderRecord, OutboxItem, Pending, field_checks, from_doc
from bot.store import samples
from bot.store.files import refuse
from bot.store.tables import TABLES, Data

SCHEMA = 2
CHUNK = 25  # documents encoded at a time (about 0.05 ms), so a compaction gives way to commands in between
META = b',"meta":{"1":'  # the meta table comes last, after the checksummed tables
KINDS: dict[str, Any] = {
    "households": Household,
    "lines": Line,
    "pending": Pending,
    "orders": OrderRecord,
    "alerts": AlertState,
    "outbox": OutboxItem,
}


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Source(Protocol):
    """Where a snapshot's documents come from: a picture, or the frozen live tables."""

    def frozen_ids(self, table: str) -> list[str]: ...
    def frozen(self, table: str, ids: list[str]) -> dict[str, Any]: ...


class Picture:
    """A snapshot source over plain ``{table: {doc id: document}}`` data."""

    def __init__(self, data: Data) -> None:
        self._data = data

    def frozen_ids(self, table: str) -> list[str]:
        return list(self._data.get(table, {}))

    def frozen(self, table: str, ids: list[str]) -> dict[str, Any]:
        docs = self._data.get(table, {})
        return {i: docs[i] for i in ids}


def chunks(source: Data | Source, seq: int) -> Iterator[bytes]:
    """The snapshot's bytes, ``CHUNK`` documents at a time, then the meta record with the
    checksum of everything before it (and of ``seq``).

    Each slice is a comma-separated run of members or nothing (documents added since the
    freeze are left out), and a comma goes before a slice only once a member was written, so
    the output is whole JSON for any interleaving of writes with the slices."""
    src = Picture(source) if isinstance(source, dict) else source
    crc = 0
    for n, name in enumerate(TABLES):
        head = (b"{" if n == 0 else b",") + _dumps(name) + b":{"
        crc = zlib.crc32(head, crc)
        yield head
        ids, empty = src.frozen_ids(name), True
        for start in range(0, len(ids), CHUNK):
            body = _dumps(src.frozen(name, ids[start : start + CHUNK]))[1:-1]
            if body:
                part = body if empty else b"," + body
                crc, empty = zlib.crc32(part, crc), False
                yield part
        crc = zlib.crc32(b"}", crc)
        yield b"}"
    meta = {"_key": "store", "schema": SCHEMA, "seq": seq, "crc32": f"{_sealed(crc, seq):08x}"}
    yield META + _dumps(meta) + b"}}\n"


def _sealed(crc: int, seq: int) -> int:
    return zlib.crc32(b"seq=%d" % seq, crc)


def decode(path: Path, raw: bytes, *, with_meta: bool = True) -> tuple[dict[str, Any], Data]:
    """(meta document, tables) of a snapshot or a version-1 file (shard files have no meta).
    A snapshot with a checksum must match it (a flipped byte anywhere is refused)."""
    if not raw or raw.isspace():  # strip() would copy the whole file
        raise refuse(path, "is empty (it was cut short or emptied)")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise refuse(path, f"is not whole: it does not read as JSON ({str(exc)[:80]})") from exc
    if not isinstance(data, dict) or not all(
        isinstance(t, dict) and all(isinstance(d, dict) for d in t.values()) for t in data.values()
    ):
        raise refuse(path, "is not a bot data file (not in TinyDB's layout)", "start with --db pointing elsewhere")
    meta_docs = list(data.pop("meta", {}).values())
    if not with_meta:
        return {}, data
    if len(meta_docs) != 1:
        raise refuse(path, "is not a bot data file (no meta record)", "start with --db pointing elsewhere")
    _check_sum(path, raw, meta_docs[0])
    return meta_docs[0], data


def _check_sum(path: Path, raw: bytes, meta: dict[str, Any]) -> None:
    if "crc32" not in meta:
        return  # written before snapshots carried one; the next compaction adds it
    at = raw.rfind(META)
    seq = meta.get("seq")
    if at < 0 or not isinstance(seq, int) or f"{_sealed(zlib.crc32(raw[:at]), seq):08x}" != meta["crc32"]:
        raise refuse(path, "is damaged: its checksum does not match its contents")


def check_document(table: str, doc: dict[str, Any]) -> None:
    """Raise ``ValueError`` (or ``KeyError``, ``TypeError``) unless ``doc`` decodes into the
    record type of ``table`` (a line without its label, a number where a date belongs)."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}")
    if table in KINDS:
        from_doc(KINDS[table], doc)  # unknown keys (``_key``) are ignored: no copy per document
    elif table == "samples":
        samples.check(doc)
    elif table == "schedule":
        for k in ("at", "until"):
            if doc.get(k) is not None or k == "at":
                datetime.fromisoformat(doc[k])  # TypeError for a number, KeyError when missing


DAMAGE = (KeyError, TypeError, ValueError, AttributeError)
_PLAIN = (str, int, float, bool, type(None))


class Checker:
    """``check_document`` over a whole snapshot, with memory. A record type's check fails only
    when a field's decoder fails on its value or a field without a default is absent; each
    decoder is a pure function of its value, so a plain value that passed for a field once
    (same type, same value) is not decoded again. A string seen before is replaced by the
    first one, so equal strings are held once."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str, type, Any], Any] = {}  # (table, field, type, value) -> value

    def check(self, table: str, doc: dict[str, Any]) -> None:
        """Raise exactly when ``check_document`` would."""
        kind = KINDS.get(table)
        if kind is None:
            check_document(table, doc)
            return
        decoders, required = field_checks(kind)
        if not required.issubset(doc):
            check_document(table, doc)  # raises for the missing field, as before
        seen = self._seen
        for name, value in doc.items():
            decode = decoders.get(name)
            if decode is None:
                continue  # ignored by ``from_doc`` (``_key``)
            kind = type(value)
            if kind not in _PLAIN:
                decode(value)  # lists and nested documents: checked each time
                continue
            key = (table, name, kind, value)  # 1, 1.0 and True are equal: the type tells them apart
            if key not in seen:
                decode(value)
                seen[key] = value
            elif kind is str:
                doc[name] = seen[key]  # an existing key: the dict keeps its size while iterated


def validate(path: Path, data: Data) -> None:
    """Every record decodes into its type (a number where a date belongs is refused)."""
    checker = Checker()
    for name, docs in data.items():
        if name not in TABLES:
            raise refuse(path, f"has an unknown table {name!r}", "start with --db pointing elsewhere")
        for doc_id, doc in docs.items():
            try:
                if not isinstance(doc.get("_key"), str) or not doc_id.isdigit():
                    raise ValueError("no key")
                checker.check(name, doc)
            except DAMAGE as exc:
                raise refuse(path, f"has a damaged record {doc_id} in {name!r} ({type(exc).__name__})") from exc
