"""Data sets of N lines in the shape a bot has after a month of hourly polls.

Each line has its household (1 to 4 lines each, every fourth household a group), a full
set of packed balance samples (``MAX_SAMPLES`` points over the last 30 days), an alert
state that has announced every default threshold (so a sweep is quiet until a benchmark
re-arms some lines) and a due time within the next hour.

Documents are built once with the store's own codec and written as the store's own
snapshot (plus an empty journal): putting 100 000 lines through 100 000 units of work
would take minutes, and it is the files and the loaded store that are measured.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import T0
from bot.records import AlertState, Household, Line, to_doc
from bot.store import samples, snapshot
from bot.store.interface import MAX_SAMPLES
from bot.store.tables import Documents
from providers.base import GB, EsimBalance, Status
from providers.demo import SIMS

DEMO_ICCIDS = tuple(SIMS)
MEASURED = "telegram:1000000"  # the household the command benchmark talks in
QUIET = ("expired", "depleted", "data:20", "data:5", "expiry:72", "expiry:24")


def line_id(i: int) -> str:
    return f"{i:08x}"


def iccid(i: int) -> str:
    return f"8947{i:015d}"


def templates(provider: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A household, a line and its last balance (6 of 10 GB, 20 days left) as stored documents."""
    household = to_doc(Household(id="", is_group=False, created_at=T0))
    line = to_doc(Line(id="", household_id="", label="", owner="", owner_name="Anna", provider=provider, ref="", created_at=T0))
    balance = EsimBalance(
        provider=provider,
        iccid="",
        status=Status.ACTIVE,
        as_of=T0,
        data_total_bytes=10 * GB,
        data_remaining_bytes=6 * GB,
        expires_at=T0 + timedelta(days=20),
        activated_at=T0,
    )
    return household, line, to_doc(balance)


def fill(
    docs: Documents,
    n: int,
    *,
    provider: str = "demo",
    ref: Callable[[int], str] = iccid,
    first_due: timedelta = timedelta(minutes=1),
) -> None:
    """Put ``n`` lines with everything kept about them into ``docs`` (the committed tables)."""
    household, line, last = templates(provider)
    # every threshold already announced and no cycle figures to compare: a sweep sends nothing
    alert = to_doc(AlertState(cycle_started=T0 - timedelta(days=3), announced=QUIET, last_as_of=T0 - timedelta(hours=1)))
    step = timedelta(days=30) / MAX_SAMPLES
    ring = samples.pack([(T0 - step * j, 6 * GB + j * 50_000_000) for j in range(MAX_SAMPLES - 1, -1, -1)])
    h = i = 0
    while i < n:
        hid, size, group = f"telegram:{-h - 1 if h % 4 == 3 else h + 1}", 1 + h % 4, h % 4 == 3
        docs.put("households", hid, {**household, "id": hid, "is_group": group})
        for k in range(min(size, n - i)):
            lid = line_id(i)
            owner = f"telegram:{h * 4 + k + 1}"
            docs.put("lines", lid, {**line, "id": lid, "household_id": hid, "label": f"line {k}", "owner": owner, "ref": ref(i)})
            docs.put("samples", lid, {**ring, "last": {**last, "iccid": ref(i)}})
            docs.put("alerts", lid, dict(alert))
            docs.put("schedule", lid, {"at": (T0 + first_due + timedelta(seconds=3600 * i / max(n, 1))).isoformat()})
            i += 1
        h += 1


def add_measured(docs: Documents) -> list[Line]:
    """The household whose commands are timed: three demo lines."""
    docs.put("households", MEASURED, to_doc(Household(id=MEASURED, is_group=True, created_at=T0)))
    lines = [
        Line(
            id=f"m{k}",
            household_id=MEASURED,
            label=label,
            owner=f"telegram:{k + 1}",
            owner_name="Anna",
            provider="demo",
            ref=DEMO_ICCIDS[k],
            created_at=T0 + timedelta(minutes=k),
        )
        for k, label in enumerate(("mom", "dad", "kid"))
    ]
    for line in lines:
        docs.put("lines", line.id, to_doc(line))
    docs.put("state", "demo/day0", {"value": T0.isoformat()})
    return lines


def write(docs: Documents, path: Path) -> Path:
    """The tables as the store's snapshot file plus its (empty) journal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(snapshot.chunks(docs, 0)))
    Path(str(path) + ".journal").write_bytes(b"")
    return path


def dataset(folder: Path, n: int, *, provider: str = "demo") -> Path:
    """The data file of an ``n``-line set (built once per run, then reused)."""
    path = folder / f"lines-{provider}-{n}" / "bot.json"
    if not path.exists():
        docs = Documents()
        fill(docs, n, provider=provider)
        add_measured(docs)
        write(docs, path)
    return path


def copy_dataset(source: Path, target: Path) -> Path:
    """A private copy of a data set (snapshot and journal)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    shutil.copy2(Path(str(source) + ".journal"), Path(str(target) + ".journal"))
    return target


def size_on_disk(path: Path) -> int:
    """Bytes of the snapshot and the journal."""
    journal = Path(str(path) + ".journal")
    return path.stat().st_size + (journal.stat().st_size if journal.exists() else 0)
