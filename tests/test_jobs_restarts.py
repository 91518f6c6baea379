"""The reminder pipeline, catch-up after downtime and restarts on the same file, crashes included (``bot/reminders``)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.errors import StoreWriteError
from bot.records import Line, OutboxItem
from bot.store import TinyDBStore
from bot.store.journal import Journal
from tests.jobs_harness import (
    DEMO,
    T0,
    Crash,
    P,
    Render,
    _item,
    en,
    kinds,
    make,
)
from tests.storeview import StoreView


async def test_catch_up_after_downtime_one_message_per_line(tmp_path: Path) -> None:
    db = str(tmp_path / "bot.json")
    store = TinyDBStore(db)
    h = make(store)
    await h.link("DEMO20", "mom")
    await h.link("DEMO38", "kid")
    await h.link("DEMO12", "dad")
    await h.run(timedelta(hours=1))
    assert h.platform.sent == []
    StoreView(store).close()

    later = T0 + timedelta(days=3, hours=1)  # 10:00 in Oslo
    store2 = TinyDBStore(db)
    h2 = make(store2, start=later)
    await h2.jobs.run_due()  # what bot.app does first at start
    await h2.run(timedelta(seconds=5))  # two alerts for one group: one a second
    by_label = {s.text.split(" ", 2)[1].rstrip(":"): s for s in h2.platform.sent}
    assert len(h2.platform.sent) == 2, h2.texts()
    assert set(by_label) == {"mom", "kid"}
    assert en("alert.depleted") in by_label["mom"].text  # "5 %" and "no data" collapse into the current state
    assert en("alert.expired") in by_label["kid"].text  # "1 day left" and "expired" collapse
    await h2.run(timedelta(days=1))
    assert len(h2.platform.sent) == 2  # and nothing stale follows
    StoreView(store2).close()


async def test_an_alert_the_store_cannot_read_for_sending_waits_and_goes_once(caplog: pytest.LogCaptureFixture) -> None:
    """Rendering reads the store (the reader's language); when the store fails then, nothing
    was sent: the alert waits in memory and goes when the store works again, without a
    traceback (seen on PostgreSQL as a pool timeout under a burst of commands)."""
    failures = [StoreWriteError("could not save: couldn't get a connection after 30.00 sec")] * 2

    def flaky(render: Render) -> Render:
        async def first_fails(item: OutboxItem) -> str:
            if failures:
                raise failures.pop()
            return await render(item)

        return first_fails

    h = make(wrap_render=flaky)
    h.household("fam")
    with caplog.at_level(logging.WARNING):
        await h.enqueue(_item("1", "fam"))
        await h.jobs.run_due()
        assert h.platform.sent == [] and h.outbox.backlog == 1
        await h.run(timedelta(minutes=5))
    assert failures == [] and len(h.platform.sent) == 1 and "l1" in h.platform.sent[0].text
    assert [i.state for i in h.items()] == ["sent"]
    assert not [r for r in caplog.records if r.exc_info], "a store failure is not a bug: no traceback"


async def test_a_clock_advance_during_the_catch_up_waits_for_it() -> None:
    """The console starts reading before the catch-up at start is over; an ``advance`` that
    comes in then must not run a pass of its own beside it (its output would end before the
    catch-up's alerts, which then came after the last ``idle``)."""
    rendering, go_on = asyncio.Event(), asyncio.Event()

    def slow(render: Render) -> Render:
        async def waits(item: OutboxItem) -> str:
            rendering.set()
            await go_on.wait()
            return await render(item)

        return waits

    h = make(wrap_render=slow)
    h.household("fam")
    await h.enqueue(_item("1", "fam"))
    catch_up = asyncio.create_task(h.jobs.run_due())
    await rendering.wait()
    advance = asyncio.create_task(h.run(timedelta(minutes=1)))
    for _ in range(100):  # however long the loop turns, the advance waits for the catch-up
        await asyncio.sleep(0)
    assert not advance.done() and h.platform.sent == []
    go_on.set()
    await asyncio.gather(catch_up, advance)
    assert len(h.platform.sent) == 1 and [i.state for i in h.items()] == ["sent"]


async def test_restart_delivers_a_stored_unsent_alert_once(tmp_path: Path) -> None:
    db = str(tmp_path / "bot.json")
    store = TinyDBStore(db)
    h = make(store)
    h.household("fam")
    h.store.save_line(
        Line(
            id="line-1",
            household_id=f"{P}:fam",
            label="l1",
            owner=f"{P}:anna",
            owner_name="Anna",
            provider="demo",
            ref=DEMO["DEMO12"],
            created_at=T0,
        )
    )
    await h.enqueue(_item("1", "fam"))  # due, stored, not sent: then the process stops
    StoreView(store).close()

    store2 = TinyDBStore(db)
    h2 = make(store2, start=T0 + timedelta(minutes=5))
    assert h2.outbox.backlog == 1
    await h2.jobs.run_due()
    await h2.run(timedelta(hours=2))
    assert len(h2.platform.sent) == 1 and "l1" in h2.platform.sent[0].text
    StoreView(store2).close()
    store3 = TinyDBStore(db)
    h3 = make(store3, start=T0 + timedelta(hours=3))
    await h3.jobs.run_due()
    assert h3.outbox.backlog == 0 and h3.platform.sent == []
    StoreView(store3).close()


async def test_crash_between_send_and_mark_resends_at_most_once(tmp_path: Path) -> None:
    db = str(tmp_path / "bot.json")
    store = TinyDBStore(db)
    h = make(store)
    await h.link("DEMO20", "mom")
    h.platform.crash_after_send = True
    with pytest.raises(Crash):
        await h.run(timedelta(hours=12))
    assert len(h.platform.sent) == 1  # it left, but "sent" was never written
    store.journal.close()  # the process died: the files hold what was committed
    store._lock.release()

    store2 = TinyDBStore(db)
    h2 = make(store2, start=h.clock.now())
    await h2.jobs.run_due()
    await h2.run(timedelta(hours=1))
    assert len(h2.platform.sent) == 1  # the documented single resend
    assert "5%" in h2.texts()[0]
    StoreView(store2).close()
    store3 = TinyDBStore(db)
    h3 = make(store3, start=h2.clock.now())
    await h3.jobs.run_due()
    await h3.run(timedelta(hours=1))
    assert h3.platform.sent == []  # never a second resend
    StoreView(store3).close()


async def test_a_kill_in_the_middle_of_the_alerts_unit_loses_no_alert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The alert and its "announced" mark are one unit, one journal record. A process that
    dies half-way through writing that record leaves a torn tail: dropped at the next start,
    so neither is on disk, the line is looked at again and the alert still comes, once."""
    db = str(tmp_path / "bot.json")
    store = TinyDBStore(db)
    h = make(store)
    await h.link("DEMO20", "mom")  # "5 %" is crossed at about 16:11
    await h.run_to(T0 + timedelta(hours=8))
    real_append = Journal.append

    def half_then_die(self: Journal, seq: int, ops: Any) -> None:
        if any(table == "outbox" and doc is not None for table, _key, doc in ops):
            record = json.dumps([seq, ops]).encode()
            os.write(self._fd, b"%08x " % zlib.crc32(record) + record[: len(record) // 2])
            raise Crash
        real_append(self, seq, ops)

    monkeypatch.setattr(Journal, "append", half_then_die)
    with pytest.raises(Crash):
        await h.run(timedelta(hours=1))
    monkeypatch.setattr(Journal, "append", real_append)
    assert h.platform.sent == []
    store.journal.close()
    store._lock.release()  # the process is gone

    store2 = TinyDBStore(db)
    h2 = make(store2, start=h.clock.now())
    await h2.jobs.run_due()
    await h2.run(timedelta(hours=2))
    assert kinds(h2) == ["data"], "the alert was lost"
    StoreView(store2).close()
