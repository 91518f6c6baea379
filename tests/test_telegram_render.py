"""Telegram translation without a network: Update -> Incoming and Reply -> send_message parameters.

PTB objects are built from Bot API JSON with ``Update.de_json``, exactly as PTB parses
what Telegram sends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardMarkup, MessageEntity, ReplyParameters, Update

from bot.messages import Address, Choice, Reply
from bot.platforms.telegram.render import (
    MAX_MESSAGE,
    incoming_from_press,
    incoming_from_update,
    render,
    split_text,
)
from bot.router import parse

AT = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
BOT = Bot("123456:" + "A" * 35)
ME = "EsimTestBot"
ALICE = {"id": 7001, "is_bot": False, "first_name": "Alice", "last_name": "Berg", "language_code": "nb-NO"}
ANON = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
PRIVATE = {"id": 7001, "type": "private", "first_name": "Alice"}
GROUP = {"id": -4001, "type": "group", "title": "Family"}
SUPERGROUP = {"id": -1004001, "type": "supergroup", "title": "Family"}
CHANNEL = {"id": -1009999, "type": "channel", "title": "News"}


def update(
    kind: str = "message",
    *,
    chat: dict[str, Any] = PRIVATE,
    text: str | None = "/balance mom",
    sender: dict[str, Any] | None = ALICE,
    **extra: Any,
) -> Update:
    message: dict[str, Any] = {"message_id": 42, "date": 1772434800, "chat": chat, **extra}
    if sender is not None:
        message["from"] = sender
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    update = Update.de_json({"update_id": 1, kind: message}, BOT)
    assert update is not None
    return update


def incoming(upd: Update) -> Any:
    return incoming_from_update(upd, bot_username=ME, at=AT)


def test_private_message_becomes_an_incoming_from_an_admin() -> None:
    got = incoming(update())
    assert got.address == Address("telegram", "7001", "7001")
    assert (parse(got, "esimtestbot").command, parse(got, "esimtestbot").args) == ("balance", ("mom",))  # type: ignore[union-attr]
    assert got.text == "/balance mom" and got.at == AT
    assert got.language == "nb-NO" and got.display_name == "Alice Berg"
    assert not got.is_group and got.is_admin  # a private chat is a household of one
    assert got.extra["message_id"] == "42"


def test_private_plain_text_goes_to_the_router_as_text() -> None:
    got = incoming(update(text="hello"))
    assert got is not None and parse(got, "esimtestbot").command is None and got.text == "hello"  # type: ignore[union-attr]


@pytest.mark.parametrize("chat", [GROUP, SUPERGROUP])
def test_group_member_is_not_assumed_admin(chat: dict[str, Any]) -> None:
    got = incoming(update(chat=chat, text="/renew@EsimTestBot mom"))
    assert got.address == Address("telegram", str(chat["id"]), "7001")
    assert got.is_group and not got.is_admin  # the platform asks getChatAdministrators
    assert (parse(got, "esimtestbot").command, parse(got, "esimtestbot").args) == ("renew", ("mom",))  # type: ignore[union-attr]


@pytest.mark.parametrize("text", ["hello family", "/balance@OtherBot", "/renew@otherbot mom"])
def test_group_chatter_and_other_bots_commands_are_ignored(text: str) -> None:
    assert incoming(update(chat=SUPERGROUP, text=text)) is None


def test_other_bots_command_is_ignored_in_private_too() -> None:
    assert incoming(update(text="/start@OtherBot")) is None
    assert parse(incoming(update(text="/start@esimtestbot")), "esimtestbot").command == "start"  # type: ignore[union-attr]


def test_anonymous_group_admin_counts_as_admin() -> None:
    got = incoming(update(chat=SUPERGROUP, sender=ANON, text="/cap 500 NOK", sender_chat=SUPERGROUP))
    assert got.is_group and got.is_admin
    assert got.display_name == "Family"


def test_a_channel_speaking_in_a_group_is_not_an_admin() -> None:
    got = incoming(
        update(
            chat=SUPERGROUP,
            sender={"id": 136817688, "is_bot": True, "first_name": "Channel"},
            text="/cap 1 NOK",
            sender_chat=CHANNEL,
        )
    )
    assert got is not None and not got.is_admin


@pytest.mark.parametrize(
    "upd",
    [
        update("channel_post", chat=CHANNEL, sender=None, text="/balance"),
        update("edited_message", text="/balance", edit_date=1772434900),
        update(text=None, photo=[{"file_id": "x", "file_unique_id": "y", "width": 9, "height": 9}]),
        update(text=None, caption="/balance", photo=[{"file_id": "x", "file_unique_id": "y", "width": 9, "height": 9}]),
        update(text=None, migrate_to_chat_id=-1004001),
        update(text="/start", sender=None),
    ],
)
def test_not_a_message_for_the_bot(upd: Update) -> None:
    assert incoming(upd) is None


def test_unknown_update_kind_parses_and_is_ignored() -> None:
    upd = Update.de_json({"update_id": 9, "something_new": {"x": 1}}, BOT)
    assert upd is not None and incoming(upd) is None


def test_a_press_is_the_command_typed_by_the_presser() -> None:
    upd = Update.de_json(
        {
            "update_id": 2,
            "callback_query": {
                "id": "5",
                "from": {"id": 7002, "is_bot": False, "first_name": "Bob", "language_code": "zh-hans"},
                "chat_instance": "1",
                "data": "/confirm AbCdEfGh",
                "message": {
                    "message_id": 77,
                    "date": 1772434800,
                    "chat": SUPERGROUP,
                    "text": "Top up?",
                    "from": {"id": 666, "is_bot": True, "first_name": "Bot"},
                },
            },
        },
        BOT,
    )
    assert upd is not None and upd.callback_query is not None
    got = incoming_from_press(upd.callback_query, "/confirm AbCdEfGh", bot_username=ME, at=AT)
    assert got is not None
    assert got.address == Address("telegram", "-1004001", "7002")
    assert (parse(got, "esimtestbot").command, parse(got, "esimtestbot").args) == ("confirm", ("AbCdEfGh",))  # type: ignore[union-attr]
    assert got.is_group and not got.is_admin and got.language == "zh-hans"
    assert incoming_from_press(upd.callback_query, "not a command", bot_username=ME, at=AT) is None


def _data(command: str) -> str:
    return command


def test_plain_reply_parameters() -> None:
    calls = render(Reply("Hi <b>*mom_1*</b>"), 7001, button_data=_data).send_kwargs()
    assert len(calls) == 1
    kw = calls[0]
    assert kw["chat_id"] == 7001 and kw["text"] == "Hi <b>*mom_1*</b>"  # sent as is: no parse_mode to break
    assert "parse_mode" not in kw and "reply_markup" not in kw and "reply_parameters" not in kw
    assert kw["disable_notification"] is False
    assert kw["link_preview_options"].is_disabled


def test_silent_reply_does_not_notify() -> None:
    assert render(Reply("x", silent=True), 1, button_data=_data).send_kwargs()[0]["disable_notification"] is True


def test_group_reply_quotes_the_command() -> None:
    kw = render(Reply("x"), -4001, button_data=_data, quote=42).send_kwargs()[0]
    assert kw["reply_parameters"] == ReplyParameters(42)
    assert kw["reply_parameters"].allow_sending_without_reply


def test_choices_become_inline_buttons_with_the_command_as_data() -> None:
    reply = Reply("Top up mom?", choices=(Choice("Buy for NOK 49", "/confirm AbCdEfGh"), Choice("Cancel", "/cancel AbCdEfGh")))
    kw = render(reply, 1, button_data=lambda c: c.upper()).send_kwargs()[0]
    markup = kw["reply_markup"]
    assert isinstance(markup, InlineKeyboardMarkup)
    assert [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard] == [
        [("Buy for NOK 49", "/CONFIRM ABCDEFGH")],
        [("Cancel", "/CANCEL ABCDEFGH")],
    ]


def test_mention_is_a_text_mention_of_the_owner() -> None:
    out = render(Reply("⚠️ mom: 5% left", mention="telegram:7001"), -4001, button_data=_data, mention_name="李👩")
    kw = out.send_kwargs()[0]
    assert kw["text"] == "李👩\n⚠️ mom: 5% left"
    (entity,) = kw["entities"]
    assert entity.type == MessageEntity.TEXT_MENTION and entity.offset == 0
    assert entity.length == 3  # UTF-16 code units: 李 is one, the emoji two
    assert entity.user.id == 7001


def test_mention_of_an_unknown_name_still_notifies() -> None:
    kw = render(Reply("alert", mention="7001"), -4001, button_data=_data).send_kwargs()[0]
    assert kw["text"].endswith("\nalert") and kw["entities"][0].user.id == 7001


def test_long_text_is_split_with_the_buttons_on_the_last_part() -> None:
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(100))
    out = render(Reply(text, choices=(Choice("More", "/balance"),)), -4001, button_data=_data, quote=3)
    calls = out.send_kwargs()
    assert len(calls) == 3 and all(len(c["text"]) <= MAX_MESSAGE for c in calls)
    assert "\n".join(c["text"] for c in calls) == text
    assert "reply_parameters" in calls[0] and "reply_parameters" not in calls[1]
    assert "reply_markup" in calls[-1] and "reply_markup" not in calls[0]


def test_split_text_cuts_one_huge_line() -> None:
    assert [len(p) for p in split_text("x" * 9000)] == [4096, 4096, 808]


def test_edit_shows_the_outcome_and_drops_the_old_buttons() -> None:
    kw = render(Reply("✅ Renewed"), -4001, button_data=_data).edit_kwargs(77)
    assert kw == {
        "chat_id": -4001,
        "message_id": 77,
        "text": "✅ Renewed",
        "link_preview_options": kw["link_preview_options"],
        "reply_markup": None,
    }
    kw = render(Reply("Top up?", choices=(Choice("Yes", "/confirm x"),)), -4001, button_data=_data).edit_kwargs(77)
    assert kw["reply_markup"].inline_keyboard[0][0].callback_data == "/confirm x"


def test_a_group_carries_its_title_and_a_private_chat_none() -> None:
    assert incoming(update(chat=SUPERGROUP, text="/family@EsimTestBot")).chat_title == "Family"
    assert incoming(update()).chat_title == ""  # a private chat's "title" is the person: not a chat title
