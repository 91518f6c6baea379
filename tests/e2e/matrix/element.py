"""A person on Element's own crypto (``element/person.mjs``: matrix-js-sdk 43, Rust crypto,
"exclude insecure devices"), driven over JSON lines.

It runs on the Node 22 that ``make e2e-element-deps`` installs from the npm registry into
``.cache/element-person``; without it the tests fail saying what to run. Each command is one
line on its stdin and gets one line back; a reader thread hands the lines over, so every wait
is bounded and the process is stopped by PID.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from pathlib import Path
from typing import Any

from tests.e2e.matrix.synapse import ROOT
from tests.e2e.processes import stop_process

DEPS = ROOT / ".cache" / "element-person"
NODE = DEPS / "node_modules" / ".bin" / "node"
SCRIPT = Path(__file__).resolve().parent / "element" / "person.mjs"
START_DEADLINE = 60.0  # loading the crypto's WebAssembly and the first sync on 2 busy cores


class ElementPerson:
    def __init__(self, homeserver: str, user_id: str, password: str, log: Path) -> None:
        if not NODE.exists():
            raise AssertionError(f"the Element client is not installed in {DEPS}: run `make e2e-element-deps`")
        self._log = log
        self._lines: queue.Queue[str | None] = queue.Queue()
        env = {**os.environ, "MATRIX_JS_DEPS": str(DEPS)}
        with log.open("wb") as err:
            self.proc = subprocess.Popen(
                [str(NODE), str(SCRIPT), json.dumps({"homeserver": homeserver, "user": user_id, "password": password})],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
                cwd=DEPS,
            )
        threading.Thread(target=self._read, daemon=True).start()
        ready = self._next(START_DEADLINE)
        self.device_id = str(ready["device_id"])

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self._lines.put(raw.decode("utf-8", "replace"))
        self._lines.put(None)

    def _next(self, deadline: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=deadline)
        except queue.Empty:
            raise AssertionError(f"the Element client did not answer within {deadline:g} s:\n{self.stderr()}") from None
        if line is None:
            raise AssertionError(f"the Element client exited with {self.proc.wait(5)}:\n{self.stderr()}")
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok"):
            raise AssertionError(f"the Element client failed: {answer.get('error')}\n{self.stderr()}")
        return answer

    def stderr(self) -> str:
        return self._log.read_text(errors="replace")[-3000:]

    def call(self, cmd: str, *, deadline: float = 30, **args: Any) -> dict[str, Any]:
        """Run one command of person.mjs; it gives up at ``deadline`` seconds, this a little later."""
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps({"cmd": cmd, "deadline": deadline, **args}) + "\n").encode())
        self.proc.stdin.flush()
        return self._next(deadline + 10)

    def stop(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.write(b'{"cmd": "stop"}\n')
                self.proc.stdin.close()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        stop_process(self.proc, 10)
