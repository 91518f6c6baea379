"""/usage: a line's data left over the last 30 days as a chart, with the forecast to empty,
the expiry and the top-ups marked, in the reader's language (drawn by ``bot.charts``)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from bot import charts
from bot.context import Context
from bot.messages import Choice, Incoming, Picture, Reply
from bot.records import Line, Sample
from bot.reminders.text import forecast_sentence
from handlers import actions
from handlers.render import expiry_line
from providers.base import GB, EsimBalance, OrderStatus, Status

WINDOW = timedelta(days=30)
AHEAD = timedelta(days=14)  # how far past now the chart looks for the forecast and the expiry
X_TICKS = 6
TOPPED_UP = (OrderStatus.COMPLETED.value, OrderStatus.PENDING.value)  # marked on the chart
_NICE = [1, 2, 2.5, 5]


async def usage(incoming: Incoming, ctx: Context) -> Reply:
    """The chart of one line (by label; the only line when there is one)."""
    lines = await ctx.lines.all()
    if not lines:
        return Reply(ctx.t("lines.none", prefix=ctx.prefix))
    if not incoming.args and len(lines) > 1:
        return Reply(ctx.t("usage.which"), choices=tuple(Choice(line.label, f"{ctx.prefix}usage {line.label}") for line in lines))
    line = await ctx.find_line(" ".join(incoming.args)) if incoming.args else lines[0]
    points = [s for s in await ctx.lines.samples(line) if s.remaining is not None and s.as_of >= ctx.now - WINDOW]
    if len(points) < 2:
        return Reply(ctx.t("usage.too_few", label=line.label, balance=ctx.cmd(f"balance {line.label}")))
    last = await ctx.lines.last_balance(line)
    runs_out = await ctx.lines.forecast(line, last) if last is not None and last.status == Status.ACTIVE else None
    topups = [
        o.created_at
        for o in await ctx.orders.all()
        if o.line_id == line.id and o.status in TOPPED_UP and o.created_at >= points[0].as_of
    ]
    spec = chart_spec(ctx, line, points, last, runs_out, topups)
    png = await charts.render(spec)
    return Reply(
        caption(ctx, line, points[-1], last, runs_out),
        picture=Picture(png, f"usage-{line.id}.png"),
        choices=actions.under_chart(ctx, line),
        keep=True,
    )


def caption(ctx: Context, line: Line, newest: Sample, last: EsimBalance | None, runs_out: datetime | None) -> str:
    """The chart in words: what it shows, for the console and for readers without pictures."""
    t = ctx.t
    parts = [t("usage.caption", label=line.label, left=t.data(newest.remaining or 0), when=t.date_time(newest.as_of))]
    expires_at = last.expires_at if last is not None else None
    if runs_out is not None and runs_out > ctx.now:
        parts.append(forecast_sentence(t, runs_out, expires_at, ctx.now))
    if expires_at is not None and expires_at > ctx.now and (said := expiry_line(ctx, expires_at)):
        parts.append(said)
    return "\n".join(parts)


def chart_spec(
    ctx: Context, line: Line, points: list[Sample], last: EsimBalance | None, runs_out: datetime | None, topups: list[datetime]
) -> charts.ChartSpec:
    """The picture's content in the reader's language: pure, so it is tested without drawing."""
    t = ctx.t
    start = points[0].as_of
    expires = last.expires_at if last is not None else None
    horizon = ctx.now + AHEAD
    marks = [m for m in (runs_out, expires) if m is not None and m > points[-1].as_of]
    end = max(points[-1].as_of, min(max(marks, default=points[-1].as_of), horizon))
    if end - start < timedelta(days=1):
        end = start + timedelta(days=1)
    end += (end - start) / 25  # a margin, so a mark at the end is not drawn on the frame
    top = max(s.remaining or 0 for s in points)
    return charts.ChartSpec(
        title=t("usage.title", label=line.label),
        y_label=t("usage.axis_data"),
        legend=(t("usage.legend_left"), t("usage.legend_forecast"), t("usage.legend_expiry"), t("usage.legend_topup")),
        points=tuple((s.as_of.timestamp(), float(s.remaining or 0)) for s in points),
        x_range=(start.timestamp(), end.timestamp()),
        x_ticks=tuple((day.timestamp(), t.day(day)) for day in day_ticks(t.local(start), t.local(end))),
        y_ticks=tuple((float(v), t.data(v, zero_in_gb=top >= GB)) for v in data_ticks(top)),
        runs_out=runs_out.timestamp() if runs_out is not None and runs_out > points[-1].as_of else None,
        expires_at=expires.timestamp() if expires is not None and start <= expires <= end else None,
        topups=tuple(at.timestamp() for at in topups if start <= at <= end),
    )


def day_ticks(start: datetime, end: datetime) -> list[datetime]:
    """Local midnights between ``start`` and ``end``, about ``X_TICKS`` of them, evenly spaced."""
    first = (start + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    days = max(1, (end - first).days)
    step = max(1, math.ceil(days / X_TICKS))
    return [first + timedelta(days=d) for d in range(0, days + 1, step) if first + timedelta(days=d) <= end]


def data_ticks(top: int) -> list[int]:
    """0 and about five round steps (1, 2, 2.5 or 5 times a power of ten, in GB from 1 GB
    up, else in MB, as ``Translator.data`` counts them) up to just above ``top``."""
    unit = 1024**3 if top >= 1024**3 else 1024**2
    rough = max(top, unit) / 5 / unit
    power = 10 ** math.floor(math.log10(rough))
    step = next(n * power for n in (*_NICE, 10) if n * power >= rough)
    count = math.ceil(max(top, unit) / (step * unit))
    return [round(i * step * unit) for i in range(count + 1)]
