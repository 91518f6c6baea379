"""Who reads a message and in which language: one service for the reminder planner and the
command side, so an alert and a reply to the same person agree.

``targets`` says where an alert about a line goes (the chat, the owner mentioned, the owner
privately); ``translator`` picks the reader's language (their own choice, the family's, the
platform's hint, the default) and the household's time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.i18n import Catalogs, Translator, negotiate
from bot.messages import Address, HouseholdId, UserId
from bot.records import Alert, AlertKind, Household, Line, OutboxItem
from bot.store import Store, Tx


@dataclass(frozen=True)
class Recipient:
    """One copy of an alert: to a chat of the family (``private_user`` None) or to one user
    privately; ``mention`` is the user a group copy names (only in chats of their platform)."""

    platform: str
    chat: str
    private_user: str | None
    mention: str | None


class Audience:
    def __init__(self, catalogs: Catalogs, *, default_language: str, default_timezone: str) -> None:
        self.catalogs = catalogs
        self.default_language = default_language
        self.default_timezone = default_timezone

    @staticmethod
    def targets(
        line: Line,
        household: Household,
        *,
        owner_reachable: bool = True,
        chats: Sequence[Household] | None = None,
        news: Alert | None = None,
    ) -> list[Recipient]:
        """A private chat gets the alert as is; a family's alert goes to each of its chats
        (``chats``: the household itself and the joined chats still active), mentioning the
        owner in the groups of the owner's platform, to the owner privately, or both (the
        line's or the family's setting). An owner known to have blocked the bot gets it in
        the chats instead."""
        rooms = [household] if chats is None else list(chats)
        owner_id = UserId.parse(line.owner)
        owner_platform, owner = owner_id.platform, owner_id.local

        def in_chats(mention: bool) -> list[Recipient]:
            out = []
            for room in rooms:
                where = HouseholdId.parse(room.id)
                named = mention and room.is_group and where.platform == owner_platform
                out.append(Recipient(where.platform, where.local, None, owner if named else None))
            return out

        if not household.family:
            return in_chats(False)
        private = Recipient(owner_platform, owner, owner, None)
        if news is not None and news.kind.startswith("auto"):
            return _renewal_targets(news, private if owner_reachable else None, in_chats(True))
        target = (line.reminders or household.reminders).target
        if target == "owner":
            return [private] if owner_reachable else in_chats(True)
        if target == "both" and owner_reachable:
            return [*in_chats(True), private]
        return in_chats(True)

    async def translator(
        self, tx: Tx, user_id: str | None, household: Household | None, hint: str | None = None, *, private: bool = False
    ) -> Translator:
        """The reader's language: user's choice -> household's -> platform hint -> default.
        A ``private`` message to one user (an alert about a family line) puts the user's own
        platform language before the family's."""
        user_lang = await tx.user_language(user_id) if user_id else None
        household_lang = household.language if household else None
        hint = hint or (await tx.user_hint(user_id) if user_id else None) or (household.language_hint if household else None)
        order = (user_lang, hint, household_lang) if private else (user_lang, household_lang, hint)
        lang = negotiate(*order, default=self.default_language)
        tz = household.timezone if household else self.default_timezone
        return self.catalogs.translator(lang, tz)

    async def for_alert(self, tx: Tx, item: OutboxItem) -> Translator:
        """The language of whoever reads this alert: the owner in private, else the chat (a
        chat that joined the household speaks its own language, in the family's time zone)."""
        household = await tx.household(item.household_id)
        line = await tx.line(item.line_id)
        chat_key = str(HouseholdId(item.platform, item.chat))
        if household is not None and item.private_user is None and chat_key != household.id:
            chat = await tx.household(chat_key)
            if chat is not None:
                household = replace(household, language=chat.language, language_hint=chat.language_hint)
        if item.private_user:
            user: str | None = str(UserId(item.platform, item.private_user))
        else:
            user = line.owner if line is not None and household is not None and not household.family else None
        return await self.translator(tx, user, household, private=item.private_user is not None)


def _renewal_targets(news: Alert, owner: Recipient | None, chats: list[Recipient]) -> list[Recipient]:
    """Automatic renewal's news goes to the family's chats and to the owner privately; a
    stop at the cap goes privately to the owner and to each admin the family has, once."""
    if news.kind == AlertKind.AUTO_SKIPPED and news.note == "cap":
        admins = [Recipient(p, user, user, None) for p, _, user in (a.partition(":") for a in news.admins) if user]
        private = list({(r.platform, r.chat): r for r in [*([owner] if owner else []), *admins]}.values())
        return private or chats
    return [*chats, owner] if owner else chats


class Readers:
    """The platforms' own notices ("I could not decrypt that") in the reader's language."""

    def __init__(self, store: Store, audience: Audience) -> None:
        self._store, self._audience = store, audience

    async def __call__(self, address: Address, msgid: str, **params: object) -> str:
        async with self._store.transaction() as tx:
            household = await tx.household(address.household_id)
            t = await self._audience.translator(tx, address.user_id if address.user else None, household)
        return t(msgid, **params)
