"""Version 1's sharded layout (schema 1) -> a version 2 snapshot, keeping a backup.

Version 1 kept a data file with ``meta = {"schema": 1, "shards": N}`` and shard files
``<data file>.d/01.json`` ... in TinyDB's layout, every document with its key in ``_key``.
``read_v1`` gathers all of them into version 2's tables: samples become packed points,
finished outbox items are left behind, and every line gets a due check so the job queue
looks at it once after the upgrade. ``backup`` copies the old files to
``<data file>.v1-backup/`` before anything is replaced.
"""

from __future__ import annotations

import logging
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.store import samples
from bot.store.files import Disk, read_bytes, refuse
from bot.store.interface import MAX_SAMPLES, SAMPLE_DAYS
from bot.store.snapshot import decode
from bot.store.tables import TABLES, Data

log = logging.getLogger(__name__)


def _convert(table: str, doc: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    if table == "samples":
        points: list[samples.Point] = []
        for at, left in doc.get("items", []):
            points = samples.add(points, datetime.fromisoformat(at), left, cap=MAX_SAMPLES, days=SAMPLE_DAYS) or points
        out = {**samples.pack(points), "_key": doc["_key"]}
        if "last" in doc:
            out["last"] = doc["last"]
        return out
    if table == "outbox" and doc.get("state") != "pending":
        return None
    return doc


def read_v1(path: Path, meta: dict[str, Any], main: Data, now: datetime) -> Data:
    """All tables of a version-1 folder; refuses a damaged shard file."""
    count = int(meta.get("shards", 1))
    parts = [main]
    for n in range(1, count):
        shard = path.with_name(path.name + ".d") / f"{n:02d}.json"
        raw = read_bytes(shard)
        if raw is None:
            continue  # version 1 wrote a shard file only once something was kept in it
        parts.append(decode(shard, raw, with_meta=False)[1])
    out: Data = {name: {} for name in TABLES}
    for part in parts:
        for table, docs in part.items():
            if table not in out:
                continue
            for doc in docs.values():
                if "_key" not in doc:
                    raise refuse(path, f"has a record without its key in {table!r}")
                converted = _convert(table, doc, now)
                if converted is not None:
                    out[table][str(len(out[table]) + 1)] = converted
    scheduled = {doc["_key"] for doc in out["schedule"].values()}
    for doc in list(out["lines"].values()):
        if doc["_key"] not in scheduled:
            out["schedule"][str(len(out["schedule"]) + 1)] = {"_key": doc["_key"], "at": now.isoformat()}
    return out


def backup_of(path: Path) -> Path:
    return path.with_name(path.name + ".v1-backup")


def backup(path: Path, disk: Disk) -> Path:
    """Copy the data file and its shard folder to ``<path>.v1-backup/`` (whole, or not at all)."""
    target = backup_of(path)
    if target.exists():
        return target  # an earlier, interrupted upgrade already made it
    tmp = path.with_name(path.name + ".v1-backup.tmp")
    disk.remove(tmp)
    disk.step("write", tmp)
    tmp.mkdir()
    shutil.copy2(path, tmp / path.name)
    shards = path.with_name(path.name + ".d")
    if shards.is_dir():
        shutil.copytree(shards, tmp / shards.name)
    disk.rename(tmp, target)
    disk.fsync_folder(path.parent)
    return target


def counts(data: Data) -> str:
    return ", ".join(f"{len(docs)} {name}" for name, docs in data.items() if docs)
