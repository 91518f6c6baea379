"""Telegram as its apps show it (issue 27): menus by role and language, a group's menu in its
own language, and the paying button's colour. Deep links: test_deep_links.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.processes import wait_for
from tests.e2e.telegram.client import ChatRef, Person, buttons, keyboard, private
from tests.e2e.telegram.conftest import BotProcess
from tests.e2e.telegram.test_private import tr

pytestmark = pytest.mark.e2e
ADMIN = Person(7301, "Kari", "nb")
MEMBER = Person(7302, "Ola", "nb")
GUEST = Person(7303, "Li", "zh")
ENGLISH = Person(7304, "Ann", "en")
OTHER = Person(7305, "Hans", "de")  # a language the bot does not speak
FAMILY = ChatRef(-1002000000301, "supergroup", "Familie")
ADMIN_ONLY = ("cap", "lang", "family")


def test_members_and_admins_see_different_menus_in_their_language(start_bot: Callable[..., BotProcess]) -> None:
    bot = start_bot()
    tg = bot.client
    tg.set_admins(FAMILY, ADMIN)
    admin, member = tg.menu(ADMIN, FAMILY), tg.menu(MEMBER, FAMILY)
    assert all(name in admin for name in ADMIN_ONLY) and not any(name in member for name in ADMIN_ONLY)
    assert set(member) < set(admin) and "balance" in member and "renew" in member
    nb = tr("nb")
    assert member["balance"] == nb("help.balance") and admin["cap"] == nb("help.cap")
    # each reader in their own app's language; a language the bot lacks gets DEFAULT_LANGUAGE
    for who, lang in ((GUEST, "zh"), (ENGLISH, "en"), (OTHER, "en")):
        assert tg.menu(who, FAMILY)["balance"] == tr(lang)("help.balance")
        assert tg.menu(who, private(who))["cap"] == tr(lang)("help.cap")  # a private chat is the reader's own
    assert not {"buy", "confirm", "cancel", "snooze"} & set(tg.menu(ADMIN, private(ADMIN)))


def test_a_group_that_sets_its_language_gets_its_menu_in_it(start_bot: Callable[..., BotProcess]) -> None:
    bot = start_bot()
    tg = bot.client
    tg.set_admins(FAMILY, ADMIN)
    assert tg.ask(ADMIN, FAMILY, "/lang zh")["text"] == tr("zh")("lang.set", language=tr("zh")("lang.name_zh"))
    zh = tr("zh")
    seen = wait_for(
        lambda: tg.menu(ENGLISH, FAMILY) if "chat:" + str(FAMILY.id) in tg.commands() else None, "the group's own menu"
    )
    assert seen["balance"] == zh("help.balance") and "cap" not in seen  # a member, whatever their app's language
    assert tg.menu(ADMIN, FAMILY)["cap"] == zh("help.cap")
    assert tg.menu(ENGLISH, private(ENGLISH))["balance"] == tr("en")("help.balance")  # only that group

    tg.ask(ADMIN, FAMILY, "/lang nb")  # changed again: the menus follow
    wait_for(lambda: tg.menu(MEMBER, FAMILY)["balance"] == tr("nb")("help.balance") or None, "the menu in Norwegian")
    assert tg.menu(GUEST, FAMILY)["balance"] == tr("nb")("help.balance")

    other = ChatRef(-1002000000302, "supergroup", "Others")
    assert tg.ask(MEMBER, other, "/lang zh")["text"] == tr("nb")("error.admin_only")  # refused: nothing changes
    assert f"chat:{other.id}" not in tg.commands()


def test_the_paying_button_is_green_and_cancel_red(start_bot: Callable[..., BotProcess]) -> None:
    bot = start_bot()
    tg, t = bot.client, tr("en")
    chat = private(ENGLISH)
    tg.ask(ENGLISH, chat, "/link 8947000000000000020 DEMO20 mom")
    plans = tg.ask(ENGLISH, chat, "/renew")
    assert all("style" not in b for row in keyboard(plans) for b in row)  # choosing a plan spends nothing yet
    tg.press(ENGLISH, chat, plans, buttons(plans)[0])
    confirm = tg.edited(plans["message_id"], plans["text"])
    (pay,), (cancel,) = keyboard(confirm)
    assert (pay["text"], pay["style"]) == (t("button.pay", price=t.money(49, "NOK")), "success")
    assert (cancel["text"], cancel["style"]) == (t("button.cancel"), "danger")
    assert pay["callback_data"].startswith("/confirm ") and cancel["callback_data"].startswith("/cancel ")

    asked = tg.ask(ENGLISH, chat, "/unlink mom")
    (remove,), (keep,) = keyboard(asked)
    assert (remove["text"], remove["style"]) == (t("button.unlink"), "danger") and "style" not in keep
