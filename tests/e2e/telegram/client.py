"""The test's side of the Telegram emulator: people who type, press buttons and read replies.

Every wait polls the emulator every 50 ms up to a deadline; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from tests.e2e.processes import wait_for


@dataclass(frozen=True)
class Person:
    id: int
    first_name: str
    language_code: str = "en"

    def user(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": False, "first_name": self.first_name, "language_code": self.language_code}


@dataclass(frozen=True)
class ChatRef:
    id: int
    type: str = "private"
    title: str = "Family"

    def chat(self) -> dict[str, Any]:
        if self.type == "private":
            return {"id": self.id, "type": "private", "first_name": "Private"}
        return {"id": self.id, "type": self.type, "title": self.title}


def private(person: Person) -> ChatRef:
    return ChatRef(person.id)


class TelegramClient:
    """Drives one bot (one token) through the emulator's client API."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self.http = httpx.Client(base_url=base, timeout=10)
        self._unread: dict[int, list[dict[str, Any]]] = {}

    def close(self) -> None:
        self.http.close()

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.http.post(path, json=body)
        response.raise_for_status()
        return response.json()["result"]

    # -- acting ---------------------------------------------------------------------------
    def say(self, who: Person, chat: ChatRef, text: str) -> None:
        """Type ``text``; a leading /command is marked as a bot_command entity, as clients do."""
        body: dict[str, Any] = {
            "botToken": self.token,
            "date": int(time.time()),
            "from": who.user(),
            "chat": chat.chat(),
            "text": text,
        }
        if text.startswith("/"):
            body["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
            self._post("/sendCommand", body)
        else:
            self._post("/sendMessage", body)

    def press(self, who: Person, chat: ChatRef, message: dict[str, Any], data: str) -> None:
        """Press the button with callback data ``data`` on the bot's ``message``."""
        assert any(b.get("callback_data") == data for row in keyboard(message) for b in row), (data, message)
        self._post(
            "/sendCallback",
            {
                "botToken": self.token,
                "date": int(time.time()),
                "from": who.user(),
                "data": data,
                "message": {
                    "message_id": message["message_id"],
                    "date": message.get("date", int(time.time())),
                    "chat": chat.chat(),
                    "text": message.get("text", ""),
                },
            },
        )

    def send_update(self, update: dict[str, Any]) -> None:
        """Deliver any raw update (edited messages, service messages, unknown kinds)."""
        self._post("/sendUpdate", {"botToken": self.token, "update": update})

    def set_admins(self, chat: ChatRef, *admins: Person) -> None:
        self._post("/setChatAdministrators", {"token": self.token, "chatId": chat.id, "admins": [a.user() for a in admins]})

    # -- reading --------------------------------------------------------------------------
    def _fetch(self, chat: ChatRef) -> list[dict[str, Any]]:
        items = self._post("/getUpdates", {"token": self.token, "chatId": chat.id})
        found = self._unread.setdefault(chat.id, [])
        for item in items:
            message = dict(item["message"])
            message["message_id"] = item["messageId"]
            for key in ("reply_parameters", "entities", "link_preview_options"):
                if isinstance(message.get(key), str):
                    message[key] = json.loads(message[key])
            found.append(message)
        return found

    def replies(self, chat: ChatRef, count: int = 1) -> list[dict[str, Any]]:
        """The next ``count`` messages the bot sent to ``chat`` (waits for them)."""

        def probe() -> list[dict[str, Any]] | None:
            found = self._fetch(chat)
            if len(found) < count:
                return None
            taken, found[:] = found[:count], found[count:]
            return taken

        return wait_for(probe, f"{count} message(s) from the bot in chat {chat.id}")

    def reply(self, chat: ChatRef) -> dict[str, Any]:
        return self.replies(chat, 1)[0]

    def ask(self, who: Person, chat: ChatRef, text: str) -> dict[str, Any]:
        """Type a command and return the bot's one reply."""
        self.say(who, chat, text)
        return self.reply(chat)

    def pending(self, chat: ChatRef) -> list[dict[str, Any]]:
        """Messages received but not yet taken (no waiting)."""
        return list(self._fetch(chat))

    def bot_message(self, message_id: int) -> dict[str, Any]:
        """A bot message as it is now (after edits)."""
        for message in self._post("/getBotMessages", {"token": self.token}):
            if message["message_id"] == message_id:
                return dict(message)
        raise AssertionError(f"no bot message {message_id}")

    def edited(self, message_id: int, before: str) -> dict[str, Any]:
        """Wait until the bot edits message ``message_id`` away from the text ``before``."""

        def probe() -> dict[str, Any] | None:
            message = self.bot_message(message_id)
            return message if message.get("text") != before else None

        return wait_for(probe, f"an edit of message {message_id}")

    def answers(self) -> list[dict[str, Any]]:
        return list(self._post("/getAnswers", {"token": self.token}))

    def commands(self) -> dict[str, dict[str, list[dict[str, str]]]]:
        """Every menu the bot set: scope ("all_group_chats", "chat:-100…") -> language ('' none) -> list."""
        return dict(self._post("/getCommands", {"token": self.token}))

    def menu(self, who: Person, chat: ChatRef) -> dict[str, str]:
        """The menu ``who`` sees in ``chat`` (command -> description, in order), as Telegram picks
        it; a group's admins are the ones ``set_admins`` named."""
        found = self._post("/menuFor", {"token": self.token, "chatId": chat.id, "userId": who.id, "language": who.language_code})
        return {c["command"]: c["description"] for c in found["commands"]}


def keyboard(message: dict[str, Any]) -> list[list[dict[str, Any]]]:
    markup = message.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return list(markup.get("inline_keyboard") or [])


def buttons(message: dict[str, Any]) -> list[str]:
    """The callback data of every button, in order."""
    return [b["callback_data"] for row in keyboard(message) for b in row]
