"""Pure translation between Matrix event content and the core's text (no network, no nio client).

Incoming: reply fallbacks (``> `` quote lines in ``body``, ``<mx-reply>`` in
``formatted_body``) are removed before parsing, a leading mention of the bot is dropped,
edits are recognised so they can be ignored. Outgoing: a plain ``body`` and an escaped
HTML ``formatted_body``, ``m.notice`` for replies and ``m.text`` with intentional mentions
for alerts, choices as a numbered list answered with ``!1`` or a keycap reaction.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from html.parser import HTMLParser
from typing import Any

from bot.messages import Choice, Picture, Reply, SendKind

HTML = "org.matrix.custom.html"
_HAN = re.compile("[\u4e00-\u9fff]")
# 1️⃣ … 9️⃣ and 🔟: what a reader can react with to pick a choice.
KEYCAPS = (*(f"{n}\ufe0f\u20e3" for n in range(1, 10)), "🔟")
MAX_CHOICES = len(KEYCAPS)
_NUMBER = re.compile(r"^\s*[!/！／]\s*(\d{1,2})\s*$")


def relation(content: Mapping[str, Any]) -> Mapping[str, Any]:
    rel = content.get("m.relates_to")
    return rel if isinstance(rel, Mapping) else {}


def is_edit(content: Mapping[str, Any]) -> bool:
    """An ``m.replace`` edit: the command already ran once, so the new text is not run again."""
    return relation(content).get("rel_type") == "m.replace" or "m.new_content" in content


def replied_to(content: Mapping[str, Any]) -> str | None:
    reply = relation(content).get("m.in_reply_to")
    event_id = reply.get("event_id") if isinstance(reply, Mapping) else None
    return event_id if isinstance(event_id, str) else None


def thread_root(content: Mapping[str, Any]) -> str | None:
    rel = relation(content)
    root = rel.get("event_id") if rel.get("rel_type") == "m.thread" else None
    return root if isinstance(root, str) else None


def strip_fallback(body: str) -> str:
    """Drop the quoted lines a client puts before a reply (``> <@a:b> text``) and the blank after."""
    lines = body.split("\n")
    i = 0
    while i < len(lines) and (lines[i].startswith("> ") or lines[i] == ">"):
        i += 1
    if i and i < len(lines) and not lines[i].strip():
        i += 1
    return "\n".join(lines[i:]) if i else body


class _Text(HTMLParser):
    """HTML -> text: ``<mx-reply>`` dropped, ``<br>``/blocks become line breaks, entities decoded."""

    _BLOCKS = frozenset({"p", "div", "li", "tr", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "mx-reply":
            self._skip += 1
        elif tag == "br" and not self._skip:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "mx-reply":
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCKS and not self._skip:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(formatted: str) -> str:
    parser = _Text()
    parser.feed(formatted)
    parser.close()
    return "".join(parser.parts).strip()


def message_text(content: Mapping[str, Any], *, own_names: Sequence[str] = ()) -> str:
    """The text a person typed: the plain body (what they typed, before any Markdown) without
    a reply fallback, from ``formatted_body`` only when the body is empty, and with a
    leading ``botname:`` mention (a pill, in most clients) removed."""
    body = content.get("body")
    text = body if isinstance(body, str) else ""
    if replied_to(content) is not None:
        text = strip_fallback(text)
    formatted = content.get("formatted_body")
    if not text.strip() and content.get("format") == HTML and isinstance(formatted, str):
        text = html_to_text(formatted)
    return strip_mention(text.strip(), own_names)


def strip_mention(text: str, own_names: Sequence[str]) -> str:
    """``esimbot: !balance`` / ``@esimbot:example.org !balance`` -> ``!balance``."""
    for name in sorted((n for n in own_names if n), key=len, reverse=True):
        for candidate in (name, "@" + name):
            if text[: len(candidate)].casefold() == candidate.casefold():
                rest = text[len(candidate) :].lstrip(":,： ").lstrip()
                if rest[:1] in ("!", "/", "！", "／"):
                    return rest
    return text


def pick_number(text: str) -> int | None:
    """``!2`` -> 2: the answer to a numbered choice list."""
    m = _NUMBER.match(text)
    return int(m.group(1)) if m else None


def pick_reaction(key: str) -> int | None:
    """1️⃣ (with or without the emoji variation selector) -> 1; 🔟 -> 10."""
    normal = key.replace("\ufe0f", "")
    for i, cap in enumerate(KEYCAPS, 1):
        if normal == cap.replace("\ufe0f", ""):
            return i
    return None


def choice_lines(choices: Sequence[Choice], prefix: str = "!") -> tuple[list[str], list[str]]:
    """Plain and HTML lines of the numbered list: ``1️⃣ !1 · label``."""
    plain, rich = [], []
    for i, choice in enumerate(choices[:MAX_CHOICES], 1):
        plain.append(f"{KEYCAPS[i - 1]} {prefix}{i} · {choice.label}")
        rich.append(f"{KEYCAPS[i - 1]} <code>{prefix}{i}</code> · {html.escape(choice.label)}")
    return plain, rich


def to_html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def mention_separator(text: str) -> str:
    """``王芳：⚠️ 妈妈：…`` in a Chinese message (a full-width colon carries its own space),
    ``Anna: ⚠️ mum: …`` otherwise; the message's own script says which (the platform does
    not know the reader's language)."""
    return "：" if _HAN.search(text) else ": "


def mention_link(user_id: str, name: str) -> str:
    return f'<a href="https://matrix.to/#/{html.escape(user_id, quote=True)}">{html.escape(name)}</a>'


def reply_content(
    reply: Reply,
    *,
    kind: SendKind = SendKind.REPLY,
    in_reply_to: str | None = None,
    thread: str | None = None,
    mention_name: str | None = None,
) -> dict[str, Any]:
    """The ``m.room.message`` content for one reply. Alerts ping (``m.text`` + ``m.mentions``
    of the line owner); everything else is an ``m.notice`` that pings nobody."""
    plain, rich = [reply.text], [to_html(reply.text)]
    if reply.choices:
        lines, html_lines = choice_lines(reply.choices)
        plain.append("\n".join(lines))
        rich.append("<br>".join(html_lines))
    body, formatted = "\n\n".join(plain), "<br><br>".join(rich)
    mentions: list[str] = []
    if reply.mention:
        name, sep = mention_name or reply.mention, mention_separator(reply.text)
        body = f"{name}{sep}{body}"
        formatted = f"{mention_link(reply.mention, name)}{sep}{formatted}"
        mentions.append(reply.mention)
    alert = kind == SendKind.ALERT and not reply.silent
    content: dict[str, Any] = {
        "msgtype": "m.text" if alert else "m.notice",
        "body": body,
        "format": HTML,
        "formatted_body": formatted,
        "m.mentions": {"user_ids": mentions} if mentions else {},
    }
    if thread is not None:
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": thread,
            "is_falling_back": in_reply_to is None,
            "m.in_reply_to": {"event_id": in_reply_to or thread},
        }
    elif in_reply_to is not None:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": in_reply_to}}
    return content


def image_content(picture: Picture, uri: str, keys: dict[str, Any] | None) -> dict[str, Any]:
    """An ``m.image`` event for an uploaded PNG: ``url`` in a plain room, ``file`` with the
    decryption keys (``keys`` from the encrypted upload) in an encrypted one."""
    width, height = picture.size
    content: dict[str, Any] = {
        "msgtype": "m.image",
        "body": picture.name,
        "info": {"mimetype": "image/png", "size": len(picture.png), "w": width, "h": height},
    }
    if keys is None:
        content["url"] = uri
    else:
        content["file"] = {
            "url": uri,
            "key": keys["key"],
            "iv": keys["iv"],
            "hashes": keys["hashes"],
            "v": keys.get("v", "v2"),
            "mimetype": "image/png",
        }
    return content
