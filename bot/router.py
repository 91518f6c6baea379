"""One message in, its replies out, as a pipeline of small steps:

1. ``parse``: is it for the bot, and which command with which arguments (one place, every
   platform);
2. ``resolve``: the household (made or woken up), the reader's language, the user's hint;
3. ``dispatch``: the command's handler with a ``Context`` (its unit of work, the roles);
4. ``explain``: a refusal (``BotError``) or a provider's "no" (``ProviderError``) becomes a
   sentence in the reader's language;
5. the unit of work commits when the message changed something, before the replies leave;
6. ``addressed``: where each reply goes, decided here once for every platform.

A refusal keeps what the handler recorded (a failed link attempt counts); anything else
unexpected rolls the unit back and is answered with an apology and a reference (the trace
goes to the log); a change that cannot be saved is answered with a sentence saying so.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace

from bot.audience import Audience
from bot.clock import Clock
from bot.context import Command, Context, unknown_command
from bot.errors import BotError, OneOf, StoreWriteError, provider_message
from bot.i18n import Translator
from bot.messages import MAX_TEXT, Address, Incoming, Reply, chat_title, clean_text, parse_command
from bot.metrics import Metrics
from bot.names import PREFIXES
from bot.records import Household
from bot.services import HouseholdSettings, LineBook, LineRules, LinkAttempts, NoWatcher, OrderBook, Watcher
from bot.store import Store, Tx
from providers import errors as perr
from providers.base import Provider

log = logging.getLogger(__name__)


def addressed(incoming: Incoming, reply: Reply) -> Reply:
    """Where a reply goes, decided once for every platform: the asker's private chat for a
    ``private`` reply (a platform's private chat has the user's id), the chat the reply
    names, else the chat the message came from."""
    if reply.private:
        user = incoming.address.user
        return replace(reply, to=Address(incoming.address.platform, user, user))
    return reply if reply.to is not None else replace(reply, to=incoming.address)


def parse(incoming: Incoming, bot_username: str | None) -> Incoming | None:
    """The message with its command and arguments, or None when it is not for the bot
    (family chatter, another bot's command). A direct message is always for the bot."""
    text = clean_text(incoming.text)
    if incoming.command is not None:
        return incoming
    if incoming.is_group and not text.startswith(("/", "!", "／", "！")):
        return None
    parsed = parse_command(text, bot_username=bot_username) if len(text) <= MAX_TEXT else None
    if parsed is None and incoming.is_group and len(text) <= MAX_TEXT:
        return None
    return replace(incoming, text=text, command=parsed[0], args=parsed[1]) if parsed else incoming


@dataclass(frozen=True)
class Reader:
    """Who wrote, where: the household as it is now (the home one, for a chat that joined
    another), the chat's own record and the reader's translator."""

    household: Household
    t: Translator
    chat: Household


class Router:
    def __init__(
        self,
        *,
        commands: Mapping[str, Command],
        store: Store,
        providers: Mapping[str, Provider],
        audience: Audience,
        clock: Clock,
        watcher: Watcher | None = None,
        bot_username: str | None = None,
        metrics: Metrics | None = None,
        bot_ids: Mapping[str, str] | None = None,
    ) -> None:
        """``bot_ids``: the bot's own id per platform when the platform's messages do not carry
        it (Matrix: ``MATRIX_USER``), for the links a handler gives to it."""
        self.commands = dict(commands)
        self.store, self.providers = store, providers
        self.audience, self.clock = audience, clock
        self.watcher = watcher or NoWatcher()
        self.bot_username = bot_username
        self.bot_ids = dict(bot_ids or {})
        self.metrics = metrics or Metrics()

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """The replies to a message, each with its ``to`` set (``addressed``): no platform
        decides again where a reply goes."""
        return [addressed(incoming, reply) for reply in await self._replies(incoming)]

    async def _replies(self, incoming: Incoming) -> list[Reply]:
        message = parse(incoming, self.bot_username)
        if message is None:
            return []
        outcome = ["ok"]
        reader: Reader | None = None
        try:
            async with self.store.transaction() as tx:
                reader = await self.resolve(tx, message)
                return await self.dispatch(tx, message, reader, outcome)
        except StoreWriteError:
            outcome[0] = "not_saved"
            return [Reply(self._fallback(reader)("error.not_saved"))]
        except Exception:
            outcome[0] = "unexpected"
            ref = secrets.token_hex(4)
            log.exception("unexpected error, reference %s", ref)
            return [Reply(self._fallback(reader)("error.unexpected", ref=ref))]
        finally:
            if message.command in self.commands:
                self.metrics.inc("esimbot_commands_total", command=message.command, outcome=outcome[0])

    async def resolve(self, tx: Tx, incoming: Incoming) -> Reader:
        """The household (made, woken up or grown into a family as the chat is now) and the
        reader's language; the platform's language hint is remembered when it changed."""
        hid = incoming.address.household_id
        found = await tx.household(hid)
        household = found or Household(
            id=hid, is_group=incoming.is_group, created_at=self.clock.now(), timezone=self.audience.default_timezone
        )
        if not household.active:
            household = replace(household, active=True)
        if incoming.is_group and not household.is_group:
            # a direct room that grew is a family now: roles apply (never the other way round,
            # so a shrinking family does not make a member an admin)
            household = replace(household, is_group=True)
        if not household.is_group and incoming.language and incoming.language != household.language_hint:
            household = replace(household, language_hint=incoming.language[:16])  # alerts speak it too
        if incoming.is_group and (title := chat_title(incoming.chat_title)) and title != household.title:
            household = replace(household, title=title)  # /family lists the chat by it
        if household != found:
            await tx.save_household(household)
        user = incoming.address.user_id
        if incoming.language:
            await tx.set_user_hint(user, incoming.language[:16])
        if not incoming.is_group and await tx.unreachable(user):
            await tx.set_unreachable(user, False)  # they talk to us privately again (a group message proves nothing)
        home = await self._home(tx, household)
        speaks = household if home is None else replace(home, language=household.language, language_hint=household.language_hint)
        return Reader(home or household, await self.audience.translator(tx, user, speaks, incoming.language), household)

    @staticmethod
    async def _home(tx: Tx, chat: Household) -> Household | None:
        """The household this chat joined, if it still lists the chat (else the link is cleared)."""
        if chat.home is None:
            return None
        home = await tx.household(chat.home)
        if home is not None and chat.id in home.chats:
            return home
        await tx.save_household(replace(chat, home=None))
        return None

    async def dispatch(self, tx: Tx, incoming: Incoming, reader: Reader, outcome: list[str]) -> list[Reply]:
        """The handler's replies, or a refusal explained (refusals keep the unit's writes)."""
        text, t = clean_text(incoming.text), reader.t
        prefix = PREFIXES.get(incoming.address.platform, "/")
        if len(text) > MAX_TEXT:
            return [Reply(t("error.too_long", limit=MAX_TEXT))]
        if incoming.command is None:
            return [Reply(t("error.empty" if not text else "error.not_a_command", help=f"{prefix}help"))]
        command = self.commands.get(incoming.command)
        if command is None:
            return [Reply(unknown_command(t, incoming.command, self.commands, prefix))]
        hid = reader.household.id
        ctx = Context(
            incoming=incoming,
            household=reader.household,
            chat=reader.chat,
            lines=LineBook(tx, hid, self.watcher),
            rules=LineRules(tx, self.watcher),
            orders=OrderBook(tx, self.store, hid),
            settings=HouseholdSettings(tx, self.store, self.watcher),
            attempts=LinkAttempts(tx),
            providers=self.providers,
            t=t,
            now=self.clock.now(),
            prefix=prefix,
            commands=self.commands,
            bot_id=incoming.bot_id or self.bot_ids.get(incoming.address.platform, ""),
        )
        log.info("command %s in %s", command.name, incoming.address.platform)
        try:
            result = await command.handler(incoming, ctx)
            return _with_chat_language([result] if isinstance(result, Reply) else list(result), ctx.chat)
        except BotError as exc:
            outcome[0] = "refused"
            return [Reply(explain_refusal(ctx.t, exc, prefix))]
        except perr.ProviderError as exc:
            outcome[0] = "provider_error"
            log.warning("provider %s failed: %s", exc.provider, type(exc).__name__)
            return [Reply(explain_provider(ctx.t, exc, prefix))]

    def _fallback(self, reader: Reader | None) -> Translator:
        return (
            reader.t
            if reader is not None
            else self.audience.catalogs.translator(self.audience.default_language, self.audience.default_timezone)
        )


def _with_chat_language(replies: list[Reply], chat: Household) -> list[Reply]:
    """Replies in a group that chose its language name it (a platform words the group's menus
    in it); a handler that just changed it has said so itself."""
    if not (chat.is_group and chat.language):
        return replies
    return [r if r.chat_language else replace(r, chat_language=chat.language) for r in replies]


def explain_refusal(t: Translator, exc: BotError, prefix: str) -> str:
    """The refusal in the reader's language: a list placeholder as the language lists things
    (choices to pick one from as an "or" list), a count ``n`` through the message's plural forms."""
    params = {
        k: t.list(v, style="or" if isinstance(v, OneOf) else "standard") if isinstance(v, list | tuple) else v
        for k, v in exc.params.items()
    }
    params.setdefault("prefix", prefix)
    count = params.pop("n", None)
    if isinstance(count, int):
        return t.plural(exc.msgid, count, **params)
    return t(exc.msgid, **params)


def explain_provider(t: Translator, exc: perr.ProviderError, prefix: str) -> str:
    return t(provider_message(exc), provider=t.provider(exc.provider), prefix=prefix)
