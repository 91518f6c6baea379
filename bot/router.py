"""Command -> handler, with the error boundary that turns every failure into a sentence.

``Router.handle(incoming)`` returns the replies for one message: a handler's result, or a
localized explanation of a ``BotError``/``ProviderError``, or, for anything unexpected,
an apology with a reference id while the trace goes to the log. Store changes are
committed before the replies leave.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import replace

from bot.clock import Clock
from bot.context import Command, Context, NoWatcher, Watcher
from bot.errors import BotError, provider_message
from bot.i18n import Catalogs, Translator, negotiate
from bot.messages import MAX_TEXT, Incoming, Reply, clean_text, parse_command
from bot.metrics import Metrics
from bot.records import Household
from bot.store import Store
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

    def household_for(self, incoming: Incoming) -> Household:
        hid = incoming.address.household_id
        household = self.store.household(hid)
        if household is None:
            household = Household(id=hid, is_group=incoming.is_group, created_at=self.clock.now(),
                                  timezone=self.default_timezone)
            self.store.save_household(household)
        elif not household.active:
            household = replace(household, active=True)
            self.store.save_household(household)
        if incoming.is_group and not household.is_group:
            # a direct room that grew is a family now: roles apply (never the other way round,
            # so a shrinking family does not make a member an admin)
            household = replace(household, is_group=True)
            self.store.save_household(household)
        if not household.is_group and incoming.language and incoming.language != household.language_hint:
            household = replace(household, language_hint=incoming.language[:16])  # alerts speak it too
            self.store.save_household(household)
        return household

    def translator_for(self, user_id: str | None, household: Household | None, hint: str | None = None,
                       *, private: bool = False) -> Translator:
        """The reader's language: user's choice -> household's -> platform hint -> default.
        A ``private`` message to one user (an alert about a family line) puts the user's own
        platform language before the family's."""
        user_lang = self.store.user_language(user_id) if user_id else None
        household_lang = household.language if household else None
        hint = hint or (self.store.user_hint(user_id) if user_id else None) \
            or (household.language_hint if household else None)
        order = (user_lang, hint, household_lang) if private else (user_lang, household_lang, hint)
        lang = negotiate(*order, default=self.default_language)
        tz = household.timezone if household else self.default_timezone
        return self.catalogs.translator(lang, tz)

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
        household = self.household_for(incoming)
        if incoming.language:
            self.store.set_user_hint(incoming.address.user_id, incoming.language[:16])
        if self.store.get_state("unreachable", incoming.address.user_id):
            self.store.put_state("unreachable", incoming.address.user_id, None)  # they talk to us again
        t = self.translator_for(incoming.address.user_id, household, incoming.language)
        prefix = self.prefixes.get(incoming.address.platform, "/")
        outcome = "ok"
        try:
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
                incoming=incoming, household=household, store=self.store, providers=self.providers,
                manual=self.manual, t=t, now=self.clock.now(), prefix=prefix,
                default_language=self.default_language, watcher=self.watcher,
            )
            log.info("command %s in %s", command.name, incoming.address.platform)
            result = await command.handler(incoming, ctx)
            return [result] if isinstance(result, Reply) else list(result)
        except BotError as exc:
            outcome = "refused"
            return [Reply(t(exc.msgid, **{"prefix": prefix, **exc.params}))]
        except perr.ProviderError as exc:
            outcome = "provider_error"
            log.warning("provider %s failed: %s", exc.provider, type(exc).__name__)
            return [Reply(t(provider_message(exc), provider=t(f"provider.{exc.provider}"), prefix=prefix))]
        except Exception:
            outcome = "unexpected"
            ref = secrets.token_hex(4)
            log.exception("unexpected error, reference %s", ref)
            return [Reply(t("error.unexpected", ref=ref))]
        finally:
            if incoming.command in self.commands:
                self.metrics.inc("esimbot_commands_total", command=incoming.command, outcome=outcome)
            self.store.commit()
