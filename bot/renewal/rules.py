"""Pure rules of automatic renewal: no clock, no store. Which trigger fires, when the order
may be made, and which guard-rail says no."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from decimal import Decimal

from bot.renewal.records import AutoRule, Kind, Period
from providers.base import EsimBalance, Money, Plan, Status

NOTICE = {Kind.LOW: timedelta(hours=1), Kind.CYCLE: timedelta(hours=48)}
PRICE_DRIFT = Decimal("0.10")  # more than this since the rule was set: ask the owner again
MIN_GAP_HOURS = 1  # "at most one a day" is settable, never unlimited
MAX_MONTHLY = 31
MONTHS = {Period.MONTHLY: 1, Period.QUARTERLY: 3, Period.YEARLY: 12}
ENDED = (Status.TERMINATED,)
# Providers whose top-up waits for the current plan to end (a queued top-up): eSIM Go
# assigns a bundle ordered onto an eSIM with one in use as ``queued`` (providers.md 3.3).
# Airalo's partner top-up, eSIM Access's ``esim/topup`` (new totals in the answer) and the
# demo add the data at once: the notice and the receipt say which.
QUEUED = frozenset({"esimgo"})


def token(line_id: str, trigger: str, attempt: int = 0) -> str:
    """The decision's confirmation token and order reference: the same trigger always
    gives the same token, so a replay meets the first decision instead of making one."""
    digest = hashlib.sha256(f"{line_id}|{trigger}".encode()).hexdigest()[:12]
    return f"auto{digest}{attempt or ''}"


def low_trigger(rule: AutoRule, balance: EsimBalance) -> str | None:
    """The trigger a balance fires for a top-up-when-low rule, one per plan period (the
    expiry names the period: a top-up moves it, so the next low is a new trigger)."""
    period = balance.expires_at.isoformat() if balance.expires_at else "-"
    left, total = balance.data_remaining_bytes, balance.data_total_bytes
    if balance.data_unlimited or left is None:
        low = False
    elif rule.percent is not None and total:
        low = left * 100 < rule.percent * total
    else:
        low = rule.below_bytes is not None and left < rule.below_bytes
    soon = rule.days_left is not None and balance.expires_at is not None
    if soon and balance.expires_at is not None and balance.expires_at - balance.as_of < timedelta(days=rule.days_left or 0):
        return f"low:{period}"
    return f"low:{period}" if low else None


def cycle_day(rule: AutoRule, now: date) -> date:
    """The latest day of the rule's cycle on or before ``now`` (a short month: its last day)."""
    months = MONTHS[rule.period or Period.MONTHLY]
    start = rule.set_at.date()
    index = ((now.year - start.year) * 12 + now.month - start.month) // months * months
    for step in (index, index - months):
        year, month = divmod(start.month - 1 + step, 12)
        day = _clamp(start.year + year, month + 1, rule.day or start.day)
        if day <= now:
            return day
    return start


def cycle_trigger(rule: AutoRule, now: datetime) -> tuple[str, datetime] | None:
    """The cycle trigger whose notice time has come at ``now``, with when to charge."""
    upcoming = cycle_day(rule, (now + NOTICE[Kind.CYCLE]).date())
    charge = datetime.combine(upcoming, datetime.min.time(), now.tzinfo) + timedelta(hours=9)
    if charge <= rule.set_at or charge - now > NOTICE[Kind.CYCLE]:
        return None
    return f"cycle:{upcoming.isoformat()}", charge


def price_reason(rule: AutoRule, plans: list[Plan]) -> str | None:
    """``plan_gone`` or ``price`` when the rule must be confirmed again, else None."""
    plan = next((p for p in plans if p.id == rule.plan_id), None)
    if plan is None:
        return "plan_gone"
    if plan.price.currency != rule.price.currency:
        return "price"
    if abs(plan.price.amount - rule.price.amount) > rule.price.amount * PRICE_DRIFT:
        return "price"
    return None


def limit_reason(rule: AutoRule, made: list[datetime], now: datetime, month_start: datetime) -> str | None:
    """``daily`` (one order per ``gap_hours``) or ``monthly`` (the count limit), else None."""
    gap = timedelta(hours=max(rule.gap_hours, MIN_GAP_HOURS))
    if any(now - at < gap for at in made):
        return "daily"
    if sum(1 for at in made if at >= month_start) >= min(rule.monthly_limit, MAX_MONTHLY):
        return "monthly"
    return None


def cap_reason(cap: Money | None, spent: Decimal, price: Money) -> str | None:
    """``cap`` when the order would pass the family's monthly cap, else None."""
    if cap is None:
        return None
    if price.currency != cap.currency or spent + price.amount > cap.amount:
        return "cap"
    return None


def ends(balance: EsimBalance) -> bool:
    """A line beyond renewal (cancelled, recycled): its rules end."""
    return balance.status in ENDED


def _clamp(year: int, month: int, day: int) -> date:
    for d in (day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    return date(year, month, 28)
