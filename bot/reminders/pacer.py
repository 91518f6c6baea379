"""Sliding-window send limits: overall a second, per chat a second, per group a minute.

A slot is reserved when a message is chosen for sending and re-stamped with the moment it
actually left, so the windows follow real send times: a batch that takes a while to send
does not let the next batch overlap it in the platform's own sliding second.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta

from bot.platforms.base import SendLimits

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)


class Pacer:
    def __init__(self, limits: SendLimits) -> None:
        self.limits = limits
        self._all: list[datetime] = []  # sorted send times of the last second
        self._chat: dict[str, datetime] = {}
        self._group: dict[str, list[datetime]] = {}  # sorted send times of the last minute

    def next_slot(self, chat: str, is_group: bool, now: datetime) -> datetime:
        """The earliest moment a message to ``chat`` may leave (``now`` if it may now)."""
        self._trim(now)
        slot = now
        if len(self._all) >= self.limits.overall_per_second:
            slot = max(slot, self._all[-int(self.limits.overall_per_second)] + SECOND)
        if chat in self._chat:
            slot = max(slot, self._chat[chat] + SECOND / self.limits.per_chat_per_second)
        window = self._group.get(chat)
        if is_group and window and len(window) >= self.limits.per_group_per_minute:
            slot = max(slot, window[-int(self.limits.per_group_per_minute)] + MINUTE)
        return slot

    def free_at(self, now: datetime) -> datetime:
        """When the overall budget lets a message to any chat leave (``now`` if it does now)."""
        self._trim(now)
        if len(self._all) >= self.limits.overall_per_second:
            return self._all[-int(self.limits.overall_per_second)] + SECOND
        return now

    def record(self, chat: str, is_group: bool, at: datetime) -> None:
        """A message to ``chat`` leaves (or is reserved to leave) at ``at``."""
        bisect.insort(self._all, at)
        self._chat[chat] = max(self._chat.get(chat, at), at)
        if is_group:
            bisect.insort(self._group.setdefault(chat, []), at)

    def restamp(self, chat: str, is_group: bool, reserved: datetime, sent: datetime) -> None:
        """The message reserved at ``reserved`` actually left at ``sent``."""
        if sent == reserved:
            return
        _move(self._all, reserved, sent)
        self._chat[chat] = max(self._chat.get(chat, sent), sent)
        if is_group and chat in self._group:
            _move(self._group[chat], reserved, sent)

    def _trim(self, now: datetime) -> None:
        cut = bisect.bisect_right(self._all, now - SECOND)
        del self._all[:cut]
        if len(self._chat) > 4096:  # forget chats that may send again anyway
            self._chat = {c: t for c, t in self._chat.items() if t > now - SECOND / self.limits.per_chat_per_second}
        if len(self._group) > 4096:
            self._group = {c: w for c, w in self._group.items() if w and w[-1] > now - MINUTE}


def _move(times: list[datetime], old: datetime, new: datetime) -> None:
    i = bisect.bisect_left(times, old)
    if i < len(times) and times[i] == old:
        del times[i]
    bisect.insort(times, new)
