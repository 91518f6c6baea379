"""What a handler gets besides the message: its unit of work, providers, translator, time, roles.

A handler never talks to a platform or builds a concrete class; everything outside it
comes in through this object, built per message by the router.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.errors import NotAllowed, NotLinked
from bot.i18n import Translator
from bot.messages import Incoming, Reply
from bot.records import Household, Line
from bot.store import Store, Tx
from providers.base import EsimBalance, ManualLines, Provider


@dataclass(frozen=True)
class Notice:
    """A sentence for the reader: a message id and its placeholders."""

    msgid: str
    params: dict[str, object] = field(default_factory=dict)


class Watcher(Protocol):
    """Told when a line's balance is known anew (link, top-up, /balance) or it is removed,
    so reminders follow the line; it writes in the caller's unit ``tx``. ``fresh_cycle``
    marks a top-up or a new link; the returned notices are thresholds already crossed, to
    say in the reply instead of an alert."""

    async def line_seen(self, tx: Tx, line: Line, balance: EsimBalance | None, *,
                        fresh_cycle: bool = False) -> list[Notice]: ...

    async def line_removed(self, tx: Tx, line: Line) -> None: ...

    async def household_changed(self, tx: Tx, household: Household) -> None:
        """Its settings changed (quiet hours, time zone): waiting alerts follow them."""

    async def forecast(self, tx: Tx, line: Line, balance: EsimBalance) -> datetime | None: ...


class NoWatcher:
    async def line_seen(self, tx: Tx, line: Line, balance: EsimBalance | None, *,
                        fresh_cycle: bool = False) -> list[Notice]:
        return []

    async def line_removed(self, tx: Tx, line: Line) -> None:
        return None

    async def household_changed(self, tx: Tx, household: Household) -> None:
        return None

    async def forecast(self, tx: Tx, line: Line, balance: EsimBalance) -> datetime | None:
        return None


@dataclass
class Context:
    """``tx`` is the command's unit of work, committed after the reply is made (only when
    something changed); ``store`` opens a unit of its own for a write that must be durable
    before an outside call (an order's client reference)."""

    incoming: Incoming
    household: Household
    tx: Tx
    store: Store
    providers: Mapping[str, Provider]
    manual: ManualLines
    t: Translator
    now: datetime
    prefix: str = "/"
    default_language: str = "en"
    watcher: Watcher = field(default_factory=NoWatcher)
    extra_commands: tuple[str, ...] = ()

    @property
    def actor(self) -> str:
        return self.incoming.address.user_id

    @property
    def is_admin(self) -> bool:
        """Private chats: the user is admin. Groups: as the platform reports."""
        return not self.household.is_group or self.incoming.is_admin

    def require_admin(self) -> None:
        if not self.is_admin:
            raise NotAllowed("error.admin_only")

    def may_manage(self, line: Line) -> bool:
        return self.is_admin or line.owner == self.actor

    def require_manager(self, line: Line) -> None:
        if not self.may_manage(line):
            raise NotAllowed("error.owner_or_admin", label=line.label)

    async def lines(self) -> list[Line]:
        return await self.tx.lines(self.household.id)

    async def find_line(self, label: str) -> Line:
        """The household's line with this label (case-insensitive), else NotLinked listing labels."""
        wanted = " ".join(label.split()).casefold()
        lines = await self.lines()
        for line in lines:
            if line.label.casefold() == wanted:
                return line
        if not lines:
            raise NotLinked("lines.none", prefix=self.prefix)
        raise NotLinked(label=label[:40], labels=", ".join(line.label for line in lines))

    def cmd(self, name: str) -> str:
        return f"{self.prefix}{name}"


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
