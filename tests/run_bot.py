"""``python -m tests.run_bot``: the bot as ``python -m bot`` runs it, plus, when
``TEST_CONTROL_PORT`` is set, the control of its fake clock (``tests/control.py``) for the
end-to-end tests. The product never imports this (nor ``tests/control.py``)."""

from __future__ import annotations

import os
import sys

from bot.__main__ import main
from bot.clock import Clock, FakeClock
from bot.reminders.loop import JobLoop
from bot.runtime import Service
from tests.control import ControlServer


def _control(jobs: JobLoop, clock: Clock) -> list[Service]:
    port = os.environ.get("TEST_CONTROL_PORT", "")
    if not port:
        return []
    if not port.isdigit() or not isinstance(clock, FakeClock):
        raise SystemExit("Cannot start: TEST_CONTROL_PORT needs a port number and TEST_CLOCK_START")
    return [ControlServer(steps=jobs, now=clock.now, port=int(port))]


if __name__ == "__main__":
    sys.exit(main(extras=_control))
