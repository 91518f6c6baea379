"""/howto: how to check, renew and top up automatically with an operator, verified facts only (providers.md 5)."""

from __future__ import annotations

from bot.context import Context
from bot.messages import Choice, Incoming, Reply
from handlers import parsing

# Operators with verified channels have their own message; the rest get generic guidance.
VERIFIED = ("talkmore", "telenor", "nicemobil", "chilimobil")
GENERIC = ("telia", "ice", "onecall", "mycall", "happybytes")
ALIASES = {"ice": "ice", "nice": "nicemobil", "nicemobil": "nicemobil", "nice mobil": "nicemobil"}


async def howto(incoming: Incoming, ctx: Context) -> Reply:
    """Explain an operator's own channels (app, web, SMS keywords)."""
    known = ctx.t.list([ctx.t.operator(op) for op in (*VERIFIED, *GENERIC)])
    if not incoming.args:
        return Reply(
            ctx.t("howto.list", operators=known, prefix=ctx.prefix),
            choices=tuple(Choice(ctx.t.operator(op), f"{ctx.prefix}howto {op}") for op in VERIFIED),
        )
    name = parsing.normalize(" ".join(incoming.args)).casefold()
    name = ALIASES.get(name, name)
    if name in VERIFIED:
        return Reply(ctx.t(f"howto.{name}") + "\n" + automatic(ctx, name))
    if name in GENERIC:
        return Reply(ctx.t("howto.generic", operator=ctx.t.operator(name)) + "\n" + automatic(ctx, name))
    return Reply(ctx.t("howto.unknown", operator=name[:30], operators=known))


def automatic(ctx: Context, name: str) -> str:
    """The operator's own automatic top-up: Talkmore's Autopåfyll is verified (providers.md
    5); for the others we say we could not verify one, and that ``/auto`` reminds instead."""
    if name == "talkmore":
        return ctx.t("howto.auto_talkmore")
    return ctx.t("howto.auto_unverified", operator=ctx.t.operator(name), command=ctx.cmd("auto"))
