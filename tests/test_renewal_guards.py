"""Issue 25's guard-rails, each with its test: a line beyond renewal (cancelled, recycled,
expired for good, unlinked) ends its rules; a notice in quiet hours waits unless the line
runs dry first; a price drift or a gone plan stops the rule and asks again; an outage
charges nothing and says so; a transient failure is retried once, then people decide; and
automatic top-up is offered after a manual one and under a low balance, recommended first."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.records import Alert, AlertKind, Household, Line
from bot.reminders.text import buttons, render
from bot.renewal.orderer import AutoOrderer
from bot.renewal.records import Step
from providers.base import EsimBalance, Money, Plan, Status
from providers.errors import EsimTerminal, TopUpNotAllowed, TryLater
from tests.conftest import DEMO, Bot, make_bot
from tests.test_i18n import CATALOGS
from tests.test_renewal import HOUR, LOW_ICCID, Flaky, Rig, low_rule

EN = CATALOGS.translator("en")
DRIFT = Money(Decimal(44), "NOK")  # the plan costs 49 NOK now: +11 %


@pytest.fixture
async def rig() -> Any:
    r = Rig(None)
    yield r
    await r.store.close()


class Told:
    """``Planner.announce`` for the orderer: keeps what the readers would be told."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    async def __call__(self, tx: Any, line: Line, household: Household, alert: Alert, now: datetime) -> None:
        self.alerts.append(alert)


def telling(rig: Rig) -> Told:
    told = Told()
    rig.orderer = lambda: AutoOrderer(store=rig.store, providers=rig.providers, metrics=rig.metrics, announce=told)  # type: ignore[method-assign]
    return told


async def rules(rig: Rig) -> list[Any]:
    async with rig.store.transaction() as tx:
        return await tx.auto_rules("l1")


class Ended(Flaky):
    """The demo line, beyond renewal as ``how`` says: cancelled (its balance), recycled (the
    order is refused) or expired for good (no top-up offered any more)."""

    def __init__(self, inner: Any, how: str) -> None:
        super().__init__(inner)
        self.how = how

    async def balance(self, iccid: str) -> EsimBalance:
        found = await self.inner.balance(iccid)
        return replace(found, status=Status.TERMINATED) if self.how == "cancelled" else found

    async def plans(self, iccid: str) -> list[Plan]:
        if self.how == "expired":
            raise TopUpNotAllowed("demo", "expired beyond renewal")
        return await self.inner.plans(iccid)

    async def topup(self, iccid: str, plan_id: str, *, client_ref: str) -> Any:
        raise EsimTerminal("demo", "recycled")


@pytest.mark.parametrize("how", ["recycled", "expired"])
async def test_a_line_beyond_renewal_ends_its_rules_and_charges_nothing(rig: Rig, how: str) -> None:
    await rig.setup(low_rule())
    told = telling(rig)
    await rig.look()
    rig.providers["demo"] = Ended(rig.demo, how)
    assert [(o.step, o.reason) for o in await rig.run(HOUR)] == [(Step.SKIPPED, "ended")]
    assert await rules(rig) == [] and await rig.topups() == []
    [alert] = told.alerts
    assert render(alert, EN, rig.clock.now(), "/").startswith("⏹") and buttons(alert, "l1", EN, "/") == ()
    assert rig.metrics.value("esimbot_auto_orders_total", outcome="skipped", reason="ended") == 1


async def test_a_cancelled_line_ends_its_rules_at_the_balance_that_says_so(rig: Rig) -> None:
    await rig.setup(low_rule())
    rig.demo = Ended(rig.demo, "cancelled")  # type: ignore[assignment]
    assert await rig.look() == [] and await rules(rig) == []


async def test_an_unlinked_line_ends_its_rules_and_its_waiting_order(bot: Bot) -> None:
    await bot.send(f"/link {DEMO['DEMO20']} DEMO20 mom")
    await bot.send("/auto mom low 20 demo-1gb-7d")
    await bot.send("/balance mom")  # decided: the order waits for the notice hour
    [remove] = await bot.send("/unlink mom")
    await bot.send(remove.choices[0].command)
    await bot.app.jobs.run_until(bot.clock.now() + timedelta(hours=2))
    assert bot.app.metrics.value("esimbot_auto_orders_total", outcome="cancelled", reason="unlinked") == 1
    assert bot.app.metrics.value("esimbot_auto_orders_total", outcome="done", reason="") == 0
    await bot.send(f"/link {DEMO['DEMO20']} DEMO20 mom")  # linked again: no rule came back
    assert await bot.text("/auto") == EN("auto.none", command="/auto")


def quiet_bot() -> Bot:
    """23:00 in Oslo: inside the default quiet hours (22:00 to 08:00)."""
    return make_bot(start=datetime(2026, 1, 1, 22, 0, tzinfo=UTC))


async def _notice(bot: Bot) -> Any:
    await bot.send(f"/link {DEMO['DEMO20']} DEMO20 mom")
    await bot.send("/auto mom low 20 demo-1gb-7d")
    await bot.send("/balance mom")
    [notice] = [i for i in bot.store.outbox() if i.alert.kind == AlertKind.AUTO_NOTICE]
    return notice


async def test_a_notice_in_quiet_hours_waits_for_their_end_and_the_order_its_hour_after() -> None:
    bot = quiet_bot()
    notice = await _notice(bot)
    morning = datetime(2026, 1, 2, 7, 0, tzinfo=UTC)  # 08:00 in Oslo
    assert notice.not_before == morning and notice.alert.at == morning + HOUR
    assert EN("auto.why_dry") not in render(notice.alert, EN, morning, "/")
    await bot.app.jobs.run_until(morning + timedelta(minutes=30))
    assert bot.app.metrics.value("esimbot_auto_orders_total", outcome="done", reason="") == 0
    await bot.app.jobs.run_until(morning + 2 * HOUR)
    assert bot.app.metrics.value("esimbot_auto_orders_total", outcome="done", reason="") == 1


async def test_unless_the_line_runs_dry_first_then_it_orders_at_once_and_says_why() -> None:
    bot = quiet_bot()
    await bot.send("/auto")  # the household
    now = bot.clock.now()
    left = (await bot.app.providers["demo"].balance(LOW_ICCID)).data_remaining_bytes
    async with bot.store.store.transaction() as tx:  # an hour ago it had eleven times as much
        await tx.save_line(Line("l1", "console:c1", "mom", "console:u1", "U", "demo", LOW_ICCID, now - HOUR))
        for at, bytes_left in ((now - HOUR, 11 * left), (now - timedelta(minutes=1), left)):
            await tx.add_sample("l1", EsimBalance("demo", LOW_ICCID, Status.ACTIVE, at, 5 * 2**30, bytes_left))
    await bot.send("/auto mom low 20 demo-1gb-7d")
    await bot.send("/balance mom")  # at this pace the data is gone in about six minutes
    [notice] = [i for i in bot.store.outbox() if i.alert.kind == AlertKind.AUTO_NOTICE]
    assert notice.not_before == now and notice.alert.note == "dry"
    text = render(notice.alert, EN, now, "/")
    assert EN("auto.why_dry") in text and EN("auto.now") in text and buttons(notice.alert, notice.line_id, EN, "/") == ()
    await bot.app.jobs.run_until(now + timedelta(minutes=1))
    assert bot.app.metrics.value("esimbot_auto_orders_total", outcome="done", reason="") == 1


@pytest.mark.parametrize(("change", "why"), [({"plan_id": "demo-gone"}, "plan_gone"), ({"price": DRIFT}, "price")])
async def test_a_price_drift_or_a_gone_plan_stops_the_rule_and_asks_the_owner_to_confirm_again(
    rig: Rig, change: dict[str, Any], why: str
) -> None:
    await rig.setup(replace(low_rule(), **change))
    told = telling(rig)
    await rig.look()
    assert [(o.step, o.reason) for o in await rig.run(HOUR)] == [(Step.SKIPPED, why)]
    assert [r.stopped for r in await rules(rig)] == [why]
    [said] = told.alerts
    command, renew = "/auto phone", "/renew phone"
    assert render(said, EN, rig.clock.now(), "/") == EN(
        "auto.skipped_price", label="phone", plan=said.plan, command=command, renew=renew
    )
    rig.clock.advance(timedelta(days=8))  # a new plan period: a stopped rule decides nothing until it is set again
    assert await rig.look() == [] and await rig.topups() == []


async def test_an_outage_charges_nothing_waits_and_the_notice_says_so_once(rig: Rig) -> None:
    await rig.setup(low_rule())
    told = telling(rig)

    class Down(Flaky):
        async def plans(self, iccid: str) -> list[Plan]:
            raise TryLater("demo", "down")

    rig.providers["demo"] = Down(rig.demo)
    await rig.look()
    assert [o.reason for o in await rig.run(HOUR)] == ["outage"]
    assert [o.reason for o in await rig.run(HOUR)] == ["outage"] and await rig.topups() == []
    [said] = told.alerts  # said once, not at every look
    assert render(said, EN, rig.clock.now(), "/") == EN("auto.notice_outage", label="phone", plan=said.plan)
    assert rig.metrics.value("esimbot_auto_orders_total", outcome="skipped", reason="outage") == 2
    rig.providers["demo"] = rig.demo
    assert [o.step for o in await rig.run(HOUR)] == [Step.DONE] and len(await rig.topups()) == 1


async def test_one_retry_after_a_transient_failure_then_the_people_decide(rig: Rig) -> None:
    await rig.setup(low_rule())
    told = telling(rig)
    rig.providers["demo"] = Flaky(rig.demo, TryLater("demo", "busy"), TryLater("demo", "busy"))
    await rig.look()
    await rig.run(HOUR)
    await rig.run(HOUR)
    assert await rig.run(timedelta(days=1)) == [] and await rig.topups() == []
    first, second = (render(a, EN, rig.clock.now(), "/") for a in told.alerts)
    assert first == EN("auto.failed_retry", label="phone", plan=told.alerts[0].plan)
    reason = EN("auto.reason_busy")
    assert second == EN("auto.failed", label="phone", plan=told.alerts[1].plan, reason=reason, renew="/renew phone")
    assert [b.command for b in buttons(told.alerts[1], "l1", EN, "/")] == ["/renew phone"]  # the manual way out


async def test_offered_after_a_manual_top_up_with_the_recommended_trigger_first(bot: Bot) -> None:
    await bot.send(f"/link {DEMO['DEMO12']} DEMO12 mom")
    [plans] = await bot.send("/renew mom")
    [ask] = await bot.send(plans.choices[0].command)
    [receipt] = await bot.send(ask.choices[0].command)
    offer = [c for c in receipt.choices if c.label == EN("button.auto_next")]
    assert [c.command for c in offer] == ["/auto mom"]
    [choose] = await bot.send("/auto mom")
    assert choose.choices[0].label == EN("button.auto_recommended", percent=EN.percent(0.2))
    assert "(recommended)" in choose.choices[0].label and not any("recommended" in c.label for c in choose.choices[1:])


async def test_offered_under_a_low_balance_to_who_may_spend_until_a_rule_is_set(bot: Bot) -> None:
    g = {"chat": "g", "group": True}
    await bot.send(f"/link {DEMO['DEMO20']} DEMO20 mom", **g, user="u1")
    await bot.send(f"/link {DEMO['DEMO12']} DEMO12 dad", **g, user="u1")
    auto = EN("button.auto")

    async def offered(label: str, user: str = "u1") -> list[str]:
        [shown] = await bot.send(f"/balance {label}", **g, user=user)
        return [c.command for c in shown.choices if c.label == auto]

    assert await offered("mom") == ["/auto mom"]  # 8 % left: under the recommended 20 %
    assert await offered("dad") == [] and await offered("mom", "u2") == []  # 75 % left; a member
    await bot.send("/auto mom low 20 demo-1gb-7d", **g, user="u1")
    assert await offered("mom") == []


async def test_a_line_tracked_by_hand_gets_reminders_at_the_chosen_points_and_the_operators_own_top_up(bot: Bot) -> None:
    await bot.send("/link manual telenor mum 10 2026-12-31")
    [offer] = await bot.send("/auto mum")
    assert [c.command for c in offer.choices] == ["/auto mum low 20", "/auto mum days 3", "/howto telenor"]
    assert "(recommended)" in offer.choices[0].label
    days = EN.plural("plan.days", 3)
    assert await bot.text("/auto mum days 3") == EN("auto.manual_days_set", label="mum", days=days, howto="/howto telenor")
    assert days in await bot.text("/remind mum")
    telenor = await bot.text("/howto telenor")
    assert EN("howto.auto_unverified", operator="Telenor", command="/auto") in telenor  # nothing claimed unverified
    assert EN("howto.auto_talkmore") in await bot.text("/howto talkmore")
    nb = CATALOGS.translator("nb")
    assert nb("howto.auto_talkmore") in await bot.text("/howto talkmore", lang="nb", chat="nb", user="nb")


async def test_metrics_tell_each_outcome_apart_and_no_log_holds_an_iccid_or_activation_code(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    metric = bot.app.metrics.value
    with caplog.at_level("DEBUG"):
        await bot.send(f"/link {DEMO['DEMO20']} DEMO20 mom")
        await bot.send("/auto mom low 20 demo-1gb-7d")
        await bot.send("/balance mom")
        [notice] = [i for i in bot.store.outbox() if i.alert.kind == AlertKind.AUTO_NOTICE]
        await bot.send(f"/cancel {notice.alert.token}")  # cancelled in the notice window
        await bot.app.jobs.run_until(bot.clock.now() + 2 * HOUR)
        await bot.send(f"/link {DEMO['DEMO12']} DEMO12 dad")
        await bot.send("/auto dad low 90 demo-1gb-7d")
        await bot.send("/auto dad max 1")
        await bot.send("/balance dad")
        await bot.app.jobs.run_until(bot.clock.now() + 2 * HOUR)  # made
        bot.clock.advance(timedelta(days=8))  # a new plan period, still under 90 %: the monthly count says no
        await bot.send("/balance dad")
        await bot.app.jobs.run_until(bot.clock.now() + 2 * HOUR)
    assert metric("esimbot_auto_orders_total", outcome="decided", reason="low") == 3
    assert metric("esimbot_auto_orders_total", outcome="cancelled", reason="cancelled") == 1
    assert metric("esimbot_auto_orders_total", outcome="done", reason="") == 1
    assert metric("esimbot_auto_orders_total", outcome="skipped", reason="monthly") == 1
    [limited] = [i.alert for i in bot.store.outbox() if i.alert.kind == AlertKind.AUTO_SKIPPED]
    said = EN("auto.skipped_limit", label="dad", plan=limited.plan, command="/auto dad", renew="/renew dad")
    assert render(limited, EN, bot.clock.now(), "/") == said
    logged = caplog.text
    assert "automatic order auto" in logged
    for secret in (DEMO["DEMO20"], DEMO["DEMO12"], DEMO["DEMO20"][-8:], DEMO["DEMO12"][-8:], "DEMO20 mom", "DEMO12 dad"):
        assert secret not in logged, secret
