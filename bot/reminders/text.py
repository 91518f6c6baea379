"""An alert's words and buttons in its reader's language, from the facts kept in the outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.audience import Audience
from bot.i18n import Translator
from bot.messages import Choice, Reply
from bot.names import PREFIXES
from bot.records import Alert, AlertKind, OutboxItem
from bot.reminders.timing import Topic
from bot.renewal.text import renewal_buttons, renewal_news
from bot.store import Store

_ICON = {
    "data": "⚠️",
    "data_bytes": "⚠️",
    "expiry": "⏰",
    "expiry_day": "⏰",
    "keepalive": "⏳",
    "depleted": "❌",
    "expired": "❌",
    "after_expiry": "❌",
}


class AlertRenderer:
    """Renders a queued alert for its reader: the language of whoever reads it, the command
    prefix of its platform, and buttons that answer in new messages."""

    def __init__(self, *, store: Store, audience: Audience, now: Callable[[], datetime]) -> None:
        self._store, self._audience, self._now = store, audience, now

    async def __call__(self, item: OutboxItem) -> Reply:
        async with self._store.transaction() as tx:
            t = await self._audience.for_alert(tx, item)
        prefix = PREFIXES.get(item.platform, "/")
        return Reply(render(item.alert, t, self._now(), prefix), choices=buttons(item.alert, item.line_id, t, prefix), keep=True)


def render(alert: Alert, t: Translator, now: datetime, prefix: str) -> str:
    """The alert as the reader will see it, from the facts kept in the outbox."""
    if alert.kind.startswith("auto"):
        return renewal_news(alert, t, now, prefix)
    if alert.kind == AlertKind.UNREACHABLE:
        return t("alert.unreachable", name=alert.label, start=f"{prefix}start")
    if alert.kind == AlertKind.KEEPALIVE:
        at = alert.at or now
        used = f"{prefix}used {alert.label} today"
        return t("alert.keepalive", label=alert.label, relative=t.days(at, now), date=t.date(at), used=used)
    parts = [_ICON.get(alert.kind, "⚠️") + " " + _headline(alert, t, now)]
    if alert.kind not in ("data", "data_bytes") and alert.remaining is not None and alert.total and not alert.unlimited:
        parts.append(t("balance.data", left=t.data(alert.remaining), total=t.data(alert.total)))
    if alert.kind in ("data", "data_bytes", "depleted") and alert.expires_at is not None and alert.expires_at > now:
        parts.append(t("balance.expires", date=t.date(alert.expires_at), relative=t.days(alert.expires_at, now)))
    if alert.runs_out_at is not None and alert.kind in ("data", "data_bytes") and alert.runs_out_at > now:
        parts.append(forecast_sentence(t, alert.runs_out_at, alert.expires_at, now))
    if alert.operator is not None:
        parts.append(t("alert.howto", command=howto_command(alert, prefix)))
    else:
        parts.append(t("alert.renew", command=f"{prefix}renew {alert.label}"))
    return "\n".join(parts)


def forecast_sentence(t: Translator, runs_out: datetime, expires_at: datetime | None, now: datetime) -> str:
    """ "At this rate the data runs out in …", before or after the plan expires (alerts,
    balances and charts say it alike)."""
    if expires_at is not None and runs_out >= expires_at:
        return t("forecast.after_expiry")
    return t("forecast.before_expiry", relative=t.relative(runs_out, now))


def buttons(alert: Alert, line_id: str, t: Translator, prefix: str) -> tuple[Choice, ...]:
    """Under an alert: "Done" when it repeats until acknowledged, "Top up" (the how-to for a
    line tracked by hand) and "Snooze" (which offers the choices);
    under a notice of an automatic order: "Cancel"; under its receipt: nothing to do."""
    if alert.kind.startswith("auto"):
        return renewal_buttons(alert, t, prefix)
    if alert.kind == AlertKind.UNREACHABLE:
        return ()
    topup = (
        Choice(t("button.howto"), howto_command(alert, prefix))
        if alert.operator is not None
        else Choice(t("button.topup"), f"{prefix}renew {alert.label}")
    )
    done = (Choice(t("button.done"), f"{prefix}done {line_id} {alert.token}"),) if alert.token else ()
    return (*done, topup, Choice(t("button.snooze"), f"{prefix}snooze {line_id} {Topic.of(alert.kind)}"))


def howto_command(alert: Alert, prefix: str) -> str:
    """``/howto telenor`` for a line tracked by hand, as its balance says (``/howto`` when the
    operator is not one with a guide)."""
    known = alert.operator and alert.operator != "other"
    return f"{prefix}howto {alert.operator}" if known else f"{prefix}howto"


def _headline(alert: Alert, t: Translator, now: datetime) -> str:
    if alert.kind in ("expired", "after_expiry"):
        when = alert.expires_at or now
        return t("alert.expired", label=alert.label, date=t.date(when))
    if alert.kind == "depleted":
        return t("alert.depleted", label=alert.label)
    if alert.kind in ("expiry", "expiry_day") and alert.expires_at is not None:
        return t("alert.expiry", label=alert.label, relative=t.days(alert.expires_at, now), date=t.date_time(alert.expires_at))
    left = t.data(alert.remaining or 0)
    if alert.kind == "data" and alert.total:
        pct = (alert.remaining or 0) * 100 // alert.total
        return t("alert.data_percent", label=alert.label, percent=t.percent(pct / 100), left=left, total=t.data(alert.total))
    return t("alert.data_left", label=alert.label, left=left)


def warning(keys: list[str]) -> str | None:
    """The message id the link reply uses instead of a stale alert for crossed thresholds."""
    for prefix, msgid in (
        ("expired", "link.warn_expired"),
        ("depleted", "link.warn_depleted"),
        ("data", "link.warn_data"),
        ("expiry", "link.warn_expiry"),
    ):
        if any(k.startswith(prefix) for k in keys):
            return msgid
    return None
