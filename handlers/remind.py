"""/remind: show or change when and where reminders come, per line or for the household."""

from __future__ import annotations

from dataclasses import replace

from bot import readback
from bot.context import Context
from bot.errors import NotLinked, UsageError
from bot.i18n import Translator
from bot.messages import Incoming, Reply
from bot.records import Household, Line, ReminderSettings
from handlers import ladder, parsing
from handlers.render import describe

TARGETS = {
    "me": "owner",
    "owner": "owner",
    "group": "group",
    "both": "both",
    "meg": "owner",
    "gruppe": "group",
    "begge": "both",
    "我": "owner",
    "群": "group",
    "群组": "group",
    "都": "both",
}
ON = ("on", "på", "开")
OFF = ("off", "av", "关")
REPEAT = ("repeat", "gjenta", "重复")
KEEP = ("keep", "behold", "保号")


async def _split_line(ctx: Context, args: tuple[str, ...]) -> tuple[Line | None, tuple[str, ...]]:
    """The longest leading run of arguments that names a line, and the rest."""
    for n in range(len(args), 0, -1):
        try:
            return await ctx.find_line(" ".join(args[:n])), args[n:]
        except NotLinked:
            continue
    return None, args


async def remind(incoming: Incoming, ctx: Context) -> Reply:
    """Show or change reminder settings (line owners for their line, admins for all)."""
    line, args = await _split_line(ctx, incoming.args)
    settings = (line.reminders if line else None) or ctx.household.reminders
    if not args:
        return await _show(ctx, line, settings)
    if line is not None:
        ctx.require_manager(line)
    else:
        ctx.require_admin()
    household = ctx.household
    key, values, lang = args[0].casefold(), " ".join(args[1:]), ctx.t.lang
    if key in ON or key in OFF:
        settings = replace(settings, enabled=key in ON)
    elif key in ("data", "数据", "流量") and values:
        settings = _data(settings, values, lang)
    elif key in ("expiry", "utløp", "到期") and values:
        settings = ladder.expiry(settings, values)
    elif key in REPEAT and values and line is None:
        settings = ladder.repeat(settings, values)
    elif key in KEEP and values and line is not None:
        await ladder.keep(ctx, line, values)
        return Reply(ctx.t("remind.saved") + "\n" + "\n".join(await ladder.extra(ctx, line)))
    elif key in ("to", "til", "发给") and values and values.casefold() in TARGETS:
        settings = replace(settings, target=TARGETS[values.casefold()])
    elif key in ("quiet", "stille", "免打扰") and values and line is None:
        quiet = None if readback.clean(values) == readback.clean(ctx.t("remind.quiet_off")) else parsing.parse_quiet(values)
        household = replace(household, quiet_start=quiet[0] if quiet else None, quiet_end=quiet[1] if quiet else None)
    elif key in ("tz", "tidssone", "时区") and values and line is None:
        household = replace(household, timezone=parsing.parse_timezone(values))
    else:
        raise UsageError("remind.usage")
    return await _save(ctx, line, household, settings)


async def _show(ctx: Context, line: Line | None, settings: ReminderSettings) -> Reply:
    """The settings, the ladder's extras and the line's automatic rules (read here too)."""
    rules = [describe(ctx.t, rule) for rule in await ctx.rules.auto_rules(line)] if line else []
    return Reply("\n".join([_describe(ctx, line, settings), *await ladder.extra(ctx, line), *rules]))


async def _save(ctx: Context, line: Line | None, household: Household, settings: ReminderSettings) -> Reply:
    """Store the changed settings on the line or the household, and read them back."""
    if line is not None:
        line = replace(line, reminders=settings)
        await ctx.lines.update(line)
    else:
        household = replace(household, reminders=settings)
        await ctx.settings.save(household)
        ctx = replace(ctx, household=household, t=ctx.t.with_timezone(household.timezone))  # the reply shows the new zone
    return Reply("\n".join([ctx.t("remind.saved"), _describe(ctx, line, settings), *await ladder.extra(ctx, line)]))


def _data(settings: ReminderSettings, values: str, lang: str) -> ReminderSettings:
    """``20 %, 5 %``, ``20% og 500 MB``, ``2,5 GB``: percents and amounts, as the bot lists them."""
    percents: set[int] = set()
    sizes: set[int] = set()
    for item in readback.items(values):
        if readback.clean(item).endswith("%"):
            percents.add(parsing.parse_percent(item, lang))
        else:
            sizes.add(parsing.parse_size(item, lang))
    return replace(
        settings, data_percent=tuple(sorted(percents, reverse=True))[:5], data_bytes=tuple(sorted(sizes, reverse=True))[:5]
    )


def _describe(ctx: Context, line: Line | None, s: ReminderSettings) -> str:
    t = ctx.t
    data = [t.percent(p / 100) for p in s.data_percent] + [t.data(b) for b in s.data_bytes]
    leads = [ladder.lead(t, h) for h in s.expiry_hours]
    expiry = [t("remind.expiry_when", values=t.list(leads))] if leads else []
    expiry += [t("remind.on_day")] if s.on_day else []
    expiry += [t("remind.after_expiry")] if s.after_expiry else []
    quiet = (
        t("remind.quiet_range", start=t.clock(ctx.household.quiet_start), end=t.clock(ctx.household.quiet_end or ""))
        if ctx.household.quiet_start
        else t("remind.quiet_off")
    )
    scope = t("remind.scope_line", label=line.label) if line else t("remind.scope_household")
    return t(
        "remind.show",
        scope=scope,
        state=t("remind.on") if s.enabled else t("remind.off"),
        data=_when(t, "remind.data_when", data),
        expiry=t.list(expiry) if expiry else t("remind.off"),
        quiet=quiet,
        tz=ctx.household.timezone,
        target=t(f"remind.target_{s.target}"),
    )


def _when(t: Translator, msgid: str, values: list[str]) -> str:
    """ "at 20% and 5% left" / "剩余 20% 和 5% 时"; "off" when there is none."""
    return t(msgid, values=t.list(values)) if values else t("remind.off")
