"""Command -> handler, with the error boundary that turns every failure into a sentence.

``Router.handle(incoming)`` returns the replies for one message: a handler's result, or a
localized explanation of a ``BotError``/``ProviderError``, or, for anything unexpected,
an apology with a reference id while the trace goes to the log.

Each message is one unit of work: it is committed before the replies leave, and only when
the message changed something. A refusal (``BotError``) keeps what the handler recorded
(a failed link attempt counts); an unexpected error rolls the unit back. A change that
cannot be saved (``StoreWriteError``) is answered with a sentence saying so.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import replace

from bot.clock import Clock
from bot.context import Command, Context, NoWatcher, Watcher
from bot.errors import BotError, StoreWriteError, provider_message
from bot.i18n import Catalogs, Translator, negotiate
from bot.messages import MAX_TEXT, Address, Incoming, Reply, clean_text, parse_command
from bot.metrics import Metrics
from bot.records import Household
from bot.store import Store, Tx
from providers import errors as perr
from providers.base import ManualLines, Provider

log = logging.getLogger(__name__)

class Router:
    def __init__(
        self,
        *,
        commands: Mapping[str, Command],
        store: Store,
        providers: Mapping[str, Provider],
        manual: ManualLines,
        catalogs: Catalogs,
        clock: Clock,
        default_language: str = "en",
        default_timezone: str = "Europe/Oslo",
        prefixes: Mapping[str, str] | None = None,
        watcher: Watcher | None = None,
        bot_username: str | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.commands = dict(commands)
        self.store = store
        self.providers = providers
        self.manual = manual
        self.catalogs = catalogs
        self.clock = clock
        self.default_language = default_language
        self.default_timezone = default_timezone
        self.prefixes = dict(prefixes or {})
        self.watcher = watcher or NoWatcher()
        self.bot_username = bot_username
        self.metrics = metrics or Metrics()

    async def household_for(self, tx: Tx, incoming: Incoming) -> Household:
        hid = incoming.address.household_id
        found = await tx.household(hid)
        household = found or Household(id=hid, is_group=incoming.is_group, created_at=self.clock.now(),
                                       timezone=self.default_timezone)
        if not household.active:
            household = replace(household, active=True)
        if incoming.is_group and not household.is_group:
            # a direct room that grew is a family now: roles apply (never the other way round,
            # so a shrinking family does not make a member an admin)
            household = replace(household, is_group=True)
        if not household.is_group and incoming.language and incoming.language != household.language_hint:
            household = replace(household, language_hint=incoming.language[:16])  # alerts speak it too
        if household != found:
            await tx.save_household(household)
        return household

    async def translator_for(self, tx: Tx, user_id: str | None, household: Household | None,
                             hint: str | None = None, *, private: bool = False) -> Translator:
        """The reader's language: user's choice -> household's -> platform hint -> default.
        A ``private`` message to one user (an alert about a family line) puts the user's own
        platform language before the family's."""
        user_lang = await tx.user_language(user_id) if user_id else None
        household_lang = household.language if household else None
        hint = hint or (await tx.user_hint(user_id) if user_id else None) \
            or (household.language_hint if household else None)
        order = (user_lang, hint, household_lang) if private else (user_lang, household_lang, hint)
        lang = negotiate(*order, default=self.default_language)
        tz = household.timezone if household else self.default_timezone
        return self.catalogs.translator(lang, tz)

    async def reader_translator(self, address: Address) -> Translator:
        """The language of one reader in one chat, as a message from them would get it."""
        async with self.store.transaction() as tx:
            household = await tx.household(address.household_id)
            return await self.translator_for(tx, address.user_id if address.user else None, household)

    async def handle(self, incoming: Incoming) -> list[Reply]:
        text = clean_text(incoming.text)
        if incoming.command is None:
            if incoming.is_group and not text.startswith(("/", "!", "／", "！")):
                return []  # family chatter is not for the bot
            parsed = parse_command(text, bot_username=self.bot_username) if len(text) <= MAX_TEXT else None
            if parsed is None and incoming.is_group and len(text) <= MAX_TEXT:
                return []  # another bot's command, or not a command at all
            if parsed is not None:
                incoming = replace(incoming, text=text, command=parsed[0], args=parsed[1])
        outcome = ["ok"]
        t: Translator | None = None
        try:
            async with self.store.transaction() as tx:
                household = await self.household_for(tx, incoming)
                if incoming.language:
                    await tx.set_user_hint(incoming.address.user_id, incoming.language[:16])
                if await tx.get_state("unreachable", incoming.address.user_id):
                    await tx.put_state("unreachable", incoming.address.user_id, None)  # they talk to us again
                t = await self.translator_for(tx, incoming.address.user_id, household, incoming.language)
                return await self._dispatch(tx, incoming, household, t, outcome)
        except StoreWriteError:
            outcome[0] = "not_saved"
            return [Reply((t or self.catalogs.translator(self.default_language, self.default_timezone))("error.not_saved"))]
        except Exception:
            outcome[0] = "unexpected"
            ref = secrets.token_hex(4)
            log.exception("unexpected error, reference %s", ref)
            t = t or self.catalogs.translator(self.default_language, self.default_timezone)
            return [Reply(t("error.unexpected", ref=ref))]
        finally:
            if incoming.command in self.commands:
                self.metrics.inc("esimbot_commands_total", command=incoming.command, outcome=outcome[0])

    async def _dispatch(self, tx: Tx, incoming: Incoming, household: Household, t: Translator,
                        outcome: list[str]) -> list[Reply]:
        """The handler's replies, or a refusal explained; refusals keep the unit's writes."""
        text = clean_text(incoming.text)
        prefix = self.prefixes.get(incoming.address.platform, "/")
        if len(text) > MAX_TEXT:
            return [Reply(t("error.too_long", limit=MAX_TEXT))]
        if incoming.command is None:
            key = "error.empty" if not text else "error.not_a_command"
            return [Reply(t(key, help=f"{prefix}help"))]
        command = self.commands.get(incoming.command)
        if command is None:
            names = " ".join(f"{prefix}{c.name}" for c in self.commands.values() if not c.hidden)
            return [Reply(t("error.unknown_command", command=incoming.command[:30], commands=names))]
        ctx = Context(
            incoming=incoming, household=household, tx=tx, store=self.store, providers=self.providers,
            manual=self.manual, t=t, now=self.clock.now(), prefix=prefix,
            default_language=self.default_language, watcher=self.watcher,
        )
        log.info("command %s in %s", command.name, incoming.address.platform)
        try:
            result = await command.handler(incoming, ctx)
            return [result] if isinstance(result, Reply) else list(result)
        except BotError as exc:
            outcome[0] = "refused"
            return [Reply(ctx.t(exc.msgid, **{"prefix": prefix, **exc.params}))]
        except perr.ProviderError as exc:
            outcome[0] = "provider_error"
            log.warning("provider %s failed: %s", exc.provider, type(exc).__name__)
            return [Reply(ctx.t(provider_message(exc), provider=ctx.t.provider(exc.provider), prefix=prefix))]
