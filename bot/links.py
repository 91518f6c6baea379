"""Links that open a chat with the bot on its own platform; a family invite carries its code.

Telegram: ``https://t.me/<bot>?startgroup=<payload>`` lets a person pick a group and adds the
bot to it, ``?start=<payload>`` opens the private chat; either way the app then sends
``/start <payload>`` for them. Matrix has no payload: ``https://matrix.to/#/<bot>`` opens a
chat with the bot, where the person sends the join command the invite shows.
"""

from __future__ import annotations

import re

from bot.names import PlatformName

JOIN = "join_"  # a payload is at most 64 of A-Z a-z 0-9 _ -
_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def join_payload(code: str) -> str:
    return JOIN + code


def code_in(payload: str) -> str | None:
    """The invite code a ``/start`` payload carries, or None when it is not an invite."""
    if not payload.startswith(JOIN) or not _PAYLOAD.match(payload):
        return None
    return payload[len(JOIN) :]


def telegram_invite(username: str, code: str) -> tuple[str, str]:
    """The links that add the bot to a group, and that open its private chat, with ``code``."""
    base, payload = f"https://t.me/{username.lstrip('@')}", join_payload(code)
    return f"{base}?startgroup={payload}", f"{base}?start={payload}"


def matrix_chat(user_id: str) -> str:
    """The link that opens a chat with the bot's Matrix account (``@esimbot:example.org``)."""
    return f"https://matrix.to/#/{user_id}"


def invite_links(platform: str, bot_id: str, code: str) -> dict[str, str]:
    """The placeholders of the platform's invite-link sentence; empty when there is none."""
    if not bot_id:
        return {}
    if platform == PlatformName.TELEGRAM:
        group, private = telegram_invite(bot_id, code)
        return {"group": group, "private": private}
    if platform == PlatformName.MATRIX:
        return {"link": matrix_chat(bot_id)}
    return {}
