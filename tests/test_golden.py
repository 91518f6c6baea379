"""Whole conversations per language, kept as golden files a reviewer reads in one sitting
(issue 15, item 5; issue 31, item 5): link, balance, renew, remind, bad input and typos, a
reminder and its snooze, removing a line and changing one's mind, a family across chats, and
the phone-sized overview of many lines.

The conversation runs through ``python -m bot console --jsonl`` (the real app on the demo
provider and a fake clock), so the transcript is exactly what a person would read. A change to
a message shows up here as a diff; when it is meant, rewrite the files with
``UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py`` and read them before committing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEMO, ConsoleProcess

GOLDEN = Path(__file__).resolve().parent / "golden"
START = "2026-01-01T08:00:00Z"  # 09:00 in Oslo
TOKEN = re.compile(r"(/(?:buy|confirm|cancel|snooze) )\S+")  # confirmation tokens and line ids are random
INVITE = re.compile(r"\b[A-HJ-NP-Z2-9]{8}\b")  # so are family invite codes


def mask(text: str) -> str:
    return INVITE.sub("<code>", TOKEN.sub(r"\1<token>", text))


@dataclass(frozen=True)
class People:
    lang: str
    mom: str
    dad: str
    kid: str
    home: str
    admin: str
    member: str
    guest: str


PEOPLE = {
    "en": People("en", mom="mum", dad="dad", kid="Li's iPad", home="home", admin="Anna", member="Li", guest="Tom"),
    "nb": People("nb", mom="mamma", dad="pappa", kid="Linas iPad", home="hjemme", admin="Kari", member="Lina", guest="Ola"),
    "zh": People("zh", mom="妈妈", dad="爸爸", kid="小李的iPad", home="家里", admin="王芳", member="小李", guest="老张"),
}


class Transcript:
    def __init__(self, console: ConsoleProcess) -> None:
        self.console = console
        self.lines: list[str] = []

    def heading(self, text: str) -> None:
        self.lines += ["", f"## {text}", ""]

    def say(self, text: str, *, chat: str, user: str, **fields: Any) -> list[dict[str, Any]]:
        who = fields.get("name") or user
        self.lines.append(f"> {who}: {mask(text)}")
        out = self.console.say(text, chat=chat, user=user, **fields)
        self._show(out)
        return out

    def advance(self, duration: str) -> list[dict[str, Any]]:
        self.lines.append(f"… {duration} later")
        out = self.console.advance(duration)
        self._show(out)
        return out

    def _show(self, out: list[dict[str, Any]]) -> None:
        for obj in out:
            where = "privately" if obj.get("private") else f"in {obj['chat']}"
            mention = f", mentioning {obj['mention']}" if obj.get("mention") else ""
            mark = "🔔 reminder" if obj.get("kind") == "alert" else "bot"
            self.lines.append(f"< {mark} ({where}{mention}):")
            self.lines += [f"    {mask(line)}" if line else "" for line in obj["text"].split("\n")]
            if obj.get("image"):
                self.lines.append("    [picture: a PNG chart]")
            for i, choice in enumerate(obj.get("choices") or [], 1):
                self.lines.append(f"    [{i}] {choice['label']}   → {mask(choice['command'])}")

    def text(self) -> str:
        return "\n".join(self.lines).strip() + "\n"


def first_choice(out: list[dict[str, Any]]) -> str:
    [reply] = [o for o in out if o.get("kind") == "reply"]
    return str(reply["choices"][0]["command"])


def last_choice(out: list[dict[str, Any]]) -> str:
    [reply] = [o for o in out if o.get("kind") == "reply"]
    return str(reply["choices"][-1]["command"])


def converse(t: Transcript, p: People) -> None:
    me = {"chat": "me", "user": "u1", "lang": p.lang, "name": p.admin}
    t.heading("A private chat: link, balance, top up, reminders")
    t.say("/start", **me)
    t.say(f"/link 8947000000000000012 DEMO12 {p.mom}", **me)
    t.say(f"/link 8947000000000000020 DEMO20 {p.dad}", **me)
    t.say("/balance", **me)
    offer = t.say(f"/renew {p.mom}", **me)
    confirm = t.say(first_choice(offer), **me)
    t.say(first_choice(confirm), **me)
    t.say("/remind", **me)
    t.say("/remind quiet 23:00-07:00", **me)
    t.heading("Mistakes")
    t.say("/link 123 abc", **me)
    t.say("/link 8947000000000000013 DEMO12", **me)
    t.say("/renew nosuch", **me)
    t.say("/remind data 150%", **me)
    t.say("/link manual foo x 5 31.12.2026", **me)
    t.say("hello?", **me)
    t.heading("Typos")
    t.say(f"/renw {p.mom}", **me)
    t.say("/balanse", **me)
    t.say("/help remnd", **me)
    t.say("/frobnicate", **me)
    t.say("/start", chat="anon", user="u7", lang=p.lang, name="")
    t.heading("Removing a line, then changing one's mind")
    ask = t.say(f"/unlink {p.dad}", **me)
    t.say(last_choice(ask), **me)
    t.heading("A reminder arrives, and is snoozed")
    came = t.advance("PT12H")
    snooze = [c["command"] for o in came if o.get("kind") == "alert" for c in o["choices"] if "/snooze" in c["command"]]
    assert snooze, came
    t.say(snooze[0], **me)
    t.say("/lines", **me)
    t.say(f"/usage {p.dad}", **me)

    family = {"chat": "family", "group": True}
    admin = {**family, "user": "u1", "admin": True, "name": p.admin, "lang": p.lang}
    member = {**family, "user": "u2", "name": p.member, "lang": p.lang}
    guest = {**family, "user": "u3", "name": p.guest, "lang": p.lang}
    t.heading("A family group")
    t.say(f"/lang {p.lang}", **admin)
    t.say(f"/link 8947000000000000038 DEMO38 {p.kid}", **member)
    t.say(f"/link manual telenor {p.home} 10 31.01.2026", **admin)
    t.say(f"/renew {p.kid}", **guest)
    t.say("/cap 300 NOK", **admin)
    t.say("/lines", **member)
    t.say("/balance", **member)
    t.say("/family", **admin)
    t.advance("P1D")
    t.heading("One family across chats")
    invite = t.say("/family invite", **admin)
    code = INVITE.search(invite[0]["text"])
    assert code is not None, invite
    grandma = {"chat": "grandma", "user": "u5", "name": p.guest, "lang": p.lang}
    t.say(f"/family join {code.group()}", **grandma)
    t.say("/family", **grandma)
    t.say(f"/family join {code.group()}", **{**grandma, "chat": "uncle", "user": "u6"})
    t.heading("Many lines on a phone")
    for sim, label in (("DEMO46", p.guest), ("DEMO53", p.member)):
        t.say(f"/link {DEMO[sim]} {sim} {label}", **me)
    overview = t.say("/balance", **me)
    t.say(first_choice(overview), **me)
    t.say("/howto talkmore", **me)


@pytest.mark.parametrize("lang", sorted(PEOPLE))
def test_golden_conversation(lang: str, console_factory: Callable[..., ConsoleProcess], tmp_path: Path) -> None:
    console = console_factory(tmp_path / "bot.json", start=START)
    t = Transcript(console)
    t.lines.append(f"# {lang}: one conversation, as the bot's users read it (tests/test_golden.py)")
    converse(t, PEOPLE[lang])
    console.close()
    path = GOLDEN / f"{lang}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(t.text(), encoding="utf-8")
    assert path.exists(), f"{path} is missing: run UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py"
    assert t.text() == path.read_text(encoding="utf-8"), (
        f"the {lang} conversation changed; if that is meant, rewrite {path.name} with UPDATE_GOLDEN=1 and read it"
    )
