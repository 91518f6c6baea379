"""Synchronous access to a document store for tests: each call is one unit of work.

The memory and TinyDB backends never suspend inside a unit, so a unit can be driven to
its end without an event loop turn; a unit that does suspend is a test bug and says so.
Backend-neutral tests (the contract suite) use ``store.transaction()`` directly.
"""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import datetime
from typing import Any, TypeVar

from bot.records import OutboxItem, from_doc
from bot.store.memory import DocumentStore

T = TypeVar("T")


def run_now(coro: Coroutine[Any, Any, T]) -> T:
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("the unit of work suspended; use it from async code")


class StoreView:
    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kw: Any) -> Any:
            return run_now(self._unit(name, args, kw))

        return call

    async def _unit(self, name: str, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        async with self.store.transaction() as tx:
            return await getattr(tx, name)(*args, **kw)

    def schedule(self) -> dict[str, datetime]:
        docs = self.store.docs
        out = {}
        for key in docs.keys("schedule"):
            doc = docs.get("schedule", key)
            assert doc is not None
            out[key] = datetime.fromisoformat(doc["at"])
        return out

    def outbox(self) -> list[OutboxItem]:
        """Every alert kept, sent and dropped ones included, oldest first."""
        docs = self.store.docs
        items = [from_doc(OutboxItem, d) for k in docs.keys("outbox") if (d := docs.get("outbox", k)) is not None]
        return sorted(items, key=lambda i: (i.created_at, i.id))

    def commit(self) -> None:
        """Every unit commits as it ends; kept so old call sites read naturally."""

    def close(self) -> None:
        run_now(self.store.close())
