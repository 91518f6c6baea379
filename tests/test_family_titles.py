"""Review S10: ``/family`` lists chats by their titles where the platform has them ("Familien
Hansen (Telegram)"), so two groups are told apart; chats without one (the console) keep their
wording and are told apart by their chat id. A title is anyone's input: cleaned and cut."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.messages import MAX_TITLE, Address, Incoming, chat_title
from bot.records import Household, from_doc, to_doc
from tests.conftest import Bot
from tests.test_i18n import CATALOGS

CODE = re.compile(r"join ([A-Z0-9]{8})")


async def say(bot: Bot, text: str, *, platform: str, chat: str, title: str = "", lang: str = "en") -> str:
    """A group admin's message as a platform hands it over, with the chat's title."""
    incoming = Incoming(
        address=Address(platform, chat, "u1"),
        text=text,
        at=bot.clock.now(),
        language=lang,
        is_group=True,
        is_admin=True,
        display_name="Anna",
        chat_title=title,
    )
    (reply,) = await bot.app.router.handle(incoming)
    return reply.text


async def two_groups(bot: Bot, *, lang: str) -> str:
    """A Telegram group and a Matrix room in one family; the family as the Telegram group sees it."""
    tg = {"platform": "telegram", "chat": "-100", "title": "Familien Hansen", "lang": lang}
    mx = {"platform": "matrix", "chat": "!room:example.org", "title": "Hansen <b>kids</b>", "lang": lang}
    await say(bot, f"/lang {lang}", **tg)
    await say(bot, f"/lang {lang}", **mx)
    code = CODE.search(await say(bot, "/family invite", **tg)).group(1)  # type: ignore[union-attr]
    await say(bot, f"/family join {code}", **mx)
    return await say(bot, "/family", **tg)


@pytest.mark.parametrize("lang", ["en", "nb", "zh"])
async def test_two_groups_are_listed_by_their_titles(bot: Bot, lang: str) -> None:
    t = CATALOGS.translator(lang)
    shown = await two_groups(bot, lang=lang)
    here = t("family.chat_titled", title="Familien Hansen", platform=t("platform.telegram"))
    there = t("family.chat_titled", title="Hansen <b>kids</b>", platform=t("platform.matrix"))
    assert f"• {here} ← {t('family.here')}" in shown
    assert f"• {there}\n" in shown  # plain text: the renderers escape it (Matrix) or send no markup (Telegram)
    assert here != there
    if lang == "en":
        assert "• Familien Hansen (Telegram) ←" in shown
    if lang == "zh":
        assert "• Familien Hansen（Telegram）" in shown


async def test_a_renamed_group_is_listed_by_its_new_title(bot: Bot) -> None:
    await two_groups(bot, lang="en")
    await say(bot, "/help", platform="matrix", chat="!room:example.org", title="Hansens")
    shown = await say(bot, "/family", platform="telegram", chat="-100", title="Familien Hansen")
    assert "• Hansens (Matrix)\n" in shown and "kids" not in shown
    assert bot.store.household("matrix:!room:example.org").title == "Hansens"


@pytest.mark.parametrize("lang", ["en", "nb", "zh"])
async def test_two_console_groups_without_titles_are_told_apart_by_chat_id(bot: Bot, lang: str) -> None:
    t = CATALOGS.translator(lang)
    await bot.send(f"/lang {lang}", chat="kitchen", group=True, admin=True)
    await bot.send(f"/lang {lang}", chat="cabin", group=True, admin=True)
    said = await bot.text("/family invite", chat="kitchen", group=True, admin=True)
    await bot.send(f"/family join {CODE.search(said).group(1)}", chat="cabin", group=True, admin=True)  # type: ignore[union-attr]
    shown = await bot.text("/family", chat="kitchen", group=True, admin=True)
    group = t("family.chat_group", platform=t("platform.console"))  # the console's wording stays
    assert f"• {t('family.chat_id', name=group, chat='kitchen')} ←" in shown
    assert f"• {t('family.chat_id', name=group, chat='cabin')}\n" in shown


async def test_a_household_stored_without_a_title_loads_and_renders(bot: Bot) -> None:
    old = to_doc(Household(id="telegram:-100", is_group=True, created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    del old["title"]  # as stored before titles
    loaded = from_doc(Household, old)
    assert loaded.title == "" and loaded.id == "telegram:-100"
    bot.store.save_household(loaded)
    shown = await say(bot, "/family", platform="telegram", chat="-100")  # a platform that gave no title
    assert shown == CATALOGS.translator("en").plural("family.show_alone", 0, invite="/family invite")
    assert bot.store.household("telegram:-100").title == ""  # no title given: none kept


def test_a_title_is_cleaned_and_cut() -> None:
    assert chat_title("  Familien\n\tHansen\u202e\u0000 ") == "Familien Hansen"
    long = chat_title("x" * 500)
    assert len(long) == MAX_TITLE and long.endswith("…")
    assert chat_title("\u200b\n") == ""
