"""One message at a time per chat, for every platform: a lock per chat, freed when unused."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable


class PerChat:
    """``async with order(chat):`` runs after the earlier holders of the same chat; a chat's
    lock lives only while someone holds or waits for it, so idle chats cost nothing."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def __call__(self, chat: Hashable | None) -> AsyncIterator[None]:
        if chat is None:
            yield
            return
        lock, users = self._locks.setdefault(chat, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                self._locks.pop(chat, None)

    def __len__(self) -> int:
        """How many chats hold or wait for their lock now."""
        return len(self._locks)
