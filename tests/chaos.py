"""The chaos run: a busy week of a real bot process, SIGKILLed at random moments, restarted
on the same files each time, and every reminder accounted for against the same week
without a crash (``tests/test_chaos.py`` runs it in ``make test``; ``make chaos`` runs a
longer one and prints the figures).

The week: eight chats (four families, four private), demo and hand-tracked lines, data
reported lower with ``/left`` (20 %, 5 %, empty), expiry reminders, top-ups through
``/renew`` -> ``/buy`` -> ``/confirm``, automatic renewal on two demo lines (``AUTO``),
unlinks through ``/unlink`` -> ``/confirm``, and two-hour clock steps. The journal is made
to compact often (``DB_COMPACT_KIB=4``) so kills land in compactions too; after every other
kill the journal gets a torn copy of its last record, which is what a kill in the middle of an
append leaves.

A kill while a step is under way is retried the way a person or the platform would: a
message again (a confirmation with the same button), a clock step from its start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.store import TinyDBStore
from bot.store.journal import encode
from tests.conftest import DEMO, READ_TIMEOUT, ConsoleProcess, clean_env
from tests.test_reminders_console import key_of

T0 = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
STEP = timedelta(hours=2)
DAYS = 8
DEMO_OF = {"g1": "DEMO20", "g2": "DEMO38", "g3": "DEMO12", "p1": "DEMO61", "p2": "DEMO53", "p3": "DEMO20"}
AUTO = {"g1": "low 20 demo-1gb-7d", "g2": "monthly 8 demo-1gb-7d"}
AUTO_ICONS = ("🔁", "✅", "⏸")
LABEL = re.compile(r"\b([dm][gp]\d+(?:x\d+)?)\b")


@dataclass(frozen=True)
class Scale:
    """How big the week is: ``make test`` runs the small one, ``make chaos`` the operator's."""

    families: int = 4
    privates: int = 4
    manual: int = 3  # hand-tracked lines a chat
    busy: int = 3  # at most this many commands between two clock steps

    @property
    def chats(self) -> tuple[str, ...]:
        return tuple(f"g{n}" for n in range(1, self.families + 1)) + tuple(f"p{n}" for n in range(1, self.privates + 1))


SMALL = Scale()
OPERATOR = Scale(families=50, privates=50, manual=10, busy=45)
Out = list[dict[str, Any]]
EXTRA_ENV: dict[str, str] = {}


def torn_next(journal: bytes) -> bytes:
    """The record that would follow the journal's last (what a kill in an append cuts short)."""
    seq, ops = json.loads(journal.splitlines()[-1][9:])
    return encode(seq + 1, ops)


def who(chat: str) -> dict[str, Any]:
    if chat.startswith("g"):
        return {"chat": chat, "user": f"admin-{chat}", "group": True, "admin": True, "name": "Anna"}
    return {"chat": chat, "user": f"user-{chat}", "name": "Li"}


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def workload(seed: int, scale: Scale = SMALL) -> list[tuple[str, str, str]]:
    """(kind, chat, argument) intents: say a command, or a flow (topup/unlink) on a label, or advance."""
    rnd = random.Random(seed)
    out: list[tuple[str, str, str]] = []
    chats = scale.chats
    for chat in chats:
        if chats.index(chat) % 6 == 1:  # g2 and p4 in the small week
            out.append(("say", chat, "/remind quiet off"))
        if chat in DEMO_OF and chat != "p3":
            code = DEMO_OF[chat]
            out.append(("say", chat, f"/link {DEMO[code]} {code} d{chat}"))
            if chat in AUTO:  # automatic renewal on some lines (issue 25): a low rule, a monthly cycle
                out.append(("say", chat, f"/auto d{chat} {AUTO[chat]}"))
        for k in range(scale.manual):
            days = 2 + (chats.index(chat) + k * 3) % 6
            out.append(("say", chat, f"/link manual telenor m{chat}x{k} {5 + k} {(T0 + timedelta(days=days)):%Y-%m-%d}"))
    left = {f"m{chat}x{k}": 5 + k for chat in chats for k in range(scale.manual)}
    unlinked: set[str] = set()
    for _step in range(DAYS * 24 // int(STEP.total_seconds() // 3600)):
        out.append(("advance", "", f"PT{int(STEP.total_seconds())}S"))
        for _ in range(rnd.randint(0, scale.busy)):
            chat = rnd.choice(chats)
            label = f"m{chat}x{rnd.randrange(scale.manual)}"
            roll = rnd.random()
            if label in unlinked:
                continue
            if roll < 0.6:
                gb = left[label]
                left[label] = new = max(0.0, round(gb * rnd.choice((0.5, 0.3, 0.1, 0.0)), 2))
                out.append(("say", chat, f"/left {label} {new}GB"))
            elif roll < 0.75:
                unlinked.add(label)
                out.append(("unlink", chat, label))
            elif chat in DEMO_OF and chat != "p3":
                out.append(("topup", chat, f"d{chat}"))
            else:
                out.append(("say", chat, "/balance"))
    out.append(("advance", "", f"PT{int(STEP.total_seconds())}S"))  # the week's last alerts leave at their pace
    for chat in chats:
        out.append(("say", chat, "/lines"))
    return out


@dataclass
class Run:
    """One story through one or more processes; the output of all of them in order."""

    folder: Path
    kills: list[tuple[int, int]] = field(default_factory=list)  # (intent index, output lines read before)
    torn: bool = True
    out: Out = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    killed: int = 0
    torn_tails: int = 0
    in_compaction: int = 0
    now: datetime = T0
    lines: dict[str, list[str]] = field(default_factory=dict)  # the last /lines answer of each chat
    dead: bool = False
    by_intent: dict[int, Out] = field(default_factory=dict)  # what each intent printed (reference runs)
    compacted: list[int] = field(default_factory=list)  # intents during which a new snapshot was put in place
    steps: list[int] = field(default_factory=list)  # len(out) after each clock step: the instants' bounds

    def __post_init__(self) -> None:
        self.db = self.folder / "bot.json"
        self.env = clean_env(**{"DB_COMPACT_KIB": "4", **EXTRA_ENV})
        self.proc = self._start()

    def _start(self) -> ConsoleProcess:
        return ConsoleProcess(self.db, start=iso(self.now), env=self.env)

    def _kill(self, rnd: random.Random) -> None:
        """SIGKILL within the next few milliseconds (a random moment of whatever the process is
        doing); the next input starts a new process on the same files, at the clock of then."""
        time.sleep(rnd.choice((0.0, 0.0, rnd.uniform(0, 0.03))))
        self.proc.proc.send_signal(signal.SIGKILL)
        self.proc.proc.wait(timeout=READ_TIMEOUT)
        while (line := self.proc._out.get(timeout=READ_TIMEOUT)) is not None:  # already in the pipe: delivered
            obj = json.loads(line)
            if obj != {"idle": True}:
                self.out.append(obj)
        self.stderr.append(self.proc.stderr)
        self.killed += 1
        self.in_compaction += Path(str(self.db) + ".journal.old").exists()
        journal = Path(str(self.db) + ".journal")
        if self.torn and self.killed % 2 == 0 and journal.exists() and journal.stat().st_size:
            last = torn_next(journal.read_bytes())
            with journal.open("ab") as fh:
                fh.write(last[: rnd.randrange(1, max(2, len(last) - 1))])  # no newline: a record cut short
            self.torn_tails += 1
        self.dead = True

    def send(self, obj: dict[str, Any], kill_after: int | None, rnd: random.Random) -> Out | None:
        """The input's output, or None when the process was killed while handling it."""
        if self.dead:
            self.proc, self.dead = self._start(), False
        if kill_after is None:
            got = self.proc.send(obj)
            self.out += got
            return got
        assert self.proc.proc.stdin is not None
        self.proc.proc.stdin.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.proc.proc.stdin.flush()
        got = []
        for _ in range(kill_after):
            item = self.proc._next()
            if item == {"idle": True}:
                self.out += got
                self._kill(rnd)
                return got
            got.append(item)
        self.out += got
        self._kill(rnd)
        return None

    def close(self) -> None:
        if self.dead:
            self.proc, self.dead = self._start(), False
        self.proc.close()
        self.stderr.append(self.proc.stderr)


def _choice(out: Out, index: int = 0) -> str | None:
    for reply in out:
        if reply.get("kind") == "reply" and reply.get("choices"):
            return str(reply["choices"][index]["command"])
    return None


def play(folder: Path, intents: list[tuple[str, str, str]], kills: dict[int, int], seed: int) -> Run:
    """Carry the intents out, killing the process at the planned moments."""
    rnd = random.Random(seed)
    run = Run(folder)
    for index, (kind, chat, arg) in enumerate(intents):
        kill_after = kills.get(index)
        before = snapshot_id(run.db)
        carry_out(run, index, kind, chat, arg, kill_after, rnd)
        if snapshot_id(run.db) != before:
            run.compacted.append(index)
    run.close()
    return run


def snapshot_id(db: Path) -> int | None:
    try:
        return db.stat().st_ino
    except FileNotFoundError:
        return None


def carry_out(run: Run, index: int, kind: str, chat: str, arg: str, kill_after: int | None, rnd: random.Random) -> None:
    """One intent, to its end, asked again after a kill as a person would."""
    if kind == "advance":
        while (got := run.send({"advance": arg}, kill_after, rnd)) is None:
            kill_after = None  # retried from the step's start, as the clock was then
        run.by_intent[index] = got
        run.now += STEP
        run.steps.append(len(run.out))
        return
    steps = (
        [f"/renew {arg}", "pick", "confirm"] if kind == "topup" else [f"/unlink {arg}", "confirm"] if kind == "unlink" else [arg]
    )
    confirm: str | None = None
    pick: str | None = None
    position = 0
    while position < len(steps):
        step = steps[position]
        text = confirm if step == "confirm" else step
        if step == "pick":
            text = pick
        if text is None:
            break  # the flow ended early (nothing to buy, the label is gone)
        got = run.send({**who(chat), "text": text}, kill_after, rnd)
        kill_after = None
        if got is None:  # killed: a confirmation is tapped again, anything else is asked again from the start
            position = position if step == "confirm" and confirm is not None else 0
            continue
        if text == "/lines":
            run.lines[chat] = [str(o["text"]) for o in got if o.get("kind") == "reply"]
        if step.startswith("/renew"):
            pick = _choice(got)
        elif step in ("pick",) or step.startswith("/unlink"):
            confirm = _choice(got)
        position += 1


def alert_key(o: dict[str, Any]) -> tuple[str, str, str]:
    """(chat, label, what): a reminder's threshold, or ``auto:`` and the icon of a renewal message."""
    first = str(o["text"]).split("\n", 1)[0]
    label = LABEL.search(first)
    assert label, first
    auto = first.startswith(AUTO_ICONS) or "automatic top-up" in first
    return str(o["chat"]), label.group(1), "auto:" + first[:1] if auto else key_of(o)


def alert_keys(out: Out) -> Counter[tuple[str, str, str]]:
    return Counter(alert_key(o) for o in out if o.get("kind") == "alert")


def raced(run: Run, keys: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """Those of ``keys`` whose alert left in the same clock instant as the confirmed removal of
    its line, before it: due at that moment, it went first because a restart starts the send
    pace afresh (in the run without kills it waited for its pace slot and the removal took it)."""
    out, found, alert_at = run.out, set(), {}
    for i, o in enumerate(out):
        text = str(o.get("text", ""))
        if o.get("kind") == "alert":
            alert_at[alert_key(o)] = i
        elif o.get("kind") == "reply" and text.startswith("Removed ") and (label := LABEL.search(text)):
            for key, at in alert_at.items():
                same_instant = not any(at < mark <= i for mark in run.steps)
                if key in keys and key[:2] == (str(o["chat"]), label.group(1)) and same_instant:
                    found.add(key)
    return found


def after_unlink(out: Out) -> list[str]:
    """Alerts about a line sent after its unlink was confirmed in that chat."""
    gone: set[tuple[str, str]] = set()
    bad = []
    for o in out:
        text = str(o.get("text", ""))
        if o.get("kind") == "reply" and text.startswith("Removed "):
            label = LABEL.search(text)
            if label:
                gone.add((str(o["chat"]), label.group(1)))
        elif o.get("kind") == "alert":
            label = LABEL.search(text.split("\n", 1)[0])
            if label and (str(o["chat"]), label.group(1)) in gone:
                bad.append(text.split("\n", 1)[0])
    return bad


def plan_kills(
    intents: list[tuple[str, str, str]], count: int, seed: int, hot: list[int], compacting: list[int], last: int
) -> dict[int, int]:
    """A third of the kills anywhere, a third right after the first of several alerts of one
    step (when the outbox is sending and marking), a third in the input that compacted the
    store in the run without kills (during its snapshot write or rename); the final ``/lines``
    (from ``last`` on) are never killed; a kill point more than once is used once."""
    rnd = random.Random(seed)
    anywhere = rnd.sample(range(last), count - 2 * (count // 3))
    plan = {p: rnd.choice((0, 0, 1, 2, 5)) for p in anywhere}
    for p in rnd.sample(hot, min(len(hot), count // 3)):
        plan[p] = 1
    aimed = [p for p in compacting if p < last]
    for p in rnd.sample(aimed, min(len(aimed), count // 3)):
        plan[p] = 0
    spare = [p for p in range(last) if p not in plan]
    for p in rnd.sample(spare, count - len(plan)):
        plan[p] = rnd.choice((0, 1, 2))
    return plan


@dataclass
class Report:
    expected: int
    missing: Counter[tuple[str, str, str]]
    repeats: Counter[tuple[str, str, str]]
    strangers: Counter[tuple[str, str, str]]
    raced: Counter[tuple[str, str, str]]  # about a line removed in the same instant: sent before it after a restart
    after_unlink: list[str]
    kills: int
    torn_tails: int
    in_compaction: int
    lines_differ: list[str]
    tracebacks: int
    inconsistent: list[str]
    intents: int = 0
    lines_linked: int = 0
    auto_orders: tuple[int, int] = (0, 0)  # automatic orders made: (the week without a crash, the chaos week)

    def holds(self) -> bool:
        """The pass criteria of ``tests/test_chaos.py``."""
        return (
            not self.missing
            and sum(self.repeats.values()) <= self.kills
            and max(self.repeats.values(), default=0) <= 1
            and not self.strangers
            and not self.after_unlink
            and not self.lines_differ
            and not self.inconsistent
            and self.tracebacks == 0
        )

    def lines(self) -> list[str]:
        return [
            f"reminders expected: {self.expected}; missing: {sum(self.missing.values())}; "
            f"repeated: {sum(self.repeats.values())} over {self.kills} kills "
            f"({sum(self.repeats.values()) / max(1, self.kills):.2f} a kill, at most "
            f"{max(self.repeats.values(), default=0)} of one key); unknown: {sum(self.strangers.values())} "
            f"(and {sum(self.raced.values())} due alerts about a line removed in the same instant, sent before "
            "the removal because a restart starts the send pace afresh)",
            f"kills: {self.kills} ({self.torn_tails} left a torn journal record, {self.in_compaction} "
            f"hit a compaction); alerts after a confirmed unlink: {len(self.after_unlink)}; "
            f"chats whose lines differ at the end: {len(self.lines_differ)}; tracebacks: {self.tracebacks}; "
            f"records that do not fit together: {len(self.inconsistent)}",
            f"automatic orders: {self.auto_orders[0]} in the week without a crash, {self.auto_orders[1]} with kills",
        ]


def chaos(folder: Path, *, kills: int, seed: int = 7, scale: Scale = SMALL) -> Report:
    intents = workload(seed, scale)
    reference = play(folder / "reference", intents, {}, seed)
    hot = [i for i, out in reference.by_intent.items() if sum(o.get("kind") == "alert" for o in out) >= 2]
    plan = plan_kills(intents, kills, seed, hot, reference.compacted, len(intents) - len(scale.chats))
    crashed = play(folder / "chaos", intents, plan, seed)
    expected, got = alert_keys(reference.out), alert_keys(crashed.out)
    same_instant = raced(crashed, {k for k in got if k not in expected})
    ref_lines, got_lines = reference.lines, crashed.lines
    return Report(
        expected=sum(expected.values()),
        missing=expected - got,
        repeats=Counter({k: n for k, n in (got - expected).items() if k in expected}),
        strangers=Counter({k: n for k, n in got.items() if k not in expected and k not in same_instant}),
        raced=Counter({k: n for k, n in got.items() if k in same_instant}),
        after_unlink=after_unlink(crashed.out),
        kills=crashed.killed,
        torn_tails=crashed.torn_tails,
        in_compaction=crashed.in_compaction,
        lines_differ=[c for c in scale.chats if ref_lines.get(c) != got_lines.get(c)],
        tracebacks=sum("Traceback" in e for e in crashed.stderr + reference.stderr),
        inconsistent=inconsistencies(crashed.db),
        auto_orders=(len(auto_orders(reference.db)), len(auto_orders(crashed.db))),
        intents=len(intents),
        lines_linked=sum(kind == "say" and arg.startswith("/link") for kind, _chat, arg in intents),
    )


def acknowledgement(folder: Path, seed: int) -> int:
    """Done under a repeating alert, the process SIGKILLed at a random moment of handling the
    press (before or after its unit commits), an hour passing while it is down, then the
    press tried again as a person would: how many repeats of that alert came after the first
    press (issue 26: at most one)."""
    rnd = random.Random(seed)
    run = Run(folder / f"ack-{seed}")
    run.torn = False
    group = who("g1")

    def advance(span: timedelta) -> Out:
        got = run.send({"advance": f"PT{int(span.total_seconds())}S"}, None, rnd)
        run.now += span
        return got or []

    for text in ("/remind quiet off", "/remind repeat 1h 3", f"/link {DEMO['DEMO20']} DEMO20 dg1"):
        run.send({**group, "text": text}, None, rnd)
    got: Out = []
    while not got:  # the "5 %" alert, the first of its series
        got = [o for o in advance(timedelta(minutes=30)) if o.get("kind") == "alert"]
    [first] = got
    done = next(str(c["command"]) for c in first["choices"] if str(c["command"]).startswith("/done"))
    advance(timedelta(minutes=90))  # the first repeat an hour after it; the next two an hour apart
    pressed = len(run.out)
    while run.send({**group, "text": done}, rnd.choice((0, 0, 1)), rnd) is not None:
        pass  # the kill must land in the press: a press that ended before it is pressed again
    advance(timedelta(hours=1))  # down and back: the second repeat may leave if the press was lost
    run.send({**group, "text": done}, None, rnd)  # pressed again (the platform redelivers it)
    advance(timedelta(hours=5))
    run.close()
    head = str(first["text"]).split("\n", 1)[0]  # a repeat says the same headline (the forecast moves on)
    return sum(o.get("kind") == "alert" and str(o["text"]).startswith(head) for o in run.out[pressed:])


def auto_orders(db: Path) -> list[str]:
    """The client references of the automatic orders the demo provider received (one per
    trigger: the reference is derived from the line and the trigger)."""
    store = TinyDBStore(db)
    try:
        docs = store.docs
        entries = [d["value"] for k in docs.keys("state") if k.startswith("demo/topups/") and (d := docs.get("state", k))]
        return [e["ref"] for found in entries for e in found if str(e["ref"]).startswith("auto")]
    finally:
        asyncio.run(store.close())


def inconsistencies(db: Path) -> list[str]:
    """Records that point at something that is not there (half of a unit would leave one)."""
    store = TinyDBStore(db)
    docs, bad = store.docs, []
    try:
        lines = set(docs.keys("lines"))
        for key in lines:
            line = docs.get("lines", key)
            if line is None or docs.get("households", line["household_id"]) is None:
                bad.append(f"line {key} without its household")
        for table in ("samples", "alerts", "schedule"):
            bad += [f"{table} {key} without its line" for key in docs.keys(table) if key not in lines]
        for key in docs.keys("outbox"):
            item = docs.get("outbox", key)
            if item is not None and item["state"] == "pending" and item["line_id"] not in lines:
                bad.append(f"unsent alert {key} about a removed line")
    finally:
        asyncio.run(store.close())
    return bad


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7])
    parser.add_argument(
        "--scale",
        choices=("small", "operator"),
        default="small",
        help="small: 8 chats, 30 lines; operator: 100 chats, about 1 000 lines",
    )
    args = parser.parse_args()
    import tempfile

    scale = OPERATOR if args.scale == "operator" else SMALL
    failed = 0
    for seed in args.seeds:
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="esim-chaos-") as tmp:
            report = chaos(Path(tmp), kills=args.kills, seed=seed, scale=scale)
        print(
            f"seed {seed} ({args.scale}: {len(scale.chats)} chats, {report.lines_linked} lines, "
            f"{report.intents} inputs, {time.monotonic() - started:.0f} s)"
        )
        print("\n".join(report.lines()))
        for name in ("missing", "strangers", "raced", "repeats"):
            if getattr(report, name):
                print(f"  {name}: {dict(getattr(report, name))}")
        failed += not report.holds()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
