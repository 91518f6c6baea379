"""A small least-recently-used map, for the platforms' in-memory caches (admins, names, button
data, events already handled, lists offered): bounded, so a long-running bot never grows."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A map of at most ``size`` items; putting one more forgets the least recently used."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def pop(self, key: K) -> None:
        self._items.pop(key, None)

    def items(self) -> list[tuple[K, V]]:
        """A copy, oldest first: safe to ``pop`` while walking it."""
        return list(self._items.items())
