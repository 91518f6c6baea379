"""A group chat is a family (design.md section 4): roles decide who may spend and remove.

Issue 3's second acceptance item: an admin and a member each link a line; the member cannot
renew or unlink the other's line or change /cap; /lines never shows a full ICCID; an admin
can do all of it.
"""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import DEMO, FULL_ICCID, UNEXPECTED, Bot, ConsoleProcess, fixed_part, replies

ADMIN = {"chat": "fam", "user": "anna", "group": True, "admin": True, "name": "Anna", "lang": "en"}
MEMBER = {"chat": "fam", "user": "mo", "group": True, "admin": False, "name": "Mo", "lang": "en"}

OWNER_OR_ADMIN = fixed_part("error.owner_or_admin")
ADMIN_ONLY = fixed_part("error.admin_only")


def _no_full_iccid(out: list[dict[str, Any]]) -> None:
    for obj in out:
        assert not FULL_ICCID.search(obj["text"]), obj["text"]
        for choice in obj["choices"]:
            assert not FULL_ICCID.search(choice["label"] + " " + choice["command"]), choice


def test_member_and_admin_in_a_family(console: ConsoleProcess) -> None:
    def admin(text: str) -> list[dict[str, Any]]:
        out = replies(console.send({**ADMIN, "text": text}))
        _no_full_iccid(out)
        assert all(UNEXPECTED not in o["text"] for o in out)
        return out

    def member(text: str) -> list[dict[str, Any]]:
        out = replies(console.send({**MEMBER, "text": text}))
        _no_full_iccid(out)
        assert all(UNEXPECTED not in o["text"] for o in out)
        return out

    def one(out: list[dict[str, Any]]) -> str:
        out = replies(out)
        assert len(out) == 1, out
        return str(out[0]["text"])

    # each links a line; members may add their own
    assert "dad" in one(admin(f"/link {DEMO['DEMO12']} DEMO12 dad"))
    assert "mom" in one(member(f"/link {DEMO['DEMO20']} DEMO20 mom"))

    lines = one(member("/lines"))
    assert "89…0012" in lines and "89…0020" in lines  # masked, still tells them apart
    assert "Anna" in lines and "Mo" in lines
    assert not FULL_ICCID.search(lines)
    assert not FULL_ICCID.search(one(admin("/lines")))
    overview = one(member("/balance"))
    assert "dad" in overview and "mom" in overview and "Anna" in overview

    # the member may not spend on, remove or configure the admin's line
    assert OWNER_OR_ADMIN in one(member("/renew dad"))
    assert OWNER_OR_ADMIN in one(member("/unlink dad"))
    assert OWNER_OR_ADMIN in one(member("/remind dad off"))
    offer = admin("/renew dad")[0]
    buy = offer["choices"][0]["command"]
    assert OWNER_OR_ADMIN in one(member(buy))  # pressing the admin's button does not help
    ask = admin(buy)[0]
    confirm, cancel = (c["command"] for c in ask["choices"])
    assert OWNER_OR_ADMIN in one(member(confirm))
    assert OWNER_OR_ADMIN in one(member(cancel))
    # ... nor change the family's settings
    assert ADMIN_ONLY in one(member("/cap 100 NOK"))
    assert ADMIN_ONLY in one(member("/cap off"))
    assert ADMIN_ONLY in one(member("/lang nb"))
    assert ADMIN_ONLY in one(member("/remind off"))
    assert ADMIN_ONLY in one(member("/remind quiet 23:00-07:00"))
    assert fixed_part("cap.none") in one(member("/cap"))  # reading is fine

    # nothing happened: dad has no top-up, no cap was set, the language is still English
    dad = one(admin("/balance dad"))
    assert "7.5 GB left of 10 GB" in dad
    # the admin's own confirmation still works once (the member did not use it up)
    done = one(admin(confirm))
    assert fixed_part("renew.done") in done and "8.5 GB left of 11 GB" in done

    # the member manages their own line
    assert "Reminders for mom" in one(member("/remind mom off"))
    own = member("/renew mom")[0]
    assert len(own["choices"]) == 3

    # an admin can do all of it on the member's line
    assert fixed_part("cap.set") in one(admin("/cap 300 NOK"))
    offer = admin("/renew mom")[0]
    ask = admin(offer["choices"][0]["command"])[0]
    done = one(admin(ask["choices"][0]["command"]))
    assert fixed_part("renew.done") in done and "mom" in done
    assert "Reminders for mom" in one(admin("/remind mom on"))
    ask = admin("/unlink mom")[0]
    assert fixed_part("unlink.done") in one(admin(ask["choices"][0]["command"]))
    lines = one(admin("/lines"))
    assert "dad" in lines and "mom" not in lines
    assert fixed_part("lang.set", "nb") in one(admin("/lang nb"))
    assert "1 linje:" in one(member("/lines"))  # the family's language now beats the member's hint
    console.close()


async def test_member_cannot_buy_over_the_cap_and_admin_sees_spent(bot: Bot) -> None:
    admin = {"chat": "fam", "user": "anna", "group": True, "admin": True, "name": "Anna"}
    member = {"chat": "fam", "user": "mo", "group": True, "admin": False, "name": "Mo"}
    await bot.text(f"/link {DEMO['DEMO20']} DEMO20 mom", **member)
    assert fixed_part("cap.set") in await bot.text("/cap 100 NOK", **admin)
    offer = (await bot.send("/renew mom", **member))[0]
    cheap, dear = offer.choices[0].command, offer.choices[1].command
    over = await bot.text(dear, **member)
    assert fixed_part("cap.exceeded").split("{")[0][:20] in over
    ask = (await bot.send(cheap, **member))[0]
    assert fixed_part("renew.done") in await bot.text(ask.choices[0].command, **member)
    # 49 of 100 spent: the next 49 NOK still fits, a third does not
    ask = (await bot.send(cheap, **member))[0]
    assert fixed_part("renew.done") in await bot.text(ask.choices[0].command, **member)
    assert "cap" in (await bot.text(cheap, **member)).lower()
    shown = await bot.text("/cap", **member)
    assert "NOK\xa098.00" in shown and "NOK\xa0100.00" in shown


async def test_group_chatter_is_ignored_and_other_bots_commands_too(bot: Bot) -> None:
    member = {"chat": "fam", "user": "mo", "group": True, "admin": False}
    bot.app.router.bot_username = "EsimBot"  # as a platform that knows its name sets it
    assert await bot.send("hello everyone", **member) == []
    assert await bot.send("", **member) == []
    assert await bot.send("/balance@someotherbot", **member) == []
    assert len(await bot.send("/lines", **member)) == 1
    assert len(await bot.send("/lines@esimbot", **member)) == 1


async def test_private_chat_user_is_admin(bot: Bot) -> None:
    assert fixed_part("cap.set") in await bot.text("/cap 300 NOK", chat="u1", user="u1")
    assert fixed_part("lang.set", "nb") in await bot.text("/lang nb", chat="u1", user="u1")


async def test_group_language_is_the_households_and_admin_only(bot: Bot) -> None:
    admin = {"chat": "fam", "user": "anna", "group": True, "admin": True}
    member = {"chat": "fam", "user": "mo", "group": True, "admin": False}
    assert fixed_part("lang.set", "zh") in await bot.text("/lang zh", **admin)
    # the family's choice beats the member's platform hint
    assert fixed_part("lines.none", "zh") in await bot.text("/lines", lang="nb", **member)


async def test_no_reply_in_a_group_shows_a_full_iccid(bot: Bot) -> None:
    admin = {"chat": "fam", "user": "anna", "group": True, "admin": True, "name": "Anna"}
    texts = []
    for code, iccid in DEMO.items():
        texts += [r.text for r in await bot.send(f"/link {iccid} {code} l{code[-2:]}", **admin)]
    for command in ("/lines", "/balance", "/renew l12", "/remind", "/unlink l20", "/renew"):
        for reply in await bot.send(command, **admin):
            texts.append(reply.text)
            texts += [c.label + " " + c.command for c in reply.choices]
    joined = "\n".join(texts)
    assert len(re.findall(r"89…\d{4}", joined)) >= 6
    assert not FULL_ICCID.search(joined)
