"""The cross-signing steps against the real Synapse: the first upload without a password (as on
an access token alone), interactive auth answered with the password to replace keys made
elsewhere, and an identity reset behind the bot's back reported rather than fought."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from nio import AsyncClient, AsyncClientConfig, LoginResponse

from bot.platforms.matrix.xsign import KEY_FILE, NioHomeserver, cross_sign, load_identity, master_public, verify
from tests.e2e.matrix.synapse import Synapse

pytestmark = pytest.mark.e2e
PASSWORD = "carol-pass"


@asynccontextmanager
async def device(synapse: Synapse, user_id: str, store: Path) -> AsyncIterator[AsyncClient]:
    """A new device of ``user_id`` with encryption, its nio store in ``store``."""
    store.mkdir()
    client = AsyncClient(synapse.base, user_id, store_path=str(store), config=AsyncClientConfig(encryption_enabled=True))
    try:
        assert isinstance(await client.login(PASSWORD, device_name="xsign-test"), LoginResponse)
        yield client
    finally:
        await client.close()


async def query(client: AsyncClient) -> dict[str, Any]:
    status, answer = await NioHomeserver(client).post("/_matrix/client/v3/keys/query", {"device_keys": {client.user_id: []}})
    assert status == 200, answer
    return answer


def signed_by_identity(answer: dict[str, Any], user_id: str, device_id: str) -> bool:
    master, ssk = master_public(answer, user_id), master_public(answer, user_id, "self_signing")
    assert master is not None and ssk is not None
    return verify(answer["self_signing_keys"][user_id], user_id, master) and verify(
        answer["device_keys"][user_id][device_id], user_id, ssk
    )


async def test_cross_signing_against_synapse(synapse: Synapse, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    user_id = synapse.register(f"carol{secrets.token_hex(4)}", PASSWORD)
    caplog.set_level(logging.INFO)
    async with device(synapse, user_id, tmp_path / "one") as one:
        assert await cross_sign(one, store=tmp_path / "one", password=None), "a first upload needs no password"
        first = load_identity(tmp_path / "one")
        answer = await query(one)
        assert first is not None and master_public(answer, user_id) == first.master.public
        assert signed_by_identity(answer, user_id, one.device_id)
        assert (tmp_path / "one" / KEY_FILE).stat().st_mode & 0o777 == 0o600

        async with device(synapse, user_id, tmp_path / "two") as two:  # a lost store: a new device
            caplog.clear()
            assert not await cross_sign(two, store=tmp_path / "two", password=None)
            assert "MATRIX_PASSWORD" in caplog.text and load_identity(tmp_path / "two") is None
            assert await cross_sign(two, store=tmp_path / "two", password=PASSWORD), "the password answers the UIA"
            second = load_identity(tmp_path / "two")
            answer = await query(two)
            assert second is not None and master_public(answer, user_id) == second.master.public
            assert signed_by_identity(answer, user_id, two.device_id)

        caplog.clear()
        assert not await cross_sign(one, store=tmp_path / "one", password=PASSWORD), "a reset identity is not fought"
        assert first.master.public in caplog.text and second.master.public in caplog.text
        assert master_public(await query(one), user_id) == second.master.public
