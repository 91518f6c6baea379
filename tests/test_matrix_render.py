"""Reply -> Matrix event content, the pure helpers of the Matrix platform, error mapping,
and the saved session (0600, never shown)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.messages import Choice, Reply
from bot.platforms.base import RetryLater, TargetGone, Undeliverable
from bot.platforms.matrix import render as render
from bot.platforms.matrix.rooms import SeenEvents, creators_are_admins, creators_of, invite_allowed
from bot.platforms.matrix.send import raise_for
from bot.platforms.matrix.session import Backoff, Session, load_session, save_session

ALICE = "@alice:localhost"


def test_reply_is_a_notice_with_escaped_html_that_pings_nobody() -> None:
    content = render.reply_content(Reply("Tom & <b>Li</b>\nline 2"), in_reply_to="$cmd")
    assert content["msgtype"] == "m.notice"
    assert content["body"] == "Tom & <b>Li</b>\nline 2"
    assert content["format"] == "org.matrix.custom.html"
    assert content["formatted_body"] == "Tom &amp; &lt;b&gt;Li&lt;/b&gt;<br>line 2"
    assert content["m.mentions"] == {}
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$cmd"}}


def test_alert_is_text_with_an_intentional_mention() -> None:
    content = render.reply_content(Reply("⚠️ mom: 5% left", mention=ALICE), kind="alert", mention_name="Alice <3")
    assert content["msgtype"] == "m.text"
    assert content["m.mentions"] == {"user_ids": [ALICE]}
    assert content["body"] == "Alice <3: ⚠️ mom: 5% left"
    assert content["formatted_body"] == '<a href="https://matrix.to/#/@alice:localhost">Alice &lt;3</a>: ⚠️ mom: 5% left'
    assert "m.relates_to" not in content


def test_a_chinese_alert_mentions_with_a_full_width_colon() -> None:
    """Review 2026-12, Z21: "王芳：⚠️ 妈妈：…", never "王芳: " in a Chinese message."""
    content = render.reply_content(Reply("⚠️ 妈妈：流量仅剩 5%", mention=ALICE), kind="alert", mention_name="王芳")
    assert content["body"] == "王芳：⚠️ 妈妈：流量仅剩 5%"
    assert content["formatted_body"].endswith("</a>：⚠️ 妈妈：流量仅剩 5%")


def test_silent_alert_and_plain_alert_without_mention() -> None:
    assert render.reply_content(Reply("x", silent=True), kind="alert")["msgtype"] == "m.notice"
    plain = render.reply_content(Reply("x"), kind="alert")
    assert plain["msgtype"] == "m.text" and plain["m.mentions"] == {}


def test_choices_are_a_numbered_list() -> None:
    reply = Reply("Top-ups for mom:", choices=(Choice("1 GB · 49 kr", "!buy a 1"), Choice("<5 GB>", "!buy a 5")))
    content = render.reply_content(reply)
    assert content["body"] == "Top-ups for mom:\n\n1\ufe0f\u20e3 !1 · 1 GB · 49 kr\n2\ufe0f\u20e3 !2 · <5 GB>"
    assert content["formatted_body"].endswith("2\ufe0f\u20e3 <code>!2</code> · &lt;5 GB&gt;")
    many = render.reply_content(Reply("pick", choices=tuple(Choice(str(i), f"!c {i}") for i in range(12))))
    assert many["body"].count("\n") == 2 + render.MAX_CHOICES - 1 and "🔟 !10 · 9" in many["body"]


def test_reply_in_a_thread_stays_in_the_thread() -> None:
    content = render.reply_content(Reply("x"), in_reply_to="$cmd", thread="$root")
    assert content["m.relates_to"] == {
        "rel_type": "m.thread",
        "event_id": "$root",
        "is_falling_back": False,
        "m.in_reply_to": {"event_id": "$cmd"},
    }


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("> <@a:b> hi\n> there\n\n!balance", "!balance"),
        ("> <@a:b> hi\n!balance", "!balance"),
        (">\n> quoted\n\n!lines", "!lines"),
        ("!balance", "!balance"),
        ("> only a quote", ""),
    ],
)
def test_strip_fallback(body: str, expected: str) -> None:
    assert render.strip_fallback(body) == expected


def test_message_text_keeps_quotes_that_are_not_reply_fallbacks() -> None:
    assert render.message_text({"body": "> not a reply\n!x"}) == "> not a reply\n!x"


def test_edits_are_recognised() -> None:
    assert render.is_edit({"m.relates_to": {"rel_type": "m.replace", "event_id": "$e"}})
    assert render.is_edit({"m.new_content": {}})
    assert not render.is_edit({"m.relates_to": {"m.in_reply_to": {"event_id": "$e"}}})


@pytest.mark.parametrize(("text", "n"), [("!1", 1), ("/2", 2), ("！３", 3), (" !10 ", 10), ("!1 a", None), ("1", None)])
def test_pick_number(text: str, n: int | None) -> None:
    assert render.pick_number(text) == n


def test_pick_reaction() -> None:
    assert render.pick_reaction("1\ufe0f\u20e3") == 1
    assert render.pick_reaction("3\u20e3") == 3
    assert render.pick_reaction("🔟") == 10
    assert render.pick_reaction("👍") is None


def test_room_version_rules() -> None:
    assert [creators_are_admins(v) for v in ("1", "11", "12", "13", "org.matrix.hydra.11")] == [False] * 2 + [True] * 3
    event = {"sender": ALICE, "content": {"additional_creators": ["@bob:x", 5], "room_version": "12"}}
    assert creators_of(event) == {ALICE, "@bob:x"}


def test_invite_allowed() -> None:
    assert invite_allowed("@li:example.org", ())
    assert invite_allowed("@li:example.org", ("example.org",))
    assert invite_allowed("@li:Example.org", (":example.org",))
    assert invite_allowed("@li:example.org", ("@li:example.org",))
    assert not invite_allowed("@li:evil.org", ("example.org", "@li:example.org"))
    assert not invite_allowed("@li:example.org.evil", ("example.org",))


@pytest.mark.parametrize(
    ("code", "retry_ms", "error", "after"),
    [
        ("M_LIMIT_EXCEEDED", 2500, RetryLater, 2.5),
        ("M_LIMIT_EXCEEDED", None, RetryLater, 5.0),
        ("M_FORBIDDEN", None, TargetGone, None),
        (None, None, RetryLater, 10.0),
        ("M_TOO_LARGE", None, Undeliverable, None),
    ],
)
def test_send_errors_map_onto_delivery_errors(
    code: str | None, retry_ms: int | None, error: type[Exception], after: float | None
) -> None:
    with pytest.raises(error) as caught:
        raise_for(code, retry_ms)
    if after is not None:
        assert isinstance(caught.value, RetryLater) and caught.value.retry_after == after


def test_session_file_is_private_and_per_user(tmp_path: Path) -> None:
    session = Session("http://hs", ALICE, "DEVICE", "syt_secret_token")
    save_session(tmp_path, session)
    assert stat.S_IMODE((tmp_path / "session.json").stat().st_mode) == 0o600
    assert load_session(tmp_path, "http://hs", ALICE) == session
    assert load_session(tmp_path, "http://hs", "@bob:localhost") is None
    assert load_session(tmp_path, "http://other", ALICE) is None
    assert "syt_secret_token" not in repr(session)
    (tmp_path / "session.json").write_text("{not json")
    assert load_session(tmp_path, "http://hs", ALICE) is None


def test_backoff_doubles_up_to_a_minute_and_resets() -> None:
    backoff = Backoff()
    assert [backoff.next() for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    backoff.reset()
    assert backoff.next() == 1


def test_an_event_is_handled_once_and_only_the_newest_ids_are_remembered() -> None:
    seen = SeenEvents(size=2)
    assert [seen.first_time(e) for e in ("$a", "$a", "$b", "$c")] == [True, False, True, True]
    assert seen.first_time("$c") is False and seen.first_time("$b") is False
    assert seen.first_time("$a") is True  # forgotten: the oldest of three with room for two
