"""Desk sessions: what the database keeps of a session token, and the Secure cookie flag.

Real HTTP against a served desk; cookies are read from ``Set-Cookie`` and sent by hand,
so a Secure cookie over the test's plain HTTP is still seen (a browser would hold it back).
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from http.cookies import SimpleCookie
from typing import Any, AsyncIterator, Dict, Optional, Tuple

import aiohttp
import pytest
import sqlalchemy as sa

from bot.agent_desk.accounts import AccountStore
from bot.agent_desk.security import token_hash
from bot.storage import create_engine, migrate
from bot.storage.schema import agent_session, api_token
from bot.agent_desk.channel import AgentDeskInput
from tests.bot.agent_desk.conftest import PASSWORDS, StubAgent
from tests.conftest import free_port
from tests.e2e.handoff_harness import DESK, handoff_settings, serving

EMAIL = "noura@example.com"


@asynccontextmanager
async def desk_with(tmp_path: Any, cookie_secure: Optional[bool]) -> AsyncIterator[Tuple[str, Any]]:
    engine = create_engine(f"sqlite:///{tmp_path / 'desk.sqlite'}")
    migrate(engine)
    accounts = AccountStore(engine)
    accounts.create_agent(email=EMAIL, password=PASSWORDS[EMAIL], role="agent", languages=["ar"],
                          queues=["general"], display_name="Noura")
    accounts.shutdown()
    channel = AgentDeskInput(handoff_settings(), engine=engine, cookie_secure=cookie_secure)
    try:
        async with serving([channel], StubAgent(), free_port()) as base_url:
            yield f"{base_url}{DESK}", engine
    finally:
        engine.dispose()


async def sign_in(base: str, headers: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """The sign-in form, posted; returns every cookie set on the way (name → Morsel)."""
    headers = headers or {}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        async with session.get(f"{base}/login", headers=headers) as answer:
            page = await answer.text()
            login_cookies = SimpleCookie()
            for header in answer.headers.getall("Set-Cookie"):
                login_cookies.load(header)
        csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        cookie_header = "; ".join(f"{name}={morsel.value}" for name, morsel in login_cookies.items())
        form = {"csrf_token": csrf, "email": EMAIL, "password": PASSWORDS[EMAIL]}
        async with session.post(f"{base}/login", data=form, allow_redirects=False,
                                headers={**headers, "Cookie": cookie_header}) as answer:
            assert answer.status == 303, await answer.text()
            session_cookies = SimpleCookie()
            for header in answer.headers.getall("Set-Cookie"):
                session_cookies.load(header)
    return {**dict(login_cookies), **dict(session_cookies)}


async def desk_page_status(base: str, session_token: str) -> int:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        async with session.get(f"{base}/desk", allow_redirects=False,
                               headers={"Cookie": f"majlis_desk={session_token}"}) as answer:
            return answer.status


async def test_the_database_keeps_only_a_hash_of_the_session_token(tmp_path) -> None:
    async with desk_with(tmp_path, cookie_secure=False) as (base, engine):
        token = (await sign_in(base))["majlis_desk"].value
        with engine.connect() as conn:
            stored = conn.execute(sa.select(agent_session.c.token_hash, agent_session.c.csrf_token)).all()
        assert len(stored) == 1
        assert stored[0].token_hash != token and token not in stored[0].token_hash
        assert stored[0].token_hash == token_hash(token)
        assert await desk_page_status(base, token) == 200
        # What a stolen database row would give an attacker does not open the desk.
        assert await desk_page_status(base, stored[0].token_hash) == 303


async def test_api_tokens_are_stored_only_as_hashes(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'tokens.sqlite'}")
    migrate(engine)
    accounts = AccountStore(engine)
    token = accounts.create_token(name="crm", scopes=["handoffs:read"])
    accounts.shutdown()
    with engine.connect() as conn:
        [stored] = conn.execute(sa.select(api_token.c.token_hash)).scalars().all()
    engine.dispose()
    assert stored != token and token not in stored and stored == token_hash(token)


@pytest.mark.parametrize("setting, headers, secure", [
    (True, {}, True),                                  # configured: Secure even behind plain HTTP
    (False, {}, False),                                # configured off (local development)
    # default ("auto"): a client's X-Forwarded-Proto is not trusted unless Sanic is told to trust a
    # proxy (the proxied case: tests/bot/agent_desk/test_media_and_cookies.py)
    (None, {"X-Forwarded-Proto": "https"}, False),
    (None, {}, False),
])
async def test_the_secure_cookie_flag(tmp_path, setting, headers, secure) -> None:
    async with desk_with(tmp_path, cookie_secure=setting) as (base, _engine):
        cookies = await sign_in(base, headers)
    assert "majlis_desk" in cookies
    for name, morsel in cookies.items():
        assert bool(morsel["secure"]) is secure, (name, morsel.OutputString())
        assert morsel["httponly"] and morsel["samesite"] == "Lax"
