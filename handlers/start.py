"""/start, /help and /lang: greeting, command list and the reader's language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from bot import links
from bot.context import Command, Context, unknown_command
from bot.errors import UsageError
from bot.i18n import SUPPORTED, normalize_language
from bot.messages import Incoming, Reply
from handlers import family

DEMO_SIMS = (
    ("8947000000000000012", "DEMO12"),
    ("8947000000000000020", "DEMO20"),
    ("8947000000000000038", "DEMO38"),
    ("8947000000000000046", "DEMO46"),
    ("8947000000000000053", "DEMO53"),
    ("8947000000000000061", "DEMO61"),
)


# What /start shows: the everyday commands, so the greeting fits one phone screen (/help has all).
START_COMMANDS = ("balance", "link", "renew", "remind", "usage")


def _command_list(ctx: Context, commands: Mapping[str, Command], only: tuple[str, ...] | None = None) -> str:
    shown = [c for c in commands.values() if not c.hidden and (only is None or c.name in only)]
    return "\n".join(f"{ctx.prefix}{c.name} — {ctx.t(c.summary)}" for c in shown)


def _demo_hint(ctx: Context, count: int = len(DEMO_SIMS)) -> str | None:
    if "demo" not in ctx.providers:
        return None
    sims = "\n".join(f"{ctx.prefix}link {iccid} {code}" for iccid, code in DEMO_SIMS[:count])
    return ctx.t("start.demo", sims=sims)


async def start(incoming: Incoming, ctx: Context) -> Reply:
    """Greet in the reader's language with the everyday commands and one demo line, or
    join the family whose invite link sent the person here (``/start join_CODE``)."""
    if incoming.args and (code := links.code_in(incoming.args[0])) is not None:
        return await family.join_by_link(ctx, code)
    name = incoming.display_name[:40]
    hello = ctx.t("start.hello", name=name) if name else ctx.t("start.hello_anon")  # no "你好，你好！"
    parts = [hello, _command_list(ctx, ctx.commands, START_COMMANDS)]
    if (hint := _demo_hint(ctx, 1)) is not None:
        parts.append(hint)
    parts.append(ctx.t("start.more", help=ctx.cmd("help")))
    return Reply("\n\n".join(parts))


async def help_(incoming: Incoming, ctx: Context) -> Reply:
    """List commands, or explain one."""
    if incoming.args:
        name = incoming.args[0].lstrip("/!／！").lower()
        command = ctx.commands.get(name)
        if command is not None and command.hidden:
            command = None
        if command is not None and command.usage is not None:
            return Reply(ctx.t(command.usage, prefix=ctx.prefix))
        if command is not None:
            return Reply(f"{ctx.prefix}{command.name} — {ctx.t(command.summary)}")
        return Reply(unknown_command(ctx.t, name, ctx.commands, ctx.prefix))
    parts = [ctx.t("help.header"), _command_list(ctx, ctx.commands), ctx.t("help.more", prefix=ctx.prefix)]
    if (hint := _demo_hint(ctx)) is not None:
        parts.append(hint)
    return Reply("\n\n".join(parts))


async def lang(incoming: Incoming, ctx: Context) -> Reply:
    """Show or set the language: the user's own in private, the family's in a group (admins)."""
    ordered = sorted(SUPPORTED, key=lambda code: code != ctx.t.lang)  # the reader's own first
    names = ctx.t.list([ctx.t("lang.choice", code=code, name=ctx.t("lang.name_" + code)) for code in ordered])
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
    t = ctx.t.with_language(code)  # the answer in the new language; a group's menus follow it (chat_language)
    return Reply(t("lang.set", language=t("lang.name_" + code)), chat_language=code if ctx.chat.is_group else None)


def _by_name(ctx: Context, text: str) -> str | None:
    """A language by the name the bot lists it under (``Norsk bokmål``, ``中文``, ``(English)``)."""
    wanted = text.strip("()（） ").casefold()
    return next((code for code in SUPPORTED if ctx.t("lang.name_" + code).casefold() == wanted), None)
