"""The deadlines beside a balance, read for the pure rules: the morning of the expiry date and
a prepaid number's keep-alive deadline (the planner decides with them, the poller looks then)."""

from __future__ import annotations

from datetime import timedelta

from bot.records import Household, Line
from bot.reminders import timing
from bot.reminders.ladder import Deadlines
from bot.store import Tx
from providers.base import EsimBalance


async def ahead(tx: Tx, line: Line, household: Household, balance: EsimBalance, *, hand_tracked: bool) -> Deadlines:
    """The morning of the expiry date (household time), and for a line tracked by hand with a
    keep-alive rule its last ``/left`` or typed use plus the rule's days."""
    settings = line.reminders or household.reminders
    morning = timing.morning(household, balance.expires_at) if settings.on_day and balance.expires_at else None
    rule = await tx.keepalive(line.id) if hand_tracked else None
    if rule is None:
        return Deadlines(morning=morning)
    last = max(balance.as_of, rule.used or balance.as_of)
    return Deadlines(morning=morning, keepalive=last + timedelta(days=rule.days))
