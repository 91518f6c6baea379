"""Updates the bot must shrug off, group migration, webhook mode and a second instance."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.processes import free_port, wait_for
from tests.e2e.telegram.client import ChatRef, Person, TelegramClient, private
from tests.e2e.telegram.conftest import BotProcess, new_token
from tests.e2e.telegram.test_private import tr

pytestmark = pytest.mark.e2e
KARI = Person(8001, "Kari", "nb")


def _message(chat: ChatRef, who: Person, message_id: int, **fields: object) -> dict[str, object]:
    return {"message_id": message_id, "date": int(time.time()), "chat": chat.chat(), "from": who.user(), **fields}


def _command(text: str) -> dict[str, object]:
    return {"text": text, "entities": [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]}


def test_bad_updates_are_ignored_without_error(start_bot: Callable[..., BotProcess]) -> None:
    bot = start_bot()
    tg, chat = bot.client, private(KARI)
    channel = {"id": -1009999, "type": "channel", "title": "News"}
    tg.send_update({"edited_message": {**_message(chat, KARI, 1, edit_date=int(time.time())), **_command("/start")}})
    tg.send_update({"channel_post": {"message_id": 2, "date": int(time.time()), "chat": channel, **_command("/start")}})
    tg.send_update(
        {"message": _message(chat, KARI, 3, photo=[{"file_id": "AgAD", "file_unique_id": "AQAD", "width": 90, "height": 90}])}
    )
    tg.send_update(
        {
            "message": _message(
                chat,
                KARI,
                4,
                sticker={
                    "file_id": "CAAD",
                    "file_unique_id": "AgAD",
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                },
            )
        }
    )
    tg.send_update({"future_kind_of_update": {"id": 5, "whatever": [1, 2, 3]}})
    tg.send_update({"message": {"message_id": 6, "date": int(time.time()), "chat": chat.chat(), **_command("/start")}})
    tg.send_update(
        {
            "callback_query": {
                "id": "77",
                "from": KARI.user(),
                "chat_instance": "1",
                "data": "#unknown",
                "message": _message(chat, KARI, 7, text="old"),
            }
        }
    )
    tg.say(KARI, chat, "/start")
    hello = tg.reply(chat)
    assert tr("nb")("start.hello", name="Kari") in hello["text"]
    assert tg.pending(chat) == []  # only the real /start was answered
    expired = wait_for(lambda: [a for a in tg.answers() if a["id"] == "77"] or None, "the expired press answered")
    assert expired[0]["text"] == tr("nb")("button.expired")


def test_group_becomes_supergroup_and_bot_removed(start_bot: Callable[..., BotProcess]) -> None:
    bot = start_bot()
    tg, t = bot.client, tr("nb")
    old, new = ChatRef(-4001, "group"), ChatRef(-1004001, "supergroup")
    tg.set_admins(old, KARI)
    tg.set_admins(new, KARI)
    assert tg.ask(KARI, old, "/link 8947000000000000012 DEMO12 far")["text"].startswith(
        t("link.done", label="far", iccid="89…0012")
    )
    tg.send_update({"message": _message(old, KARI, 50, migrate_to_chat_id=new.id)})
    tg.send_update({"message": _message(new, KARI, 1, migrate_from_chat_id=old.id)})
    lines = tg.ask(KARI, new, "/lines")
    assert "far" in lines["text"] and "89…0012" in lines["text"]  # the household moved with the chat
    me = {"id": 666, "is_bot": True, "first_name": "eSIM Test", "username": "EsimTestBot"}
    tg.send_update(
        {
            "my_chat_member": {
                "chat": new.chat(),
                "from": KARI.user(),
                "date": int(time.time()),
                "old_chat_member": {"status": "member", "user": me},
                "new_chat_member": {"status": "kicked", "user": me, "until_date": 0},
            }
        }
    )
    bot.wait_log("the bot was removed from a group")


def test_webhook_mode_checks_the_secret(start_bot: Callable[..., BotProcess]) -> None:
    port, secret = free_port(), secrets.token_urlsafe(24)
    url = f"http://127.0.0.1:{port}/telegram/{secrets.token_hex(8)}"
    bot = start_bot(
        wait="receives updates by webhook", WEB_PORT=str(port), TELEGRAM_WEBHOOK_URL=url, TELEGRAM_WEBHOOK_SECRET=secret
    )
    tg, chat = bot.client, private(KARI)
    assert tr("nb")("start.hello", name="Kari") in tg.ask(KARI, chat, "/start")["text"]
    update = {"update_id": 1, "message": {**_message(chat, KARI, 1), **_command("/start")}}
    assert httpx.post(url, json=update).status_code == 401
    assert httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}).status_code == 403
    assert httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}).status_code == 200
    assert tr("nb")("start.hello", name="Kari") in tg.reply(chat)["text"]
    assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200


def test_second_instance_exits_on_conflict(emulator: str, start_bot: Callable[..., BotProcess]) -> None:
    token = new_token()
    control = TelegramClient(emulator, token)
    control.http.post("/setConflict", json={"token": token}).raise_for_status()
    control.close()
    bot = start_bot(TELEGRAM_TOKEN=token, wait=None, expect_exit=True)
    code = wait_for(lambda: bot.proc.poll(), "the bot to exit after HTTP 409", deadline=30)
    log = bot.log_text()
    assert code == 3, log
    assert [line for line in log.splitlines() if "409" in line or "Conflict" in line] == [
        line for line in log.splitlines() if "another process is already polling" in line
    ]
    assert len([line for line in log.splitlines() if "409" in line]) == 1
    assert "Traceback" not in log
