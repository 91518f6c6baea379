"""One contract for every Store (bot/store.py docstring), run on MemoryStore and TinyDBStore.

Each round trip is checked on the open store and, for the file store, again after
``commit()`` + close + reopen: what was committed is what a restarted bot reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot import storage as storage_mod
from bot.errors import StoreError
from bot.records import AlertState, Household, Line, OrderRecord, Pending, ReminderSettings
from bot.storage import AtomicJSONStorage
from bot.store import MAX_SAMPLES, SCHEMA_VERSION, MemoryStore, TinyDBStore
from providers.base import EsimBalance, Money, Status

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


class Opened:
    """A store under test; ``reopen()`` commits, closes and opens the same data again."""

    def __init__(self, kind: str, path: Path) -> None:
        self.kind, self.path = kind, path
        self.store: Any = MemoryStore() if kind == "memory" else TinyDBStore(str(path))

    def reopen(self) -> Any:
        if self.kind == "memory":
            return self.store
        self.store.commit()
        self.store.close()
        self.store = TinyDBStore(str(self.path))
        return self.store

    def both(self) -> Iterator[Any]:
        """The store now, then after a restart (the same object for memory)."""
        yield self.store
        if self.kind != "memory":
            yield self.reopen()


@pytest.fixture(params=["memory", "tinydb"])
def opened(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opened]:
    o = Opened(request.param, tmp_path / "bot.json")
    yield o
    o.store.close()


def line(n: int, household: str = "console:h1", **kw: Any) -> Line:
    fields: dict[str, Any] = {
        "id": f"line{n}", "household_id": household, "label": f"label {n}", "owner": "console:u1",
        "owner_name": "Li", "provider": "demo", "ref": f"894700000000000{n:04d}", "created_at": T0 + timedelta(minutes=n),
    }
    fields.update(kw)
    return Line(**fields)


def balance(minutes: int, remaining: int | None = 1000) -> EsimBalance:
    return EsimBalance(provider="demo", iccid="8947000000000000012", status=Status.ACTIVE,
                       as_of=T0 + timedelta(minutes=minutes), data_total_bytes=10_000, data_remaining_bytes=remaining,
                       expires_at=T0 + timedelta(days=20), activated_at=T0)


def test_missing_keys(opened: Opened) -> None:
    s = opened.store
    assert s.household("nope") is None
    assert s.user_language("nope") is None
    assert s.line("nope") is None
    assert s.lines("nope") == []
    assert list(s.all_lines()) == []
    assert s.line_by_ref("8947") is None
    assert s.link_failures_since("nope", T0) == 0
    assert s.pending("nope") is None
    assert s.order("nope") is None
    assert s.orders("nope") == []
    assert s.samples("nope") == []
    assert s.last_balance("nope") is None
    assert s.alert_state("nope") is None
    assert s.schedule() == {}
    assert s.outbox() == []
    assert s.get_state("ns", "nope") is None


def test_household_round_trip(opened: Opened) -> None:
    h = Household(id="console:fam", is_group=True, created_at=T0, language="nb", timezone="Asia/Shanghai",
                  quiet_start="23:00", quiet_end="07:30", cap=Money(Decimal("300.50"), "NOK"),
                  reminders=ReminderSettings(enabled=False, data_percent=(30,), data_bytes=(500 * 1024**2,),
                                             expiry_hours=(48,), target="both"))
    opened.store.save_household(h)
    for s in opened.both():
        got = s.household("console:fam")
        assert got == h
        assert isinstance(got.cap.amount, Decimal) and got.created_at.tzinfo is not None
    s.save_household(Household(id="console:fam", is_group=True, created_at=T0))
    for s in opened.both():
        assert s.household("console:fam").cap is None and s.household("console:fam").language is None


def test_user_language(opened: Opened) -> None:
    opened.store.set_user_language("console:u1", "zh")
    opened.store.set_user_language("console:u2", "nb")
    for s in opened.both():
        assert s.user_language("console:u1") == "zh" and s.user_language("console:u2") == "nb"
    s.set_user_language("console:u1", None)
    for s in opened.both():
        assert s.user_language("console:u1") is None


def test_lines_round_trip_index_and_delete(opened: Opened) -> None:
    a = line(2, reminders=ReminderSettings(data_percent=(10,)))
    b = line(1)
    c = line(3, household="console:h2")
    for x in (a, b, c):
        opened.store.save_line(x)
    for s in opened.both():
        assert s.line("line2") == a
        assert s.lines("console:h1") == [b, a]  # by creation time
        assert s.lines("console:h2") == [c]
        assert sorted(x.id for x in s.all_lines()) == ["line1", "line2", "line3"]
        assert s.line_by_ref(c.ref) == c
    # relabel and move keep the indexes right
    moved = Line(**{**a.__dict__, "label": "new", "household_id": "console:h2"})
    s.save_line(moved)
    for s in opened.both():
        assert [x.id for x in s.lines("console:h1")] == ["line1"]
        assert [x.id for x in s.lines("console:h2")] == ["line2", "line3"]
        assert s.line_by_ref(a.ref).label == "new"
    s.add_sample("line2", balance(1))
    s.save_alert_state("line2", AlertState(cycle_started=T0))
    s.set_due("line2", T0 + timedelta(hours=1))
    s.delete_line("line2")
    for s in opened.both():
        assert s.line("line2") is None and s.line_by_ref(a.ref) is None
        assert [x.id for x in s.lines("console:h2")] == ["line3"]
        assert s.samples("line2") == [] and s.last_balance("line2") is None
        assert s.alert_state("line2") is None and "line2" not in s.schedule()


def test_link_failures(opened: Opened) -> None:
    for minutes in (0, 10, 20, 70):
        opened.store.record_link_failure("console:m", T0 + timedelta(minutes=minutes))
    for s in opened.both():
        assert s.link_failures_since("console:m", T0) == 4
        assert s.link_failures_since("console:m", T0 + timedelta(minutes=15)) == 2
        assert s.link_failures_since("console:m", T0 + timedelta(hours=2)) == 0
        assert s.link_failures_since("console:other", T0) == 0


def test_pending_and_orders(opened: Opened) -> None:
    p = Pending(token="tok1", kind="topup", household_id="console:h1", line_id="line1", actor="console:u1",
                created_at=T0, plan_id="demo-1gb-7d", plan_title="1 GB", price=Money(Decimal("49"), "NOK"))
    opened.store.save_pending(p)
    o1 = OrderRecord(client_ref="tok1", household_id="console:h1", line_id="line1", provider="demo",
                     iccid="8947000000000000012", plan_id="demo-1gb-7d", status="PENDING",
                     created_at=T0 + timedelta(minutes=5), price=Money(Decimal("49.00"), "NOK"))
    o0 = OrderRecord(client_ref="tok0", household_id="console:h1", line_id="line1", provider="demo",
                     iccid="8947000000000000012", plan_id="demo-5gb-30d", status="COMPLETED", created_at=T0,
                     provider_order_id="x-1")
    other = OrderRecord(client_ref="tok9", household_id="console:h2", line_id="line9", provider="demo",
                        iccid="8947000000000000020", plan_id="demo-1gb-7d", status="FAILED", created_at=T0)
    for o in (o1, o0, other):
        opened.store.save_order(o)
    for s in opened.both():
        assert s.pending("tok1") == p
        assert s.order("tok1") == o1 and s.order("tok1").price.amount == Decimal("49.00")
        assert s.orders("console:h1") == [o0, o1]
        assert s.orders("console:h2") == [other]
    s.save_pending(Pending(**{**p.__dict__, "state": "done"}))
    s.save_order(OrderRecord(**{**o1.__dict__, "status": "COMPLETED", "provider_order_id": "x-2"}))
    for s in opened.both():
        assert s.pending("tok1").state == "done"
        assert s.order("tok1").status == "COMPLETED" and s.order("tok1").provider_order_id == "x-2"
        assert len(s.orders("console:h1")) == 2


def test_samples_are_bounded_oldest_dropped(opened: Opened) -> None:
    n = MAX_SAMPLES + 7
    for i in range(n):
        opened.store.add_sample("line1", balance(i, remaining=10_000 - i))
    for s in opened.both():
        got = s.samples("line1")
        assert len(got) == MAX_SAMPLES
        assert [x.as_of for x in got] == [T0 + timedelta(minutes=i) for i in range(n - MAX_SAMPLES, n)]
        assert got[-1].remaining == 10_000 - (n - 1)
        last = s.last_balance("line1")
        assert last == balance(n - 1, remaining=10_000 - (n - 1))
        assert last.status is Status.ACTIVE and last.as_of.tzinfo is not None


def test_samples_of_an_unlimited_line(opened: Opened) -> None:
    opened.store.add_sample("line1", balance(0, remaining=None))
    for s in opened.both():
        assert [x.remaining for x in s.samples("line1")] == [None]


def test_alert_state_and_schedule(opened: Opened) -> None:
    state = AlertState(cycle_started=T0, announced=("data:20", "expiry:72"), expires_at=T0 + timedelta(days=3),
                       total=10, remaining=2, last_as_of=T0)
    opened.store.save_alert_state("line1", state)
    opened.store.set_due("line1", T0 + timedelta(hours=1))
    opened.store.set_due("line2", T0 + timedelta(hours=2))
    for s in opened.both():
        assert s.alert_state("line1") == state
        assert s.schedule() == {"line1": T0 + timedelta(hours=1), "line2": T0 + timedelta(hours=2)}
    s.set_due("line1", T0 + timedelta(hours=5))
    s.set_due("line2", None)
    for s in opened.both():
        assert s.schedule() == {"line1": T0 + timedelta(hours=5)}


def test_state_values_round_trip(opened: Opened) -> None:
    values = {"day0": T0.isoformat(), "list": [{"at": "x", "plan": "p"}], "n": 3, "nested": {"a": [1, 2, None]},
              "unicode": "妈妈的 iPad ✓"}
    for key, value in values.items():
        opened.store.put_state("demo", key, value)
    opened.store.put_state("manual", "day0", "other namespace")
    for s in opened.both():
        for key, value in values.items():
            assert s.get_state("demo", key) == value
        assert s.get_state("manual", "day0") == "other namespace"
    s.put_state("demo", "n", 4)
    for s in opened.both():
        assert s.get_state("demo", "n") == 4


def test_move_household(opened: Opened) -> None:
    s = opened.store
    s.save_household(Household(id="telegram:-1", is_group=True, created_at=T0, language="zh"))
    s.save_line(line(1, household="telegram:-1"))
    s.save_order(OrderRecord(client_ref="r", household_id="telegram:-1", line_id="line1", provider="demo",
                             iccid="x", plan_id="p", status="COMPLETED", created_at=T0))
    s.save_pending(Pending(token="t", kind="unlink", household_id="telegram:-1", line_id="line1", actor="a",
                           created_at=T0))
    s.move_household("telegram:-1", "telegram:-100")
    for s in opened.both():
        assert s.household("telegram:-1") is None
        assert s.household("telegram:-100").language == "zh"
        assert [x.id for x in s.lines("telegram:-100")] == ["line1"] and s.lines("telegram:-1") == []
        assert [o.client_ref for o in s.orders("telegram:-100")] == ["r"]
        assert s.pending("t").household_id == "telegram:-100"


# --- the file store only --------------------------------------------------------------


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "bot.json"


def test_uncommitted_changes_are_not_on_disk_and_committed_ones_are(path: Path) -> None:
    s = TinyDBStore(str(path))
    s.set_user_language("console:u1", "zh")
    assert "console:u1" not in path.read_text(encoding="utf-8") + "".join(
        p.read_text(encoding="utf-8") for p in path.parent.rglob("*.json") if p != path)
    s.commit()
    on_disk = path.read_text(encoding="utf-8") + "".join(
        p.read_text(encoding="utf-8") for p in path.parent.rglob("*.json") if p != path)
    assert "console:u1" in on_disk
    s.close()


def test_schema_version_is_stored_in_the_file(path: Path) -> None:
    TinyDBStore(str(path)).close()
    data = json.loads(path.read_text(encoding="utf-8"))
    assert str(SCHEMA_VERSION) in json.dumps(data["meta"])
    assert any(SCHEMA_VERSION in doc.values() for doc in data["meta"].values())


def _count_disk_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    count = [0]
    real = AtomicJSONStorage.read

    def read(self: AtomicJSONStorage) -> Any:
        count[0] += 1
        return real(self)

    monkeypatch.setattr(AtomicJSONStorage, "read", read)
    return count


def test_reads_by_key_never_touch_the_disk(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = TinyDBStore(str(path))
    s.save_line(line(1))
    s.commit()
    reads = _count_disk_reads(monkeypatch)
    assert s.line("line1") == line(1)
    assert len(s.lines("console:h1")) == 1
    assert s.line_by_ref(line(1).ref) == line(1)
    assert s.household("nope") is None and s.pending("nope") is None
    assert reads[0] == 0
    s.close()


def test_scans_and_writes_never_touch_the_disk(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = TinyDBStore(str(path))
    s.commit()
    reads = _count_disk_reads(monkeypatch)
    list(s.all_lines())
    s.orders("console:h1")
    s.outbox()
    s.schedule()
    for i in range(20):
        s.set_user_language(f"console:u{i}", "zh")
    s.close()
    assert reads[0] == 0


def test_a_second_store_on_the_same_file_is_refused(path: Path) -> None:
    first = TinyDBStore(str(path))
    with pytest.raises(StoreError, match="another"):
        TinyDBStore(str(path))
    first.close()
    TinyDBStore(str(path)).close()  # free again once the first is closed


def test_a_corrupt_file_is_refused_and_untouched(path: Path) -> None:
    path.write_bytes(b'{"meta": {"1": {"sch')
    with pytest.raises(StoreError, match=str(path)):
        TinyDBStore(str(path))
    assert path.read_bytes() == b'{"meta": {"1": {"sch'
    TinyDBStore(str(tmp := path.with_name("other.json"))).close()  # the lock was released on failure
    assert tmp.exists()
    with pytest.raises(StoreError):
        TinyDBStore(str(path))  # and the lock of the corrupt one too


def _temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.suffix == ".tmp" or ".tmp" in p.name]


def _failing_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    real_dump = json.dump

    def dump(obj: Any, fh: Any, **kw: Any) -> None:
        text = json.dumps(obj, **kw)
        fh.write(text[: len(text) // 2])  # half of it is written ...
        raise OSError(28, "No space left on device")  # ... then the disk is full

    monkeypatch.setattr(storage_mod.json, "dump", dump)
    assert real_dump is not dump


def test_atomic_storage_keeps_the_old_file_when_a_write_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "data.json"
    st = AtomicJSONStorage(target)
    st.write({"t": {"1": {"v": "old"}}})
    before = target.read_bytes()
    _failing_dump(monkeypatch)
    with pytest.raises(OSError, match="No space"):
        st.write({"t": {"1": {"v": "new" * 1000}}})
    assert target.read_bytes() == before
    assert _temp_files(tmp_path) == []
    assert st.read() == {"t": {"1": {"v": "old"}}}


def test_store_commit_failure_leaves_the_committed_data(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = TinyDBStore(str(path))
    s.save_line(line(1))
    s.commit()
    files = {p: p.read_bytes() for p in path.parent.rglob("*.json")}
    s.save_line(line(1, label="renamed"))
    s.set_user_language("console:u9", "nb")
    with monkeypatch.context() as m:
        _failing_dump(m)
        with pytest.raises(OSError):
            s.commit()
    assert {p: p.read_bytes() for p in path.parent.rglob("*.json")} == files
    assert _temp_files(path.parent) == []
    s.commit()  # the disk has room again: the same changes go through
    s.close()
    again = TinyDBStore(str(path))
    assert again.line("line1").label == "renamed" and again.user_language("console:u9") == "nb"
    again.close()


def test_samples_bound_keeps_the_file_small(path: Path) -> None:
    def size() -> int:
        return sum(p.stat().st_size for p in path.parent.rglob("*.json"))

    s = TinyDBStore(str(path))
    for i in range(MAX_SAMPLES * 2):
        s.add_sample("line1", balance(i))
    s.commit()
    first = size()
    for i in range(MAX_SAMPLES * 2, MAX_SAMPLES * 20):
        s.add_sample("line1", balance(i))
    s.commit()
    s.close()
    assert size() <= first + 200  # the same number of samples, only the timestamps differ
