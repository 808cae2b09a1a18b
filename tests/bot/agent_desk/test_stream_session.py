"""The event stream re-checks its credentials at every heartbeat: sign-out, disabling or revoking ends it."""
from __future__ import annotations

import asyncio
from typing import List

import aiohttp

from bot.agent_desk.accounts import AccountStore
from tests.bot.agent_desk.conftest import login

HEARTBEAT = 0.2


async def read_until_closed(stream: aiohttp.ClientResponse) -> List[str]:
    """Every line until the server ends the stream (bounded: a stream that never ends fails the test)."""
    lines: List[str] = []

    async def drain() -> None:
        while True:
            line = await stream.content.readline()
            if not line:
                return
            lines.append(line.decode().rstrip("\n"))

    await asyncio.wait_for(drain(), 30)
    return lines


async def test_signing_out_ends_the_stream(desk) -> None:
    desk.app.heartbeat = HEARTBEAT
    csrf = await login(desk.session, desk.url(""), "noura@example.com")
    async with desk.session.get(desk.url("/api/v1/events")) as stream:
        assert stream.status == 200
        assert (await stream.content.readline()).startswith(b": connected")
        async with desk.session.post(desk.url("/logout"), data={"csrf_token": csrf}, allow_redirects=False) as out:
            assert out.status == 303
        lines = await read_until_closed(stream)
    assert "event: signed-out" in lines


async def test_disabling_the_account_ends_the_stream(desk) -> None:
    desk.app.heartbeat = HEARTBEAT
    await login(desk.session, desk.url(""), "noura@example.com")
    async with desk.session.get(desk.url("/api/v1/events")) as stream:
        assert (await stream.content.readline()).startswith(b": connected")
        await asyncio.sleep(HEARTBEAT)  # at least one heartbeat with the session still live
        accounts = AccountStore(desk.app.accounts.engine)
        accounts.set_active("noura@example.com", False)
        accounts.shutdown()
        lines = await read_until_closed(stream)
    assert "event: signed-out" in lines
    async with desk.session.get(desk.url("/api/v1/events")) as again:
        assert again.status == 401


async def test_revoking_a_token_ends_its_stream(desk) -> None:
    desk.app.heartbeat = HEARTBEAT
    accounts = AccountStore(desk.app.accounts.engine)
    token = accounts.create_token(name="live", scopes=["handoffs:read"])
    async with aiohttp.ClientSession() as client:
        async with client.get(desk.url("/api/v1/events"), headers={"Authorization": f"Bearer {token}"}) as stream:
            assert (await stream.content.readline()).startswith(b": connected")
            accounts.revoke_token("live")
            lines = await read_until_closed(stream)
    accounts.shutdown()
    assert "event: signed-out" in lines
