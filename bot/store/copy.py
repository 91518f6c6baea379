"""``python -m bot migrate --to postgresql://…``: copy the embedded data file into an empty
PostgreSQL database, in one transaction, leaving the source as it was.

The bot must be stopped (the data file's lock says so if it is not). A database that already
holds data is refused, so a second run cannot copy anything twice; claims in flight are not
copied (their lines and alerts simply come due again).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.errors import StoreError
from bot.records import AlertState, Household, Line, OrderRecord, OutboxItem, Pending, from_doc
from bot.store.embedded import TinyDBStore
from bot.store.postgres import PostgresStore
from bot.store.postgres_tx import PostgresTx
from bot.store.tables import TABLES


async def copy_to_postgres(db_path: str, url: str) -> dict[str, int]:
    """Copy every table; return the number of documents copied per table."""
    source = TinyDBStore(db_path)
    target = PostgresStore(url, max_connections=1)
    try:
        await target.open()
        counts: dict[str, int] = {}
        async with target.transaction() as tx:
            if not await tx.is_empty():
                raise StoreError(
                    "the database in --to already holds the bot's data; nothing was copied (copy only into an empty database)"
                )
            for table in TABLES:
                keys = source.docs.keys(table)
                for key in keys:
                    doc = source.docs.get(table, key)
                    if doc is not None:
                        await _put(tx, table, key, doc)
                counts[table] = len(keys)
        return counts
    finally:
        await target.close()
        await source.close()


async def _put(tx: PostgresTx, table: str, key: str, doc: dict[str, Any]) -> None:
    if table == "households":
        await tx.save_household(from_doc(Household, doc))
    elif table == "users":
        await tx.set_user_language(key, doc.get("language"))
        if doc.get("hint"):
            await tx.set_user_hint(key, doc["hint"])
    elif table == "lines":
        await tx.save_line(from_doc(Line, doc))
    elif table == "pending":
        await tx.save_pending(from_doc(Pending, doc))
    elif table == "orders":
        await tx.save_order(from_doc(OrderRecord, doc))
    elif table == "alerts":
        await tx.save_alert_state(key, from_doc(AlertState, doc))
    elif table == "schedule":
        await tx.set_due(key, datetime.fromisoformat(doc["at"]))
    elif table == "outbox":
        await tx.save_outbox(from_doc(OutboxItem, doc))
    elif table == "state":
        await tx.put_raw_state(key, doc["value"])
    else:  # samples, failures: kept as the same documents
        await tx.put_raw(table, key, doc)
