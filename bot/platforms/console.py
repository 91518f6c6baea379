"""The console: an interactive chat for a person, and JSON lines for programs.

Interactive: one user in one private chat; replies are printed readably and a choice is
picked by typing its number. ``--jsonl`` implements design.md section 10: one JSON object
per input line, one per output message, ``{"idle": true}`` after each input is handled.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from bot import readback_time
from bot.context import Command, Context
from bot.errors import UsageError
from bot.messages import Address, Incoming, Picture, Reply, SendKind
from bot.names import PlatformName
from bot.platforms.base import Handler, SendLimits, TargetGone

NAME = PlatformName.CONSOLE
_DURATION = re.compile(r"^P(?:(\d{1,4})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,8})M)?(?:(\d{1,9})S)?)?$")
MAX_ADVANCE = timedelta(days=400)
# A long message is the router's to refuse (a localized "too long" reply); only absurd
# lines are a protocol error. 1 MB holds 100 000 characters even as JSON escapes.
MAX_LINE = 1_000_000

log = logging.getLogger(__name__)


class Steppable(Protocol):
    """What ``advance`` drives: move the clock to ``when``, running due jobs on the way."""

    async def run_until(self, when: datetime) -> None: ...


def parse_duration(text: str) -> timedelta:
    """ISO-8601 ``PT6H``/``P3D``/``P1DT12H`` (also lower case, and ``6h``/``3d`` shorthand)."""
    raw = text.strip().upper()
    if raw and raw[0] != "P":
        raw = "PT" + raw if raw[-1] in "HMS" else "P" + raw
    m = _DURATION.match(raw)
    if not m or raw in ("P", "PT") or raw.endswith("T"):
        raise ValueError(f"not an ISO-8601 duration: {text[:40]!r}")
    days, hours, minutes, seconds = (int(g or 0) for g in m.groups())
    delta = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if delta <= timedelta(0) or delta > MAX_ADVANCE:
        raise ValueError("duration must be positive and at most 400 days")
    return delta


@dataclass(frozen=True)
class Line:
    """One parsed input line: a message or a clock step."""

    incoming: Incoming | None = None
    advance: timedelta | None = None
    refuse: tuple[str, bool] | None = None  # {"unreachable": user} / {"reachable": user}


class ConsolePlatform:
    name = NAME
    limits = SendLimits(overall_per_second=1000, per_chat_per_second=1000, per_group_per_minute=60000)

    def __init__(
        self,
        *,
        read: Callable[[], Awaitable[str]],
        write: Callable[[str], None],
        now: Callable[[], datetime],
        jsonl: bool,
        user: str = "you",
        pictures: Path | None = None,
    ) -> None:
        self._read, self._write, self._now = read, write, now
        self._pictures = pictures or Path(tempfile.gettempdir()) / "esimbot-pictures"
        self.jsonl = jsonl
        self._user = user
        self._choices: list[str] = []
        self._refusing: set[str] = set()  # users whose private chat refuses alerts (never started, blocked)
        self.done = asyncio.Event()
        self.failed = False
        self._task: asyncio.Task[None] | None = None

    def private_address(self, user: str) -> Address:
        return Address(NAME, user, user)

    async def start(self, handler: Handler) -> None:
        """Nothing to start for sending; input is read by ``ConsoleReader`` (below)."""

    def read_input(self, handler: Handler, steps: Steppable) -> None:
        """Read input until EOF: messages go to ``handler``, ``{"advance": ...}`` to ``steps``."""
        self._task = asyncio.create_task(self._loop(handler, steps), name="console")

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def send(self, to: Address, reply: Reply, *, kind: SendKind = SendKind.REPLY) -> None:
        if kind == SendKind.ALERT and reply.private and to.chat in self._refusing:
            raise TargetGone("this user's private chat refuses messages")
        image = self.save_picture(reply.picture) if reply.picture is not None else None
        if self.jsonl:
            self._emit(
                {
                    "chat": to.chat,
                    "text": reply.text,
                    "choices": [{"label": c.label, "command": c.command} for c in reply.choices],
                    "mention": reply.mention,
                    "private": reply.private,
                    "kind": kind,
                    **({"image": str(image)} if image is not None else {}),
                }
            )
            return
        head = "🔔 " if kind == SendKind.ALERT else ""
        self._write(f"\n{head}{reply.text}\n" + (f"🖼 {image}\n" if image is not None else ""))
        self._choices = [c.command for c in reply.choices]
        for i, choice in enumerate(reply.choices, 1):
            self._write(f"  [{i}] {choice.label}\n")

    def save_picture(self, picture: Picture) -> Path:
        """The PNG as a file (named by its content, so an unchanged chart is one file)."""
        self._pictures.mkdir(parents=True, exist_ok=True)
        stem = Path(picture.name).stem[:40] or "picture"
        path = self._pictures / f"{stem}-{hashlib.sha256(picture.png).hexdigest()[:12]}.png"
        if not path.exists():
            path.write_bytes(picture.png)
        return path

    def _emit(self, obj: dict[str, Any]) -> None:
        self._write(json.dumps(obj, ensure_ascii=False) + "\n")

    async def _loop(self, handler: Handler, steps: Steppable) -> None:
        """One input at a time until EOF; a failure in one input is logged and the next one
        is read. Only a failure of the console itself (its output closed) ends it early, and
        then ``failed`` says so, so the process does not exit 0 as if all was well."""
        try:
            if not self.jsonl:
                self._write("Type /help (or /start). Ctrl-D quits.\n> ")
            while True:
                raw = await self._read()
                if raw == "":
                    break
                try:
                    await self._one(raw, handler, steps)
                except Exception:
                    log.exception("console: one input failed; going on with the next")
                    if self.jsonl:
                        self._emit({"error": "internal error; see the log"})
                        self._emit({"idle": True})
        except BaseException:
            self.failed = True
            raise
        finally:
            self.done.set()

    async def _one(self, raw: str, handler: Handler, steps: Steppable) -> None:
        try:
            item = self._parse_json(raw) if self.jsonl else self._parse_text(raw)
        except ValueError as exc:
            if self.jsonl:
                self._emit({"error": str(exc)})
                self._emit({"idle": True})
            return
        if item.refuse is not None:
            user, refused = item.refuse
            (self._refusing.add if refused else self._refusing.discard)(user)
        elif item.advance is not None:
            await steps.run_until(self._now() + item.advance)
        elif item.incoming is not None:
            for reply in await handler(item.incoming):
                await self.send(reply.to or item.incoming.address, reply)  # the router resolved it
        if self.jsonl:
            self._emit({"idle": True})
        else:
            self._write("> ")

    def _parse_text(self, raw: str) -> Line:
        text = raw.strip()
        if text.isdigit() and 1 <= int(text) <= len(self._choices):
            text = self._choices[int(text) - 1]
        address = Address(NAME, "console", self._user)
        # no display name: the console's one person is "you" in each reader's language
        return Line(Incoming(address=address, text=text, at=self._now(), is_admin=True, display_name=""))

    def _parse_json(self, raw: str) -> Line:
        if len(raw) > MAX_LINE:
            raise ValueError(f"line too long (more than {MAX_LINE} characters)")
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise ValueError("each line must be a JSON object")
        if "advance" in obj:
            if not isinstance(obj["advance"], str):
                raise ValueError("advance must be an ISO-8601 duration string like PT6H")
            return Line(advance=parse_duration(obj["advance"]))
        for key in ("unreachable", "reachable"):
            if key in obj:
                if not isinstance(obj[key], str) or not obj[key]:
                    raise ValueError(f"{key} must be a user id")
                return Line(refuse=(obj[key], key == "unreachable"))
        chat, user, text = obj.get("chat"), obj.get("user"), obj.get("text")
        for key, value in (("chat", chat), ("user", user)):
            if not isinstance(value, str) or not value or len(value) > 200:
                raise ValueError(f"{key} must be a non-empty string")
        if not isinstance(text, str):
            raise ValueError("text must be a string")
        lang, name = obj.get("lang"), obj.get("name", "")
        group, admin = obj.get("group", False), obj.get("admin", False)
        if not isinstance(lang, (str, type(None))) or not isinstance(name, str):
            raise ValueError("lang and name must be strings")
        if not isinstance(group, bool) or not isinstance(admin, bool):
            raise ValueError("group and admin must be true or false")
        address = Address(NAME, str(chat), str(user))
        return Line(
            Incoming(
                address=address, text=text, at=self._now(), language=lang, is_group=group, is_admin=admin, display_name=name[:64]
            )
        )


@dataclass(frozen=True)
class ConsoleReader:
    """The console's input loop as a service of the app, with the clock stepper injected.

    ``bot.app`` builds it once the router and the job loop exist, and the app starts it
    after the start-up catch-up, so an ``{"advance": ...}`` never races that pass and its
    ``{"idle": true}`` follows every alert due by then. No platform is special-cased by name.
    """

    console: ConsolePlatform
    handler: Handler
    steps: Steppable

    async def start(self) -> None:
        self.console.read_input(self.handler, self.steps)

    async def stop(self) -> None:
        await self.console.stop()


def _tick_duration(text: str) -> timedelta:
    """``12h``, ``3 days``, ``3 天``, ``12 timer``, ``90 min`` as the bot writes durations, or ISO ``PT6H``."""
    try:
        delta = readback_time.duration(text)
    except ValueError:
        return parse_duration(text)
    if not timedelta(0) < delta <= MAX_ADVANCE:
        raise ValueError(text)
    return delta


def tick_command(steps: Steppable, clock: Any) -> Command:
    """``/tick 12h`` (console only): let simulated time pass so reminders can fall due."""

    async def tick(incoming: Incoming, ctx: Context) -> Reply:
        if not incoming.args:
            raise UsageError("tick.usage")
        text = " ".join(incoming.args)
        try:
            delta = _tick_duration(text)
        except ValueError:
            raise UsageError("tick.bad_duration", value=" ".join(text.split())[:100]) from None
        await steps.run_until(clock.now() + delta)
        return Reply(ctx.t("tick.done", now=ctx.t.date_time(clock.now())))

    return Command("tick", tick, "help.tick", "tick.usage")
