"""Persistence: the async ``Store`` interface and its backends, one module each.

- ``interface``: ``Store`` and ``Tx`` (the unit of work) with their contract;
- ``memory``: everything in memory (tests, the console's throwaway runs);
- ``embedded``: the default, TinyDB tables made durable by ``snapshot`` + ``journal``;
- ``tables``, ``documents``, ``samples``: the in-memory tables, one unit's domain methods,
  the packed balance samples; ``files``, ``lock``, ``migrate_v1``: safe file access, one
  process per data file, the upgrade from version 1.
"""

from bot.store.embedded import TinyDBStore
from bot.store.interface import Store, Tx
from bot.store.memory import MemoryStore

__all__ = ["MemoryStore", "Store", "TinyDBStore", "Tx"]
