"""Every command the bot understands, in the order /help lists them."""

from __future__ import annotations

from bot.context import Command
from handlers import auto, balance, family, howto, lines, remind, renew, snooze, start, usage


def build_commands(*extra: Command) -> dict[str, Command]:
    """The command table; platforms may add their own (the console's /tick). Handlers that
    list commands read them from ``ctx.commands``."""
    table = [
        Command("start", start.start, "help.start"),
        Command("help", start.help_, "help.help"),
        Command("balance", balance.balance, "help.balance", "usage.balance"),
        Command("usage", usage.usage, "help.usage", "usage.usage"),
        Command("lines", lines.lines, "help.lines"),
        Command("link", lines.link, "help.link", "link.usage"),
        Command("unlink", lines.unlink, "help.unlink", "unlink.usage"),
        Command("renew", renew.renew, "help.renew", "renew.usage"),
        Command("remind", remind.remind, "help.remind", "remind.usage"),
        Command("auto", auto.auto, "help.auto", "auto.usage"),
        Command("cap", renew.cap, "help.cap", "cap.usage", admin=True),
        Command("left", lines.left, "help.left", "left.usage"),
        Command("family", family.family, "help.family", "family.usage", admin=True),
        Command("howto", howto.howto, "help.howto"),
        Command("lang", start.lang, "help.lang", admin=True),
        Command("buy", renew.buy, "help.renew", hidden=True),
        Command("confirm", renew.confirm, "help.confirm", hidden=True),
        Command("cancel", renew.cancel, "help.cancel", hidden=True),
        Command("snooze", snooze.snooze, "help.snooze", hidden=True),
        Command("done", snooze.done, "help.done", hidden=True),
        Command("used", snooze.used, "help.used", hidden=True),
        *extra,
    ]
    return {c.name: c for c in table}
