"""The snapshot: every table in TinyDB's own JSON layout, plus a ``meta`` record.

``TinyDB(path)`` opens a snapshot for inspection. The ``meta`` table holds one document,
``{"_key": "store", "schema": 2, "seq": N}``: the journal records after ``N`` come on top.
``decode`` refuses anything that is not a whole snapshot of ours, naming the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from bot.records import AlertState, Household, Line, OrderRecord, OutboxItem, Pending, from_doc
from bot.store import samples
from bot.store.files import refuse
from bot.store.tables import TABLES, Data

SCHEMA = 2
CHUNK = 25  # documents encoded at a time (about 0.05 ms), so a compaction gives way to commands in between


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
    """The snapshot's bytes, ``CHUNK`` documents at a time."""
    src = Picture(source) if isinstance(source, dict) else source
    yield b'{"meta":{"1":' + _dumps({"_key": "store", "schema": SCHEMA, "seq": seq}) + b"}"
    for name in TABLES:
        yield b"," + _dumps(name) + b":{"
        ids = src.frozen_ids(name)
        for start in range(0, len(ids), CHUNK):
            body = _dumps(src.frozen(name, ids[start:start + CHUNK]))[1:-1]
            yield (b"," if start and body else b"") + body
        yield b"}"
    yield b"}\n"


def decode(path: Path, raw: bytes, *, with_meta: bool = True) -> tuple[dict[str, Any], Data]:
    """(meta document, tables) of a snapshot or a version-1 file (shard files have no meta)."""
    if not raw.strip():
        raise refuse(path, "is empty (it was cut short or emptied)")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise refuse(path, f"is not whole: it does not read as JSON ({str(exc)[:80]})") from exc
    if not isinstance(data, dict) or not all(
            isinstance(t, dict) and all(isinstance(d, dict) for d in t.values()) for t in data.values()):
        raise refuse(path, "is not a bot data file (not in TinyDB's layout)", "start with --db pointing elsewhere")
    meta_docs = list(data.pop("meta", {}).values())
    if not with_meta:
        return {}, data
    if len(meta_docs) != 1:
        raise refuse(path, "is not a bot data file (no meta record)", "start with --db pointing elsewhere")
    return meta_docs[0], data


def validate(path: Path, data: Data) -> None:
    """Every record decodes into its type (a number where a date belongs is refused)."""
    kinds: dict[str, Any] = {"households": Household, "lines": Line, "pending": Pending, "orders": OrderRecord,
                             "alerts": AlertState, "outbox": OutboxItem}
    for name, docs in data.items():
        if name not in TABLES:
            raise refuse(path, f"has an unknown table {name!r}", "start with --db pointing elsewhere")
        for doc_id, doc in docs.items():
            try:
                if not isinstance(doc.get("_key"), str) or not doc_id.isdigit():
                    raise ValueError("no key")
                if name in kinds:
                    from_doc(kinds[name], {k: v for k, v in doc.items() if k != "_key"})
                elif name == "samples":
                    samples.check(doc)
                elif name == "schedule":
                    for k in ("at", "until"):
                        if doc.get(k) is not None:
                            datetime.fromisoformat(doc[k])  # TypeError for a number
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise refuse(path, f"has a damaged record {doc_id} in {name!r} ({type(exc).__name__})") from exc

