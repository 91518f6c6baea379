"""The Telegram platform in-process against a recording Bot API (a PTB BaseRequest, no network):
command menus, the webhook secret, replies, presses, admins, chat events and error mapping."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from telegram.request import BaseRequest, RequestData

from bot.app import ProviderState
from bot.i18n import Catalogs
from bot.messages import Address, Choice, Incoming, Picture, Reply
from bot.platforms.base import ChatMoved, RetryLater, TargetGone, Undeliverable
from bot.platforms.telegram.platform import TelegramPlatform
from bot.platforms.telegram.state import KeptState
from bot.router import parse
from bot.store import MemoryStore

CATALOGS = Catalogs.load(Path(__file__).resolve().parent.parent / "locales")
TOKEN = "123456:" + "B" * 35
SECRET = "s3cret-token"
HOOK = "https://bot.example.org/telegram/hook"
ME = {"id": 666, "is_bot": True, "first_name": "eSIM", "username": "EsimTestBot"}
FAMILY = {"id": -1004001, "type": "supergroup", "title": "Family"}


class FakeApi(BaseRequest):
    """Answers Bot API methods (or the error set in ``errors``) and records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.errors: dict[str, tuple[int, dict[str, Any]]] = {}
        self.admins: list[int] = []
        self._next_id = 100

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def last_id(self) -> int:
        """The message id of the last message sent."""
        return self._next_id

    def called(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[1]
        params = json.loads(json.dumps(request_data.parameters if request_data else {}, default=str))
        self.calls.append((name, params))
        if name in self.errors:
            status, body = self.errors[name]
            return status, json.dumps({"ok": False, "error_code": status, **body}).encode()
        return 200, json.dumps({"ok": True, "result": self._result(name, params)}).encode()

    def _result(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return ME
        if name == "getUpdates":
            return []
        if name in ("sendMessage", "editMessageText", "sendPhoto"):
            self._next_id += name != "editMessageText"
            chat = int(params["chat_id"])
            return {
                "message_id": params.get("message_id", self._next_id),
                "date": 1772434800,
                "from": ME,
                "chat": {"id": chat, "type": "private" if chat > 0 else "supergroup", "title": "F"},
                "text": params.get("text", params.get("caption", "")),
            }
        if name == "getChatAdministrators":
            return [
                {"status": "creator", "is_anonymous": False, "user": {"id": uid, "is_bot": False, "first_name": "A"}}
                for uid in self.admins
            ]
        return True


@dataclass
class Events:
    seen: list[tuple[str, ...]] = field(default_factory=list)

    async def chat_moved(self, platform: str, old_chat: str, new_chat: str) -> None:
        self.seen.append(("moved", platform, old_chat, new_chat))

    async def chat_left(self, platform: str, chat: str) -> None:
        self.seen.append(("left", platform, chat))

    async def user_unreachable(self, platform: str, user: str) -> None:
        self.seen.append(("unreachable", platform, user))


class Routes:
    def __init__(self) -> None:
        self.app = web.Application()

    def add_route(self, method: str, path: str, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> None:
        self.app.router.add_route(method, path, handler)


class Menu:
    commands: dict[str, Any]

    def __init__(self) -> None:
        @dataclass(frozen=True)
        class Cmd:
            name: str
            summary: str
            hidden: bool = False
            admin: bool = False

        self.commands = {
            "balance": Cmd("balance", "help.balance"),
            "confirm": Cmd("confirm", "help.confirm", True),
            "cap": Cmd("cap", "help.cap", admin=True),
        }
        self.catalogs = CATALOGS


@dataclass
class Rig:
    platform: TelegramPlatform
    api: FakeApi
    events: Events
    seen: list[Incoming]
    client: TestClient
    replies: list[list[Reply]]

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        response = await self.client.post("/telegram/hook", json=update, headers=headers)
        return response.status

    async def settle(self, count: int) -> None:
        """Wait (bounded) until the platform handed ``count`` messages to the core and sent the replies."""
        for _ in range(200):
            if len(self.seen) >= count and not len(self.platform._in_order):
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"only {len(self.seen)} of {count} messages reached the core")


@contextlib.asynccontextmanager
async def running(kept: KeptState | None = None) -> AsyncIterator[Rig]:
    """A started platform behind a test web server; two on one ``kept`` are two workers."""
    api, events, routes, seen = FakeApi(), Events(), Routes(), []
    replies: list[list[Reply]] = []
    platform = TelegramPlatform(
        token=TOKEN,
        now=lambda: datetime(2026, 3, 2, tzinfo=UTC),
        webhook_url=HOOK,
        webhook_secret=SECRET,
        web=routes,
        events=events,
        menu=Menu(),
        request=api,
        kept=kept,
    )

    async def handler(incoming: Incoming) -> list[Reply]:
        seen.append(incoming)
        return replies.pop(0) if replies else [Reply("ok")]

    async with TestClient(TestServer(routes.app)) as client:
        await platform.start(handler)
        try:
            yield Rig(platform, api, events, seen, client, replies)
        finally:
            await platform.stop()


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with running() as started:
        yield started


def _message(text: str, *, chat: dict[str, Any] | None = None, user: int = 7001, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message_id": 42,
        "date": 1772434800,
        "text": text,
        "chat": chat or {"id": user, "type": "private", "first_name": "A"},
        "from": {"id": user, "is_bot": False, "first_name": "Ann", "language_code": "zh"},
        **extra,
    }
    if text.startswith("/"):
        body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": 1, "message": body}


async def test_start_sets_the_menus_per_scope_and_language_and_the_webhook(rig: Rig) -> None:
    menus = {
        (p["scope"]["type"], p.get("language_code")): [c["command"] for c in p["commands"]]
        for p in rig.api.called("setMyCommands")
    }
    assert len(menus) == 16
    assert menus["all_group_chats", "nb"] == ["balance"] and menus["all_chat_administrators", "nb"] == ["balance", "cap"]
    assert menus["all_private_chats", None] == ["balance", "cap"] and menus["default", "zh"] == ["balance"]
    nb = next(p for p in rig.api.called("setMyCommands") if p.get("language_code") == "nb")
    assert nb["commands"][0] == {"command": "balance", "description": CATALOGS.translator("nb")("help.balance")}
    (hook,) = rig.api.called("setWebhook")
    assert hook["url"] == HOOK and hook["secret_token"] == SECRET
    assert rig.platform.username == "EsimTestBot"


async def test_webhook_refuses_a_missing_or_wrong_secret(rig: Rig) -> None:
    assert await rig.post(_message("/balance"), secret=None) == 401
    assert await rig.post(_message("/balance"), secret="guess") == 403
    broken = await rig.client.post("/telegram/hook", data=b"{", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert broken.status == 400
    assert rig.seen == []


async def test_an_update_while_the_platform_is_not_running_is_refused_for_a_retry(rig: Rig) -> None:
    await rig.platform.stop()  # starting or stopping: Telegram must send it again, to this or another worker
    assert await rig.post(_message("/balance")) == 503
    assert rig.seen == []


async def test_a_command_is_answered_in_its_chat(rig: Rig) -> None:
    rig.replies.append([Reply("Top up?", choices=(Choice("Yes", "/confirm AbCd"),), silent=True)])
    assert await rig.post(_message("/renew mom")) == 200
    await rig.settle(1)
    assert rig.seen[0].text.startswith("/renew") and rig.seen[0].is_admin and rig.seen[0].language == "zh"
    (sent,) = rig.api.called("sendMessage")
    assert sent["chat_id"] == 7001 and sent["text"] == "Top up?" and sent["disable_notification"] is True
    assert sent["reply_markup"] == {"inline_keyboard": [[{"text": "Yes", "callback_data": "/confirm AbCd"}]]}
    assert "reply_parameters" not in sent and "parse_mode" not in sent


async def test_group_admins_are_asked_once_and_the_command_is_quoted(rig: Rig) -> None:
    rig.api.admins = [7001]
    await rig.post(_message("/cap 5 NOK", chat=FAMILY))
    await rig.post(_message("/cap", chat=FAMILY, user=7002))
    await rig.settle(2)
    assert [i.is_admin for i in rig.seen] == [True, False]
    assert len(rig.api.called("getChatAdministrators")) == 1  # cached
    assert all(s["reply_parameters"]["message_id"] == 42 for s in rig.api.called("sendMessage"))


async def test_a_group_that_sets_its_language_gets_its_own_menus_in_it(rig: Rig) -> None:
    rig.api.admins = [7001]
    before = len(rig.api.called("setMyCommands"))
    rig.replies.append([Reply("Språk: norsk", chat_language="nb")])
    await rig.post(_message("/lang nb", chat=FAMILY))
    rig.replies.append([Reply("Balance")])
    await rig.post(_message("/balance", chat=FAMILY))
    await rig.settle(2)
    calls = rig.api.called("setMyCommands")[before:]
    assert [(c["scope"], c.get("language_code")) for c in calls] == [
        ({"type": "chat", "chat_id": FAMILY["id"]}, None),
        ({"type": "chat_administrators", "chat_id": FAMILY["id"]}, None),
    ]
    nb = CATALOGS.translator("nb")
    assert calls[1]["commands"] == [
        {"command": "balance", "description": nb("help.balance")},
        {"command": "cap", "description": nb("help.cap")},
    ]
    assert [c["command"] for c in calls[0]["commands"]] == ["balance"]


def _chat_menu_calls(rig: Rig) -> list[dict[str, Any]]:
    return [c for c in rig.api.called("setMyCommands") if c["scope"]["type"] in ("chat", "chat_administrators")]


async def test_a_groups_menus_are_set_once_per_language_across_restarts() -> None:
    kept = ProviderState(MemoryStore())
    async with running(kept) as first:
        first.replies += [[Reply("a", chat_language="zh")], [Reply("b", chat_language="zh")]]
        await first.post(_message("/balance", chat=FAMILY))
        await first.post(_message("/lines", chat=FAMILY))
        await first.settle(2)
        assert len(_chat_menu_calls(first)) == 2  # the second reply found them worded already
    async with running(kept) as second:  # a restart, or another worker: the store remembers
        second.replies += [[Reply("c", chat_language="zh")], [Reply("d", chat_language="nb")]]
        await second.post(_message("/balance", chat=FAMILY))
        await second.settle(1)
        assert _chat_menu_calls(second) == []
        await second.post(_message("/lang nb", chat=FAMILY))
        await second.settle(2)
        nb = CATALOGS.translator("nb")("help.balance")
        assert [c["commands"][0]["description"] for c in _chat_menu_calls(second)] == [nb, nb]


async def test_a_group_menu_refused_by_telegram_is_tried_again() -> None:
    async with running() as rig:
        rig.api.errors["setMyCommands"] = (400, {"description": "Bad Request: chat not found"})
        rig.replies += [[Reply("a", chat_language="zh")], [Reply("b", chat_language="zh")]]
        await rig.post(_message("/balance", chat=FAMILY))
        await rig.settle(1)
        del rig.api.errors["setMyCommands"]
        await rig.post(_message("/lines", chat=FAMILY))
        await rig.settle(2)
        assert len(_chat_menu_calls(rig)) == 2 + 2


async def test_a_language_set_in_a_private_chat_sets_no_chat_menu(rig: Rig) -> None:
    before = len(rig.api.called("setMyCommands"))
    rig.replies.append([Reply("Språk: norsk", chat_language="nb")])  # a private chat never says so; ignored if it did
    await rig.post(_message("/lang nb"))
    await rig.settle(1)
    assert len(rig.api.called("setMyCommands")) == before


async def _press(rig: Rig, data: str, *, user: int, message_id: int, chat: dict[str, Any]) -> None:
    await rig.post(
        {
            "update_id": 3,
            "callback_query": {
                "id": f"q{user}{message_id}{len(rig.seen)}",
                "chat_instance": "1",
                "data": data,
                "from": {"id": user, "is_bot": False, "first_name": "P"},
                "message": {"message_id": message_id, "date": 1772434800, "chat": chat, "text": "Top up?", "from": ME},
            },
        }
    )


async def test_press_by_the_asker_edits_by_another_member_replies(rig: Rig) -> None:
    rig.api.admins = [7001]
    rig.replies.append([Reply("Top up?", choices=(Choice("Yes", "/confirm AbCd"),))])
    await rig.post(_message("/renew mom", chat=FAMILY))
    await rig.settle(1)
    asked = rig.api.last_id
    rig.replies.append([Reply("Only the owner or an admin")])
    await _press(rig, "/confirm AbCd", user=7002, message_id=asked, chat=FAMILY)
    await rig.settle(2)
    assert rig.seen[1].address.user == "7002" and rig.seen[1].text.startswith("/confirm") and not rig.seen[1].is_admin
    assert rig.api.called("editMessageText") == []
    assert rig.api.called("sendMessage")[-1]["reply_parameters"]["message_id"] == asked
    rig.replies.append([Reply("✅ Renewed")])
    await _press(rig, "/confirm AbCd", user=7001, message_id=asked, chat=FAMILY)
    await rig.settle(3)
    (edit,) = rig.api.called("editMessageText")
    assert edit["message_id"] == asked and edit["text"] == "✅ Renewed" and "reply_markup" not in edit
    rig.replies.append([Reply("Already done")])
    await _press(rig, "/confirm AbCd", user=7001, message_id=asked, chat=FAMILY)
    await rig.settle(4)
    assert len(rig.api.called("editMessageText")) == 1  # the outcome stays; the answer is a new message
    assert len(rig.api.called("answerCallbackQuery")) == 3


async def test_long_commands_travel_as_tokens(rig: Rig) -> None:
    long = "/renew " + "妈妈的手机" * 5
    rig.replies.append([Reply("Which?", choices=(Choice("x", long),))])
    await rig.post(_message("/renew"))
    await rig.settle(1)
    data = rig.api.called("sendMessage")[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert len(data.encode()) <= 64 and data.startswith("#")
    await _press(rig, data, user=7001, message_id=rig.api.last_id, chat={"id": 7001, "type": "private", "first_name": "A"})
    await rig.settle(2)
    assert rig.seen[1].text == long and parse(rig.seen[1], None).args == ("妈妈的手机" * 5,)  # type: ignore[union-attr]


async def test_a_long_button_works_on_another_worker_and_after_a_restart() -> None:
    """The command behind a token is kept in the store: a press that reaches another worker
    (or the same bot after a restart) runs it, and a follow-up button (under a balance) is
    answered in a new message there too; a token nobody kept still says it expired."""
    kept = ProviderState(MemoryStore())
    long = "/usage " + "妈妈的手机" * 5
    private_chat = {"id": 7001, "type": "private", "first_name": "A"}
    async with running(kept) as first:
        first.replies.append([Reply("Balance", choices=(Choice("Chart", long), Choice("Top up", "/renew mom")), keep=True)])
        await first.post(_message("/balance"))
        await first.settle(1)
        [[chart], [top_up]] = first.api.called("sendMessage")[0]["reply_markup"]["inline_keyboard"]
        assert len(chart["callback_data"].encode()) <= 64 and top_up["callback_data"] == "+/renew mom"
    async with running(kept) as second:
        for n, button in enumerate((chart, top_up)):
            await _press(second, button["callback_data"], user=7001, message_id=100, chat=private_chat)
            await second.settle(n + 1)
        await _press(second, "#" + "A" * 20, user=7001, message_id=101, chat=private_chat)  # answered before 200
        assert [m.text for m in second.seen] == [long, "/renew mom"]
        assert second.api.called("editMessageText") == [] and len(second.api.called("sendMessage")) == 2
        expired = CATALOGS.translator("en")("button.expired")  # the presser's client sent no language
        answers = [a.get("text") for a in second.api.called("answerCallbackQuery")]
        assert answers == [None, None, expired], answers


async def test_migration_and_removal_become_chat_events(rig: Rig) -> None:
    old = {"id": -4001, "type": "group", "title": "F"}
    await rig.post(
        {
            "update_id": 4,
            "message": {
                "message_id": 5,
                "date": 1,
                "chat": old,
                "migrate_to_chat_id": -1004001,
                "from": {"id": 7001, "is_bot": False, "first_name": "A"},
            },
        }
    )
    await rig.post(
        {
            "update_id": 5,
            "message": {
                "message_id": 1,
                "date": 1,
                "chat": FAMILY,
                "migrate_from_chat_id": -4001,
                "from": {"id": 7001, "is_bot": False, "first_name": "A"},
            },
        }
    )
    for chat, status in ((FAMILY, "kicked"), ({"id": 7001, "type": "private", "first_name": "A"}, "kicked")):
        await rig.post(
            {
                "update_id": 6,
                "my_chat_member": {
                    "chat": chat,
                    "from": {"id": 7001, "is_bot": False, "first_name": "A"},
                    "date": 1,
                    "old_chat_member": {"status": "member", "user": ME},
                    "new_chat_member": {"status": status, "user": ME, "until_date": 0},
                },
            }
        )
    for _ in range(100):
        if len(rig.events.seen) >= 3:
            break
        await asyncio.sleep(0.01)
    assert rig.events.seen == [
        ("moved", "telegram", "-4001", "-1004001"),
        ("left", "telegram", "-1004001"),
        ("unreachable", "telegram", "7001"),
    ]


@pytest.mark.filterwarnings("ignore:.*retry_after:DeprecationWarning")  # raised inside PTB's RetryAfter
@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (429, {"description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}}, RetryLater),
        (403, {"description": "Forbidden: bot was blocked by the user"}, TargetGone),
        (400, {"description": "Bad Request: group chat was upgraded", "parameters": {"migrate_to_chat_id": -1009}}, ChatMoved),
        (400, {"description": "Bad Request: message text is empty"}, Undeliverable),
        (502, {"description": "Bad Gateway"}, RetryLater),
    ],
)
async def test_send_maps_errors_for_the_outbox(rig: Rig, status: int, body: dict[str, Any], expected: type) -> None:
    rig.api.errors["sendMessage"] = (status, body)
    with pytest.raises(expected) as caught:
        await rig.platform.send(Address("telegram", "7001", "7001"), Reply("alert"), kind="alert")
    if isinstance(caught.value, RetryLater) and status == 429:
        assert caught.value.retry_after == 7
    if isinstance(caught.value, ChatMoved):
        assert caught.value.new_chat == "-1009" and rig.events.seen == [("moved", "telegram", "7001", "-1009")]
    if isinstance(caught.value, TargetGone):
        assert rig.events.seen == [("unreachable", "telegram", "7001")]


async def test_forbidden_in_a_group_means_the_bot_left(rig: Rig) -> None:
    rig.api.errors["sendMessage"] = (403, {"description": "Forbidden: bot was kicked from the supergroup chat"})
    with pytest.raises(TargetGone):
        await rig.platform.send(Address("telegram", "-1004001"), Reply("alert", mention="7001"), kind="alert")
    assert rig.events.seen == [("left", "telegram", "-1004001")]


def test_limits_and_private_address() -> None:
    platform = TelegramPlatform(token=TOKEN, now=lambda: datetime.now(UTC))
    assert (platform.limits.overall_per_second, platform.limits.per_chat_per_second, platform.limits.per_group_per_minute) == (
        30,
        1,
        20,
    )
    assert platform.private_address("telegram:7001") == Address("telegram", "7001", "7001")
    with pytest.raises(ValueError):
        TelegramPlatform(token=TOKEN, now=lambda: datetime.now(UTC), webhook_url=HOOK)


async def test_a_refused_token_stops_the_start_with_status_2() -> None:
    api = FakeApi()
    api.errors["getMe"] = (401, {"description": "Unauthorized"})
    platform = TelegramPlatform(token=TOKEN, now=lambda: datetime.now(UTC), request=api)

    async def handler(incoming: Incoming) -> list[Reply]:
        return []

    with pytest.raises(SystemExit) as stopped:
        await platform.start(handler)
    assert stopped.value.code == 2
    await platform.stop()


PNG = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + (800).to_bytes(4, "big") + (450).to_bytes(4, "big") + b"\0" * 16


async def test_a_chart_goes_as_a_photo_with_its_caption_and_buttons(rig: Rig) -> None:
    reply = Reply("📈 mom", picture=Picture(PNG, "usage-l1.png"), choices=(Choice("Balance", "/balance mom"),))
    await rig.platform.send(Address("telegram", "7001", "7001"), reply)
    [photo] = rig.api.called("sendPhoto")
    assert photo["caption"] == "📈 mom" and "Balance" in json.dumps(photo["reply_markup"])
    assert rig.api.called("sendMessage") == []


async def test_a_refused_photo_still_sends_the_text(rig: Rig) -> None:
    rig.api.errors["sendPhoto"] = (400, {"description": "Bad Request: PHOTO_INVALID_DIMENSIONS"})
    await rig.platform.send(Address("telegram", "7001", "7001"), Reply("📈 mom", picture=Picture(PNG, "usage-l1.png")))
    assert [m["text"] for m in rig.api.called("sendMessage")] == ["📈 mom"]
