"""Logs never leak (design.md section 4): configured secrets, bot tokens and full ICCIDs
are masked in every record, exception traces included."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from bot import logs
from bot.logs import RedactingFilter
from tests.conftest import DEMO, FULL_ICCID, clean_env, run_bot

SECRET = "airalo-secret-Zx81"
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw_"
ICCID20 = "89470000000000000123"
ICCID22 = "8947000000000000000123"


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter([SECRET, "short", ""]))
    log = logging.getLogger("test.redaction")
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.DEBUG)
    yield log, out
    log.handlers.clear()


def test_configured_secrets_are_masked(capture: tuple[logging.Logger, io.StringIO]) -> None:
    log, out = capture
    log.info("calling with %s and key=%s", SECRET, SECRET + "-suffix")
    log.warning(f"inline {SECRET}")
    text = out.getvalue()
    assert SECRET not in text and text.count("***") == 3


def test_short_secrets_are_not_used_for_masking(capture: tuple[logging.Logger, io.StringIO]) -> None:
    log, out = capture
    log.info("a short word stays")
    assert "a short word stays" in out.getvalue()


def test_longer_secret_wins_over_one_inside_it() -> None:
    f = RedactingFilter(["abcdef", "abcdefghij"])
    assert f.redact("x abcdefghij y") == "x *** y"


def test_bot_tokens_are_masked_even_unconfigured(capture: tuple[logging.Logger, io.StringIO]) -> None:
    log, out = capture
    log.info("POST https://api.telegram.org/bot%s/sendMessage", TOKEN)
    assert TOKEN not in out.getvalue() and "AAHdqTcv" not in out.getvalue()


@pytest.mark.parametrize("iccid", [ICCID20, ICCID22])
def test_long_iccids_are_masked(capture: tuple[logging.Logger, io.StringIO], iccid: str) -> None:
    log, out = capture
    log.info("balance of %s: ok; again iccid=%s,", iccid, iccid)
    text = out.getvalue()
    assert iccid not in text and not FULL_ICCID.search(text)
    assert text.count(f"89…{iccid[-4:]}") == 2


@pytest.mark.parametrize("iccid", [DEMO["DEMO12"], "894700000000000001"])
def test_19_and_18_digit_iccids_are_masked(capture: tuple[logging.Logger, io.StringIO], iccid: str) -> None:
    log, out = capture
    log.info("balance of %s", iccid)
    assert iccid not in out.getvalue()
    assert f"89…{iccid[-4:]}" in out.getvalue()


def test_other_numbers_are_left_alone() -> None:
    f = RedactingFilter([])
    for text in ("order 4111111111111111 for 149 NOK", "took 12.5 ms", "port 8080", "ts 1767254400000", "phone +4791502445"):
        assert f.redact(text) == text


def test_exception_traces_are_masked(capture: tuple[logging.Logger, io.StringIO]) -> None:
    log, out = capture
    try:
        raise RuntimeError(f"provider said no to {ICCID20} with {SECRET} via {TOKEN}")
    except RuntimeError:
        log.exception("unexpected error, reference %s", "ab12cd34")
    text = out.getvalue()
    assert "Traceback" in text and "RuntimeError" in text and "ab12cd34" in text
    assert ICCID20 not in text and SECRET not in text and TOKEN not in text
    assert f"89…{ICCID20[-4:]}" in text


def test_exception_in_a_chained_cause_is_masked(capture: tuple[logging.Logger, io.StringIO]) -> None:
    log, out = capture
    try:
        try:
            raise KeyError(SECRET)
        except KeyError as exc:
            raise ValueError("wrapped") from exc
    except ValueError:
        log.error("failed", exc_info=True)
    assert SECRET not in out.getvalue() and "KeyError" in out.getvalue()


def test_setup_installs_the_filter_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        logs.setup("INFO", [SECRET])
        logging.getLogger("some.module").warning("secret=%s token=%s iccid=%s", SECRET, TOKEN, ICCID20)
        logging.getLogger("httpx").info("quiet below WARNING: %s", "should not show")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for noisy in ("httpx", "httpcore", "telegram", "nio", "aiohttp.access"):
            logging.getLogger(noisy).setLevel(logging.NOTSET)
    err = capsys.readouterr().err
    assert "secret=***" in err and "token=***" in err and "89…0123" in err
    assert SECRET not in err and TOKEN not in err and "should not show" not in err


def test_a_real_session_logs_no_iccid_or_code() -> None:
    """The console at DEBUG: what it logs while linking, failing and renewing."""
    script = [
        {"chat": "c1", "user": "u1", "text": f"/link {DEMO['DEMO20']} DEMO20 mom"},
        {"chat": "c1", "user": "u1", "text": f"/link {DEMO['DEMO12']} SECRETCODE1 dad"},
        {"chat": "c1", "user": "u1", "text": "/balance"},
        {"advance": "P2D"},
    ]
    stdin = "".join(json.dumps(x) + "\n" for x in script)
    result = run_bot(["console", "--jsonl", "--start", "2026-01-01T08:00:00Z"], env=clean_env(LOG_LEVEL="DEBUG"), stdin=stdin)
    assert result.returncode == 0, result.stderr
    assert "command link" in result.stderr  # it did log
    assert not FULL_ICCID.search(result.stderr)
    assert not re.search(r"DEMO20|SECRETCODE1", result.stderr)
