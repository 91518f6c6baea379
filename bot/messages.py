"""The shapes that cross between platforms and handlers, and command parsing.

A platform turns what a person typed into an ``Incoming`` and sends the ``Reply``s a
handler returns. Pressing a ``Choice`` is exactly the same as sending its ``command``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

MAX_TEXT = 2000  # longer input is refused before parsing; no command needs more
MAX_TITLE = 40  # a chat's title is shown at most this long (the rest becomes "…")


@dataclass(frozen=True, slots=True)
class PlatformId:
    """A household's or a user's id: a chat or a user on one platform, stored as
    ``platform:local`` (``telegram:-1001``, ``matrix:!room:example.org``, ``console:you``).

    The one parse and the one format of that string: nothing else builds or splits it.
    ``parse`` splits at the first colon (a Matrix id keeps its own); a string without one
    is a bare local id (``platform`` empty), as older lines' owners may be.
    """

    platform: str
    local: str

    @classmethod
    def parse(cls, text: str) -> PlatformId:
        platform, sep, local = text.partition(":")
        return cls(platform, local) if sep else cls("", text)

    def __str__(self) -> str:
        return f"{self.platform}:{self.local}"


HouseholdId = PlatformId  # a chat on a platform: one household (or a chat joined to one)
UserId = PlatformId  # a user on a platform


@dataclass(frozen=True)
class Address:
    """Where a message comes from or goes to: one user in one chat of one platform."""

    platform: str
    chat: str
    user: str = ""

    @property
    def household_id(self) -> str:
        return str(HouseholdId(self.platform, self.chat))

    @property
    def user_id(self) -> str:
        return str(UserId(self.platform, self.user))


class SendKind(StrEnum):
    """Why a message leaves: it answers a message, or it is an alert nobody asked for just now."""

    REPLY = "reply"
    ALERT = "alert"


class ChoiceKind(StrEnum):
    """What pressing a choice does, for platforms that show it (Telegram colours the button):
    ``PAY`` spends money, ``DESTROY`` removes something, ``CANCEL`` drops the question,
    ``APP`` opens the home screen (a Mini App on Telegram; elsewhere its command gives a link)."""

    PLAIN = ""
    PAY = "pay"
    DESTROY = "destroy"
    CANCEL = "cancel"
    APP = "app"


@dataclass(frozen=True)
class Choice:
    label: str
    command: str
    kind: ChoiceKind = ChoiceKind.PLAIN


@dataclass(frozen=True)
class Picture:
    """A PNG shown with a reply; the reply's text is its caption (Telegram) or summary."""

    png: bytes = field(repr=False)
    name: str  # a file name for it: ``usage-<line>.png``

    @property
    def size(self) -> tuple[int, int]:
        """Width and height in pixels, from the PNG header."""
        return int.from_bytes(self.png[16:20], "big"), int.from_bytes(self.png[20:24], "big")


@dataclass(frozen=True)
class Reply:
    """One message to send. ``to`` None means the chat the command came from;
    ``private`` sends it to the acting user's private chat instead (the router resolves
    both into ``to`` for every reply it returns: ``bot.router.addressed``); ``mention`` is a
    platform user id the platform should mention; ``silent`` sends without a ping;
    ``picture`` is shown with the text (a chart); ``keep`` says its buttons are follow-ups
    (Top up, Chart under a balance): pressing one answers in a new message and the reply
    stays, where a question's buttons (plans, confirm) turn it into the answer.
    ``chat_language`` is the chat's own language when it has one (a group's, set by its
    admins; the router fills it in): a platform with menus per chat words them in it."""

    text: str
    to: Address | None = None
    choices: tuple[Choice, ...] = ()
    mention: str | None = None
    silent: bool = False
    private: bool = False
    picture: Picture | None = None
    keep: bool = False
    chat_language: str | None = None


@dataclass(frozen=True)
class Incoming:
    address: Address
    text: str
    at: datetime
    command: str | None = None
    args: tuple[str, ...] = ()
    language: str | None = None
    is_group: bool = False
    is_admin: bool = False
    display_name: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False)
    bot_id: str = ""  # the bot's own name on the platform (its Telegram username), for links to it
    chat_title: str = ""  # a group's title on the platform (Telegram title, Matrix room name), as the platform gave it


def clean_text(text: str) -> str:
    """Drop control and format characters (keeping line breaks and tabs as spaces)."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\n\t\r":
            out.append(" " if ch != "\n" else "\n")
        elif cat in ("Cc", "Cf", "Cs", "Co"):
            continue
        else:
            out.append(ch)
    return "".join(out).strip()


_PREFIXES = ("/", "!")
_FULLWIDTH = {"／": "/", "！": "!", "　": " "}
# Words break at spaces, but not at a no-break space after a digit: that is how the bot itself
# writes a value ("20 %", "1 023 MB", "300,00 kr" in Norwegian), so one copied back stays one
# argument; a no-break space anywhere else (a keyboard's) breaks words like any space.
_NO_BREAK = "\u00a0\u202f\u2007"
_BREAKS = re.compile(rf"(?:(?<!\d)[{_NO_BREAK}]|[^\S{_NO_BREAK}])+")


def parse_command(text: str, *, bot_username: str | None = None) -> tuple[str, tuple[str, ...]] | None:
    """``/cmd@bot a b`` -> ``("cmd", ("a", "b"))``; None when the text is not a command
    or is addressed to another bot. Accepts ``/``, ``!`` and their full-width forms."""
    text = "".join(_FULLWIDTH.get(c, c) for c in text).strip()
    if len(text) < 2 or text[0] not in _PREFIXES:
        return None
    words = [word.strip() for word in _BREAKS.split(text[1:]) if word.strip()]
    if not words:
        return None
    head, *args = words
    name, _, target = head.partition("@")
    if target and bot_username and target.lower() != bot_username.lower().lstrip("@"):
        return None
    name = unicodedata.normalize("NFKC", name).lower()
    if not name or not all(c.isascii() and (c.isalnum() or c == "_") for c in name):
        return None
    return name, tuple(args)


def chat_title(raw: str) -> str:
    """A chat's title as it may be shown: a title is anyone's input, so control and format
    characters go, any run of white space (line breaks too) becomes one space, and a long
    title is cut to ``MAX_TITLE`` characters ending in "…"."""
    title = " ".join(clean_text(raw[: MAX_TITLE * 8]).split())
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1].rstrip() + "…"
