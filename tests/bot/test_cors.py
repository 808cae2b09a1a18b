"""CORS: off unless MAJLIS_CORS names origins; never with credentials; never on the agent desk.

Before: ``./majlis start`` passed ``--cors "*"`` and Rasa allowed credentials, so any web
page could read a signed-in agent's queue, transcripts and CSRF token.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import aiohttp
import pytest
from sqlalchemy.engine import Engine

from bot.config import Secret
from bot.storage import create_engine, migrate
from bot.agent_desk.channel import AgentDeskInput
from channels.rest.channel import RestInput
from serve import cors_args
from tests.e2e.handoff_harness import handoff_settings
from tests.channels.test_instagram_harness import RecordingAgent
from tests.rasa_server_app import served_rasa_app

SHOP = "https://shop.example"
DESK_PATHS = ["/webhooks/agent_desk/api/v1/handoffs", "/webhooks/agent_desk/desk", "/webhooks/agent_desk/login",
              "/webhooks/agent_desk/api/v1/events", "/webhooks/agent_desk/"]


def test_start_passes_no_cors_unless_asked() -> None:
    assert cors_args({}) == [] and cors_args({"MAJLIS_CORS": "  "}) == []
    assert cors_args({"MAJLIS_CORS": f"{SHOP}, https://www.shop.example"}) == [
        "--cors", SHOP, "https://www.shop.example"]


@pytest.fixture
def engine(tmp_path: Any) -> Engine:
    engine = create_engine(f"sqlite:///{tmp_path / 'desk.sqlite'}")
    migrate(engine)
    yield engine
    engine.dispose()


async def cross_origin(port: int, path: str, method: str = "GET") -> Dict[str, str]:
    headers = {"Origin": SHOP, "Access-Control-Request-Method": "GET", "Cookie": "majlis_session=x"}
    async with aiohttp.ClientSession() as session:
        async with session.request(method, f"http://127.0.0.1:{port}{path}", headers=headers,
                                   allow_redirects=False) as answer:
            return {k.lower(): v for k, v in answer.headers.items()}


@pytest.mark.parametrize("cors", [None, [SHOP], ["*"]], ids=["default", "one-origin", "star"])
async def test_the_desk_never_answers_another_origin(engine: Engine, cors: Optional[list]) -> None:
    desk = AgentDeskInput(handoff_settings(), engine=engine, cookie_secure=False)
    async with served_rasa_app([desk, RestInput(Secret("t"))], RecordingAgent(), cors=cors) as port:
        for path in DESK_PATHS:
            for method in ("GET", "OPTIONS"):
                headers = await cross_origin(port, path, method)
                assert "access-control-allow-origin" not in headers, (path, method, headers)
                assert "access-control-allow-credentials" not in headers
        rest = await cross_origin(port, "/webhooks/rest/")
        if cors is None:
            assert "access-control-allow-origin" not in rest  # off by default
        else:
            assert rest["access-control-allow-origin"] in (SHOP, "*")
            assert "access-control-allow-credentials" not in rest  # never with credentials
