"""The one-tap buttons under balances, charts and receipts (the alerts' own: ``bot.reminders.text``).

A button is a command like any typed one, so pressing it a week later checks everything
again (the line, the reader's rights, the plan) and a top-up still asks for confirmation.
"Top up" is offered only to someone who may spend on the line (its owner or an admin).
A question that spends money or removes something offers its action first and Cancel
second, in the same words everywhere; the paying label says so in its text (a 💳), for the
platforms that cannot colour a button.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.context import Context
from bot.messages import Choice, ChoiceKind
from bot.records import Line
from providers.base import Money


def under_balance(ctx: Context, lines: Sequence[Line], *, auto: bool = False) -> tuple[Choice, ...]:
    """Top up, Chart, Reminders: for the line shown, or (several lines) asking which one;
    ``auto``: a low line without a rule is offered automatic top-up (``/auto``) too."""
    if len(lines) == 1:
        line = lines[0]
        offer = (Choice(ctx.t("button.auto"), ctx.cmd(f"auto {line.label}")),) if auto else ()
        return (
            *_top_up(ctx, line),
            *offer,
            Choice(ctx.t("button.chart"), ctx.cmd(f"usage {line.label}")),
            Choice(ctx.t("button.reminders"), ctx.cmd(f"remind {line.label}")),
            *_home(ctx),
        )
    spend = (Choice(ctx.t("button.topup"), ctx.cmd("renew")),) if any(ctx.may_manage(x) for x in lines) else ()
    chart, remind = Choice(ctx.t("button.chart"), ctx.cmd("usage")), Choice(ctx.t("button.reminders"), ctx.cmd("remind"))
    return (*spend, chart, remind, *_home(ctx))


def _home(ctx: Context) -> tuple[Choice, ...]:
    """The home screen, when the bot serves one (``/dashboard``): a Mini App on Telegram."""
    return (Choice(ctx.t("button.home"), ctx.cmd("dashboard"), ChoiceKind.APP),) if "dashboard" in ctx.commands else ()


def under_chart(ctx: Context, line: Line) -> tuple[Choice, ...]:
    return (*_top_up(ctx, line), Choice(ctx.t("button.balance"), ctx.cmd(f"balance {line.label}")))


def under_receipt(ctx: Context, line: Line) -> tuple[Choice, ...]:
    """Balance, and "Do this automatically next time?" (``/auto``) after a manual top-up."""
    return (
        Choice(ctx.t("button.balance"), ctx.cmd(f"balance {line.label}")),
        Choice(ctx.t("button.auto_next"), ctx.cmd(f"auto {line.label}")),
    )


def _top_up(ctx: Context, line: Line) -> tuple[Choice, ...]:
    """ "Top up" for who may spend on the line (its owner or an admin), nothing for others."""
    return (Choice(ctx.t("button.topup"), ctx.cmd(f"renew {line.label}")),) if ctx.may_manage(line) else ()


def pay_or_cancel(ctx: Context, price: Money, token: str) -> tuple[Choice, Choice]:
    """ "💳 Pay 149,00 kr", then "Cancel", for the pending order ``token``."""
    pay = ctx.t("button.pay", price=ctx.t.money(price.amount, price.currency))
    return Choice(pay, ctx.cmd(f"confirm {token}"), ChoiceKind.PAY), _cancel(ctx, token)


def remove_or_cancel(ctx: Context, token: str) -> tuple[Choice, Choice]:
    """ "Yes, remove it", then "Cancel", for the pending removal ``token``."""
    return Choice(ctx.t("button.unlink"), ctx.cmd(f"confirm {token}"), ChoiceKind.DESTROY), _cancel(ctx, token)


def _cancel(ctx: Context, token: str) -> Choice:
    return Choice(ctx.t("button.cancel"), ctx.cmd(f"cancel {token}"), ChoiceKind.CANCEL)
