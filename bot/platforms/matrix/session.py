"""Logging the Matrix bot in with a stable device.

Encryption keys belong to a device, so a new device at every start would make every
encrypted room forget the bot. After the first password login the device id and access
token are kept in ``session.json`` in the nio store directory (mode 0600) and reused;
a token the homeserver no longer accepts is replaced by a password login *on the same
device*. Neither the password nor a token is ever logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import AsyncClient, LoginResponse, WhoamiResponse

log = logging.getLogger(__name__)
SESSION_FILE = "session.json"
DEVICE_NAME = "esim-bot"
MAX_BACKOFF = 60.0


class Backoff:
    """1, 2, 4 … 60 s between attempts while the homeserver cannot be reached; reset on success."""

    def __init__(self) -> None:
        self.delay = 1.0

    def next(self) -> float:
        delay, self.delay = self.delay, min(self.delay * 2, MAX_BACKOFF)
        return delay

    def reset(self) -> None:
        self.delay = 1.0


class LoginFailed(Exception):
    """The homeserver refused the credentials (wrong password, revoked token, wrong user)."""


@dataclass(frozen=True)
class Session:
    homeserver: str
    user_id: str
    device_id: str
    access_token: str

    def __repr__(self) -> str:  # never show the token, even in a traceback
        return f"Session({self.homeserver!r}, {self.user_id!r}, device {self.device_id!r})"


def store_dir(db_path: str) -> Path:
    """The nio store lives beside the data file: ``<dir of db_path>/matrix-store``."""
    return Path(db_path).resolve().parent / "matrix-store"


def prepare_store(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        path.chmod(0o700)
    return path


def load_session(path: Path, homeserver: str, user_id: str) -> Session | None:
    """The saved session for this homeserver and user, or None (absent, unreadable, other user)."""
    try:
        raw: Any = json.loads((path / SESSION_FILE).read_text(encoding="utf-8"))
        session = Session(str(raw["homeserver"]), str(raw["user_id"]), str(raw["device_id"]), str(raw["access_token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if session.homeserver != homeserver or session.user_id != user_id:
        return None
    return session


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600 from the first byte (a token or a key
    is never world-readable, not even half-written)."""
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def save_session(path: Path, session: Session) -> None:
    """The session beside the crypto store (see ``write_private_json``)."""
    data = {
        "homeserver": session.homeserver,
        "user_id": session.user_id,
        "device_id": session.device_id,
        "access_token": session.access_token,
    }
    write_private_json(path / SESSION_FILE, data)


async def log_in(client: AsyncClient, *, store: Path, password: str | None, access_token: str | None) -> Session:
    """Log ``client`` in and return the session; raise ``LoginFailed`` for refused credentials.
    Network errors propagate so the caller can retry with backoff."""
    homeserver, user_id = client.homeserver, client.user
    if access_token is not None:
        return await _with_token(client, homeserver, user_id, access_token)
    assert password is not None
    saved = load_session(store, homeserver, user_id)
    if saved is not None:
        client.restore_login(saved.user_id, saved.device_id, saved.access_token)
        who = await client.whoami()
        if isinstance(who, WhoamiResponse) and who.user_id == saved.user_id:
            log.info("matrix: resumed session of %s on device %s", saved.user_id, saved.device_id)
            return saved
        log.info("matrix: saved session no longer valid; logging in again on device %s", saved.device_id)
        client.access_token = ""
        client.device_id = saved.device_id
    resp = await client.login(password, device_name=DEVICE_NAME)
    if not isinstance(resp, LoginResponse):
        raise LoginFailed(f"password login for {user_id} refused: {getattr(resp, 'status_code', None) or 'error'}")
    session = Session(homeserver, resp.user_id, resp.device_id, resp.access_token)
    save_session(store, session)
    log.info("matrix: logged in as %s on device %s", session.user_id, session.device_id)
    return session


async def _with_token(client: AsyncClient, homeserver: str, user_id: str, token: str) -> Session:
    client.access_token = token
    who = await client.whoami()
    if not isinstance(who, WhoamiResponse):
        raise LoginFailed(f"access token refused: {getattr(who, 'status_code', None) or 'error'}")
    if who.user_id != user_id:
        raise LoginFailed(f"the access token belongs to {who.user_id}, not MATRIX_USER {user_id}")
    if not who.device_id:
        raise LoginFailed("the homeserver did not say which device the access token belongs to")
    client.restore_login(who.user_id, who.device_id, token)
    log.info("matrix: using access token of %s on device %s", who.user_id, who.device_id)
    return Session(homeserver, who.user_id, who.device_id, token)
