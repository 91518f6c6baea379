"""What the home screen shows and does, through the same router, services and rights as the chat.

``overview`` reads the family as ``/balance`` and ``/remind`` know it (the router resolves the
household and the reader's language; the last known balances come from the store, so the
page never waits for a provider). ``act`` runs a command exactly as if the visitor had typed
it in their chat: rights, the plan list, the confirmation and the money guard are the
handlers' own. Nothing here shows an ICCID or an activation code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.home.auth import Visitor
from bot.i18n import SUPPORTED, Translator
from bot.messages import Address, Incoming, Reply, parse_command
from bot.records import Household, Line, ReminderSettings
from bot.renewal.records import AutoRule
from bot.router import Router
from bot.services import LineBook, LineRules, NoWatcher
from handlers.ladder import AFTER, ON_DAY
from handlers.render import describe
from providers.base import EsimBalance, HandTracked, Status

# what the page may ask for: the commands behind its buttons and forms, nothing else
ALLOWED = frozenset({"balance", "renew", "buy", "confirm", "cancel", "remind", "auto", "cap", "usage"})
LOW_PERCENT, SOON_DAYS = 20, 3  # a card needs attention from here on


@dataclass(frozen=True)
class Card:
    """One line as the page shows it, every text already in the reader's language."""

    label: str
    owner: str
    provider: str
    percent: int | None  # of data left (None: unlimited or unknown)
    figure: str
    expiry: str
    status: str
    as_of: str
    attention: tuple[int, int, int]  # sorts the cards: what needs attention first
    may_manage: bool
    rules: tuple[str, ...]
    level: str  # "bad", "low" or "ok": the card's colour


@dataclass(frozen=True)
class Overview:
    t: Translator
    title: str
    cards: list[Card]
    admin: bool
    lines: list[tuple[str, str, str]]  # each line's label, data thresholds and expiry points (the settings' picker)
    data: str  # the household's reminder thresholds, as the bot lists them (and reads them back)
    expiry: str
    quiet: str
    timezone: str
    cap: str


class HomeData:
    def __init__(self, router: Router, now: Callable[[], datetime]) -> None:
        self._router, self._now = router, now

    def _incoming(self, visitor: Visitor, text: str) -> Incoming:
        parsed = parse_command(text)
        return Incoming(
            address=Address(visitor.platform, visitor.chat, visitor.user),
            text=text,
            at=self._now(),
            command=parsed[0] if parsed else None,
            args=parsed[1] if parsed else (),
            language=visitor.lang,
            is_group=visitor.group,
            is_admin=visitor.admin,
        )

    async def overview(self, visitor: Visitor, lang: str | None = None) -> Overview:
        """The family's lines (worst first) and its settings, for this visitor."""
        async with self._router.store.transaction() as tx:
            reader = await self._router.resolve(tx, self._incoming(visitor, "/balance"))
            household, t = reader.household, reader.t
            if lang in SUPPORTED:
                t = t.with_language(lang)
            admin = visitor.admin or (not reader.chat.is_group and reader.chat.id == household.id)
            user = Address(visitor.platform, visitor.chat, visitor.user).user_id
            book = LineBook(tx, household.id, NoWatcher())  # what /balance reads; it only reads here
            lines = await book.all()
            cards = []
            for line in lines:
                may = admin or line.owner == user
                bal, rules = await book.last_balance(line), await LineRules(tx, NoWatcher()).auto_rules(line)
                cards.append(self._card(t, household, line, await self._title(t, line), bal, may, rules))
        own = [(x.label, x.reminders or household.reminders) for x in lines]
        settings = [(label, thresholds(t, s), expiry_points(t, s)) for label, s in own]
        return _overview(t, household, sorted(cards, key=lambda c: c.attention), admin, settings)

    async def _title(self, t: Translator, line: Line) -> str:
        """The provider's name; a line kept by hand names its operator (a capability, not a name)."""
        provider = self._router.providers.get(line.provider)
        if isinstance(provider, HandTracked):
            return t.provider(line.provider, operator=await provider.operator(line.ref) or "other")
        return t.provider(line.provider)

    def _card(
        self,
        t: Translator,
        household: Household,
        line: Line,
        title: str,
        bal: EsimBalance | None,
        may: bool,
        rules: list[AutoRule],
    ) -> Card:
        now = self._now()
        owner = (line.owner_name or t("owner.self")) if household.family else ""
        percent = _percent(bal)
        level, attention = _attention(bal, percent, now)
        return Card(
            label=line.label,
            owner=owner,
            provider=title,
            percent=percent,
            figure=_figure(t, bal),
            expiry=_expiry(t, bal, now),
            status=t("balance.status", status=t(f"status.{bal.status.value.lower()}")) if bal else "",
            as_of=t("balance.as_of", when=t.date_time(bal.as_of)) if bal else t("home.no_balance"),
            attention=(attention, _days(bal, now), percent if percent is not None else 101),
            may_manage=may,
            rules=tuple(describe(t, r) for r in rules),
            level=level,
        )

    async def act(self, visitor: Visitor, text: str) -> list[Reply] | None:
        """The replies to one of the page's commands, as the chat would give them (None: not one of them)."""
        incoming = self._incoming(visitor, text[:500])
        if incoming.command not in ALLOWED:
            return None
        return await self._router.handle(incoming)


def _overview(
    t: Translator, household: Household, cards: list[Card], admin: bool, labels: list[tuple[str, str, str]]
) -> Overview:
    s = household.reminders
    quiet = f"{household.quiet_start}-{household.quiet_end}" if household.quiet_start else t("remind.quiet_off")
    return Overview(
        t=t,
        title=household.title or t("home.title"),
        cards=cards,
        admin=admin,
        lines=labels,
        data=thresholds(t, s),
        expiry=expiry_points(t, s),
        quiet=quiet,
        timezone=household.timezone,
        cap=t.money(household.cap.amount, household.cap.currency) if household.cap else "",
    )


def thresholds(t: Translator, s: ReminderSettings) -> str:
    return ", ".join([t.percent(p / 100) for p in s.data_percent] + [t.data(b) for b in s.data_bytes])


def expiry_points(t: Translator, s: ReminderSettings) -> str:
    """The expiry ladder as ``/remind expiry`` takes it back: the lead times, then "on the day"
    and "after expiry" in the reader's words (``7d, 3d, 1d, 6h, day, after``)."""
    words = SUPPORTED.index(t.lang) if t.lang in SUPPORTED else 0
    points = [f"{h // 24}d" if h % 24 == 0 else f"{h}h" for h in s.expiry_hours]
    points += [ON_DAY[words]] if s.on_day else []
    points += [AFTER[words]] if s.after_expiry else []
    return ", ".join(points)


def _percent(bal: EsimBalance | None) -> int | None:
    if bal is None or bal.data_unlimited or not bal.data_total_bytes or bal.data_remaining_bytes is None:
        return None
    return max(0, min(100, bal.data_remaining_bytes * 100 // bal.data_total_bytes))


def _figure(t: Translator, bal: EsimBalance | None) -> str:
    if bal is None:
        return "–"
    if bal.data_unlimited:
        return t("balance.unlimited")
    if bal.data_remaining_bytes is not None and bal.data_total_bytes:
        return t("balance.data", left=t.data(bal.data_remaining_bytes), total=t.data(bal.data_total_bytes))
    return t("balance.data_left", left=t.data(bal.data_remaining_bytes)) if bal.data_remaining_bytes is not None else "–"


def _expiry(t: Translator, bal: EsimBalance | None, now: datetime) -> str:
    if bal is None or bal.expires_at is None:
        return ""
    if bal.expires_at <= now:
        return t("balance.expired_on", date=t.date(bal.expires_at))
    return t("balance.expires", date=t.date(bal.expires_at), relative=t.days(bal.expires_at, now))


def _days(bal: EsimBalance | None, now: datetime) -> int:
    return 9999 if bal is None or bal.expires_at is None else int((bal.expires_at - now).total_seconds() // 86400)


def _attention(bal: EsimBalance | None, percent: int | None, now: datetime) -> tuple[str, int]:
    """``bad`` (empty, expired, not working), ``low`` (near a default threshold), else ``ok``."""
    if bal is None:
        return "ok", 2
    if bal.status != Status.ACTIVE or percent == 0 or (bal.expires_at is not None and bal.expires_at <= now):
        return "bad", 0
    if (percent is not None and percent <= LOW_PERCENT) or _days(bal, now) < SOON_DAYS:
        return "low", 1
    return "ok", 3
