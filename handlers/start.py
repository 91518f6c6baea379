"""/start, /help and /lang: greeting, command list and the reader's language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from bot.context import Command, Context, HandlerFn
from bot.errors import UsageError
from bot.i18n import SUPPORTED, normalize_language
from bot.messages import Incoming, Reply

DEMO_SIMS = (
    ("8947000000000000012", "DEMO12"), ("8947000000000000020", "DEMO20"), ("8947000000000000038", "DEMO38"),
    ("8947000000000000046", "DEMO46"), ("8947000000000000053", "DEMO53"), ("8947000000000000061", "DEMO61"),
)


def _command_list(ctx: Context, commands: Mapping[str, Command]) -> str:
    return "\n".join(f"{ctx.prefix}{c.name} — {ctx.t(c.summary)}" for c in commands.values() if not c.hidden)


def _demo_hint(ctx: Context) -> str | None:
    if "demo" not in ctx.providers:
        return None
    sims = "\n".join(f"{ctx.prefix}link {iccid} {code}" for iccid, code in DEMO_SIMS)
    return ctx.t("start.demo", sims=sims)


def make_start(commands: Mapping[str, Command]) -> HandlerFn:
    async def start(incoming: Incoming, ctx: Context) -> Reply:
        """Greet in the reader's language with the command list and a demo hint."""
        name = incoming.display_name[:40] or ctx.t("start.friend")
        parts = [ctx.t("start.hello", name=name), _command_list(ctx, commands)]
        if (hint := _demo_hint(ctx)) is not None:
            parts.append(hint)
        return Reply("\n\n".join(parts))

    return start


def make_help(commands: Mapping[str, Command]) -> HandlerFn:
    async def help_(incoming: Incoming, ctx: Context) -> Reply:
        """List commands, or explain one."""
        if incoming.args:
            name = incoming.args[0].lstrip("/!／！").lower()
            command = commands.get(name)
            if command is not None and command.hidden:
                command = None
            if command is not None and command.usage is not None:
                return Reply(ctx.t(command.usage, prefix=ctx.prefix))
            if command is not None:
                return Reply(f"{ctx.prefix}{command.name} — {ctx.t(command.summary)}")
            return Reply(ctx.t("help.unknown", command=name[:30]) + "\n\n" + _command_list(ctx, commands))
        parts = [ctx.t("help.header"), _command_list(ctx, commands), ctx.t("help.more", prefix=ctx.prefix)]
        if (hint := _demo_hint(ctx)) is not None:
            parts.append(hint)
        return Reply("\n\n".join(parts))

    return help_


async def lang(incoming: Incoming, ctx: Context) -> Reply:
    """Show or set the language: the user's own in private, the family's in a group (admins)."""
    names = ctx.t.list([f"{code} ({ctx.t('lang.name_' + code)})" for code in SUPPORTED])
    if not incoming.args:
        return Reply(ctx.t("lang.show", current=ctx.t("lang.name_" + ctx.t.lang), supported=names, prefix=ctx.prefix))
    code = normalize_language(incoming.args[0]) or _by_name(ctx, " ".join(incoming.args))
    if code is None:
        raise UsageError("lang.unknown", value=" ".join(incoming.args)[:40], supported=names)
    if ctx.chat.is_group:  # the chat's own language (a joined chat keeps its own)
        ctx.require_admin()
        await ctx.settings.save(replace(ctx.chat, language=code))
    else:
        await ctx.settings.set_user_language(ctx.actor, code)
    ctx.t = ctx.t.with_language(code)
    return Reply(ctx.t("lang.set", language=ctx.t("lang.name_" + code)))


def _by_name(ctx: Context, text: str) -> str | None:
    """A language by the name the bot lists it under (``Norsk bokmål``, ``中文``, ``(English)``)."""
    wanted = text.strip("()（） ").casefold()
    return next((code for code in SUPPORTED if ctx.t("lang.name_" + code).casefold() == wanted), None)
