"""Buttons that say what they do (issue 27, item 5): the paying choice first and marked in its
words, Cancel second, the same in every flow and language; Telegram colours them."""

from __future__ import annotations

import pytest

from bot.i18n import SUPPORTED
from bot.messages import Choice, ChoiceKind, Reply
from bot.platforms.telegram.render import button_style, render
from tests.conftest import DEMO, Bot
from tests.test_i18n import CATALOGS


async def _confirmation(bot: Bot, lang: str) -> Reply:
    await bot.send(f"/lang {lang}")
    await bot.send(f"/link {DEMO['DEMO20']} DEMO20 mom")
    plans = (await bot.send("/renew mom"))[0]
    return (await bot.send(plans.choices[0].command))[0]


@pytest.mark.parametrize("lang", SUPPORTED)
async def test_a_confirmation_that_spends_offers_pay_first_then_cancel(bot: Bot, lang: str) -> None:
    reply = await _confirmation(bot, lang)
    pay, cancel = reply.choices
    t = CATALOGS.translator(lang)
    assert (pay.kind, cancel.kind) == (ChoiceKind.PAY, ChoiceKind.CANCEL)
    assert pay.command.startswith("/confirm ") and cancel.command.startswith("/cancel ")
    assert pay.label.startswith("💳 ") and t.money(49, "NOK") in pay.label  # marked in its text, for Matrix and the console
    assert cancel.label == t("button.cancel")


async def test_removing_offers_remove_first_then_cancel(bot: Bot) -> None:
    await bot.send(f"/link {DEMO['DEMO20']} DEMO20 mom")
    (ask,) = await bot.send("/unlink mom")
    remove, cancel = ask.choices
    assert (remove.kind, cancel.kind) == (ChoiceKind.DESTROY, ChoiceKind.CANCEL)
    assert remove.command.startswith("/confirm ") and cancel.command.startswith("/cancel ")


def test_telegram_colours_pay_green_and_its_cancel_red() -> None:
    pay, cancel = Choice("💳 Pay", "/confirm a", ChoiceKind.PAY), Choice("Cancel", "/cancel a", ChoiceKind.CANCEL)
    keyboard = render(Reply("?", choices=(pay, cancel)), 1, button_data=str).keyboard
    assert keyboard is not None
    assert [(row[0].text, row[0].style) for row in keyboard.inline_keyboard] == [("💳 Pay", "success"), ("Cancel", "danger")]
    assert keyboard.to_dict()["inline_keyboard"][0][0]["style"] == "success"  # what goes over the wire


def test_removing_is_red_and_its_cancel_keeps_the_apps_colour() -> None:
    remove, cancel = Choice("Yes", "/confirm a", ChoiceKind.DESTROY), Choice("Cancel", "/cancel a", ChoiceKind.CANCEL)
    assert (button_style(remove, (remove, cancel)), button_style(cancel, (remove, cancel))) == ("danger", None)


def test_other_buttons_have_no_style() -> None:
    plain = Choice("Balance", "/balance")
    keyboard = render(Reply("x", choices=(plain,)), 1, button_data=str).keyboard
    assert keyboard is not None and "style" not in keyboard.to_dict()["inline_keyboard"][0][0]
