"""What the Telegram and Matrix end-to-end harnesses share: polling, ports, processes, bot logs.

Every wait polls every 50 ms up to a deadline; nothing sleeps for a fixed time. Servers bind
127.0.0.1 on a free port (a port that already answers, like a stale server, is refused) and
are stopped by PID.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

POLL = 0.05
DEADLINE = 15.0
T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], what: str, deadline: float = DEADLINE) -> T:
    """Call ``probe`` every 50 ms until it returns something, or fail naming ``what``."""
    end = time.monotonic() + deadline
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline:g} s waiting for {what}")
        time.sleep(POLL)


def free_port() -> int:
    """A port nobody listens on now; one that answers (a stale server) is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    refuse_if_answering(port)
    return port


def refuse_if_answering(port: int) -> None:
    """Fail, saying why, if something already answers on ``port`` of 127.0.0.1."""
    with socket.socket() as probe:
        probe.settimeout(0.2)
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise AssertionError(f"port {port} on 127.0.0.1 already answers; a stale server is running")


def stop_process(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """SIGTERM by PID, then SIGKILL if it does not exit within ``timeout``; returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    return int(proc.returncode)


class LoggedBot:
    """Mixin for a bot process whose stdout and stderr go to the file ``log``.

    It declares no dataclass fields, so each harness's dataclass keeps its own field order."""

    proc: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_log(self, needle: str, deadline: float = 30) -> str:
        """The log once it holds ``needle``; fails at once, with the log's tail, if the bot exits first."""

        def probe() -> str | None:
            text = self.log_text()
            if needle in text:
                return text
            if self.proc.poll() is not None:
                raise AssertionError(f"the bot exited with {self.proc.returncode}:\n{text[-3000:]}")
            return None

        return wait_for(probe, f"{needle!r} in the bot's log", deadline=deadline)
