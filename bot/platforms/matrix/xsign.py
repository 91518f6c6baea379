"""Cross-signing of the bot's own Matrix account: matrix-nio 0.26 has none, so it is here.

Clients that "exclude insecure devices" (MSC4153, Element's default in 2026) share room keys
only with devices their owner has cross-signed, and do not trust what other devices send. On
the first start with encryption on, the bot makes its master, self-signing and user-signing
keys, keeps their private halves in ``cross-signing.json`` beside the nio store (mode 0600),
uploads the public halves (answering the homeserver's interactive auth with the password when
it asks) and signs its own device with the self-signing key. Later starts only check that the
homeserver still has this identity and that the device is signed. Spec: client-server API,
"Signing JSON" and "Cross-signing". Ed25519 comes from pycryptodome (already beside nio).
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from Crypto.PublicKey.ECC import EccKey
from Crypto.Signature import eddsa
from nio import AsyncClient

from bot.platforms.matrix.session import write_private_json

log = logging.getLogger(__name__)
KEY_FILE = "cross-signing.json"
ROLES = ("master", "self_signing", "user_signing")
Json = dict[str, Any]


class CrossSigningError(Exception):
    """The homeserver refused a step; the bot keeps running with an unsigned device."""


def canonical_json(value: Any) -> bytes:
    """The spec's canonical JSON: sorted keys, no spaces, UTF-8 as is; floats are not allowed."""

    def check(v: Any) -> None:
        if isinstance(v, float) or (isinstance(v, int) and not -(2**53) < v < 2**53):
            raise ValueError("canonical JSON allows only integers in [-(2**53)+1, 2**53-1]")
        for item in v.values() if isinstance(v, dict) else v if isinstance(v, list) else ():
            check(item)

    check(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def signable(obj: Json) -> bytes:
    """What a signature covers: the object without ``signatures`` and ``unsigned``."""
    return canonical_json({k: v for k, v in obj.items() if k not in ("signatures", "unsigned")})


class SigningKey:
    """An Ed25519 key from its 32-byte seed; the seed never appears in a repr."""

    def __init__(self, seed: bytes) -> None:
        self._key: EccKey = eddsa.import_private_key(seed)
        self.seed = seed
        self.public = b64(self._key.public_key().export_key(format="raw"))

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(os.urandom(32))

    def __repr__(self) -> str:
        return f"SigningKey(public={self.public!r})"

    def sign(self, obj: Json) -> str:
        return b64(eddsa.new(self._key, "rfc8032").sign(signable(obj)))

    def signed(self, obj: Json, user_id: str) -> Json:
        """A copy of ``obj`` with this key's signature added beside the ones it has."""
        signatures = {u: dict(s) for u, s in obj.get("signatures", {}).items()}
        signatures.setdefault(user_id, {})[f"ed25519:{self.public}"] = self.sign(obj)
        return {**obj, "signatures": signatures}


def verify(obj: Json, user_id: str, public: str) -> bool:
    """True when ``obj`` carries a valid signature of ``user_id``'s Ed25519 key ``public``."""
    signature = obj.get("signatures", {}).get(user_id, {}).get(f"ed25519:{public}")
    if not isinstance(signature, str):
        return False
    try:
        eddsa.new(eddsa.import_public_key(unb64(public)), "rfc8032").verify(signable(obj), unb64(signature))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Identity:
    """The three private keys of the bot's cross-signing identity."""

    master: SigningKey
    self_signing: SigningKey
    user_signing: SigningKey

    @classmethod
    def generate(cls) -> Identity:
        return cls(SigningKey.generate(), SigningKey.generate(), SigningKey.generate())

    def key_object(self, role: str, user_id: str) -> Json:
        """The public key object to upload; the master key signs the other two."""
        key: SigningKey = getattr(self, role)
        obj: Json = {"user_id": user_id, "usage": [role], "keys": {f"ed25519:{key.public}": key.public}}
        return obj if role == "master" else self.master.signed(obj, user_id)


def load_identity(store: Path) -> Identity | None:
    """The identity saved in ``store``, or None when there is none (or it cannot be read)."""
    try:
        raw = json.loads((store / KEY_FILE).read_text(encoding="utf-8"))
        return Identity(*(SigningKey(unb64(raw[role])) for role in ROLES))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        raise CrossSigningError(
            f"{store / KEY_FILE} is unreadable: restore it from a backup, or delete it and start "
            "with MATRIX_PASSWORD set to make a new identity"
        ) from None


def save_identity(store: Path, identity: Identity) -> None:
    """Write atomically, mode 0600 from the first byte: these keys vouch for the bot's devices."""
    write_private_json(store / KEY_FILE, {role: b64(getattr(identity, role).seed) for role in ROLES})


class Homeserver(Protocol):
    """One JSON POST to the client-server API: (HTTP status, body)."""

    async def post(self, path: str, body: Json) -> tuple[int, Json]: ...


def master_public(query: Json, user_id: str, role: str = "master") -> str | None:
    """The public key of ``user_id``'s ``role`` key in a /keys/query answer, if any."""
    keys = query.get(f"{role}_keys", {}).get(user_id, {}).get("keys", {})
    return next(iter(keys.values()), None) if isinstance(keys, dict) else None


@dataclass
class CrossSigning:
    """Makes sure the bot's device is cross-signed by the bot's own identity (see the module doc)."""

    api: Homeserver
    store: Path
    user_id: str
    device_id: str
    password: str | None
    sign_with_device: Callable[[bytes], str] | None = None  # the device's own Ed25519 signature

    async def ensure(self) -> bool:
        """True once the device is signed by the bot's identity; False (logged) when the operator must act."""
        query = await self._post("/_matrix/client/v3/keys/query", {"device_keys": {self.user_id: [self.device_id]}})
        mine, theirs = load_identity(self.store), master_public(query, self.user_id)
        if mine is None and theirs is not None and self.password is None:
            log.error(
                "matrix: the account already has a cross-signing identity (master key %s) made elsewhere, for "
                "example by Element, and the bot does not have its private keys. Start the bot once with "
                "MATRIX_PASSWORD set so it can replace that identity with its own; the device stays "
                "unsigned until then",
                theirs,
            )
            return False
        if mine is not None and theirs is not None and theirs != mine.master.public:
            log.error(
                "matrix: the account's cross-signing identity on the homeserver (master key %s) is not the "
                "bot's (%s in %s): it was reset elsewhere, or the file was replaced. Clients that exclude "
                "insecure devices will not talk to the bot. Restore the file from a backup, or stop the bot, "
                "delete the file and start it with MATRIX_PASSWORD set to make a new identity (people will "
                "see that the bot's identity changed)",
                theirs,
                mine.master.public,
                self.store / KEY_FILE,
            )
            return False
        if mine is None or theirs is None:
            mine = await self._upload(mine, replacing=theirs)
            query = await self._post("/_matrix/client/v3/keys/query", {"device_keys": {self.user_id: [self.device_id]}})
        await self._sign_device(mine, query)
        return True

    async def _upload(self, mine: Identity | None, *, replacing: str | None) -> Identity:
        if mine is None:
            mine = Identity.generate()
            save_identity(self.store, mine)  # first, so what the homeserver gets is never lost
        body = self._public_keys(mine)
        path = "/_matrix/client/v3/keys/device_signing/upload"
        status, answer = await self.api.post(path, body)
        if status == 401 and "session" in answer:
            if self.password is None:
                raise CrossSigningError(
                    "the homeserver asks for the account's password to upload cross-signing "
                    "keys: start the bot once with MATRIX_PASSWORD set"
                )
            body["auth"] = {
                "type": "m.login.password",
                "session": answer["session"],
                "password": self.password,
                "identifier": {"type": "m.id.user", "user": self.user_id},
            }
            status, answer = await self.api.post(path, body)
        if status != 200:
            raise CrossSigningError(f"uploading cross-signing keys refused: {status} {answer.get('errcode', '')}")
        if replacing is not None:
            log.warning(
                "matrix: replaced the account's cross-signing identity (master key %s, made elsewhere) with the bot's own",
                replacing,
            )
        key, where = mine.master.public, self.store / KEY_FILE
        log.info("matrix: uploaded the bot's cross-signing identity, master key %s (private keys in %s)", key, where)
        return mine

    def _public_keys(self, mine: Identity) -> Json:
        """The three public keys to upload; the master key also signed by this device, so the
        bot's other sessions trust the identity too."""
        master = mine.key_object("master", self.user_id)
        if self.sign_with_device is not None:
            signature = self.sign_with_device(signable(master))
            master = {**master, "signatures": {self.user_id: {f"ed25519:{self.device_id}": signature}}}
        self_signing, user_signing = (mine.key_object(k, self.user_id) for k in ("self_signing", "user_signing"))
        return {"master_key": master, "self_signing_key": self_signing, "user_signing_key": user_signing}

    async def _sign_device(self, mine: Identity, query: Json) -> None:
        device = query.get("device_keys", {}).get(self.user_id, {}).get(self.device_id)
        if not isinstance(device, dict):
            raise CrossSigningError(f"the homeserver does not know device {self.device_id}'s keys yet")
        if master_public(query, self.user_id, "self_signing") == mine.self_signing.public and verify(
            device, self.user_id, mine.self_signing.public
        ):
            log.info("matrix: device %s is signed by the bot's identity (master key %s)", self.device_id, mine.master.public)
            return
        signed = mine.self_signing.signed({k: v for k, v in device.items() if k not in ("signatures", "unsigned")}, self.user_id)
        answer = await self._post("/_matrix/client/v3/keys/signatures/upload", {self.user_id: {self.device_id: signed}})
        if answer.get("failures"):
            raise CrossSigningError(f"the homeserver refused the device's signature: {answer['failures']}")
        log.info("matrix: signed device %s with the bot's identity (master key %s)", self.device_id, mine.master.public)

    async def _post(self, path: str, body: Json) -> Json:
        status, answer = await self.api.post(path, body)
        if status != 200:
            raise CrossSigningError(f"{path.removeprefix('/_matrix/client/v3')} refused: {status} {answer.get('errcode', '')}")
        return answer


class NioHomeserver:
    """``Homeserver`` on the nio client's own HTTP session and access token."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def post(self, path: str, body: Json) -> tuple[int, Json]:
        headers = {"Authorization": f"Bearer {self._client.access_token}", "Content-Type": "application/json"}
        resp = await self._client.send("POST", path, canonical_json(body).decode("utf-8"), headers=headers)
        async with resp:
            answer = await resp.json(content_type=None)
        return resp.status, answer if isinstance(answer, dict) else {}


async def cross_sign(client: AsyncClient, *, store: Path, password: str | None) -> bool:
    """Upload the device's keys if they are not yet, then cross-sign it; False (logged) on failure.
    Never raises: without cross-signing the bot still works for clients that allow unsigned devices."""
    try:
        if client.should_upload_keys:
            await client.keys_upload()
        assert client.olm is not None and client.device_id
        account = client.olm.account
        return await CrossSigning(
            NioHomeserver(client),
            store,
            client.user_id,
            client.device_id,
            password,
            lambda data: str(account.sign(data.decode("utf-8"))),
        ).ensure()
    except CrossSigningError as exc:
        log.error("matrix: cross-signing failed, the device stays unsigned: %s", exc)
    except Exception as exc:  # the network, or a homeserver answering nonsense: try again at the next start
        log.warning("matrix: cross-signing failed (%s); the bot tries again at its next start", type(exc).__name__)
    return False
