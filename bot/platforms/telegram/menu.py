"""Telegram's command menus: by who reads them and in which language.

Telegram shows a reader the first list that is set, from the narrowest scope to the widest,
each first for the reader's app language and then without one: in a group that is this
chat's admins (admins only), this chat, all group admins (admins only), all groups, the
default; in a private chat, that chat, all private chats, the default. So the bot sets:

- all private chats: every command (the reader is the admin of their own chat);
- all groups: what members may use (``/cap``, ``/lang``, ``/family`` are left out);
- all group admins: every command;
- the default: the members' list, for any chat Telegram counts as neither;

each in English, Norwegian and Chinese (``language_code``) and once without a language, in
``DEFAULT_LANGUAGE``. A group whose admins set its language (``/lang``) gets its own two
lists (this chat, this chat's admins) in that language. Every reply in such a group names
the language (``Reply.chat_language``); the lists are set again when it or their wording
changed (a new version), which the store remembers per group, so a restart, another worker
or a group that became a supergroup costs one store read, not two API calls per message.

When the bot serves the home screen, the menu button of every private chat opens it as a
Mini App (``setChatMenuButton`` with a Web App), labelled in ``DEFAULT_LANGUAGE``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from telegram import (
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeChatAdministrators,
    BotCommandScopeDefault,
    MenuButtonWebApp,
    WebAppInfo,
)
from telegram.error import TelegramError

from bot.errors import StoreError
from bot.i18n import SUPPORTED, Catalogs
from bot.platforms.base import Lru
from bot.platforms.telegram.state import KeptState

log = logging.getLogger(__name__)
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
KEPT = "telegram_menu"  # the store's namespace: group chat id -> the lists last set there


class MenuEntry(Protocol):
    """What the command menu needs of a command (``bot.context.Command`` fits)."""

    @property
    def name(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def hidden(self) -> bool: ...

    @property
    def admin(self) -> bool: ...


class MenuSource(Protocol):
    """Where the command menu comes from (``bot.app.concrete.Menu`` fits): the commands and the catalogs."""

    @property
    def commands(self) -> Mapping[str, MenuEntry]: ...

    @property
    def catalogs(self) -> Catalogs: ...


def menu(entries: Iterable[MenuEntry], t: Callable[[str], str], *, admin: bool = True) -> list[BotCommand]:
    """The visible commands for one menu, described in one language; ``admin`` False leaves
    out what only a group's admins may use."""
    commands = []
    for entry in entries:
        if entry.hidden or (entry.admin and not admin) or not _COMMAND_NAME.match(entry.name):
            continue
        description = " ".join(t(entry.summary).split())[:256]
        if description:
            commands.append(BotCommand(entry.name, description))
    return commands[:100]


@dataclass(frozen=True)
class MenuCall:
    """One ``setMyCommands``: a scope, a language (None: readers of any other one), the list."""

    scope: BotCommandScope
    language: str | None
    commands: list[BotCommand]


class Menus:
    def __init__(self, source: MenuSource, *, default_language: str, kept: KeptState | None = None) -> None:
        self._source, self._default_language, self._kept = source, default_language, kept
        self._groups: Lru[int, str] = Lru(4096)  # chat -> what its lists say (language and wording)
        self._marks: dict[str, str] = {}  # language -> what a group's lists in it say

    def _list(self, lang: str, *, admin: bool) -> list[BotCommand]:
        return menu(self._source.commands.values(), self._source.catalogs.translator(lang), admin=admin)

    def everywhere(self) -> list[MenuCall]:
        """The menus set at every start: four scopes, each per language and without one."""
        scopes: list[tuple[BotCommandScope, bool]] = [
            (BotCommandScopeDefault(), False),
            (BotCommandScopeAllPrivateChats(), True),
            (BotCommandScopeAllGroupChats(), False),
            (BotCommandScopeAllChatAdministrators(), True),
        ]
        return [
            MenuCall(scope, lang, self._list(lang or self._default_language, admin=admin))
            for scope, admin in scopes
            for lang in (None, *SUPPORTED)
        ]

    def in_group(self, chat_id: int, lang: str) -> list[MenuCall]:
        """A group's own menus in its language, for every reader whatever their app's language."""
        return [
            MenuCall(BotCommandScopeChat(chat_id), None, self._list(lang, admin=False)),
            MenuCall(BotCommandScopeChatAdministrators(chat_id), None, self._list(lang, admin=True)),
        ]

    def _mark(self, lang: str) -> str:
        """The language and a digest of the wording, so a new version's descriptions show."""
        if lang not in self._marks:
            lists = [[c.to_dict() for c in call.commands] for call in self.in_group(0, lang)]
            digest = hashlib.sha256(json.dumps(lists, sort_keys=True).encode()).hexdigest()[:16]
            self._marks[lang] = f"{lang}:{digest}"
        return self._marks[lang]

    async def follow_group(self, bot: Any, chat_id: int, lang: str) -> None:
        """Word a group's own lists in its language, unless they already are."""
        mark = self._mark(lang)
        if self._groups.get(chat_id) == mark or await self._kept_mark(chat_id) == mark:
            self._groups.put(chat_id, mark)
            return
        if await self.set(bot, self.in_group(chat_id, lang)):
            self._groups.put(chat_id, mark)
            await self._keep(chat_id, mark)

    async def _kept_mark(self, chat_id: int) -> str | None:
        try:
            found = await self._kept.get_state(KEPT, str(chat_id)) if self._kept is not None else None
        except StoreError:
            return None  # set them again: harmless
        return found if isinstance(found, str) else None

    async def _keep(self, chat_id: int, mark: str) -> None:
        if self._kept is None:
            return
        try:
            await self._kept.put_state(KEPT, str(chat_id), mark)
        except StoreError:
            log.warning("Telegram: a group's menu could not be recorded; it is set again after a restart")

    async def set(self, bot: Any, calls: list[MenuCall]) -> bool:
        """Send the calls; a refusal is logged and the rest still go. True when all went."""
        done = True
        for call in calls:
            try:
                await bot.set_my_commands(call.commands, scope=call.scope, language_code=call.language)
            except TelegramError as exc:
                done = False
                log.warning(
                    "Telegram: setMyCommands (%s, %s) failed: %s",
                    call.scope.type,
                    call.language or "any language",
                    type(exc).__name__,
                )
        return done

    async def home_button(self, bot: Any, url: str) -> bool:
        """The menu button of private chats opens the home screen as a Mini App."""
        label = self._source.catalogs.translator(self._default_language)("button.home_menu")
        try:
            await bot.set_chat_menu_button(menu_button=MenuButtonWebApp(label[:64], WebAppInfo(url)))
        except TelegramError as exc:
            log.warning("Telegram: setChatMenuButton failed: %s", type(exc).__name__)
            return False
        return True
