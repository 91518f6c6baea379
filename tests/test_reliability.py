"""What the bot promises when things break: every refusal renders in every language with the
values it is raised with, a write that cannot be saved is said so and leaves nothing
half-done, and one bad input never ends the console."""

from __future__ import annotations

import ast
import errno
import logging
import os
import string
from pathlib import Path
from typing import Any

import pytest

from bot.app import LOCALES
from bot.errors import BotError, NotAllowed, NotLinked, RateLimitedUser, UsageError
from bot.i18n import SUPPORTED, Catalogs
from bot.store import TinyDBStore
from tests.conftest import ROOT, Bot, make_bot, run_bot
from tests.storeview import StoreView

CATALOGS = Catalogs.load(LOCALES)
RAISED = {cls.__name__: cls for cls in (BotError, UsageError, NotAllowed, NotLinked, RateLimitedUser)}


def _raises() -> list[tuple[str, int, str, set[str]]]:
    """(file, line, message id, keyword names) of every BotError raised in the code."""
    found = []
    for path in [*ROOT.joinpath("handlers").glob("*.py"), *ROOT.joinpath("bot").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in RAISED):
                continue
            literal = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            msgid = literal if isinstance(literal, str) else RAISED[node.func.id].msgid
            found.append((path.name, node.lineno, msgid, {k.arg for k in node.keywords if k.arg}))
    return found


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_refusal_renders_in_every_language_with_the_values_it_is_raised_with() -> None:
    raises = _raises()
    assert len(raises) > 40, "the scan found too few raises to be looking at the code"
    for file, line, msgid, given in raises:
        for lang in SUPPORTED:
            text = CATALOGS.translator(lang)._tr.gettext(msgid)
            assert text != msgid, f"{file}:{line}: {msgid} is not in the {lang} catalog"
            missing = _placeholders(text) - given - {"prefix"}  # the router adds the command prefix
            assert not missing, f"{file}:{line}: {msgid} in {lang} needs {missing} but is raised with {given}"


async def test_a_refusal_that_cannot_be_rendered_is_an_apology_and_the_bot_goes_on(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from dataclasses import replace

    async def broken(incoming: Any, ctx: Any) -> Any:
        raise BotError("left.not_manual")  # raised without the label its message needs

    bot.app.router.commands["lines"] = replace(bot.app.router.commands["lines"], handler=broken)
    with caplog.at_level(logging.ERROR):
        [reply] = await bot.send("/lines", lang="nb")
    assert reply.text.startswith(CATALOGS.translator("nb")("error.unexpected", ref="X").split("X")[0])
    assert [r for r in caplog.records if r.exc_info], "the trace goes to the log"
    assert "Removed" not in reply.text
    assert (await bot.send("/start", lang="nb"))[0].text  # and the next message is answered


async def test_a_change_that_cannot_be_saved_is_refused_in_the_readers_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = TinyDBStore(tmp_path / "bot.json")
    bot = make_bot(store)
    await bot.send("/lang zh")
    real = store.journal.append

    def disk_full(seq: int, ops: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.journal, "append", disk_full)
    with caplog.at_level(logging.ERROR, logger="bot.store.memory"):
        for label in ("a", "b", "c"):
            [reply] = await bot.send(f"/link manual telenor {label} 10 2027-01-31")
            assert reply.text == CATALOGS.translator("zh")("error.not_saved")
    assert len([r for r in caplog.records if "could not save" in r.message]) == 1, "one log line a minute at most"
    health = bot.app.health()
    assert health["ok"] is False and health["store"]["write_failures"] >= 3
    assert "esimbot_store_ok 0" in bot.app.metrics.render()
    [lines] = await bot.send("/lines")  # reads go on
    assert lines.text == CATALOGS.translator("zh")("lines.none", prefix="/")
    monkeypatch.setattr(store.journal, "append", real)
    [ok] = await bot.send("/link manual telenor a 10 2027-01-31")
    assert "a" in ok.text and bot.app.health()["store"]["ok"] is True
    await store.close()
    again = StoreView(TinyDBStore(tmp_path / "bot.json"))
    assert [line.label for line in again.lines("console:c1")] == ["a"]  # nothing of the refused ones
    again.close()


def test_one_bad_input_never_ends_the_console_and_eof_exits_0(tmp_path: Path) -> None:
    lines = [
        '{"chat": "c", "user": "u", "text": "/start"}',
        "not json",
        '{"advance": 5}',
        '{"chat": "c", "user": "u", "text": "' + "x" * 5000 + '"}',
        '{"chat": "c", "user": "u", "text": "/lines"}',
    ]
    result = run_bot(["console", "--jsonl", "--db", str(tmp_path / "bot.json")], stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count('{"idle": true}') == len(lines)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("lang", SUPPORTED)
async def test_a_manual_line_whose_entry_is_gone_gets_a_provider_sentence_not_a_crash(bot: Bot, lang: str) -> None:
    """The case from the field: a line without its hand-tracked figures, answered with /left
    and /balance, once raised KeyError('operator') while the error message was built."""
    await bot.send(f"/lang {lang}")
    await bot.send("/link manual telenor oma 10 2027-01-31")
    [line] = bot.store.lines("console:c1")
    bot.store.put_state("manual", line.ref, None)
    t = CATALOGS.translator(lang)
    for command in ("/left oma 2GB", "/balance oma"):
        [reply] = await bot.send(command)
        assert t("error.unexpected", ref="X").split("X")[0] not in reply.text, reply.text
        assert t("provider.operator") in reply.text, reply.text


async def test_a_command_that_changes_nothing_writes_nothing(tmp_path: Path) -> None:
    store = TinyDBStore(tmp_path / "bot.json")
    bot = make_bot(store)
    await bot.send("/link manual telenor oma 10 2027-01-31", lang="nb")
    journal = tmp_path / "bot.json.journal"
    before = journal.read_bytes()
    for command in ("/lines", "/remind", "/help", "/cap", "/howto telenor", "/lang"):
        await bot.send(command, lang="nb")
    assert journal.read_bytes() == before
    await bot.send("/lines", lang="zh")  # the platform reports another language: that is news
    assert journal.read_bytes() != before
    await store.close()


def test_a_read_only_file_system_at_start_is_refused_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.errors import StoreError

    db = tmp_path / "bot.json"
    TinyDBStore(db)._lock.release()
    real_open = os.open

    def read_only(path: Any, flags: int, *args: Any) -> int:
        if str(path).endswith(".journal") and flags & os.O_WRONLY:
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(path, flags, *args)

    monkeypatch.setattr("os.open", read_only)
    with pytest.raises(StoreError, match="read-only") as err:
        TinyDBStore(db)
    assert str(db) in str(err.value)
