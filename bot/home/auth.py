"""Sign-in without passwords: Telegram's signed ``initData``, one-time links and session cookies.

Every token is JSON signed with HMAC-SHA256 under a key kept in the store (so links and
sessions survive a restart and hold on every worker). A one-time link is bound to one chat
and one user, lives ``LINK_TTL`` and is taken once (``redeem`` marks its nonce used in the
store). A session lives ``SESSION_TTL``; its CSRF token is derived from it, so a change
needs both the cookie and a value only the page knows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import astuple, dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from bot.store import Store

LINK_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(hours=8)
INIT_DATA_MAX_AGE = timedelta(hours=1)  # Telegram's initData older than this is not trusted
KEPT = "home"  # the store's namespace: the signing key and used link nonces


@dataclass(frozen=True)
class Visitor:
    """Who a session is: one user in one chat, with the rights they had when it was signed."""

    platform: str
    chat: str
    user: str
    admin: bool
    group: bool
    lang: str | None
    until: int  # unix seconds
    nonce: str


class Keys:
    """The signing key (made once, kept in the store) and the tokens made with it."""

    def __init__(self, store: Store, now: Callable[[], datetime]) -> None:
        self._store, self._now = store, now
        self._key = b""

    async def load(self) -> None:
        async with self._store.transaction() as tx:
            found = await tx.get_state(KEPT, "key")
            if not isinstance(found, str):
                found = secrets.token_hex(32)
                await tx.put_state(KEPT, "key", found)
        self._key = bytes.fromhex(found)

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self._key, payload, hashlib.sha256).digest())

    def seal(self, visitor: Visitor) -> str:
        payload = json.dumps(astuple(visitor), separators=(",", ":")).encode()  # short: it travels in a link
        return f"{_b64(payload)}.{self._sign(payload)}"

    def open(self, token: str) -> Visitor | None:
        """The visitor of a genuine token that has not run out, else None."""
        body, _, sig = token.partition(".")
        try:
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            if not self._key or not hmac.compare_digest(sig.encode(), self._sign(payload).encode()):
                return None  # checked before anything of it is read
            visitor = Visitor(*json.loads(payload))
        except (ValueError, TypeError):
            return None
        return visitor if visitor.until > self._now().timestamp() else None

    def link(self, *, platform: str, chat: str, user: str, admin: bool, group: bool, lang: str | None) -> str:
        """A one-time sign-in token for this user in this chat, valid ``LINK_TTL``."""
        until = int((self._now() + LINK_TTL).timestamp())
        return self.seal(Visitor(platform, chat, user, admin, group, lang, until, secrets.token_urlsafe(9)))

    async def redeem(self, token: str) -> Visitor | None:
        """The session for a link token, once: a second use (or a forged or old link) is None."""
        visitor = self.open(token)
        if visitor is None:
            return None
        async with self._store.transaction() as tx:
            if await tx.get_state(KEPT, f"used:{visitor.nonce}") is not None:
                return None
            await tx.put_state(KEPT, f"used:{visitor.nonce}", visitor.until)
        return self.session(visitor)

    def session(self, visitor: Visitor) -> Visitor:
        return replace(visitor, until=int((self._now() + SESSION_TTL).timestamp()), nonce=secrets.token_urlsafe(9))

    def csrf(self, visitor: Visitor) -> str:
        return self._sign(f"csrf:{visitor.nonce}".encode())[:32]


def telegram_visitor(init_data: str, bot_token: str, now: datetime) -> Visitor | None:
    """The user of Telegram's ``initData`` when its hash is Telegram's and it is fresh, else None:
    secret = HMAC-SHA256(key "WebAppData", bot token); hash = HMAC-SHA256(secret, the other
    fields as sorted ``key=value`` lines)."""
    fields = dict(parse_qsl(init_data[:4096], keep_blank_values=True))
    given = fields.pop("hash", "")
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    if not given or not hmac.compare_digest(given, hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()):
        return None
    try:
        signed_at = datetime.fromtimestamp(int(fields.get("auth_date", "")), tz=now.tzinfo)
        user = json.loads(fields.get("user", ""))
        uid = str(int(user["id"]))
    except (ValueError, TypeError, KeyError):
        return None
    if not timedelta(minutes=-5) <= now - signed_at <= INIT_DATA_MAX_AGE:
        return None
    lang = user.get("language_code") if isinstance(user.get("language_code"), str) else None
    # the user's private chat: admin of their own household, a member of a family it joined
    # (the rule of ``Context.is_admin``; the Telegram platform itself reports every private chat as admin)
    return Visitor("telegram", uid, uid, False, False, lang, 0, "")


class RateLimit:
    """At most ``limit`` attempts per key in a sliding ``window`` (per worker, in memory)."""

    def __init__(self, limit: int, window: timedelta, now: Callable[[], datetime]) -> None:
        self._limit, self._window, self._now = limit, window, now
        self._seen: dict[str, list[datetime]] = {}

    def allow(self, key: str) -> bool:
        now = self._now()
        recent = [t for t in self._seen.get(key, []) if now - t < self._window]
        if len(self._seen) > 10_000:  # a flood of keys: forget the old ones
            self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] < self._window}
        if len(recent) >= self._limit:
            self._seen[key] = recent
            return False
        self._seen[key] = [*recent, now]
        return True


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
