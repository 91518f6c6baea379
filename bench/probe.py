"""Talking to one ``python -m bot`` worker from a benchmark: a ``/balance`` webhook update in
the measured chat, the first answer after spawn, the worker's memory and CPU time."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from bench.botapi import BotApi, command_update
from bench.pgdata import MEASURED_CHAT
from bench.workers import SECRET, Worker, start_worker, stop_workers
from tests.e2e.processes import free_port

TICKS = 100  # clock ticks a second in /proc/<pid>/stat (Linux's USER_HZ)
_update_ids = iter(range(1, 10**9))


def _update(text: str = "/balance") -> dict[str, object]:
    return command_update(next(_update_ids), MEASURED_CHAT, text)


async def post(http: httpx.AsyncClient, worker: Worker) -> int:
    try:
        answer = await http.post(
            f"http://127.0.0.1:{worker.port}/telegram/hook", json=_update(), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
    except httpx.TransportError:
        return 0  # not listening yet
    return answer.status_code


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-1500:]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def first_answer(http: httpx.AsyncClient, url: str, api: BotApi, log: Path) -> tuple[Worker, float]:
    started = time.perf_counter()
    worker = start_worker(free_port(), url, api.url, log)
    while (status := await post(http, worker)) != 200:
        if worker.proc.poll() is not None or time.perf_counter() - started > 120:
            stop_workers([worker])
            tail = _tail(log)
            raise RuntimeError(f"the worker gave no answer (last {status}):\n{tail}")
        await asyncio.sleep(0.02)
    return worker, time.perf_counter() - started
