"""The start's memoised document check refuses exactly what ``check_document`` refuses, even
after it has seen the same fields pass, and shares only values equal in type and value."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.errors import StoreError
from bot.records import Household, Line, to_doc
from bot.store import snapshot

T0 = datetime(2026, 1, 1, 8, tzinfo=UTC)
LINE = to_doc(Line(id="a", household_id="h", label="x", owner="u", owner_name="A", provider="demo", ref="r", created_at=T0))
HOUSEHOLD = to_doc(Household(id="h", is_group=False, created_at=T0))
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("lines", {k: v for k, v in LINE.items() if k != "label"}),
    ("lines", {**LINE, "created_at": 12}),
    ("lines", {**LINE, "created_at": True}),
    ("lines", {**LINE, "created_at": "2026-13-01"}),
    (
        "households",
        {**HOUSEHOLD, "reminders": {**HOUSEHOLD["reminders"], "data_percent": "20"}},
    ),  # accepted by both (a string is a sequence)
    ("households", {**HOUSEHOLD, "reminders": 5}),
    ("households", {**HOUSEHOLD, "created_at": None}),  # accepted by both: the decoders allow None
    ("lines", {**LINE, "label": 5}),  # accepted by both: a plain field is not type-checked
    ("schedule", {"at": 5}),
    ("samples", {"base": 0, "pts": "AAA"}),
    ("linez", dict(LINE)),
]


def _refuses(check: Any, table: str, doc: dict[str, Any]) -> bool:
    try:
        check(table, dict(doc))
    except snapshot.DAMAGE:
        return True
    return False


@pytest.mark.parametrize(("table", "doc"), VARIANTS)
def test_the_checker_refuses_what_check_document_refuses_after_good_ones(table: str, doc: dict[str, Any]) -> None:
    checker = snapshot.Checker()
    for good in range(3):
        checker.check("lines", {**LINE, "id": f"l{good}", "_key": f"l{good}"})
        checker.check("households", dict(HOUSEHOLD))
        checker.check("schedule", {"at": T0.isoformat()})
    assert _refuses(checker.check, table, doc) == _refuses(snapshot.check_document, table, doc)


def test_most_variants_are_damage() -> None:
    assert sum(_refuses(snapshot.check_document, t, d) for t, d in VARIANTS) == len(VARIANTS) - 3


def test_equal_values_are_shared_and_values_of_another_type_are_not() -> None:
    checker = snapshot.Checker()
    first, second = dict(HOUSEHOLD), {**HOUSEHOLD, "timezone": "Europe/" + "Oslo"}
    checker.check("households", first)
    checker.check("households", second)
    assert second["timezone"] is first["timezone"]
    flag, one = {**LINE, "reminders": None, "owner_name": "1"}, {**LINE, "owner_name": "1"}
    checker.check("lines", flag)
    checker.check("lines", one)
    assert second == {**HOUSEHOLD, "timezone": "Europe/Oslo"} and one == {**LINE, "owner_name": "1"}


@pytest.mark.parametrize("raw", [b"", b" \n\t\r\x0b\x0c"])
def test_an_empty_snapshot_is_refused_naming_the_file(raw: bytes) -> None:
    with pytest.raises(StoreError, match=r"bot\.json: is empty"):
        snapshot.decode(Path("bot.json"), raw)
