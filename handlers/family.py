"""/family: one household across chats and platforms (a Telegram group and a Matrix room).

``/family invite`` (an admin) gives a one-time code, valid 15 minutes; ``/family join CODE``
in another chat (a group by its admin, or a private chat) joins that chat to the household:
its lines come along, it sees the family's overview and gets the family's alerts in its own
language. ``/family leave`` takes a joined chat out again. Wrong codes count against the
same budget as wrong link codes.

On Telegram the invite also gives links with the code in them (``bot.links``): one adds the
bot to a group, one opens its private chat, and either makes the app send ``/start join_CODE``
there, which joins exactly as ``/family join CODE`` would. On Matrix it links to the bot.
"""

from __future__ import annotations

import secrets
import unicodedata
from datetime import timedelta

from bot import links
from bot.context import Context
from bot.errors import BotError, RateLimitedUser, UsageError
from bot.messages import HouseholdId, Incoming, Reply
from bot.records import Household
from handlers.lines import FAILURE_WINDOW, MAX_FAILURES

INVITE_TTL = timedelta(minutes=15)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
CODE_LENGTH = 8
MAX_CHATS = 10


async def family(incoming: Incoming, ctx: Context) -> Reply:
    """Show the family's chats, or invite, join or leave."""
    action = incoming.args[0].casefold() if incoming.args else ""
    if not action:
        return await _show(ctx)
    if action in ("invite", "inviter", "邀请"):
        return await _invite(ctx)
    if action in ("join", "bli-med", "加入") and len(incoming.args) == 2:
        return await _join(ctx, incoming.args[1])
    if action in ("leave", "forlat", "退出"):
        return await _leave(ctx)
    raise UsageError("family.usage")


def chat_name(ctx: Context, chat: Household) -> str:
    """A chat with a title as "Familien Hansen (Telegram)", else as "Telegram group"."""
    platform = ctx.t(f"platform.{chat.id.split(':', 1)[0]}")
    if chat.title:
        return ctx.t("family.chat_titled", title=chat.title, platform=platform)
    return ctx.t(f"family.chat_{'group' if chat.is_group else 'private'}", platform=platform)


def chat_names(ctx: Context, chats: list[Household]) -> list[str]:
    """Each chat's name; two chats of the same name (two console groups, two untitled
    groups) are told apart by their chat id."""
    names = [chat_name(ctx, c) for c in chats]
    return [
        ctx.t("family.chat_id", name=n, chat=HouseholdId.parse(c.id).local) if names.count(n) > 1 else n
        for n, c in zip(names, chats, strict=True)
    ]


async def _show(ctx: Context) -> Reply:
    home = ctx.household
    chats = [home, *[c for key in home.chats if (c := await ctx.settings.household(key)) is not None]]
    here = " ← " + ctx.t("family.here")
    names = [n + (here if c.id == ctx.chat.id else "") for n, c in zip(chat_names(ctx, chats), chats, strict=True)]
    lines, invite = await ctx.lines.all(), ctx.cmd("family invite")
    if len(chats) == 1:  # no list of one
        return Reply(ctx.t.plural("family.show_alone", len(lines), invite=invite))
    return Reply(ctx.t.plural("family.show", len(lines), chats="\n".join(f"• {n}" for n in names), invite=invite))


async def _invite(ctx: Context) -> Reply:
    ctx.require_admin()
    if len(ctx.household.chats) >= MAX_CHATS:
        raise BotError("family.too_many", limit=MAX_CHATS)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    until = ctx.now + INVITE_TTL
    await ctx.settings.invite(ctx.household, code, ctx.actor, ctx.now)
    said = [ctx.t("family.invite", code=code, join=ctx.cmd(f"family join {code}"), time=ctx.t.time(until))]
    platform = ctx.incoming.address.platform
    if placeholders := links.invite_links(platform, ctx.bot_id, code):
        said.append(ctx.t(f"family.invite_{platform}", **placeholders))
    return Reply("\n".join(said))


async def join_by_link(ctx: Context, code: str) -> Reply:
    """``/start join_CODE`` from an invite link: the same join, a refusal that names the link."""
    return await _join(ctx, code, bad="family.bad_link")


async def _join(ctx: Context, code: str, *, bad: str = "family.bad_code") -> Reply:
    chat = ctx.chat
    if chat.is_group:
        ctx.require_admin()
    if chat.home is not None:  # refused before the code is looked at, so it stays usable
        raise BotError("family.already", leave=ctx.cmd("family leave"))
    if chat.chats:
        raise BotError("family.is_home")
    if await ctx.attempts.failed_since(ctx.actor, ctx.now - FAILURE_WINDOW) >= MAX_FAILURES:
        raise RateLimitedUser(n=int(FAILURE_WINDOW.total_seconds() // 60))
    typed = "".join(c for c in unicodedata.normalize("NFKC", code).upper() if c.isascii() and c.isalnum())
    home = await ctx.settings.redeem(typed[: CODE_LENGTH * 2], ctx.now, INVITE_TTL)  # "k7pq-2xwm", "K7PQ2XWM。" work too
    if home is None:
        await ctx.attempts.failed(ctx.actor, ctx.now)  # a refusal keeps this write
        raise BotError(bad, invite=ctx.cmd("family invite"))
    if home.id == ctx.household.id:
        raise BotError("family.same")
    moved = await ctx.settings.join(chat, home)
    said = [ctx.t("family.joined", balance=ctx.cmd("balance"))]
    return Reply("\n".join(said + ([ctx.t.plural("family.moved", moved)] if moved else [])))


async def _leave(ctx: Context) -> Reply:
    chat = ctx.chat
    if chat.home is None:
        raise BotError("family.leave_home" if chat.chats else "family.not_joined")
    if chat.is_group:
        ctx.require_admin()
    await ctx.settings.leave(chat, ctx.household)
    return Reply(ctx.t("family.left"))
