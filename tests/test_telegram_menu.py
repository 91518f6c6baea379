"""Telegram's command menus by role and language (issue 27, item 3), without a network."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app import LOCALES
from bot.app.concrete import Menu
from bot.i18n import Catalogs
from bot.platforms.telegram.menu import MenuCall, Menus, menu
from handlers.registry import build_commands
from tests.conftest import Bot

CATALOGS = Catalogs.load(LOCALES)
MENUS = Menus(Menu(build_commands(), CATALOGS), default_language="en")


@dataclass(frozen=True)
class _Command:
    name: str
    summary: str
    hidden: bool = False
    admin: bool = False


def _names(call: MenuCall) -> list[str]:
    return [c.command for c in call.commands]


def _find(calls: list[MenuCall], scope: str, lang: str | None) -> MenuCall:
    (found,) = [c for c in calls if c.scope.type == scope and c.language == lang]
    return found


def test_menu_lists_visible_commands_with_translated_descriptions() -> None:
    entries = [
        _Command("balance", "help.balance"),
        _Command("confirm", "help.confirm", hidden=True),
        _Command("Bad-Name", "help.x"),
        _Command("cap", "help.cap", admin=True),
    ]
    commands = menu(entries, lambda msgid: f"  {msgid.upper()}  ")
    assert [(c.command, c.description) for c in commands] == [("balance", "HELP.BALANCE"), ("cap", "HELP.CAP")]
    assert [c.command for c in menu(entries, str.upper, admin=False)] == ["balance"]


def test_every_scope_in_every_language_and_without_one() -> None:
    calls = MENUS.everywhere()
    assert {(c.scope.type, c.language) for c in calls} == {
        (scope, lang)
        for scope in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators")
        for lang in (None, "en", "nb", "zh")
    }
    assert len(calls) == 16


def test_group_members_do_not_see_admin_commands_and_admins_do() -> None:
    calls = MENUS.everywhere()
    members, admins = _find(calls, "all_group_chats", "nb"), _find(calls, "all_chat_administrators", "nb")
    private, default = _find(calls, "all_private_chats", "nb"), _find(calls, "default", None)
    for admin_only in ("cap", "lang", "family"):
        assert admin_only not in _names(members) and admin_only not in _names(default)
        assert admin_only in _names(admins) and admin_only in _names(private)
    assert "balance" in _names(members) and "renew" in _names(members)
    assert set(_names(members)) < set(_names(admins))
    assert not {"buy", "confirm", "cancel", "snooze"} & set(_names(admins))


def test_each_language_reads_its_own_descriptions() -> None:
    calls = MENUS.everywhere()
    for lang in ("en", "nb", "zh"):
        (balance,) = [c for c in _find(calls, "all_group_chats", lang).commands if c.command == "balance"]
        assert balance.description == CATALOGS.translator(lang)("help.balance")
    untagged = _find(calls, "all_private_chats", None)
    assert untagged.commands == _find(calls, "all_private_chats", "en").commands  # DEFAULT_LANGUAGE en


def test_without_a_language_the_default_language_is_used() -> None:
    calls = Menus(Menu(build_commands(), CATALOGS), default_language="zh").everywhere()
    assert _find(calls, "all_group_chats", None).commands == _find(calls, "all_group_chats", "zh").commands


def test_a_group_gets_its_own_menus_in_its_language() -> None:
    members, admins = MENUS.in_group(-1004001, "zh")
    assert (members.scope.type, members.language, members.scope.chat_id) == ("chat", None, -1004001)  # type: ignore[attr-defined]
    assert (admins.scope.type, admins.language) == ("chat_administrators", None)
    zh = CATALOGS.translator("zh")
    assert ("cap" in _names(admins), "cap" in _names(members)) == (True, False)
    assert admins.commands[0].description == zh(build_commands()[admins.commands[0].command].summary)


async def test_lang_in_a_group_says_the_chat_language_changed(bot: Bot) -> None:
    (set_,) = await bot.send("/lang nb", chat="g1", group=True, admin=True)
    assert set_.chat_language == "nb"
    (refused,) = await bot.send("/lang zh", chat="g1", group=True, user="u2")
    assert refused.chat_language is None
    (private,) = await bot.send("/lang zh", chat="p1")
    assert private.chat_language is None


async def test_every_reply_in_a_group_with_a_language_names_it(bot: Bot) -> None:
    (before,) = await bot.send("/help", chat="g2", group=True)
    assert before.chat_language is None  # no language of its own: the global menus serve it
    await bot.send("/lang zh", chat="g2", group=True, admin=True)
    (member,) = await bot.send("/help", chat="g2", group=True, user="u3", lang="en")
    assert member.chat_language == "zh"
    (private,) = await bot.send("/help", chat="p2", lang="zh")
    assert private.chat_language is None
