"""Cross-signing of the bot's Matrix account: canonical JSON and Ed25519 against the spec's and
RFC 8032's vectors, the key file, and the start-up flow against an in-memory homeserver that
checks every signature the way Synapse does."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bot.platforms.matrix.xsign import (
    KEY_FILE,
    CrossSigning,
    CrossSigningError,
    Identity,
    SigningKey,
    b64,
    canonical_json,
    load_identity,
    save_identity,
    unb64,
    verify,
)

USER, DEVICE, PASSWORD = "@bot:localhost", "BOTDEVICE", "bot-pass"
# The spec's appendix, "Signing JSON": this seed signs {} and {"one": 1, "two": "Two"} as below.
SPEC_SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({}, b"{}"),
        ({"one": 1, "two": "Two"}, b'{"one":1,"two":"Two"}'),
        ({"b": "2", "a": "1"}, b'{"a":"1","b":"2"}'),
        (
            {
                "auth": {
                    "success": True,
                    "mxid": "@john.doe:example.com",
                    "profile": {
                        "display_name": "John Doe",
                        "three_pids": [{"medium": "email", "address": "john.doe@example.org"}],
                    },
                }
            },
            b'{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":'
            b'"john.doe@example.org","medium":"email"}]},"success":true}}',
        ),
        ({"a": "日本語"}, '{"a":"日本語"}'.encode()),
        ({"本": 2, "日": 1}, '{"日":1,"本":2}'.encode()),
        ({"a": "\u65e5"}, '{"a":"日"}'.encode()),
        ({"a": None}, b'{"a":null}'),
        ({"a": -0}, b'{"a":0}'),
    ],
)
def test_canonical_json_matches_the_spec(value: Any, expected: bytes) -> None:
    assert canonical_json(value) == expected


@pytest.mark.parametrize("value", [{"a": 1.5}, {"a": [2**53]}, {"a": {"b": -(2**53)}}])
def test_canonical_json_refuses_floats_and_huge_integers(value: Any) -> None:
    with pytest.raises(ValueError):
        canonical_json(value)


def test_ed25519_matches_rfc8032_test_1() -> None:
    key = SigningKey(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
    assert unb64(key.public).hex() == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"


@pytest.mark.parametrize(
    ("obj", "signature"),
    [
        ({}, "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"),
        ({"one": 1, "two": "Two"}, "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"),
    ],
)
def test_signing_json_matches_the_spec(obj: dict[str, Any], signature: str) -> None:
    key = SigningKey(unb64(SPEC_SEED))
    assert key.sign(obj) == signature
    signed = key.signed(obj, "domain")
    assert signed["signatures"] == {"domain": {f"ed25519:{key.public}": signature}}
    assert verify(signed, "domain", key.public)


def test_sign_verify_round_trip_ignores_signatures_and_unsigned() -> None:
    key, other = SigningKey.generate(), SigningKey.generate()
    obj = {"user_id": USER, "keys": {"ed25519:X": "abc"}, "unsigned": {"device_display_name": "esim-bot"}}
    signed = other.signed(key.signed(obj, USER), USER)
    assert verify(signed, USER, key.public) and verify(signed, USER, other.public)
    assert verify({**signed, "unsigned": {"changed": True}}, USER, key.public)
    assert not verify({**signed, "keys": {"ed25519:X": "abd"}}, USER, key.public), "a changed object fails"
    assert not verify(signed, "@eve:localhost", key.public), "a signature counts for its user only"
    assert not verify(obj, USER, key.public), "no signature, no trust"
    broken = {**signed, "signatures": {USER: {f"ed25519:{key.public}": b64(b"\0" * 64)}}}
    assert not verify(broken, USER, key.public)


def test_identity_file_is_private_and_round_trips(tmp_path: Path) -> None:
    identity = Identity.generate()
    save_identity(tmp_path, identity)
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    loaded = load_identity(tmp_path)
    assert loaded is not None and [k.seed for k in (loaded.master, loaded.self_signing, loaded.user_signing)] == [
        k.seed for k in (identity.master, identity.self_signing, identity.user_signing)
    ]
    assert b64(identity.master.seed) not in repr(identity), "a repr never shows a private key"
    assert load_identity(tmp_path / "nothing-here") is None
    (tmp_path / KEY_FILE).write_text("{broken")
    with pytest.raises(CrossSigningError):
        load_identity(tmp_path)


class FakeHomeserver:
    """The cross-signing endpoints as Synapse answers them: the first upload needs no password
    (MSC3967), replacing an identity does; signatures are checked before they are stored."""

    def __init__(self) -> None:
        self.device: dict[str, Any] = {
            "user_id": USER,
            "device_id": DEVICE,
            "algorithms": ["m.megolm.v1.aes-sha2"],
            "keys": {f"ed25519:{DEVICE}": "devkey"},
            "signatures": {USER: {}},
        }
        self.keys: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.always_ask = False

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.calls.append(path.rsplit("/", 1)[-1])
        if path.endswith("/keys/query"):
            return 200, {
                "device_keys": {USER: {DEVICE: self.device}},
                **{f"{role}_keys": {USER: obj} for role, obj in self.keys.items()},
            }
        if path.endswith("/device_signing/upload"):
            if (self.keys or self.always_ask) and body.get("auth", {}).get("password") != PASSWORD:
                return 401, {"session": "uia", "flows": [{"stages": ["m.login.password"]}]}
            master = next(iter(body["master_key"]["keys"].values()))
            for role in ("self_signing", "user_signing"):
                assert verify(body[f"{role}_key"], USER, master), f"{role} must be signed by the master key"
            self.keys = {role: body[f"{role}_key"] for role in ("master", "self_signing", "user_signing")}
            return 200, {}
        assert path.endswith("/keys/signatures/upload")
        signed = body[USER][DEVICE]
        ssk = next(iter(self.keys["self_signing"]["keys"].values()))
        if not verify(signed, USER, ssk):
            return 200, {"failures": {USER: {DEVICE: {"errcode": "M_INVALID_SIGNATURE"}}}}
        self.device["signatures"][USER].update(signed["signatures"][USER])
        return 200, {}

    def device_signed_by_master(self) -> bool:
        master = next(iter(self.keys["master"]["keys"].values()))
        ssk = next(iter(self.keys["self_signing"]["keys"].values()))
        return verify(self.keys["self_signing"], USER, master) and verify(self.device, USER, ssk)


def flow(server: FakeHomeserver, store: Path, password: str | None = PASSWORD) -> CrossSigning:
    return CrossSigning(server, store, USER, DEVICE, password)


async def test_first_start_makes_uploads_and_signs_then_a_restart_only_checks(tmp_path: Path) -> None:
    server = FakeHomeserver()
    assert await flow(server, tmp_path, password=None).ensure()  # the first upload needs no password on Synapse
    assert server.device_signed_by_master()
    identity = load_identity(tmp_path)
    assert identity is not None and server.keys["master"]["keys"] == {f"ed25519:{identity.master.public}": identity.master.public}
    server.calls.clear()
    assert await flow(server, tmp_path).ensure()
    assert server.calls == ["query"], "a restart uploads nothing when all is in place"


async def test_interactive_auth_is_answered_with_the_password(tmp_path: Path) -> None:
    server = FakeHomeserver()
    server.always_ask = True
    await flow(server, tmp_path).ensure()
    assert server.calls == ["query", "upload", "upload", "query", "upload"] and server.device_signed_by_master()


async def test_without_a_password_the_one_time_step_is_named(tmp_path: Path) -> None:
    server = FakeHomeserver()
    server.always_ask = True
    with pytest.raises(CrossSigningError, match="MATRIX_PASSWORD"):
        await flow(server, tmp_path, password=None).ensure()
    saved = load_identity(tmp_path)
    await flow(server, tmp_path).ensure()  # the next start with the password uploads the same identity
    assert saved is not None and server.keys["master"]["keys"] == {f"ed25519:{saved.master.public}": saved.master.public}


async def test_an_identity_made_elsewhere_is_replaced_with_the_password(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server, elsewhere = FakeHomeserver(), tmp_path / "element"
    elsewhere.mkdir()
    await flow(server, elsewhere).ensure()
    old = load_identity(elsewhere)
    assert not await flow(server, tmp_path, password=None).ensure()
    assert load_identity(tmp_path) is None and "MATRIX_PASSWORD" in caplog.text, "nothing made without a password"
    caplog.clear()
    with caplog.at_level(logging.INFO):
        await flow(server, tmp_path).ensure()
    mine = load_identity(tmp_path)
    assert old is not None and mine is not None and mine.master.public != old.master.public
    assert server.device_signed_by_master() and "replaced" in caplog.text


async def test_a_rotated_identity_is_reported_not_fought(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = FakeHomeserver()
    await flow(server, tmp_path).ensure()
    mine = load_identity(tmp_path)
    save_identity(tmp_path, Identity.generate())  # as if a backup of another identity came back
    server.calls.clear()
    assert not await flow(server, tmp_path).ensure()
    assert server.calls == ["query"], "the bot does not overwrite an identity reset elsewhere"
    assert mine is not None and mine.master.public in caplog.text and "delete the file" in caplog.text
    assert str(tmp_path / KEY_FILE) in caplog.text
