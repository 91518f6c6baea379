"""What the Matrix platform knows about rooms: family or private, who is admin, the DM
with a user, whose invites to accept, and the reader's language for the platform's own notices.

Room version 12 gives a room's creators (the sender of ``m.room.create`` and its
``additional_creators``) unlimited power while leaving them out of ``m.room.power_levels``;
matrix-nio 0.26 reports 0 for them, so creators are read from the create event itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nio import AsyncClient, MatrixRoom, RoomCreateError, RoomCreateResponse, RoomGetStateResponse, RoomPreset

from bot.platforms.base import Lru

log = logging.getLogger(__name__)
ADMIN_LEVEL = 50
ENCRYPTION_STATE = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


def creators_are_admins(room_version: str) -> bool:
    """Room versions 12 and later (and their ``hydra`` previews) make creators all-powerful."""
    if room_version.isdigit():
        return int(room_version) >= 12
    return "hydra" in room_version


def creators_of(create_event: Mapping[str, Any]) -> frozenset[str]:
    content = create_event.get("content")
    content = content if isinstance(content, Mapping) else {}
    found = {create_event.get("sender"), content.get("creator")}
    extra = content.get("additional_creators")
    if isinstance(extra, list):
        found.update(extra)
    return frozenset(x for x in found if isinstance(x, str) and x.startswith("@"))


def invite_allowed(sender: str, allowed: Sequence[str]) -> bool:
    """Empty list: everyone. Entries are user ids (``@li:example.org``) or server names
    (``example.org``, also written ``:example.org``)."""
    if not allowed:
        return True
    server = sender.split(":", 1)[1].lower() if ":" in sender else ""
    for entry in allowed:
        entry = entry.strip()
        if entry.startswith("@"):
            if entry == sender:
                return True
        elif entry.lstrip(":").lower() == server:
            return True
    return False


class Rooms:
    """Room facts for one logged-in client; ``gone`` holds rooms the bot has left or was removed from."""

    def __init__(self, client: AsyncClient, *, encrypted_dms: bool) -> None:
        self._client = client
        self._encrypted_dms = encrypted_dms
        self._creators: dict[str, frozenset[str]] = {}
        self.gone: set[str] = set()

    @staticmethod
    def is_group(room: MatrixRoom) -> bool:
        """Two members (the bot and one person) are a private household; more are a family.
        Invited people count, so a family room is a family from its first message."""
        return int(room.member_count) > 2

    def note_state(self, room_id: str, events: Iterable[Any]) -> None:
        """Remember creators from a sync's state or timeline (saves a request later)."""
        for event in events:
            source = getattr(event, "source", None)
            if isinstance(source, Mapping) and source.get("type") == "m.room.create":
                self._creators[room_id] = creators_of(source)

    async def is_admin(self, room: MatrixRoom, user: str) -> bool:
        if int(room.power_levels.get_user_level(user)) >= ADMIN_LEVEL:
            return True
        if not creators_are_admins(room.room_version):
            return False
        return user in await self.creators(room.room_id)

    async def creators(self, room_id: str) -> frozenset[str]:
        if room_id not in self._creators:
            resp = await self._client.room_get_state(room_id)
            if not isinstance(resp, RoomGetStateResponse):
                log.warning("matrix: could not read the state of a room: %s", getattr(resp, "status_code", "error"))
                return frozenset()
            create = next((e for e in resp.events if isinstance(e, Mapping) and e.get("type") == "m.room.create"), None)
            self._creators[room_id] = creators_of(create) if create is not None else frozenset()
        return self._creators[room_id]

    def find_dm(self, user: str) -> str | None:
        """A room the bot shares with ``user`` alone (joined or invited), if there is one;
        without E2EE never an encrypted one (the bot could neither read nor encrypt there)."""
        me: str = self._client.user_id
        for room_id, room in sorted(self._client.rooms.items()):
            usable = room_id not in self.gone and (self._encrypted_dms or not room.encrypted)
            if usable and set(room.users) == {me, user}:
                return str(room_id)
        return None

    async def open_dm(self, user: str) -> str | None:
        """Create a direct room with ``user`` (encrypted when the bot runs with E2EE)."""
        resp = await self._client.room_create(
            is_direct=True,
            invite=[user],
            preset=RoomPreset.trusted_private_chat,
            initial_state=[ENCRYPTION_STATE] if self._encrypted_dms else [],
        )
        if isinstance(resp, RoomCreateResponse):
            return str(resp.room_id)
        assert isinstance(resp, RoomCreateError)
        log.warning("matrix: could not open a direct room: %s", resp.status_code)
        return None


class SeenEvents:
    """The ids of the newest ``size`` events handled: a sync or a late key may bring one twice."""

    def __init__(self, size: int = 5000) -> None:
        self._ids: Lru[str, bool] = Lru(size)

    def first_time(self, event_id: str) -> bool:
        """True once per event id (among the newest ``size``), and remembers it."""
        if self._ids.get(event_id):
            return False
        self._ids.put(event_id, True)
        return True
