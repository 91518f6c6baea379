"""Data sets of N lines in the shape a bot has after a day of hourly polls.

Each line has its household (1 to 4 lines each, every fourth household a group), a full
ring of ``MAX_SAMPLES`` balance samples, an alert state that has announced every default
threshold (so a sweep is quiet until a benchmark re-arms some lines) and a due time within
the next hour.
Documents are built once with the store's own codec and copied with new keys, then put
through the store's tables: encoding 2.4 million samples one ``add_sample`` at a time would
take minutes at 100 000 lines, and it is the files and the loaded store that are measured.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import T0
from bot.records import AlertState, Household, Line, to_doc
from bot.store import MAX_SAMPLES, DocStore, TinyDBStore
from providers.base import GB, EsimBalance, Status
from providers.demo import SIMS

DEMO_ICCIDS = tuple(SIMS)
MEASURED = "telegram:1000000"  # the household the command benchmark talks in
QUIET = ("expired", "depleted", "data:20", "data:5", "expiry:72", "expiry:24")


def line_id(i: int) -> str:
    return f"{i:08x}"


def iccid(i: int) -> str:
    return f"8947{i:015d}"


def fill(store: DocStore, n: int, *, provider: str = "demo", ref: Callable[[int], str] = iccid,
         first_due: timedelta = timedelta(minutes=1)) -> None:
    """Put ``n`` lines with everything kept about them into ``store`` (not committed)."""
    tables: dict[str, Any] = store._t  # the tables under the codec (see the module docstring)
    household = to_doc(Household(id="", is_group=False, created_at=T0))
    line = to_doc(Line(id="", household_id="", label="", owner="", owner_name="Anna", provider=provider, ref="",
                       created_at=T0))
    bal = EsimBalance(provider=provider, iccid="", status=Status.ACTIVE, as_of=T0, data_total_bytes=10 * GB,
                      data_remaining_bytes=6 * GB, expires_at=T0 + timedelta(days=20), activated_at=T0)
    last = to_doc(bal)
    # every threshold already announced and no cycle figures to compare: a sweep sends nothing
    alert = to_doc(AlertState(cycle_started=T0 - timedelta(days=3), announced=QUIET, last_as_of=T0 - timedelta(hours=1)))
    ring = [(to_doc(T0 - timedelta(hours=j)), 6 * GB + j * 50_000_000) for j in range(MAX_SAMPLES - 1, -1, -1)]
    h = i = 0
    while i < n:
        hid, size, group = f"telegram:{-h - 1 if h % 4 == 3 else h + 1}", 1 + h % 4, h % 4 == 3
        tables["households"].put(hid, {**household, "id": hid, "is_group": group})
        for k in range(min(size, n - i)):
            lid = line_id(i)
            owner = f"telegram:{h * 4 + k + 1}"
            tables["lines"].put(lid, {**line, "id": lid, "household_id": hid, "label": f"line {k}", "owner": owner,
                                      "ref": ref(i)})
            tables["samples"].put(lid, {"items": [list(point) for point in ring], "last": {**last, "iccid": ref(i)}})
            tables["alerts"].put(lid, dict(alert))
            tables["schedule"].put(lid, {"at": (T0 + first_due + timedelta(seconds=3600 * i / max(n, 1))).isoformat()})
            i += 1
        h += 1


def add_measured(store: DocStore) -> list[Line]:
    """The household whose commands are timed: three demo lines, through the public API."""
    store.save_household(Household(id=MEASURED, is_group=True, created_at=T0))
    lines = [Line(id=f"m{k}", household_id=MEASURED, label=label, owner=f"telegram:{k + 1}", owner_name="Anna",
                  provider="demo", ref=DEMO_ICCIDS[k], created_at=T0 + timedelta(minutes=k))
             for k, label in enumerate(("mom", "dad", "kid"))]
    for line in lines:
        store.save_line(line)
    store.put_state("demo", "day0", T0.isoformat())
    store.commit()
    return lines


def dataset(folder: Path, n: int) -> Path:
    """The data file of an ``n``-line set (built once per run, then reused)."""
    path = folder / f"lines-{n}" / "bot.json"
    if not path.exists():
        store = TinyDBStore(str(path))
        try:
            fill(store, n)
            add_measured(store)
        finally:
            store.close()
    return path


def copy_dataset(source: Path, target: Path) -> Path:
    """A private copy of a data set (its main file and its shard folder)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    shutil.copytree(Path(str(source) + ".d"), Path(str(target) + ".d"), dirs_exist_ok=True)
    return target


def size_on_disk(path: Path) -> int:
    """Bytes of the data file and its shard files."""
    folder = Path(str(path) + ".d")
    return path.stat().st_size + sum(p.stat().st_size for p in folder.glob("*.json"))
