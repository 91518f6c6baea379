"""/auto: automatic top-up and renewal rules per line (``bot.renewal``). Members read them;
the line's owner or an admin sets them. The trigger offered first is the recommended one."""

from __future__ import annotations

from dataclasses import replace

from bot.context import Context
from bot.errors import NotLinked, UsageError
from bot.messages import Choice, Incoming, Reply
from bot.records import Line
from bot.renewal.records import AutoRule, Kind, Period
from bot.renewal.rules import MAX_MONTHLY, MIN_GAP_HOURS
from handlers import parsing
from handlers.render import RECOMMENDED, describe, howto_command, plan_label
from providers.base import Plan

OFF = ("off", "av", "关")
LOW = ("low", "lav", "低于")
EVERY = ("every", "hver", "间隔")  # at most one automatic order per line per N hours
MAX = ("max", "maks", "上限")  # at most N automatic orders per line a month
DAYS = ("days", "dager", "到期")  # N days before it expires (a line tracked by hand: a reminder then)
UNDER = ("under", "under", "少于")  # when less than an amount of data is left
MAX_DAYS = 30
PERIODS = {
    **{p.value: p for p in Period},
    **{"månedlig": Period.MONTHLY, "kvartalsvis": Period.QUARTERLY, "årlig": Period.YEARLY},
    **{"每月": Period.MONTHLY, "每季": Period.QUARTERLY, "每年": Period.YEARLY},
}


async def auto(incoming: Incoming, ctx: Context) -> Reply:
    """Show the rules, offer them for a line, set one, or switch them off."""
    line, args = None, incoming.args
    for n in range(len(args), 0, -1):
        try:
            line, args = await ctx.find_line(" ".join(args[:n])), args[n:]
            break
        except NotLinked:
            continue
    lines = [line] if line else await ctx.lines.all()
    if line is None or (not args and not ctx.may_manage(line)):
        shown = [ctx.t("auto.line", label=x.label, rule=describe(ctx.t, r)) for x in lines for r in await ctx.rules.auto_rules(x)]
        return Reply("\n".join(shown) or ctx.t("auto.none", command=ctx.cmd("auto")))
    ctx.require_manager(line)
    if args and args[0].casefold() in (*EVERY, *MAX):
        return await _limits(ctx, line, args)
    provider = ctx.providers.get(line.provider)
    if provider is None or not provider.supports_topup:
        return await _by_hand(ctx, line, args)
    if args and args[0].casefold() in OFF:
        await ctx.rules.auto_off(line)
        return Reply(ctx.t("auto.off", label=line.label))
    plans = await provider.plans(line.ref)
    if not plans:
        return Reply(ctx.t("provider.topup_not_allowed", provider=ctx.t.provider(line.provider)))
    if not args:
        return Reply(
            ctx.t("auto.choose", label=line.label, plan=plan_label(ctx, plans[0])), choices=_offers(ctx, line.label, plans[0])
        )
    rule = _rule(ctx, line.id, args, plans)
    kept = next(iter(await ctx.rules.auto_rules(line)), None)  # a new rule keeps the line's limits
    if kept is not None:
        rule = replace(rule, gap_hours=kept.gap_hours, monthly_limit=kept.monthly_limit)
    await ctx.rules.set_auto_rule(rule)
    if ctx.is_admin and ctx.household.family:
        await ctx.settings.note_admin(ctx.household.id, ctx.actor)
    return Reply(ctx.t("auto.set", label=line.label, rule=describe(ctx.t, rule)))


async def _limits(ctx: Context, line: Line, args: tuple[str, ...]) -> Reply:
    """``every 12h`` (one order per line per 12 hours at most; from 1 hour up, never
    unlimited) or ``max 3`` (a month, 1 to 31): on every rule of the line."""
    if len(args) != 2:
        raise UsageError("auto.usage", prefix=ctx.prefix)
    rules = await ctx.rules.auto_rules(line)
    if not rules:
        return Reply(ctx.t("auto.no_rule", label=line.label, command=ctx.cmd(f"auto {line.label}")))
    if args[0].casefold() in EVERY:
        hours = parsing.parse_hours(args[1])
        changed = [replace(r, gap_hours=max(hours, MIN_GAP_HOURS)) for r in rules]
    else:
        if not args[1].isdigit() or not 1 <= int(args[1]) <= MAX_MONTHLY:
            raise UsageError("auto.usage", prefix=ctx.prefix)
        changed = [replace(r, monthly_limit=int(args[1])) for r in rules]
    for rule in changed:
        await ctx.rules.set_auto_rule(rule)
    return Reply(ctx.t("auto.set", label=line.label, rule="\n".join(describe(ctx.t, r) for r in changed)))


async def _by_hand(ctx: Context, line: Line, args: tuple[str, ...]) -> Reply:
    """A line the bot cannot order for: the rule becomes a reminder at the chosen point
    (``low 20``: under 20 % left; ``days 3``: three days before it expires), and /howto
    explains the operator's own automatic top-up."""
    howto = await howto_command(ctx, line)
    word, number = (args[0].casefold(), int(args[1])) if len(args) == 2 and args[1].isdigit() else ("", 0)
    settings = line.reminders or ctx.household.reminders
    if word in LOW and 1 <= number <= 90:
        percents = tuple(sorted({*settings.data_percent, number}, reverse=True))
        await ctx.lines.update(replace(line, reminders=replace(settings, data_percent=percents)))
        return Reply(ctx.t("auto.manual_set", label=line.label, percent=ctx.t.percent(number / 100), howto=howto))
    if word in DAYS and 1 <= number <= MAX_DAYS:
        hours = tuple(sorted({*settings.expiry_hours, number * 24}, reverse=True))[:5]
        await ctx.lines.update(replace(line, reminders=replace(settings, expiry_hours=hours)))
        days = ctx.t.plural("plan.days", number)
        return Reply(ctx.t("auto.manual_days_set", label=line.label, days=days, howto=howto))
    recommended = ctx.t.percent(RECOMMENDED / 100)
    offers = (
        Choice(ctx.t("button.auto_recommended", percent=recommended), ctx.cmd(f"auto {line.label} low {RECOMMENDED}")),
        Choice(ctx.t("button.auto_days", days=ctx.t.plural("plan.days", 3)), ctx.cmd(f"auto {line.label} days 3")),
        Choice(ctx.t("button.howto"), howto),
    )
    return Reply(ctx.t("auto.manual", label=line.label, howto=howto), choices=offers)


def _offers(ctx: Context, label: str, plan: Plan) -> tuple[Choice, ...]:
    """Under 20 % (recommended) first; then 10 %, a monthly cycle on today's day, off."""
    day, recommended = ctx.t.local(ctx.now).day, ctx.t.percent(RECOMMENDED / 100)
    return (
        Choice(ctx.t("button.auto_recommended", percent=recommended), ctx.cmd(f"auto {label} low {RECOMMENDED} {plan.id}")),
        Choice(ctx.t("button.auto_low", percent=ctx.t.percent(0.1)), ctx.cmd(f"auto {label} low 10 {plan.id}")),
        Choice(ctx.t("button.auto_monthly", day=day), ctx.cmd(f"auto {label} monthly {day} {plan.id}")),
        Choice(ctx.t("button.auto_off"), ctx.cmd(f"auto {label} off")),
    )


def _rule(ctx: Context, line_id: str, args: tuple[str, ...], plans: list[Plan]) -> AutoRule:
    """``low <percent> <plan>``, ``under <amount> <plan>``, ``days <n> <plan>`` (before it
    expires) or ``monthly|quarterly|yearly <day> <plan>``."""
    if len(args) != 3:
        raise UsageError("auto.usage", prefix=ctx.prefix)
    kind, value, plan_id = args[0].casefold(), args[1], args[2]
    plan = next((p for p in plans if p.id == plan_id), None)
    if plan is None:
        raise UsageError("auto.usage", prefix=ctx.prefix)
    base = AutoRule(line_id, Kind.LOW, plan.id, plan.price, ctx.actor, ctx.now, title=plan.title)
    if kind in UNDER:
        return replace(base, below_bytes=parsing.parse_size(value, ctx.t.lang))
    number = int(value) if value.isdigit() else 0
    if kind in LOW and 1 <= number <= 90:
        return replace(base, percent=number)
    if kind in DAYS and 1 <= number <= MAX_DAYS:
        return replace(base, days_left=number)
    if kind in PERIODS and 1 <= number <= 31:
        return replace(base, kind=Kind.CYCLE, period=PERIODS[kind], day=number)
    raise UsageError("auto.usage", prefix=ctx.prefix)
