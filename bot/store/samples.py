"""Balance samples, packed: one short string per line instead of a document per sample.

A line polled hourly for a month would hold 720 points; a chart and the forecast need far
fewer. ``add`` keeps at most ``cap`` points within ``days``: when full, the last day stays
whole (the forecast's recent pace) and the older points thin out evenly over the month (a
chart's shape): the point whose loss leaves the smallest gap goes first.

The packed form is base64 of little-endian ``(uint32 seconds since base, uint64 bytes)``
pairs (``2**64 - 1`` for "unknown"), with the base time in whole seconds beside it: about
16 characters a point against about 200 bytes of Python objects for a ``[iso, int]`` pair.
"""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime, timedelta

_POINT = struct.Struct("<IQ")
_UNKNOWN = 2**64 - 1
RECENT = timedelta(days=1)  # kept whole when thinning
Point = tuple[datetime, int | None]


def unpack(doc: dict[str, object] | None) -> list[Point]:
    """``{"base": epoch seconds, "pts": base64}`` -> points, oldest first."""
    if not doc or not doc.get("pts"):
        return []
    base = int(doc["base"])  # type: ignore[call-overload]
    raw = base64.b64decode(str(doc["pts"]))
    out: list[Point] = []
    for offset, remaining in _POINT.iter_unpack(raw):
        when = datetime.fromtimestamp(base + offset, UTC)
        out.append((when, None if remaining == _UNKNOWN else remaining))
    return out


def check(doc: dict[str, object]) -> None:
    """Raise ValueError unless ``doc`` holds whole packed points (cheaper than ``unpack``)."""
    int(doc.get("base", 0))  # type: ignore[call-overload]
    if len(base64.b64decode(str(doc.get("pts", "")), validate=True)) % _POINT.size:
        raise ValueError("packed samples cut short")


def pack(points: list[Point]) -> dict[str, object]:
    if not points:
        return {"base": 0, "pts": ""}
    base = int(points[0][0].timestamp())
    raw = b"".join(
        _POINT.pack(max(0, int(at.timestamp()) - base), _UNKNOWN if left is None else max(0, left)) for at, left in points
    )
    return {"base": base, "pts": base64.b64encode(raw).decode("ascii")}


def add(points: list[Point], at: datetime, remaining: int | None, *, cap: int, days: int) -> list[Point] | None:
    """The points with a new one, or None when ``at`` is older than the newest point."""
    at = at.astimezone(UTC).replace(microsecond=0)
    if points and points[-1][0] > at:
        return None  # an answer older than what we know (clock skew, a late reply): keep the newer
    kept = [p for p in points if p[0] < at and p[0] >= at - timedelta(days=days)]
    kept.append((at, remaining))
    while len(kept) > cap:
        older = [i for i in range(1, len(kept) - 1) if kept[i][0] < at - RECENT] or list(range(1, len(kept) - 1))
        del kept[min(older, key=lambda i: kept[i + 1][0] - kept[i - 1][0])]
    return kept
