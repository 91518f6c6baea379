"""A scripted conversation in each language through the real console (``--jsonl``).

Issue 3's first acceptance item: link DEMO12 and DEMO20, /balance with data left, total,
expiry as a localized date with "in N days", status and "as of"; /renew on DEMO20 lists
the plans with localized prices; confirming tops up once, even when the confirmation is
sent twice; /balance shows the new amount.

The demo set (design.md section 7) offers a limited line three top-ups (1, 5 and 10 GB);
the fourth plan (Unlimited / 7 days) is only for the unlimited line DEMO53. The issue's
"the four plans" counts the whole demo catalogue; DEMO20 gets three.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conftest import DEMO, UNEXPECTED, Bot, ConsoleProcess, fixed_part, replies

NBSP = "\u00a0"


@dataclass(frozen=True)
class Expect:
    """Fragments a reader of this language must see (CLDR/Babel 2.18 renderings)."""

    lang: str
    setup: tuple[str, ...]  # messages sent first (with ``hint``)
    hint: str | None
    gb_7_5: str
    mb_409: str
    gb_10: str
    gb_5: str
    gb_5_3: str
    date_day20: str
    in_20_days: str
    date_day12: str
    in_12_days: str
    date_day42: str
    in_42_days: str
    as_of_time: str
    prices: tuple[str, str, str]
    days_7: str
    days_30: str
    not_english: bool


LANGS = [
    Expect(
        lang="zh",
        setup=(),
        hint="zh-CN",
        gb_7_5="7.5 GB",
        mb_409="409 MB",
        gb_10="10 GB",
        gb_5="5 GB",
        gb_5_3="5.4 GB",
        date_day20="2026年1月21日",
        in_20_days="20 天后",
        date_day12="2026年1月13日",
        in_12_days="12 天后",
        date_day42="2026年2月12日",
        in_42_days="42 天后",
        as_of_time="09:00",
        prices=("49.00 挪威克朗", "149.00 挪威克朗", "249.00 挪威克朗"),
        days_7="7 天",
        days_30="30 天",
        not_english=True,
    ),
    Expect(
        lang="nb",
        setup=("/lang nb",),
        hint="en",
        gb_7_5="7,5 GB",
        mb_409="409 MB",
        gb_10="10 GB",
        gb_5="5 GB",
        gb_5_3="5,4 GB",
        date_day20="21. jan. 2026",
        in_20_days="om 20 dager",
        date_day12="13. jan. 2026",
        in_12_days="om 12 dager",
        date_day42="12. feb. 2026",
        in_42_days="om 42 dager",
        as_of_time="kl. 09.00",
        prices=(f"49,00{NBSP}kr", f"149,00{NBSP}kr", f"249,00{NBSP}kr"),
        days_7="7 dager",
        days_30="30 dager",
        not_english=True,
    ),
    Expect(
        lang="en",
        setup=("/lang en",),
        hint="zh",
        gb_7_5="7.5 GB",
        mb_409="409 MB",
        gb_10="10 GB",
        gb_5="5 GB",
        gb_5_3="5.4 GB",
        date_day20="21 Jan 2026",
        in_20_days="in 20 days",
        date_day12="13 Jan 2026",
        in_12_days="in 12 days",
        date_day42="12 Feb 2026",
        in_42_days="in 42 days",
        as_of_time="09:00",
        prices=("NOK\xa049.00", "NOK\xa0149.00", "NOK\xa0249.00"),
        days_7="7 days",
        days_30="30 days",
        not_english=False,
    ),
]

ENGLISH_ONLY = ("left of", "Expires", "Updated", "Top-ups for", "Topped up")


def _assert_language(text: str, e: Expect) -> None:
    assert UNEXPECTED not in text
    if e.not_english:
        leaked = [w for w in ENGLISH_ONLY if w in text]
        assert not leaked, f"English in a {e.lang} reply: {leaked}\n{text}"


def _block(text: str, label: str) -> str:
    """The paragraph of a /balance reply about one line."""
    for part in text.split("\n\n"):
        if label in part.splitlines()[0]:
            return part
    raise AssertionError(f"no block for {label} in:\n{text}")


@pytest.mark.parametrize("e", LANGS, ids=[e.lang for e in LANGS])
def test_scripted_conversation(console: ConsoleProcess, e: Expect) -> None:
    def say(text: str) -> list[dict[str, object]]:
        out = replies(console.say(text, lang=e.hint) if e.hint else console.say(text))
        for obj in out:
            _assert_language(str(obj["text"]), e)
        return out

    def one(text: str) -> dict[str, object]:
        out = say(text)
        assert len(out) == 1, out
        return out[0]

    for text in e.setup:
        assert fixed_part("lang.set", e.lang) in str(one(text)["text"])

    linked = str(one(f"/link {DEMO['DEMO12']} DEMO12 dad")["text"])
    assert fixed_part("link.done", e.lang) in linked and "dad" in linked
    assert e.gb_7_5 in linked and e.gb_10 in linked
    linked = str(one(f"/link {DEMO['DEMO20']} DEMO20 mom")["text"])
    assert "mom" in linked and e.mb_409 in linked

    balance = str(one("/balance")["text"])
    dad, mom = _block(balance, "dad"), _block(balance, "mom")
    status_active = fixed_part("status.active", e.lang)
    for block in (dad, mom):
        assert status_active in block
        assert fixed_part("balance.as_of", e.lang) in block
        assert e.as_of_time in block  # 08:00Z is 09:00 in Oslo
    assert e.gb_7_5 in dad and e.gb_10 in dad
    assert e.date_day20 in dad and e.in_20_days in dad
    assert e.mb_409 in mom and e.gb_5 in mom
    assert e.date_day12 in mom and e.in_12_days in mom

    assert fixed_part("cap.set", e.lang) in str(one("/cap 1000 NOK")["text"])

    offer = one("/renew mom")
    assert "mom" in str(offer["text"])
    choices = offer["choices"]
    assert isinstance(choices, list)
    labels = [str(c["label"]) for c in choices]
    assert len(labels) == 3, labels  # design.md section 7: three top-ups for a limited line
    for label, price in zip(labels, e.prices, strict=True):
        assert price in label, (label, price)
    assert e.days_7 in labels[0] and e.days_30 in labels[1] and e.days_30 in labels[2]
    assert "1 GB" in labels[0] and "5 GB" in labels[1] and "10 GB" in labels[2]

    ask = one(str(choices[1]["command"]))  # 5 GB / 30 days / 149 NOK
    confirm_choice = ask["choices"][0]  # type: ignore[index]
    assert e.prices[1] in confirm_choice["label"]
    confirm = confirm_choice["command"]
    assert confirm.startswith("/confirm ")

    done = str(one(confirm)["text"])
    assert fixed_part("renew.done", e.lang) in done and "mom" in done
    # 409.6 MB + 5 GB = 5.39… GB shown rounded down; total 5 + 5 GB; expiry day 12 + 30 days
    assert e.gb_5_3 in done and e.gb_10 in done
    assert e.date_day42 in done and e.in_42_days in done

    again = str(one(confirm)["text"])
    assert again == fixed_part("confirm.already_done", e.lang) or fixed_part("confirm.already_done", e.lang) in again

    after = _block(str(one("/balance")["text"]), "mom")
    assert e.gb_5_3 in after and e.gb_10 in after, after  # one top-up, not two
    assert e.date_day42 in after

    spent = str(one("/cap")["text"])
    assert spent.count(e.prices[1]) == 1, spent  # spent this month: one order of 149 NOK, not two
    assert "298" not in spent
    console.close()


OTHER_ROUTE = [("zh", ("/lang zh",), "nb-NO"), ("nb", (), "nb-NO"), ("en", (), None)]


@pytest.mark.parametrize(("lang", "setup", "hint"), OTHER_ROUTE, ids=[x[0] for x in OTHER_ROUTE])
async def test_the_other_route_to_each_language(bot: Bot, lang: str, setup: tuple[str, ...], hint: str | None) -> None:
    """In-process: zh chosen with /lang over an nb hint, nb from the hint alone, en by default."""
    e = next(x for x in LANGS if x.lang == lang)
    for text in setup:
        assert fixed_part("lang.set", lang) in await bot.text(text, lang=hint)
    await bot.text(f"/link {DEMO['DEMO20']} DEMO20 mom", lang=hint)
    text = await bot.text("/balance", lang=hint)
    _assert_language(text, e)
    assert e.mb_409 in text and e.date_day12 in text and e.in_12_days in text
    assert fixed_part("status.active", lang) in text and fixed_part("balance.as_of", lang) in text


# --- the other paths of the same commands (in-process) ---------------------------------


async def test_unlimited_line_is_offered_the_unlimited_plan(bot: Bot) -> None:
    await bot.text(f"/link {DEMO['DEMO53']} DEMO53 uni")
    offer = (await bot.send("/renew uni"))[0]
    assert [c.label for c in offer.choices] == ["Unlimited · 7 days · NOK\xa0199.00"]
    ask = (await bot.send(offer.choices[0].command))[0]
    done = await bot.text(ask.choices[0].command)
    assert "Unlimited data" in done and "13 Jan 2026 (in 12 days)" in done  # day 5 + 7


async def test_manual_line_points_to_its_operator(bot: Bot) -> None:
    linked = await bot.text("/link manual telenor tel 10 2026-03-01")
    assert "10 GB left of 10 GB" in linked and "1 Mar 2026" in linked and "/howto telenor" in linked
    renew = (await bot.send("/renew tel"))[0]
    assert "/howto telenor" in renew.text and not any(c.command.startswith("/buy") for c in renew.choices)
    assert "2.5 GB left of 10 GB" in await bot.text("/left tel 2,5GB")
    assert fixed_part("howto.talkmore").split(":")[0] in await bot.text("/howto talkmore")


async def test_unlink_asks_first_and_cancel_keeps_the_line(bot: Bot) -> None:
    await bot.text(f"/link {DEMO['DEMO12']} DEMO12 dad")
    ask = (await bot.send("/unlink dad"))[0]
    confirm, cancel = (c.command for c in ask.choices)
    assert await bot.text(cancel) == "OK, dad stays."  # a removal was cancelled, not an order (review S1)
    assert "dad" in await bot.text("/lines")
    assert await bot.text(confirm) == "OK, dad stays."  # a cancelled one stays cancelled
    assert "dad" in await bot.text("/lines")
    ask = (await bot.send("/unlink DAD"))[0]  # labels are case-insensitive
    assert fixed_part("unlink.done") in await bot.text(ask.choices[0].command)
    assert fixed_part("lines.none") in await bot.text("/lines")
    # the eSIM is free to link again
    assert fixed_part("link.done") in await bot.text(f"/link {DEMO['DEMO12']} DEMO12 dad", chat="other")


async def test_a_cap_in_another_currency_blocks_the_purchase(bot: Bot) -> None:
    await bot.text(f"/link {DEMO['DEMO20']} DEMO20 mom")
    await bot.text("/cap 100 EUR")
    offer = (await bot.send("/renew mom"))[0]
    assert fixed_part("cap.other_currency") in await bot.text(offer.choices[0].command)
    await bot.text("/cap off")
    ask = (await bot.send(offer.choices[0].command))[0]
    assert ask.choices and ask.choices[0].command.startswith("/confirm ")


@pytest.mark.parametrize(("status", "note"), [("TERMINATED", "balance.terminal_note"), ("NOT_ACTIVE", "balance.inactive_note")])
async def test_balance_says_a_line_is_looked_at_less_often(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, status: str, note: str
) -> None:
    from dataclasses import replace as changed

    from providers.base import Status

    await bot.text(f"/link {DEMO['DEMO20']} DEMO20 mom")
    demo = bot.app.providers["demo"]
    real = demo.balance

    async def reported(iccid: str):  # type: ignore[no-untyped-def]
        return changed(await real(iccid), status=Status(status))

    monkeypatch.setattr(demo, "balance", reported)
    assert fixed_part(note) in await bot.text("/balance")
