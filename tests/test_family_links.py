"""Invite links (issue 27, item 4): on Telegram ``/family invite`` gives a link that adds the bot
to a group and one that opens its private chat, with the code in them; ``/start join_CODE``
joins exactly as ``/family join CODE`` does (checked, one-time, 15 minutes); on Matrix the
invite links to the bot's account."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot import links
from bot.messages import Address, Incoming, Reply
from tests.conftest import Bot, make_bot
from tests.test_i18n import CATALOGS

EN = CATALOGS.translator("en")
NB = CATALOGS.translator("nb")
ME = "EsimTestBot"
LINK = re.compile(r"https://t\.me/EsimTestBot\?(startgroup|start)=(join_[A-Z0-9]{8})\b")


async def tg(bot: Bot, text: str, *, chat: str, user: str, group: bool = False, admin: bool = False, lang: str = "en") -> Reply:
    """A message as the Telegram platform hands it over (it carries the bot's username)."""
    incoming = Incoming(
        address=Address("telegram", chat, user),
        text=text,
        at=bot.clock.now(),
        language=lang,
        is_group=group,
        is_admin=admin or not group,
        display_name=user,
        bot_id=ME,
    )
    (reply,) = await bot.app.router.handle(incoming)
    return reply


async def _invite(bot: Bot) -> dict[str, str]:
    said = (await tg(bot, "/family invite", chat="-1001", user="1", group=True, admin=True)).text
    found = dict(LINK.findall(said))
    assert set(found) == {"startgroup", "start"} and found["start"] == found["startgroup"]
    return found


def test_links_carry_the_code() -> None:
    group, private = links.telegram_invite("@EsimTestBot", "K7PQ2XWM")
    assert (group, private) == (
        "https://t.me/EsimTestBot?startgroup=join_K7PQ2XWM",
        "https://t.me/EsimTestBot?start=join_K7PQ2XWM",
    )
    assert links.code_in("join_K7PQ2XWM") == "K7PQ2XWM"
    assert links.code_in("K7PQ2XWM") is None and links.code_in("join_bad code") is None
    assert links.matrix_chat("@esim:example.org") == "https://matrix.to/#/@esim:example.org"


async def test_the_invite_on_telegram_gives_both_links_in_the_readers_language(bot: Bot) -> None:
    said = (await tg(bot, "/family invite", chat="-1001", user="1", group=True, admin=True, lang="nb")).text
    code = re.search(r"join_([A-Z0-9]{8})", said).group(1)  # type: ignore[union-attr]
    group, private = links.telegram_invite(ME, code)
    assert NB("family.invite_telegram", group=group, private=private) in said
    assert f"/family join {code}" in said  # the code still works by hand, from any platform


async def test_start_with_the_payload_in_a_private_chat_joins_once(bot: Bot) -> None:
    payload = (await _invite(bot))["start"]
    joined = await tg(bot, f"/start {payload}", chat="2", user="2")
    assert joined.text.startswith(EN("family.joined", balance="/balance"))
    again = await tg(bot, f"/start {payload}", chat="3", user="3")
    assert again.text == EN("family.bad_link", invite="/family invite")


async def test_start_in_a_group_it_was_added_to_joins_it_for_an_admin(bot: Bot) -> None:
    payload = (await _invite(bot))["startgroup"]
    refused = await tg(bot, f"/start@{ME} {payload}", chat="-2002", user="5", group=True)
    assert refused.text == EN("error.admin_only")  # the code stays usable
    joined = await tg(bot, f"/start@{ME} {payload}", chat="-2002", user="4", group=True, admin=True)
    assert joined.text.startswith(EN("family.joined", balance="/balance"))
    shown = (await tg(bot, "/family", chat="-1001", user="1", group=True, admin=True)).text
    assert shown.count("•") == 2  # the family now has the group


@pytest.mark.parametrize("payload", ["join_ZZZZZZZZ", "join_K7PQ", "join_"])
async def test_a_wrong_payload_is_refused_in_the_readers_language(bot: Bot, payload: str) -> None:
    refused = await tg(bot, f"/start {payload}", chat="7", user="7", lang="nb")
    assert refused.text == NB("family.bad_link", invite="/family invite")


async def test_an_expired_payload_is_refused(bot: Bot) -> None:
    payload = (await _invite(bot))["start"]
    bot.advance(timedelta(minutes=16))
    assert (await tg(bot, f"/start {payload}", chat="2", user="2")).text == EN("family.bad_link", invite="/family invite")


async def test_wrong_payloads_count_against_the_budget_for_codes(bot: Bot) -> None:
    payload = (await _invite(bot))["start"]
    for _ in range(10):
        await tg(bot, "/start join_ZZZZZZZZ", chat="8", user="8")
    blocked = await tg(bot, f"/start {payload}", chat="8", user="8")
    assert blocked.text.startswith(EN("link.too_many_attempts", n=15).split("15")[0])


async def test_any_other_start_payload_greets(bot: Bot) -> None:
    hello = await tg(bot, "/start from_the_website", chat="9", user="9")
    assert hello.text.startswith(EN("start.hello", name="9"))


async def test_on_matrix_the_invite_links_to_the_bots_account(tmp_path: Path) -> None:
    bot = make_bot(
        matrix_homeserver="http://127.0.0.1:1",
        matrix_user="@esim:example.org",
        matrix_password="x",
        db_path=str(tmp_path / "bot.json"),
    )  # the bot's Matrix id comes from MATRIX_USER
    incoming = Incoming(
        address=Address("matrix", "!room:example.org", "@anna:example.org"),
        text="!family invite",
        at=bot.clock.now(),
        is_admin=True,
    )
    (reply,) = await bot.app.router.handle(incoming)
    assert EN("family.invite_matrix", link="https://matrix.to/#/@esim:example.org") in reply.text
    assert "t.me" not in reply.text


async def test_the_console_has_no_links(bot: Bot) -> None:
    said = await bot.text("/family invite")
    assert "https://" not in said
