"""Run emulators as a process: ``python -m tests.emulators airalo esimaccess esimgo``.

Prints one JSON line ``{"airalo": "http://127.0.0.1:PORT/v2", ...}`` once every emulator
listens on 127.0.0.1, then serves until stdin closes or the process is terminated. Meant for
end-to-end tests that start the bot as a separate process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys

from tests.emulators._server import Emulator
from tests.emulators.airalo import AiraloEmulator
from tests.emulators.esimaccess import EsimAccessEmulator
from tests.emulators.esimgo import EsimGoEmulator

KINDS: dict[str, type[Emulator]] = {"airalo": AiraloEmulator, "esimaccess": EsimAccessEmulator, "esimgo": EsimGoEmulator}


async def main(names: list[str]) -> None:
    async with contextlib.AsyncExitStack() as stack:
        urls = {}
        for name in names or list(KINDS):
            emulator = await stack.enter_async_context(KINDS[name].running())
            urls[name] = emulator.base_url
        print(json.dumps(urls), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    unknown = [n for n in sys.argv[1:] if n not in KINDS]
    if unknown:
        sys.exit(f"unknown emulator(s): {', '.join(unknown)}; known: {', '.join(KINDS)}")
    asyncio.run(main(sys.argv[1:]))
