"""Automatic renewal's news in the reader's language: the notice, the receipt, a failure
or a stop, each with its reason and the buttons under it (``bot.reminders.text`` calls it)."""

from __future__ import annotations

from datetime import datetime

from bot.i18n import Translator
from bot.messages import Choice, ChoiceKind
from bot.records import Alert, AlertKind

REASONS = {"TryLater": "auto.reason_busy", "Refused": "auto.reason_refused", "UserMustFix": "auto.reason_refused"}
SKIPPED = {"cap": "auto.skipped_cap", "price": "auto.skipped_price", "plan_gone": "auto.skipped_price", "ended": "auto.ended"}


def renewal_news(alert: Alert, t: Translator, now: datetime, prefix: str) -> str:
    """The notice (when, and why at once), the receipt (plan, price, data left), a stop or
    a failure (why, and the manual way out)."""
    at = alert.at or now
    params = {"label": alert.label, "plan": alert.plan or "", "renew": f"{prefix}renew {alert.label}"}
    if alert.kind == AlertKind.AUTO_NOTICE:
        if alert.note == "outage":
            return t("auto.notice_outage", **params)
        head = t("auto.notice", **params, relative=t.relative(at, now) if at > now else t("auto.now"))
        return "\n".join([head, *_when(alert, t), *([t("auto.why_dry")] if alert.note == "dry" else [])])
    if alert.kind == AlertKind.AUTO_DONE:
        return "\n".join([_receipt(alert, t, params), *_left(alert, t), *_when(alert, t)])
    if alert.kind == AlertKind.AUTO_SKIPPED:
        return t(SKIPPED.get(alert.note or "", "auto.skipped_limit"), **params, command=f"{prefix}auto {alert.label}")
    reason = t(REASONS.get(alert.note or "", "auto.reason_other"))
    return t("auto.failed_retry" if alert.note == "retry" else "auto.failed", **params, reason=reason)


def renewal_buttons(alert: Alert, t: Translator, prefix: str) -> tuple[Choice, ...]:
    """Cancel under a notice (not when it orders at once); nothing under a receipt or the
    end of a line's rules; a one-tap manual top-up under a stop or a failure, and the rule's
    own choices first when a price change stopped it."""
    if alert.kind == AlertKind.AUTO_NOTICE and alert.token and alert.note != "dry":
        return (Choice(t("button.cancel"), f"{prefix}cancel {alert.token}", ChoiceKind.CANCEL),)
    if alert.kind in (AlertKind.AUTO_NOTICE, AlertKind.AUTO_DONE) or alert.note == "ended":
        return ()
    topup = Choice(t("button.topup"), f"{prefix}renew {alert.label}")
    if alert.note in ("price", "plan_gone"):  # the rule is stopped: confirm it again in one tap
        return (Choice(t("button.auto"), f"{prefix}auto {alert.label}"), topup)
    return (topup,)


def _receipt(alert: Alert, t: Translator, params: dict[str, str]) -> str:
    if alert.price is None:
        return t("auto.receipt", **params)
    return t("auto.receipt_priced", **params, price=t.money(alert.price.amount, alert.price.currency))


def _left(alert: Alert, t: Translator) -> list[str]:
    """The data left as the provider reported it just after the order."""
    if alert.unlimited:
        return [t("balance.unlimited")]
    if alert.remaining is None:
        return [t("auto.left_unknown")]
    if alert.total:
        return [t("balance.data", left=t.data(alert.remaining), total=t.data(alert.total))]
    return [t("auto.left", left=t.data(alert.remaining))]


def _when(alert: Alert, t: Translator) -> list[str]:
    """Whether the top-up waits for the current plan to end or starts at once."""
    if alert.queued is None:
        return []
    return [t("auto.starts_queued" if alert.queued else "auto.starts_now")]
