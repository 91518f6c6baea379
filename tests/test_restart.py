"""The data file across restarts (design.md section 8): everything kept, one process per
file, and a corrupt file stops the start with a clear message and is never overwritten."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.__main__ import main
from tests.conftest import DEMO, ConsoleProcess, fixed_part, replies, run_bot

GROUP = {"chat": "fam", "user": "anna", "group": True, "admin": True, "name": "Anna"}
PRIVATE = {"chat": "li", "user": "li", "name": "Li"}


def _one(out: list[dict[str, object]]) -> str:
    out = replies(out)
    assert len(out) == 1, out
    return str(out[0]["text"])


def test_restart_keeps_everything(tmp_path: Path, console_factory: Callable[..., ConsoleProcess]) -> None:
    db = tmp_path / "bot.json"
    first = console_factory(db, start="2026-01-01T08:00:00Z")
    # a private household: user language, a line, a cap and an order
    assert fixed_part("lang.set", "zh") in _one(first.send({**PRIVATE, "text": "/lang zh"}))
    _one(first.send({**PRIVATE, "text": f"/link {DEMO['DEMO20']} DEMO20 mom"}))
    _one(first.send({**PRIVATE, "text": "/cap 500 NOK"}))
    offer = replies(first.send({**PRIVATE, "text": "/renew mom"}))[0]
    ask = replies(first.send({**PRIVATE, "text": offer["choices"][0]["command"]}))[0]
    confirm = ask["choices"][0]["command"]
    assert fixed_part("renew.done", "zh") in _one(first.send({**PRIVATE, "text": confirm}))
    # a family: household language, a line with its own reminder settings, quiet hours
    _one(first.send({**GROUP, "text": f"/link {DEMO['DEMO12']} DEMO12 dad"}))
    _one(first.send({**GROUP, "text": "/lang nb"}))
    _one(first.send({**GROUP, "text": "/remind dad data 30%"}))
    _one(first.send({**GROUP, "text": "/remind quiet 23:00-07:00"}))
    _one(first.send({**GROUP, "text": "/remind off"}))
    first.close()

    # one day later, a new process on the same file
    second = console_factory(db, start="2026-01-02T08:00:00Z")
    lines = _one(second.send({**PRIVATE, "text": "/lines"}))
    assert "mom" in lines and "89…0020" in lines
    assert fixed_part("lines.header", "zh").replace("{n}", "") in lines or "1" in lines
    # the order is kept: the same confirmation does not order again, and it counts as spent
    assert fixed_part("confirm.already_done", "zh") in _one(second.send({**PRIVATE, "text": confirm}))
    cap = _one(second.send({**PRIVATE, "text": "/cap"}))
    assert "500.00 挪威克朗" in cap and "49.00 挪威克朗" in cap
    # the simulation continues from the same day 0: 409.6 MB + 1 GB - 300 MB = 1133 MB of 6 GB,
    # expiring day 12 + 7 = Jan 20 (a new day 0 would say 1.3 GB and Jan 21)
    mom = _one(second.send({**PRIVATE, "text": "/balance mom"}))
    assert "剩余1.1 GB（共6 GB）" in mom or ("1.1 GB" in mom and "6 GB" in mom), mom
    assert "2026年1月20日" in mom and "18 天后" in mom

    # the family: language, the line's settings, quiet hours and off switch
    assert "1 linje" in _one(second.send({**GROUP, "text": "/lines"}))
    remind = _one(second.send({**GROUP, "text": "/remind dad"}))
    assert "30" in remind and "%" in remind and "20 %" not in remind
    household = _one(second.send({**GROUP, "text": "/remind"}))
    assert "kl. 23.00–07.00" in household
    assert fixed_part("remind.off", "nb") in household
    dad = _one(second.send({**GROUP, "text": "/balance dad"}))
    assert "7,2 GB igjen av 10 GB" in dad  # 7.5 GB - 300 MB
    assert "21. jan. 2026" in dad
    second.close()


def test_day_zero_is_when_the_file_was_created(tmp_path: Path, console_factory: Callable[..., ConsoleProcess]) -> None:
    db = tmp_path / "bot.json"
    console_factory(db, start="2026-03-01T08:00:00Z").close()  # creates the file, links nothing
    later = console_factory(db, start="2026-03-03T08:00:00Z")
    text = _one(later.say(f"/link {DEMO['DEMO12']} DEMO12 dad", lang="en"))
    # two simulated days have passed since day 0: 7.5 GB - 600 MB = 6.9 GB, expiry day 20 = Mar 21
    assert "6.9 GB left of 10 GB" in text and "21 Mar 2026" in text and "in 18 days" in text
    later.close()


def test_a_second_process_on_the_same_file_exits_with_a_clear_message(
    tmp_path: Path, console_factory: Callable[..., ConsoleProcess]
) -> None:
    db = tmp_path / "bot.json"
    first = console_factory(db)
    first.say("/start")  # up and holding the lock
    before = db.read_bytes()
    second = run_bot(["console", "--jsonl", "--db", str(db)], stdin=json.dumps({"chat": "c", "user": "u", "text": "/start"}))
    assert second.returncode != 0
    assert str(db) in second.stderr and "another" in second.stderr.lower()
    assert "Traceback" not in second.stderr
    assert second.stdout == ""
    assert db.read_bytes() == before
    assert len(first.say("/lines")) == 1  # the first one is unharmed
    first.close()
    # once the first has exited, the file can be opened again
    third = run_bot(["console", "--jsonl", "--db", str(db)])
    assert third.returncode == 0, third.stderr


CORRUPT = {
    "truncated": b'{"households": {"1": {"id": "console:c1", "is_g',
    "binary": b"\xff\xfe\x00\x01\x02garbage",
    "not an object": b"[1, 2, 3]",
    "null": b"null",
}
WRONG_SHAPE = {
    "table is a number": b'{"lines": 5}',
    "document is a number": b'{"lines": {"1": 5}}',
    "document without key": b'{"lines": {"1": {"household_id": "x"}}}',
}


def _start_in_process(db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``bot.__main__.main`` in this process (the same start path, without a second interpreter)."""
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "MATRIX_", "AIRALO_", "ESIM", "DB_", "PROVIDERS", "DEFAULT_", "WEB_", "LOG_")):
            monkeypatch.delenv(name)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        rc = main(["console", "--jsonl", "--db", str(db)])
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    captured = capsys.readouterr()
    assert captured.out == ""
    return rc, captured.err


def _assert_refused(
    db: Path, content: bytes, monkeypatch: pytest.MonkeyPatch | None = None, capsys: pytest.CaptureFixture[str] | None = None
) -> None:
    db.write_bytes(content)
    if monkeypatch is None or capsys is None:
        result = run_bot(
            ["console", "--jsonl", "--db", str(db)], stdin=json.dumps({"chat": "c", "user": "u", "text": "/start"}) + "\n"
        )
        assert result.stdout == ""
        rc, err = result.returncode, result.stderr
    else:
        rc, err = _start_in_process(db, monkeypatch, capsys)
    assert rc != 0
    assert str(db) in err, err
    assert "Traceback" not in err, err
    assert db.read_bytes() == content  # byte for byte
    assert sorted(p.name for p in db.parent.iterdir()) == ["bot.json", "bot.json.lock"]  # no temp files


def test_a_truncated_file_stops_a_real_start(tmp_path: Path) -> None:
    _assert_refused(tmp_path / "bot.json", CORRUPT["truncated"])


@pytest.mark.parametrize("content", list(CORRUPT.values()), ids=list(CORRUPT))
def test_a_corrupt_file_stops_the_start_and_is_left_untouched(
    tmp_path: Path, content: bytes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _assert_refused(tmp_path / "bot.json", content, monkeypatch, capsys)


@pytest.mark.parametrize("content", list(WRONG_SHAPE.values()), ids=list(WRONG_SHAPE))
def test_a_file_with_the_wrong_shape_stops_the_start_clearly(
    tmp_path: Path, content: bytes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _assert_refused(tmp_path / "bot.json", content, monkeypatch, capsys)


def test_a_newer_schema_stops_the_start_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    content = b'{"meta": {"1": {"schema": 99, "shards": 32}}}'
    _assert_refused(tmp_path / "bot.json", content, monkeypatch, capsys)


def test_a_directory_in_place_of_the_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.json"
    db.mkdir()
    rc, err = _start_in_process(db, monkeypatch, capsys)
    assert rc != 0
    assert str(db) in err and "Traceback" not in err
    assert db.is_dir()


def test_schema_version_is_in_the_file(tmp_path: Path, console_factory: Callable[..., ConsoleProcess]) -> None:
    db = tmp_path / "bot.json"
    console_factory(db).close()
    data = json.loads(db.read_text(encoding="utf-8"))
    versions = [doc.get("schema") for doc in data["meta"].values()]
    assert versions == [2]
