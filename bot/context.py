"""What a handler gets besides the message: its unit of work, providers, translator, time, roles.

A handler never talks to a platform or builds a concrete class; everything outside it
comes in through this object, built per message by the router.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.errors import NotAllowed, NotLinked
from bot.i18n import Translator
from bot.messages import Incoming, Reply
from bot.records import Household, Line
from bot.services import HouseholdSettings, LineBook, LineRules, LinkAttempts, OrderBook
from providers.base import HandTracked, Provider


@dataclass(frozen=True)
class Context:
    """``lines``, ``rules``, ``orders``, ``settings`` and ``attempts`` are narrow services over the
    message's unit of work (``bot.services``), committed after the reply is made, only when
    something changed."""

    incoming: Incoming
    household: Household  # the family (the home household when this chat joined one)
    chat: Household  # this chat's own record (the household itself unless it joined another)
    lines: LineBook
    rules: LineRules
    orders: OrderBook
    settings: HouseholdSettings
    attempts: LinkAttempts
    providers: Mapping[str, Provider]
    t: Translator
    now: datetime
    commands: Mapping[str, Command]  # every command, as /start and /help list them
    prefix: str = "/"
    bot_id: str = ""  # the bot on this platform (Telegram username, Matrix user id): links to it

    @property
    def actor(self) -> str:
        return self.incoming.address.user_id

    @property
    def is_admin(self) -> bool:
        """Groups: as the platform reports. A private chat: its user, unless the chat joined
        another household (there the user is a member, with rights on their own lines)."""
        return self.incoming.is_admin or (not self.chat.is_group and self.chat.id == self.household.id)

    def require_admin(self) -> None:
        if not self.is_admin:
            raise NotAllowed("error.admin_only")

    def may_manage(self, line: Line) -> bool:
        return self.is_admin or line.owner == self.actor

    def require_manager(self, line: Line) -> None:
        if not self.may_manage(line):
            raise NotAllowed("error.owner_or_admin", label=line.label)

    async def find_line(self, label: str) -> Line:
        """The household's line with this label (case-insensitive, full-width letters and the
        quotes the bot shows it in allowed: ``“mom”``, ``«mamma»``), else NotLinked listing labels."""
        wanted = _label_key(label)
        lines = await self.lines.all()
        for line in lines:
            if _label_key(line.label) == wanted:
                return line
        if not lines:
            raise NotLinked("lines.none", prefix=self.prefix)
        raise NotLinked(label=label[:40], labels=[line.label for line in lines])

    def hand_tracked(self, line: Line) -> HandTracked | None:
        """The line's provider when it keeps lines by hand (a capability, not a name)."""
        provider = self.providers.get(line.provider)
        return provider if isinstance(provider, HandTracked) else None

    def hand_tracker(self) -> HandTracked | None:
        """The provider that keeps lines by hand (``/link manual``), if one is configured."""
        return next((p for p in self.providers.values() if isinstance(p, HandTracked)), None)

    def cmd(self, name: str) -> str:
        return f"{self.prefix}{name}"


def _label_key(label: str) -> str:
    text = unicodedata.normalize("NFKC", label).strip().strip(_QUOTES)
    return " ".join(text.split()).casefold()


_QUOTES = '"“”«»「」『』‘’'


def mask_iccid(iccid: str) -> str:
    """``89…0012``: enough to tell lines apart, never the full number."""
    return f"{iccid[:2]}…{iccid[-4:]}" if len(iccid) > 8 else "…"


HandlerFn = Callable[[Incoming, "Context"], Awaitable[Reply | list[Reply]]]


@dataclass(frozen=True)
class Command:
    name: str
    handler: HandlerFn
    summary: str  # message id of the one-line help
    usage: str | None = None  # message id of the detailed help
    hidden: bool = False  # reached through buttons; not listed in /help
    admin: bool = False  # in a group, what only its admins use: left out of the members' menu


def unknown_command(t: Translator, typed: str, commands: Mapping[str, Command], prefix: str) -> str:
    """ "There's no /renw command. Did you mean /renew?": the closest listed command, never
    the whole list of fifteen (a phone screen); "send /help" when nothing is close."""
    names = [c.name for c in commands.values() if not c.hidden]
    close = difflib.get_close_matches(typed.lower(), names, n=1, cutoff=0.6)
    command = f"{prefix}{typed[:30]}"
    if close:
        return t("error.unknown_command", command=command, suggestion=f"{prefix}{close[0]}")
    return t("error.unknown_command_none", command=command, help=f"{prefix}help")
