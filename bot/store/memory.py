"""The memory backend: TinyDB tables in memory and nothing on disk (tests, throwaway runs).

``DocumentStore`` is what the memory and TinyDB backends share: a unit of work collects its
writes (``DocumentTx``) and, when its block ends without an error, ``_durable`` makes them
durable (nothing here; the journal for TinyDB) before they are applied to the tables. The
step from "durable" to "applied" never awaits, so on one event loop units are atomic.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.errors import StoreWriteError
from bot.store.documents import DocumentTx, Op
from bot.store.files import os_problem
from bot.store.tables import Data, Documents

log = logging.getLogger(__name__)
LOG_EVERY = 60.0


class DocumentStore:
    def __init__(self, data: Data | None = None, *, seq: int = 0) -> None:
        self.docs = Documents(data)
        self.seq = seq
        self.commits = 0
        self.write_failures = 0
        self._failing_since: float | None = None
        self._last_log = 0.0

    async def open(self) -> None:
        return None  # opened by the constructor

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[DocumentTx]:
        tx = DocumentTx(self.docs)
        try:
            yield tx
        finally:
            tx.closed = True
        ops = tx.ops()
        if ops:
            self._commit(ops)
        for callback in tx.callbacks:
            callback()

    def _commit(self, ops: list[Op]) -> None:
        try:
            self._durable(self.seq + 1, ops)
        except OSError as exc:
            self.write_failures += 1
            now = time.monotonic()
            if self._failing_since is None:
                self._failing_since = now
            if now - self._last_log >= LOG_EVERY:
                self._last_log = now
                log.error(
                    "could not save a change to %s (%s); the bot keeps answering and tries again",
                    exc.filename or "the data file",
                    os_problem(exc),
                )
            raise StoreWriteError(f"could not save to {exc.filename}: {os_problem(exc)}") from exc
        if self._failing_since is not None:
            log.warning("saving works again")
            self._failing_since = None
        self.seq += 1
        self.commits += 1
        for table, key, doc in ops:
            self.docs.put(table, key, doc)
        self._after_commit()

    def _durable(self, seq: int, ops: list[Op]) -> None:
        """Make one unit durable, all or nothing; raises OSError when it cannot."""

    def _after_commit(self) -> None:
        """Room for background work after a commit (the journal's compaction)."""

    def health(self) -> dict[str, Any]:
        return {"ok": self._failing_since is None, "commits": self.commits, "write_failures": self.write_failures}

    async def close(self) -> None:
        return None


class MemoryStore(DocumentStore):
    """Everything in memory; see ``bot.store.interface`` for the contract."""
