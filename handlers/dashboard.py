"""/dashboard: a one-time link to the family's home screen (a web page), for this user in this chat."""

from __future__ import annotations

from typing import Protocol

from bot.context import Command, Context
from bot.messages import Incoming, Reply


class LinkMaker(Protocol):
    """Makes a signed, short-lived, one-time sign-in link (``bot.home.HomeLinks`` fits)."""

    minutes: int

    def __call__(self, *, platform: str, chat: str, user: str, admin: bool, group: bool, lang: str | None) -> str: ...


def command(links: LinkMaker) -> Command:
    """The ``/dashboard`` command, making its links with ``links``."""

    async def dashboard(incoming: Incoming, ctx: Context) -> Reply:
        """Answer with the link; in a group it goes to the user privately (it signs in as them)."""
        a = incoming.address
        url = links(
            platform=a.platform,
            chat=a.chat,
            user=a.user,
            admin=incoming.is_admin,
            group=incoming.is_group,
            lang=incoming.language,
        )
        return Reply(ctx.t("dashboard.link", link=url, minutes=links.minutes), private=incoming.is_group)

    return Command("dashboard", dashboard, "help.dashboard")
