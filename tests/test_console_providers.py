"""End to end in the console against the provider emulators, both as real processes.

``python -m tests.emulators airalo esimaccess esimgo`` serves the three emulators on
127.0.0.1 and prints their base URLs; ``python -m bot console --jsonl`` then runs with
``PROVIDERS=<name>``, the emulator's credentials and ``<NAME>_BASE_URL`` pointing at it.
Every step is a chat message: /link, /balance, /renew, the plan's choice command, the
confirm choice command (twice: one order only). How many orders there were is asked of the
emulator through its own API, as the provider's dashboard would show it.

The emulators keep real time, so the bot's simulated clock starts at the present second.
Airalo allows 5 quick calls per eSIM and then one every 6 s: the Airalo run waits once.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import FULL_ICCID, ROOT, UNEXPECTED, ConsoleProcess, clean_env, fixed_part, replies
from tests.emulators import (
    AIRALO_CLIENT_ID,
    AIRALO_CLIENT_SECRET,
    AIRALO_CODE,
    AIRALO_ICCID,
    AIRALO_TOPUP_PLAN,
    ESIMACCESS_ACCESS_CODE,
    ESIMACCESS_CODE,
    ESIMACCESS_ICCID,
    ESIMACCESS_SECRET_KEY,
    ESIMACCESS_TOPUP_PLAN,
    ESIMGO_API_KEY,
    ESIMGO_CODE,
    ESIMGO_ICCID,
    ESIMGO_TOPUP_PLAN,
)

pytestmark = pytest.mark.e2e
STARTUP = 20.0  # seconds for the emulator process to listen
HTTP_TIMEOUT = 10.0


class EmulatorProcess:
    """``python -m tests.emulators ...``: base URLs from its first line; stdin EOF stops it."""

    def __init__(self, names: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.emulators", *names],
            cwd=ROOT,
            env=clean_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        lines: queue.Queue[str | None] = queue.Queue()
        self._err: list[str] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, lines.put), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self._err.append), daemon=True).start()
        try:
            first = lines.get(timeout=STARTUP)
        except queue.Empty:
            self.stop()
            raise AssertionError(f"the emulators did not start within {STARTUP}s: {self.stderr}") from None
        if first is None:
            self.stop()
            raise AssertionError(f"the emulators exited: {self.stderr}")
        self.urls: dict[str, str] = json.loads(first)
        assert set(self.urls) == set(names), self.urls
        for url in self.urls.values():
            assert url.startswith("http://127.0.0.1:"), url

    @staticmethod
    def _pump(stream: Any, sink: Callable[[Any], None]) -> None:
        for line in stream:
            sink(line)
        sink(None)

    @property
    def stderr(self) -> str:
        return "".join(x for x in self._err if x)[-2000:]

    def stop(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=HTTP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=HTTP_TIMEOUT)


@pytest.fixture
def emulators() -> Iterator[EmulatorProcess]:
    process = EmulatorProcess(["airalo", "esimaccess", "esimgo"])
    try:
        yield process
    finally:
        process.stop()


def now_iso() -> str:
    """The present second: the emulators' expiry dates are relative to real time."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- each provider: how the bot is configured and how to count its orders ----------------------


@dataclass(frozen=True)
class Case:
    name: str
    title: str  # what the bot calls the provider
    iccid: str
    code: str
    plan: str

    def env(self, urls: dict[str, str]) -> dict[str, str]:
        env = {"PROVIDERS": self.name}
        env |= CREDENTIALS[self.name]
        env[f"{self.name.upper()}_BASE_URL"] = urls[self.name]
        return env

    def orders(self, base_url: str) -> int:
        """How many top-ups the emulator has taken for this eSIM, asked through its API."""
        with httpx.Client(base_url=base_url + "/", timeout=HTTP_TIMEOUT) as http:
            if self.name == "airalo":
                token = http.post("token", data={"client_id": AIRALO_CLIENT_ID, "client_secret": AIRALO_CLIENT_SECRET})
                bearer = {"Authorization": f"Bearer {token.json()['data']['access_token']}"}
                listed = http.get("orders", params={"filter[iccid]": self.iccid}, headers=bearer).json()
                return len(listed["data"])
            if self.name == "esimgo":
                listed = http.get("orders", headers={"X-API-Key": ESIMGO_API_KEY}).json()
                return sum(1 for o in listed["orders"] for item in o["order"] if self.iccid in item["iccids"])
            found = http.post(
                "esim/query",
                json={"iccid": self.iccid, "pager": {"pageNum": 1, "pageSize": 20}},
                headers={"RT-AccessCode": ESIMACCESS_ACCESS_CODE},
            ).json()
            [esim] = found["obj"]["esimList"]
            return len(esim["packageList"]) - 1  # the first package is the one the eSIM was bought with


CREDENTIALS = {
    "airalo": {"AIRALO_CLIENT_ID": AIRALO_CLIENT_ID, "AIRALO_CLIENT_SECRET": AIRALO_CLIENT_SECRET},
    "esimaccess": {"ESIMACCESS_ACCESS_CODE": ESIMACCESS_ACCESS_CODE, "ESIMACCESS_SECRET_KEY": ESIMACCESS_SECRET_KEY},
    "esimgo": {"ESIMGO_API_KEY": ESIMGO_API_KEY},
}
CASES = [
    Case("airalo", "Airalo", AIRALO_ICCID, AIRALO_CODE, AIRALO_TOPUP_PLAN),
    Case("esimaccess", "eSIM Access", ESIMACCESS_ICCID, ESIMACCESS_CODE, ESIMACCESS_TOPUP_PLAN),
    Case("esimgo", "eSIM Go", ESIMGO_ICCID, ESIMGO_CODE, ESIMGO_TOPUP_PLAN),
]
DATA = re.compile(r"^(.+) left of (.+)$", re.M)  # balance.data in English


def data_line(text: str) -> tuple[str, str]:
    match = DATA.search(text)
    assert match, f"no data line in {text!r}"
    return match.group(1), match.group(2)


def no_leaks(*texts: str) -> None:
    for text in texts:
        assert UNEXPECTED not in text, text
        assert not FULL_ICCID.search(text), f"a full ICCID in {text!r}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_link_balance_renew_confirm_twice_orders_once(
    emulators: EmulatorProcess, console_factory: Callable[..., ConsoleProcess], tmp_path: Path, case: Case
) -> None:
    env = clean_env(**case.env(emulators.urls))
    console = console_factory(tmp_path / "bot.json", start=now_iso(), env=env)

    linked = console.text(f"/link {case.iccid} {case.code} mine", lang="en")
    assert "Added mine" in linked, linked
    assert f"mine · {case.title}" in linked

    balance = console.text("/balance mine", lang="en")
    assert f"mine · {case.title}" in balance
    left_before, total_before = data_line(balance)
    orders_before = case.orders(emulators.urls[case.name])
    assert orders_before == 0

    [offer] = replies(console.say("/renew mine", lang="en"))
    assert fixed_part("renew.choose") in offer["text"]
    commands = [c["command"] for c in offer["choices"]]
    assert commands and all(c.startswith("/buy ") for c in commands), commands
    chosen = next((c for c in commands if c.split()[-1] == case.plan), None)
    assert chosen is not None, f"{case.plan} not offered: {commands}"

    [ask] = replies(console.say(chosen, lang="en"))  # pressing the choice is sending its command
    assert fixed_part("renew.confirm") in ask["text"]
    confirm, cancel = (c["command"] for c in ask["choices"])
    assert confirm.startswith("/confirm ") and cancel.startswith("/cancel ")
    assert case.orders(emulators.urls[case.name]) == 0  # nothing is ordered before the confirmation

    done = console.text(confirm, lang="en")
    assert "Topped up mine" in done, done
    assert case.orders(emulators.urls[case.name]) == 1

    again = console.text(confirm, lang="en")  # the same confirmation once more
    assert again == fixed_part("confirm.already_done")
    assert case.orders(emulators.urls[case.name]) == 1

    left_after, total_after = data_line(done)  # the balance the renewal reply fetched afresh
    assert (left_after, total_after) != (left_before, total_before), done
    assert total_after != total_before
    no_leaks(linked, balance, offer["text"], ask["text"], done, again)
    console.close()


def test_cancelled_renewal_orders_nothing(
    emulators: EmulatorProcess, console_factory: Callable[..., ConsoleProcess], tmp_path: Path
) -> None:
    case = CASES[2]  # eSIM Go: no per-eSIM rate limit to wait for
    console = console_factory(tmp_path / "bot.json", start=now_iso(), env=clean_env(**case.env(emulators.urls)))
    console.text(f"/link {case.iccid} {case.code} mine", lang="en")
    [offer] = replies(console.say("/renew mine", lang="en"))
    [ask] = replies(console.say(offer["choices"][0]["command"], lang="en"))
    confirm, cancel = (c["command"] for c in ask["choices"])
    assert console.text(cancel, lang="en") == fixed_part("confirm.cancelled")
    assert console.text(confirm, lang="en") == fixed_part("confirm.cancelled")
    assert case.orders(emulators.urls[case.name]) == 0
    console.close()


def test_several_providers_link_finds_the_provider_or_takes_provider_name(
    emulators: EmulatorProcess, console_factory: Callable[..., ConsoleProcess], tmp_path: Path
) -> None:
    env: dict[str, str] = {"PROVIDERS": "demo,airalo,esimaccess,esimgo"}
    for case in CASES:
        env |= CREDENTIALS[case.name]
        env[f"{case.name.upper()}_BASE_URL"] = emulators.urls[case.name]
    console = console_factory(tmp_path / "bot.json", start=now_iso(), env=clean_env(**env))
    go, access, airalo = CASES[2], CASES[1], CASES[0]

    named = console.text(f"/link {go.iccid} {go.code} go provider=esimgo", lang="en")
    assert "Added go" in named and "go · eSIM Go" in named

    found = console.text(f"/link {airalo.iccid} {airalo.code} air", lang="en")  # asked in turn: demo, then Airalo
    assert "Added air" in found and "air · Airalo" in found

    wrong = console.text(f"/link {access.iccid} {access.code} acc provider=airalo", lang="en")
    assert fixed_part("link.unknown_iccid") in wrong, wrong
    unknown = console.text(f"/link {access.iccid} {access.code} acc provider=nosuch", lang="en")
    assert "There’s no provider “nosuch” here. Use one of: demo, airalo, esimaccess or esimgo." in unknown
    assert "demo, airalo, esimaccess and esimgo" not in unknown  # one is chosen: an "or" list

    upper = console.text(f"/link {access.iccid} {access.code} acc provider=ESIMACCESS", lang="en")
    assert "Added acc" in upper and "acc · eSIM Access" in upper

    listed = console.text("/lines", lang="en")
    for label, title in (("go", "eSIM Go"), ("air", "Airalo"), ("acc", "eSIM Access")):
        assert re.search(rf"• {label} — .* — {title} — 89…\d{{4}}", listed), listed
    both = console.text("/balance", lang="en")
    assert all(f"{label} · {title}" in both for label, title in (("go", "eSIM Go"), ("air", "Airalo"), ("acc", "eSIM Access")))
    no_leaks(named, found, wrong, unknown, upper, listed, both)
    console.close()


def test_bad_provider_configuration_is_refused_at_start(emulators: EmulatorProcess, tmp_path: Path) -> None:
    env = clean_env(PROVIDERS="airalo", AIRALO_BASE_URL=emulators.urls["airalo"])  # no credentials
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--jsonl", "--db", str(tmp_path / "x.json")],
        cwd=ROOT,
        env=env,
        input="",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "AIRALO_CLIENT_ID" in result.stderr and "AIRALO_CLIENT_SECRET" in result.stderr
