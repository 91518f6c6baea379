"""The exactly-once top-up, written once for every adapter.

A provider without an idempotency key can only be asked to order once if we remember what
we sent and look before sending again. Each adapter plugs in three small functions
(``OrderSteps``: find, submit, read); ``OrderFlow`` owns the order book and the algorithm::

    topup(ref) ── book entry? ── SENT or COMPLETED ─────────────────────────► reconcile
                      │
                      └── none, or FAILED (nothing was bought) ── find(ref) ── found ──► settle, return it
                                                                     │ not there
                                                                     ▼
                            book: SENT (durable before the request leaves)
                                                                     │
                            submit ── answer ── read ── ok ──────────────────► settle COMPLETED, return
                               │                  └── unreadable ────────────► reconcile
                               ├── OutcomeUnknown (no answer, 5xx, lost) ────► reconcile
                               └── any other ProviderError ──────────────────► settle FAILED, raise

    status(ref) ── book entry? ── yes ──► reconcile
                      └── no ── find(ref) ── found ──► settle, return it;  not there ──► NotFound

    reconcile ── find(ref) ── found ──► settle its state, return it
                     ├── not there, or find failed ── entry COMPLETED/FAILED ──► that, from the book
                     └──────────────────────────────── entry SENT ─────────────► PENDING (never resent)

States of a book entry: SENT (stored as PENDING: the request may have left), COMPLETED,
FAILED (refused: nothing was bought, so the same reference may be sent again). A restart
between "sent" and "settled" leaves SENT in the durable book: the next ``topup`` or
``status`` reconciles it. ``topup`` raises only when nothing was bought. Two calls for one
reference in this process are serialised by a lock, so a second confirmation while the first
is in flight reconciles instead of sending; across processes the caller's reservation
(``bot.services.OrderBook.reserve``) lets only one of them call at all.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from providers.base import Money, Order, OrderStatus, StateStore
from providers.errors import NotFound, OutcomeUnknown, ProviderError


class _MemoryState:
    def __init__(self) -> None:
        self._data: dict[tuple[str, str], Any] = {}

    async def get_state(self, namespace: str, key: str) -> Any:
        return self._data.get((namespace, key))

    async def put_state(self, namespace: str, key: str, value: Any) -> None:
        self._data[(namespace, key)] = value


class OrderBook:
    """What we sent per ``client_ref``, so a repeated or later call reconciles, never re-buys.

    Kept in the injected ``StateStore`` (durable when the caller's store is; an adapter
    built without one keeps it in memory for its lifetime). An entry is written *before*
    the order request leaves, so a crash or timeout after sending is still known as
    "sent, outcome unknown" and is reconciled instead of sent again.
    """

    def __init__(self, provider: str, state: StateStore | None) -> None:
        self._ns = f"{provider}/orders"
        self._state: StateStore = state if state is not None else _MemoryState()

    async def get(self, client_ref: str) -> dict[str, Any] | None:
        entry = await self._state.get_state(self._ns, client_ref)
        return dict(entry) if entry else None

    async def sent(self, client_ref: str, *, iccid: str, plan_id: str, at: datetime) -> dict[str, Any]:
        entry = {"iccid": iccid, "plan_id": plan_id, "sent_at": at.isoformat(), "order_id": None, "status": "PENDING"}
        await self._state.put_state(self._ns, client_ref, entry)
        return entry

    async def settle(self, client_ref: str, order: Order) -> None:
        entry = await self.get(client_ref) or {
            "iccid": order.iccid,
            "plan_id": order.plan_id,
            "sent_at": order.created_at.isoformat(),
        }
        entry.update(order_id=order.provider_order_id, status=str(order.status))
        if order.price is not None:
            entry["price"] = order.price.to_json()
        await self._state.put_state(self._ns, client_ref, entry)

    @staticmethod
    def sent_at(entry: Mapping[str, Any]) -> datetime:
        return datetime.fromisoformat(str(entry["sent_at"]))


def pending_order(provider: str, client_ref: str, entry: Mapping[str, Any], *, raw: Mapping[str, Any]) -> Order:
    """The answer when an order's outcome is still unknown after reconciling."""
    return Order(
        client_ref=client_ref,
        provider=provider,
        iccid=str(entry["iccid"]),
        plan_id=str(entry["plan_id"]),
        status=OrderStatus.PENDING,
        created_at=OrderBook.sent_at(entry),
        raw=dict(raw),
    )


Find = Callable[[str, str, Mapping[str, Any] | None], Awaitable[Order | None]]
Submit = Callable[[str, str, str], Awaitable[Any]]
Read = Callable[[str, Mapping[str, Any], Any], Order]


@dataclass(frozen=True)
class OrderSteps:
    """The three functions an adapter gives the flow; each maps its provider's errors where
    they enter.

    - ``find(iccid, client_ref, entry)``: our order at the provider, by our reference (or,
      where the provider keeps none, by what ``entry`` says we sent and when); ``None``
      when it is not there (yet). ``entry`` is ``None`` when this process has no record:
      find by reference, or return ``None`` without a call.
    - ``submit(iccid, plan_id, client_ref)``: send the order once (never retried). Raises
      ``OutcomeUnknown`` when it may have been applied, another ``ProviderError`` when it
      certainly was not.
    - ``read(client_ref, entry, answer)``: the order from ``submit``'s answer; a
      ``ProviderError`` when it cannot be read (the flow then reconciles).
    """

    find: Find
    submit: Submit
    read: Read


class OrderFlow:
    """One provider's exactly-once top-ups over a durable ``StateStore`` (see the module)."""

    def __init__(self, provider: str, steps: OrderSteps, state: StateStore | None, now: Callable[[], datetime]) -> None:
        self._name, self._steps, self._now = provider, steps, now
        self.book = OrderBook(provider, state)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, client_ref: str) -> asyncio.Lock:
        lock = self._locks.get(client_ref)
        if lock is None:
            lock = self._locks[client_ref] = asyncio.Lock()
        return lock

    async def topup(self, iccid: str, plan_id: str, client_ref: str) -> Order:
        async with self._lock(client_ref):
            entry = await self.book.get(client_ref)
            if entry is not None and entry.get("status") != OrderStatus.FAILED:
                return await self._reconcile(iccid, client_ref, entry)
            found = await self._steps.find(iccid, client_ref, None)
            if found is not None:
                await self.book.settle(client_ref, found)
                return found
            entry = await self.book.sent(client_ref, iccid=iccid, plan_id=plan_id, at=self._now())
            try:
                answer = await self._steps.submit(iccid, plan_id, client_ref)
            except OutcomeUnknown:
                return await self._reconcile(iccid, client_ref, entry)
            except ProviderError:
                await self.book.settle(client_ref, self._failed(client_ref, entry))
                raise
            try:
                order = self._steps.read(client_ref, entry, answer)
            except ProviderError:  # a yes we cannot read: it may have been applied
                return await self._reconcile(iccid, client_ref, entry)
            await self.book.settle(client_ref, order)
            return order

    async def status(self, iccid: str, client_ref: str) -> Order:
        async with self._lock(client_ref):
            entry = await self.book.get(client_ref)
            if entry is not None:
                return await self._reconcile(iccid, client_ref, entry)
            found = await self._steps.find(iccid, client_ref, None)
            if found is None:
                raise NotFound(self._name, "no order with this reference")
            await self.book.settle(client_ref, found)
            return found

    async def _reconcile(self, iccid: str, client_ref: str, entry: Mapping[str, Any]) -> Order:
        try:
            found = await self._steps.find(iccid, client_ref, entry)
        except ProviderError:
            found = None
        if found is None:
            if entry.get("status") in (OrderStatus.COMPLETED, OrderStatus.FAILED):
                return self._settled(client_ref, entry)
            return pending_order(self._name, client_ref, entry, raw={"reconciled": "not found at the provider yet"})
        await self.book.settle(client_ref, found)
        return found

    def _settled(self, client_ref: str, entry: Mapping[str, Any]) -> Order:
        return Order(
            client_ref=client_ref,
            provider=self._name,
            iccid=str(entry["iccid"]),
            plan_id=str(entry["plan_id"]),
            status=OrderStatus(entry["status"]),
            created_at=OrderBook.sent_at(entry),
            provider_order_id=entry.get("order_id"),
            price=Money.from_json(entry["price"]) if entry.get("price") else None,
            raw=dict(entry),
        )

    def _failed(self, client_ref: str, entry: Mapping[str, Any]) -> Order:
        return Order(
            client_ref=client_ref,
            provider=self._name,
            iccid=str(entry["iccid"]),
            plan_id=str(entry["plan_id"]),
            status=OrderStatus.FAILED,
            created_at=self._now(),
        )


class _Closes(Protocol):
    async def aclose(self) -> None: ...


class OrderingAdapter:
    """What every API adapter answers the same way: top-ups and their status through its
    ``OrderFlow`` (``_orders``), and closing its HTTP client (``_http``)."""

    _orders: OrderFlow
    _http: _Closes

    async def topup(self, iccid: str, plan_id: str, *, client_ref: str) -> Order:
        return await self._orders.topup(iccid, plan_id, client_ref)

    async def order_status(self, iccid: str, client_ref: str) -> Order:
        return await self._orders.status(iccid, client_ref)

    async def aclose(self) -> None:
        await self._http.aclose()
