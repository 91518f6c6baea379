"""/snooze, /done and /used: answering a reminder (wait, stop repeating, the number was used)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import readback, readback_time
from bot.context import Context
from bot.errors import BotError, NotLinked, UsageError
from bot.messages import Choice, Incoming, Reply
from bot.records import Line
from bot.reminders.timing import Topic, next_morning
from handlers import parsing

MORNING = ("morning", "morgen", "i morgen", "明早", "明天早上")
OFF = ("off", "av", "关")
TODAY = ("today", "i dag", "idag", "今天")
YESTERDAY = ("yesterday", "i går", "igår", "昨天")
LONGEST = timedelta(days=30)
KEEP_WORD = {"en": "keep", "nb": "behold", "zh": "保号"}  # /remind's keep-alive word, as the reader types it
CHOICES = (("snooze.hour", "1h"), ("snooze.morning", "morning"), ("snooze.days3", "3d"))


async def snooze(incoming: Incoming, ctx: Context) -> Reply:
    """Under an alert: ``/snooze <line id> <topic>`` offers the choices, ``... 1h`` snoozes;
    typed: ``/snooze mom 2d`` (both topics), ``/snooze mom off``, ``/snooze off``."""
    args = incoming.args
    topic = Topic.parse(args[1]) if len(args) >= 2 else None
    if topic is not None:  # a button: the line's id
        line = await ctx.lines.get(args[0][:16])
        if line is None or len(args) > 3:
            raise BotError("snooze.gone")
        ctx.require_manager(line)
        if len(args) == 2:
            return _choices(ctx, line, topic)
        return await _snooze(ctx, line, (topic,), _until(ctx, args[2]))
    if args and await ctx.lines.get(args[0][:16]) is not None:
        raise BotError("snooze.gone")  # a button's line id with a topic this bot does not know
    if len(args) == 1 and readback.clean(args[0]) in OFF:
        return await _off(ctx, await ctx.lines.all())
    if len(args) < 2:
        raise UsageError("snooze.usage")
    line = await _line(ctx, " ".join(args[:-1]))
    ctx.require_manager(line)
    if readback.clean(args[-1]) in OFF:
        return await _off(ctx, [line])
    return await _snooze(ctx, line, tuple(Topic), _until(ctx, args[-1]))


def _choices(ctx: Context, line: Line, topic: Topic) -> Reply:
    base = ctx.cmd("snooze")
    choices = tuple(Choice(ctx.t(msgid), f"{base} {line.id} {topic} {arg}") for msgid, arg in CHOICES)
    return Reply(ctx.t("snooze.choose", label=line.label), choices=choices)


def _until(ctx: Context, raw: str) -> datetime:
    """``morning`` (the end of the household's quiet hours) or a duration of 1 hour to 30 days."""
    if readback.clean(raw) in MORNING:
        return next_morning(ctx.household, ctx.now)
    try:
        span = readback_time.duration(raw)
    except ValueError:
        raise UsageError("snooze.bad_duration", value=parsing.quoted(raw)) from None
    if not timedelta(hours=1) <= span <= LONGEST:
        raise UsageError("snooze.bad_duration", value=parsing.quoted(raw))
    return ctx.now + span


async def _snooze(ctx: Context, line: Line, topics: tuple[Topic, ...], until: datetime) -> Reply:
    for topic in topics:
        await ctx.lines.snooze(line, topic, until)
    msgid = f"snooze.done_{topics[0]}" if len(topics) == 1 else "snooze.done_all"
    return Reply(ctx.t(msgid, label=line.label, until=ctx.t.date_time(until)))


async def _off(ctx: Context, lines: list[Line]) -> Reply:
    ended = 0
    for line in lines:
        for topic in Topic:
            if await ctx.lines.snoozed_until(line, topic, ctx.now) is not None:
                ctx.require_manager(line)
                await ctx.lines.snooze(line, topic, ctx.now)
                ended += 1
    return Reply(ctx.t("snooze.ended" if ended else "snooze.none"))


async def _line(ctx: Context, label: str) -> Line:
    try:
        return await ctx.find_line(label)
    except NotLinked:
        raise UsageError("snooze.usage") from None


async def done(incoming: Incoming, ctx: Context) -> Reply:
    """Done under a repeating alert: ``/done <line id> <token>``; anyone who got it may press it."""
    if len(incoming.args) != 2:
        raise BotError("snooze.gone")
    line, stopped = await ctx.lines.acknowledge(incoming.args[0][:16], incoming.args[1][:24])
    if line is None:
        raise BotError("snooze.gone")
    return Reply(ctx.t("done.ok" if stopped else "done.already", label=line.label))


async def used(incoming: Incoming, ctx: Context) -> Reply:
    """``/used mom today`` (or yesterday, or a date): the prepaid number was used or topped up."""
    if len(incoming.args) < 2:
        raise UsageError("used.usage")
    words = incoming.args
    split = 2 if len(words) > 2 and readback.clean(" ".join(words[-2:])) in (*TODAY, *YESTERDAY) else 1
    line = await _line(ctx, " ".join(words[:-split]))
    ctx.require_manager(line)
    rule = await ctx.rules.keepalive(line)
    if rule is None:
        keep = KEEP_WORD.get(ctx.t.lang, "keep")
        raise UsageError("used.no_rule", label=line.label, command=f"{ctx.cmd('remind')} {line.label} {keep} 180d")
    when = _when(ctx, " ".join(words[-split:]))
    await ctx.rules.set_keepalive(line, replace(rule, used=when))
    return Reply(ctx.t("used.saved", label=line.label, date=ctx.t.date(when)))


def _when(ctx: Context, raw: str) -> datetime:
    """Today (now), yesterday, or a date (its noon, household time); never in the future."""
    word = readback.clean(raw)
    if word in TODAY:
        return ctx.now
    if word in YESTERDAY:
        return ctx.now - timedelta(days=1)
    tz = ZoneInfo(ctx.household.timezone)
    day = parsing.parse_date(raw, ctx.household.timezone, ctx.now.astimezone(tz).date())
    return min(datetime.combine(day.astimezone(tz).date(), time(12), tzinfo=tz), ctx.now)
