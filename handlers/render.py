"""Turn balances, plans and lines into localized text for one reader."""

from __future__ import annotations

from datetime import datetime

from bot.context import Context, mask_iccid
from bot.i18n import Translator
from bot.records import Line
from bot.reminders.text import forecast_sentence
from bot.renewal.records import AutoRule, Kind, Period
from bot.renewal.rules import MAX_MONTHLY, MIN_GAP_HOURS
from providers.base import EsimBalance, Plan, Status

BAR_CELLS = 10
RECOMMENDED = 20  # percent: automatic top-up offered first here; leaves the notice hour before the line runs dry
CYCLE_MSG = {Period.MONTHLY: "auto.rule_monthly", Period.QUARTERLY: "auto.rule_quarterly", Period.YEARLY: "auto.rule_yearly"}


async def provider_title(ctx: Context, line: Line) -> str:
    hand = ctx.hand_tracked(line)
    if hand is not None:
        return ctx.t.provider(line.provider, operator=await hand.operator(line.ref) or "other")
    return ctx.t.provider(line.provider)


def line_title(ctx: Context, line: Line) -> str:
    if ctx.household.family:
        return ctx.t("line.title_group", label=line.label, owner=line.owner_name or ctx.t("owner.self"))
    return ctx.t("line.title", label=line.label)


async def line_summary(ctx: Context, line: Line) -> str:
    """``• mum — Anna — Demo — 89…0012``; a line tracked by hand has no number to show (its
    provider already says "tracked by hand")."""
    owner, provider = line.owner_name or ctx.t("owner.self"), await provider_title(ctx, line)
    if ctx.hand_tracked(line) is not None:
        return ctx.t("lines.item_manual", label=line.label, owner=owner, provider=provider)
    return ctx.t("lines.item", label=line.label, owner=owner, provider=provider, iccid=mask_iccid(line.ref))


def percent_left(balance: EsimBalance) -> int | None:
    """Whole percent of data left, rounded down (what the reader sees)."""
    total, left = balance.data_total_bytes, balance.data_remaining_bytes
    if balance.data_unlimited or not total or left is None:
        return None
    return max(0, min(100, left * 100 // total))


def bar(percent: int) -> str:
    full = round(percent * BAR_CELLS / 100)
    return "▰" * full + "▱" * (BAR_CELLS - full)


def data_lines(ctx: Context, bal: EsimBalance) -> list[str]:
    t = ctx.t
    out = []
    pct = percent_left(bal)
    if bal.data_unlimited:
        out.append(t("balance.unlimited"))
    elif pct is not None and bal.data_remaining_bytes is not None and bal.data_total_bytes:
        out.append(f"{bar(pct)} {t.percent(pct / 100)}")
        out.append(t("balance.data", left=t.data(bal.data_remaining_bytes), total=t.data(bal.data_total_bytes)))
    elif bal.data_remaining_bytes is not None:
        out.append(t("balance.data_left", left=t.data(bal.data_remaining_bytes)))
    if bal.voice_remaining_min is not None:
        out.append(t.plural("balance.voice", bal.voice_remaining_min))
    if bal.sms_remaining is not None:
        out.append(t.plural("balance.sms", bal.sms_remaining))
    return out


def expiry_line(ctx: Context, expires_at: datetime | None) -> str | None:
    if expires_at is None:
        return None
    t = ctx.t
    if expires_at <= ctx.now:
        return t("balance.expired_on", date=t.date(expires_at))
    return t("balance.expires", date=t.date(expires_at), relative=t.days(expires_at, ctx.now))


async def render_balance(ctx: Context, line: Line, bal: EsimBalance, *, stale_reason: str | None = None) -> str:
    t = ctx.t
    parts = [t("line.heading", title=line_title(ctx, line), provider=await provider_title(ctx, line))]
    parts += data_lines(ctx, bal)
    if (exp := expiry_line(ctx, bal.expires_at)) is not None:
        parts.append(exp)
    parts.append(t("balance.status", status=t(f"status.{bal.status.value.lower()}")))
    if bal.status in (Status.TERMINATED, Status.NOT_ACTIVE):  # polled daily / less often (bot.reminders.poller)
        parts.append(t("balance.terminal_note" if bal.status == Status.TERMINATED else "balance.inactive_note"))
    if stale_reason is not None:
        parts.append(t("balance.stale", age=t.relative(bal.as_of, ctx.now), reason=stale_reason))
    else:
        parts.append(t("balance.as_of", when=t.date_time(bal.as_of)))
    forecast = await ctx.lines.forecast(line, bal) if bal.status == Status.ACTIVE else None
    if forecast is not None and forecast > ctx.now:  # already empty: nothing to forecast
        parts.append(forecast_sentence(t, forecast, bal.expires_at, ctx.now))
    if ctx.hand_tracked(line) is not None:
        parts.append(t("balance.manual_hint", used=ctx.cmd("left"), label=line.label, howto=await howto_command(ctx, line)))
    return "\n".join(parts)


async def howto_command(ctx: Context, line: Line) -> str:
    """``/howto telenor`` for a line tracked by hand, so the reader lands on their operator."""
    hand = ctx.hand_tracked(line)
    operator = await hand.operator(line.ref) if hand is not None else None
    return ctx.cmd(f"howto {operator}") if operator and operator != "other" else ctx.cmd("howto")


def plan_label(ctx: Context, plan: Plan) -> str:
    t = ctx.t
    data = t("plan.unlimited") if plan.data_unlimited else t.data(plan.data_bytes or 0)
    return t(
        "plan.label",
        data=data,
        days=t.plural("plan.days", plan.validity_days),
        price=t.money(plan.price.amount, plan.price.currency),
    )


def describe(t: Translator, rule: AutoRule) -> str:
    """ "Auto top-up: 1 GB / 7 days when under 10 %, at most once a day and 4 times a month"."""
    if rule.stopped is not None:
        return t("auto.rule_stopped", plan=rule.title)
    if rule.kind == Kind.CYCLE and rule.period is not None:
        said = t(CYCLE_MSG[rule.period], plan=rule.title, day=rule.day or rule.set_at.day)
    elif rule.below_bytes is not None:
        said = t("auto.rule_under", plan=rule.title, amount=t.data(rule.below_bytes))
    elif rule.days_left is not None:
        said = t("auto.rule_days", plan=rule.title, days=t.plural("plan.days", rule.days_left))
    else:
        said = t("auto.rule_low", plan=rule.title, percent=t.percent((rule.percent or 0) / 100))
    return t("auto.with_limits", rule=said, gap=_gap(t, rule.gap_hours), month=_month(t, rule.monthly_limit))


def _gap(t: Translator, hours: int) -> str:
    gap = max(hours, MIN_GAP_HOURS)
    if gap == 24:
        return t("auto.gap_day")
    return t.plural("auto.gap_days", gap // 24) if gap % 24 == 0 else t.plural("auto.gap_hours", gap)


def _month(t: Translator, count: int) -> str:
    return t.plural("auto.month_count", min(count, MAX_MONTHLY))


async def offer_auto(ctx: Context, line: Line) -> bool:
    """Whether a balance offers automatic top-up: to who may spend on a line the bot can
    order for, without a rule yet, once it is under the recommended point."""
    provider = ctx.providers.get(line.provider)
    if provider is None or not provider.supports_topup or not ctx.may_manage(line) or await ctx.rules.auto_rules(line):
        return False
    bal = await ctx.lines.last_balance(line)
    left, total = (bal.data_remaining_bytes, bal.data_total_bytes) if bal else (None, None)
    return left is not None and bool(total) and left * 100 < RECOMMENDED * (total or 1)
