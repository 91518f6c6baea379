"""/remind's newer settings: the expiry ladder, repeat until Done, keep-alive, and the lines
that say what is snoozed and who gets no private reminders."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot import readback, readback_time
from bot.context import Context
from bot.errors import UsageError
from bot.i18n import Translator
from bot.records import KeepAlive, Line, ReminderSettings
from bot.reminders.ladder import MAX_POINTS
from bot.reminders.timing import Topic
from handlers import parsing

ON_DAY = ("day", "dagen", "当天")  # among the expiry points: the morning of the expiry date
AFTER = ("after", "etter", "过期后")  # among the expiry points: one day after it expired
OFF = ("off", "av", "关")
MAX_REPEATS = 10
MAX_KEEP_DAYS = 3 * 366


def lead(t: Translator, hours: int) -> str:
    return t.plural("plan.days", hours // 24) if hours % 24 == 0 else t.plural("remind.hours", hours)


def expiry(settings: ReminderSettings, values: str) -> ReminderSettings:
    """``7d 3d 1d 6h day after``: up to eight lead times, the morning of the day, a day after."""
    words = _words(values)
    on_day = any(w in ON_DAY for w in words)
    after = any(w in AFTER for w in words)
    hours = sorted({parsing.parse_hours(w) for w in words if w not in (*ON_DAY, *AFTER, *OFF)}, reverse=True)
    if len(hours) > MAX_POINTS:
        raise UsageError("remind.too_many_points", count=MAX_POINTS)
    return replace(settings, expiry_hours=tuple(hours), on_day=on_day, after_expiry=after)


def _words(values: str) -> list[str]:
    """The points as typed: ``7d, 3d og 1d``, ``7d 3d 1d 6h day``, ``3 days 12 hours``."""
    tokens = [w for item in readback.items(values) for w in readback.clean(item).split()]
    out: list[str] = []
    for token in tokens:
        if out and out[-1].isdigit() and not token[0].isdigit():
            out[-1] += " " + token  # "3 days": a number and its unit, quoted as typed when wrong
        else:
            out.append(token)
    return out


def repeat(settings: ReminderSettings, values: str) -> ReminderSettings:
    """``on``, ``off``, or ``4h 3`` (every 4 hours, at most 3 times after the first alert)."""
    words = values.split()
    if readback.clean(words[0]) in OFF:
        return replace(settings, repeat=False)
    hours, times = settings.repeat_hours, settings.repeat_times
    for word in words:
        if readback.clean(word) in ("on", "på", "开"):
            continue
        if word.isdigit():
            times = int(word)
        else:
            hours = parsing.parse_hours(word)
    if not 1 <= times <= MAX_REPEATS or hours > 24 * 7:
        raise UsageError("remind.bad_repeat", most=MAX_REPEATS)
    return replace(settings, repeat=True, repeat_hours=hours, repeat_times=times)


async def keep(ctx: Context, line: Line, values: str) -> None:
    """``180d`` or ``180`` (days without a top-up or use before the number closes), ``off``."""
    if line.provider != "manual":
        raise UsageError("remind.keep_manual_only", label=line.label)
    word = readback.clean(values)
    if word in OFF:
        await ctx.rules.set_keepalive(line, None)
        return
    try:
        days = int(word) if word.isdigit() else readback_time.duration(values) // timedelta(days=1)
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_KEEP_DAYS:
        raise UsageError("remind.bad_keep", value=parsing.quoted(values))
    old = await ctx.rules.keepalive(line)
    await ctx.rules.set_keepalive(line, KeepAlive(days=days, used=old.used if old else None))


async def extra(ctx: Context, line: Line | None) -> list[str]:
    """The lines under the settings: repeat until Done (the household's), keep-alive (a
    line's), what is snoozed now, and who gets no private reminders."""
    t, out = ctx.t, []
    household = ctx.household.reminders
    if household.repeat:
        every = t.plural("remind.hours", household.repeat_hours)
        out.append(t("remind.repeat_on", every=every, times=household.repeat_times))
    else:
        out.append(t("remind.repeat_off"))
    lines = [line] if line else await ctx.lines.all()
    for each in lines:
        rule = await ctx.rules.keepalive(each) if each.provider == "manual" else None
        if rule is not None:
            out.append(await _keep_line(ctx, each, rule))
        for topic in Topic:
            until = await ctx.lines.snoozed_until(each, topic, ctx.now)
            if until is not None:
                out.append(t(f"remind.snoozed_{topic}", label=each.label, until=t.date_time(until)))
    owners = {each.owner: each.owner_name for each in await ctx.lines.all()}
    names = [name for owner, name in owners.items() if await ctx.lines.unreachable(owner)]
    if names:
        out.append(t("remind.unreachable", names=t.list(names), start=ctx.cmd("start")))
    return out


async def _keep_line(ctx: Context, line: Line, rule: KeepAlive) -> str:
    balance = await ctx.lines.last_balance(line)
    if balance is None:
        return ctx.t("remind.keep_rule", label=line.label, days=ctx.t.plural("plan.days", rule.days))
    deadline = max(balance.as_of, rule.used or balance.as_of) + timedelta(days=rule.days)
    return ctx.t("remind.keep_line", label=line.label, days=ctx.t.plural("plan.days", rule.days), date=ctx.t.date(deadline))
