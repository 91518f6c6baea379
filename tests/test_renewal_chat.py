"""Issue 25 through the router with the real wiring and the fake clock: /auto offers the
recommended trigger first, owners and admins set rules, members only read them, /balance
shows them, and the job loop orders once for a low line after the notice hour."""

from __future__ import annotations

from datetime import timedelta

from bot.records import AlertKind
from bot.reminders.text import buttons, render
from tests.conftest import DEMO, Bot
from tests.test_i18n import CATALOGS


async def test_auto_offers_the_recommended_trigger_first_and_balance_shows_the_rule(bot: Bot) -> None:
    await bot.send(f"/link {DEMO['DEMO20']} DEMO20 mom")
    (offer,) = await bot.send("/auto mom")
    first = offer.choices[0]
    assert "(recommended)" in first.label and first.command == "/auto mom low 20 demo-1gb-7d"
    done = await bot.text(first.command)
    rule = CATALOGS.translator("en")("auto.rule_low", plan="1 GB / 7 days", percent="20%")
    assert rule in done
    assert rule in await bot.text("/balance mom") and rule in await bot.text("/auto")
    assert "off" in await bot.text("/auto mom off")
    assert await bot.text("/auto") == CATALOGS.translator("en")("auto.none", command="/auto")


async def test_a_member_reads_the_rules_but_cannot_change_them(bot: Bot) -> None:
    await bot.send(f"/link {DEMO['DEMO20']} DEMO20 mom", chat="g", group=True, user="u1")
    await bot.send("/auto mom low 20 demo-1gb-7d", chat="g", group=True, user="u1")
    shown = await bot.text("/auto mom", chat="g", group=True, user="u2")
    assert "1 GB / 7 days" in shown
    refused = await bot.text("/auto mom off", chat="g", group=True, user="u2")
    assert "1 GB / 7 days" in await bot.text("/auto", chat="g", group=True, user="u2"), refused


async def test_the_job_loop_orders_a_low_line_once_after_the_notice_hour(bot: Bot) -> None:
    await bot.send(f"/link {DEMO['DEMO20']} DEMO20 mom")
    await bot.send("/auto mom low 20 demo-1gb-7d")
    await bot.send("/balance mom")  # the balance decides, in its own unit
    jobs = bot.app.jobs
    await jobs.run_until(bot.clock.now() + timedelta(minutes=30))
    assert bot.app.metrics.value("esimbot_auto_orders_total", outcome="done", reason="") == 0  # the notice hour
    await jobs.run_until(bot.clock.now() + timedelta(hours=3))
    await bot.send("/balance mom")
    await jobs.run_until(bot.clock.now() + timedelta(days=1))
    assert bot.app.metrics.value("esimbot_auto_orders_total", outcome="done", reason="") == 1


async def test_the_notice_has_a_cancel_and_the_receipt_follows_in_every_language(bot: Bot) -> None:
    await bot.send(f"/link {DEMO['DEMO20']} DEMO20 mom")
    await bot.send("/auto mom low 20 demo-1gb-7d")
    await bot.send("/balance mom")
    [notice] = [i for i in bot.store.outbox() if i.alert.kind == AlertKind.AUTO_NOTICE]
    for lang in ("en", "nb", "zh"):
        t = CATALOGS.translator(lang)
        text = render(notice.alert, t, bot.clock.now(), "/")
        assert "1 GB / 7 days" in text and "{" not in text
        [cancel] = buttons(notice.alert, notice.line_id, t, "/")
        assert cancel.command == f"/cancel {notice.alert.token}"
    await bot.send(f"/cancel {notice.alert.token}")
    await bot.app.jobs.run_until(bot.clock.now() + timedelta(hours=2))
    assert bot.app.metrics.value("esimbot_auto_orders_total", outcome="cancelled", reason="cancelled") == 1
    assert bot.app.metrics.value("esimbot_auto_orders_total", outcome="done", reason="") == 0


async def test_a_receipt_goes_to_the_readers_after_the_order(bot: Bot) -> None:
    await bot.send(f"/link {DEMO['DEMO20']} DEMO20 mom")
    await bot.send("/auto mom low 20 demo-1gb-7d")
    await bot.send("/balance mom")
    await bot.app.jobs.run_until(bot.clock.now() + timedelta(hours=2))
    kinds = [i.alert.kind for i in bot.store.outbox()]
    assert AlertKind.AUTO_DONE in kinds, kinds
    [receipt] = [i for i in bot.store.outbox() if i.alert.kind == AlertKind.AUTO_DONE]
    assert "1 GB / 7 days" in render(receipt.alert, CATALOGS.translator("nb"), bot.clock.now(), "/")


async def test_the_rule_words_of_every_language_set_a_cycle(bot: Bot) -> None:
    await bot.send(f"/link {DEMO['DEMO12']} DEMO12 mom")
    for words, period in (
        ("每月 5", "auto.rule_monthly"),
        ("kvartalsvis 5", "auto.rule_quarterly"),
        ("yearly 5", "auto.rule_yearly"),
    ):
        done = await bot.text(f"/auto mom {words} demo-5gb-30d")
        assert CATALOGS.translator("en")(period, plan="5 GB / 30 days", day=5) in done


async def test_a_line_tracked_by_hand_gets_a_reminder_at_the_chosen_point_and_the_howto(bot: Bot) -> None:
    await bot.send("/link manual telenor mum 10 2026-12-31")
    (offer,) = await bot.send("/auto mum")
    assert offer.choices[0].command == "/auto mum low 20" and offer.choices[-1].command == "/howto telenor"
    t = CATALOGS.translator("en")
    done = await bot.text("/auto mum low 30")
    assert done == t("auto.manual_set", label="mum", percent=t.percent(0.3), howto="/howto telenor")
    assert t.percent(0.3) in await bot.text("/remind mum")


async def test_remind_shows_the_rule_of_a_line(bot: Bot) -> None:
    await bot.send(f"/link {DEMO['DEMO12']} DEMO12 mom")
    await bot.send("/auto mom monthly 5 demo-5gb-30d")
    rule = CATALOGS.translator("en")("auto.rule_monthly", plan="5 GB / 30 days", day=5)
    assert rule in await bot.text("/remind mom")
