"""Issue 25: who hears of an automatic order and what they read. The receipt names the plan,
the price and the data left as the provider reads it after the order, to the owner and the
family chat; a stop at the cap goes privately to the owner and to each admin, once, with a
one-tap manual top-up."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.records import Alert, AlertKind, Line
from bot.reminders.text import buttons, render
from bot.renewal.decide import news
from bot.renewal.records import Decision, Kind
from providers.base import Money
from tests.conftest import DEMO, START_AT, Bot
from tests.test_i18n import CATALOGS

EN = CATALOGS.translator("en")


async def _family_rule(bot: Bot, *, setter: str = "u1", admin: bool = False) -> list[Alert]:
    """u1 links the 8 % demo line in the group "g"; ``setter`` sets the recommended rule; a
    balance decides (the notices, returned) and the job loop runs past the notice hour."""
    await bot.send(f"/link {DEMO['DEMO20']} DEMO20 mom", chat="g", group=True, user="u1")
    await bot.send("/auto mom low 20 demo-1gb-7d", chat="g", group=True, user=setter, admin=admin)
    await bot.send("/balance mom", chat="g", group=True, user="u1")
    notices = [i.alert for i in bot.store.outbox() if i.alert.kind == AlertKind.AUTO_NOTICE]
    await bot.app.jobs.run_until(bot.clock.now() + timedelta(hours=2))
    return notices


async def test_the_receipt_names_plan_price_and_data_left_to_the_owner_and_the_family_chat(bot: Bot) -> None:
    notices = await _family_rule(bot)
    receipts = [i for i in bot.store.outbox() if i.alert.kind == AlertKind.AUTO_DONE]
    assert sorted((i.chat, i.private_user) for i in receipts) == [("g", None), ("u1", "u1")]
    alert = receipts[0].alert
    assert alert.remaining is not None and alert.total, alert  # read back from the provider after the order
    price = EN.money(Decimal("49"), "NOK")
    for lang in ("en", "nb", "zh"):
        t = CATALOGS.translator(lang)
        text = render(alert, t, bot.clock.now(), "/")
        assert t("auto.receipt_priced", label="mom", plan="1 GB / 7 days", price=t.money(Decimal("49"), "NOK")) in text
        assert t("balance.data", left=t.data(alert.remaining), total=t.data(alert.total)) in text
    assert price in render(alert, EN, bot.clock.now(), "/")
    for said in (*notices, alert):  # the demo adds a top-up at once: the notice and the receipt say so
        assert said.queued is False and EN("auto.starts_now") in render(said, EN, bot.clock.now(), "/")
    assert buttons(alert, receipts[0].line_id, EN, "/") == ()


async def test_a_stop_at_the_cap_goes_to_the_owner_and_each_admin_once_with_a_manual_top_up(bot: Bot) -> None:
    await bot.send("/cap 10 NOK", chat="g", group=True, user="u2", admin=True)
    await _family_rule(bot, setter="u3", admin=True)
    stops = [i for i in bot.store.outbox() if i.alert.kind == AlertKind.AUTO_SKIPPED]
    assert sorted((i.chat, i.private_user) for i in stops) == [("u1", "u1"), ("u2", "u2"), ("u3", "u3")]
    [button] = buttons(stops[0].alert, stops[0].line_id, EN, "/")
    assert button.command == "/renew mom"
    assert EN("auto.skipped_cap", label="mom", plan="1 GB / 7 days", renew="/renew mom") == render(
        stops[0].alert, EN, bot.clock.now(), "/"
    )
    await bot.send("/balance mom", chat="g", group=True, user="u1")  # the same trigger again: told once
    await bot.app.jobs.run_until(bot.clock.now() + timedelta(hours=2))
    assert len([i for i in bot.store.outbox() if i.alert.kind == AlertKind.AUTO_SKIPPED]) == 3


def test_a_provider_that_queues_top_ups_is_said_to_start_them_when_the_plan_ends() -> None:
    line = Line("l1", "console:h", "mom", "console:u1", "U", "esimgo", "8944000000000000001", START_AT)
    decision = Decision("auto1", "console:h", "l1", Kind.LOW, "low:-", "b1", Money(Decimal("5"), "USD"), START_AT, START_AT)
    for kind in (AlertKind.AUTO_NOTICE, AlertKind.AUTO_DONE):
        alert = news(kind, line, decision)
        assert alert.queued is True and EN("auto.starts_queued") in render(alert, EN, START_AT, "/")


async def test_the_limits_are_set_by_the_owner_or_an_admin_read_by_members_and_shown_everywhere(bot: Bot) -> None:
    g = {"chat": "g", "group": True}
    await bot.send(f"/link {DEMO['DEMO12']} DEMO12 mom", **g, user="u1")
    assert EN("auto.no_rule", label="mom", command="/auto mom") == await bot.text("/auto mom every 12h", **g, user="u1")
    await bot.send("/auto mom low 10 demo-1gb-7d", **g, user="u1")
    rule = EN("auto.rule_low", plan="1 GB / 7 days", percent=EN.percent(0.1))
    default = EN("auto.with_limits", rule=rule, gap=EN("auto.gap_day"), month=EN.plural("auto.month_count", 4))
    assert default == "Auto top-up: 1 GB / 7 days when under 10%, at most once a day and 4 times a month"
    assert default in await bot.text("/auto mom", **g, user="u2")  # a member reads it
    assert EN("error.owner_or_admin", label="mom") == await bot.text("/auto mom every 2h", **g, user="u2")
    await bot.send("/auto mom every 12h", **g, user="u3", admin=True)
    done = await bot.text("/auto mom max 2", **g, user="u1")
    limited = EN("auto.with_limits", rule=rule, gap=EN.plural("auto.gap_hours", 12), month=EN.plural("auto.month_count", 2))
    assert limited in done and "every 12 hours" in limited
    for command in ("/auto", "/balance mom", "/remind mom"):
        assert limited in await bot.text(command, **g, user="u2"), command
    await bot.send("/auto mom low 20 demo-1gb-7d", **g, user="u1")  # a new trigger keeps the limits
    assert "every 12 hours" in await bot.text("/auto mom", **g, user="u2")
    for bad in ("every 0h", "every soon", "max 0", "max 99"):  # never unlimited
        assert (await bot.send(f"/auto mom {bad}", **g, user="u1"))[0].text != done, bad
    nb = CATALOGS.translator("nb")
    assert nb.plural("auto.gap_hours", 12) in await bot.text("/auto mom hver 12t", **g, user="u1", lang="nb")


async def test_an_amount_or_days_before_expiry_are_triggers_too(bot: Bot) -> None:
    await bot.send(f"/link {DEMO['DEMO20']} DEMO20 mom")  # 409 MB left, expires in 12 days
    await bot.send(f"/link {DEMO['DEMO12']} DEMO12 dad")  # 7.5 GB left, expires in 20 days
    under = await bot.text("/auto mom under 500MB demo-1gb-7d")
    assert EN("auto.rule_under", plan="1 GB / 7 days", amount="500 MB") in under, under
    days = await bot.text("/auto dad days 30 demo-5gb-30d")
    assert EN("auto.rule_days", plan="5 GB / 30 days", days=EN.plural("plan.days", 30)) in days, days
    await bot.send("/balance mom")
    await bot.send("/balance dad")
    noticed = {i.alert.label for i in bot.store.outbox() if i.alert.kind == AlertKind.AUTO_NOTICE}
    assert noticed == {"mom", "dad"}
    refused = await bot.text("/auto mom under lots demo-1gb-7d")
    assert "lots" in refused and "Done" not in refused, refused
