"""A served agent desk without the trained model: the Rasa agent and trackers are stand-ins.

Handoffs are created straight in the store; their "tracker" events come from
:class:`FakeTrackers`, so routes, auth, CSRF, XSS and webhooks are tested in seconds.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Callable, Dict, List, Optional

import aiohttp
import pytest
from sqlalchemy.engine import Engine

from bot.agent_desk.accounts import AccountStore
from bot.config import Config
from bot.identity import sender_id
from bot.storage import create_engine, migrate
from bot.agent_desk.channel import AgentDeskInput
from tests.conftest import free_port
from tests.e2e.handoff_harness import DESK, handoff_settings, serving

PASSWORDS = {"noura@example.com": "noura-pass-123", "john@example.com": "john-pass-1234",
             "sup@example.com": "sup-pass-12345", "tina@example.com": "trainer-pass-1"}


@dataclass
class FakeTrackers:
    """Tracker events per sender id; appended events are recorded."""

    events_by_sender: Dict[str, List[Dict[str, Any]]] = field(default_factory=dict)
    appended: List[Any] = field(default_factory=list)

    async def events(self, sender_id: str) -> List[Dict[str, Any]]:
        return self.events_by_sender.get(sender_id, [])

    async def append(self, sender_id: str, build: Any) -> List[Any]:
        events = list(build(_FakeTracker()))
        self.appended.append((sender_id, events))
        return events


class _FakeTracker:
    slots: Dict[str, Any] = {"requested_human": None}

    def is_paused(self) -> bool:
        return True


class StubAgent:
    """Enough of Rasa's Agent for the desk to start (the gate wraps handle_message)."""

    processor = None

    def is_ready(self) -> bool:
        return False

    async def handle_message(self, message: Any) -> None:
        return None


def user_event(text: str, *, intent: str = "order_status", name: str = "Customer", entities: Optional[list] = None,
               language: str = "ar") -> Dict[str, Any]:
    return {"event": "user", "text": text, "timestamp": datetime.now(timezone.utc).timestamp(),
            "message_id": f"wamid.{abs(hash(text))}", "metadata": {"customer": {"profile_name": name, "wa_id": "9715"}},
            "parse_data": {"intent": {"name": intent, "confidence": 0.93},
                           "intent_ranking": [{"name": intent, "confidence": 0.93}, {"name": "inform", "confidence": 0.04}],
                           "entities": entities or [], "language": {"code": language, "form": "arabic", "clear": True}}}


@dataclass
class Desk:
    base_url: str
    channel: AgentDeskInput
    trackers: FakeTrackers
    session: aiohttp.ClientSession

    @property
    def app(self) -> Any:
        assert self.channel.desk is not None
        return self.channel.desk

    def url(self, path: str) -> str:
        return f"{self.base_url}{DESK}{path}"

    async def create_handoff(self, customer: str, *, queue: str = "general", language: str = "ar",
                             events: Optional[List[Dict[str, Any]]] = None, **context: Any):
        # The handoff names the customer by Rasa's (namespaced) sender id, as the tracker store does.
        self.trackers.events_by_sender[sender_id("whatsapp_cloud", customer)] = \
            events or [user_event("أبي أكلم موظف", intent="talk_to_human")]
        record, _ = await self.app.service.store.create(
            channel="whatsapp_cloud", account="1122334455667", customer=customer, queue=queue, language=language,
            priority=2, reason="customer_request", now=datetime.now(timezone.utc), event={},
            context={"signals": ["intent:talk_to_human"], "summary": {"ar": "ملخص", "en": "summary"}, **context})
        await self.app.service.flush_events()
        return record


async def login(session: aiohttp.ClientSession, desk_url: str, email: str) -> str:
    """Sign in through the form; returns the session's CSRF token (from the desk page)."""
    async with session.get(f"{desk_url}/login") as answer:
        page = await answer.text()
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    async with session.post(f"{desk_url}/login", data={"csrf_token": token, "email": email,
                                                       "password": PASSWORDS[email]}) as answer:
        assert answer.status == 200, await answer.text()  # followed the 303 to the desk
        desk_page = await answer.text()
    return desk_page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


@asynccontextmanager
async def serve_desk(tmp_path: Any, *, engine: Optional[Engine] = None, cookie_secure: Optional[bool] = False,
                     cors: Optional[str] = None, app_config: Optional[Dict[str, Any]] = None,
                     channels: Optional[Callable[[Engine], List[Any]]] = None, **env: str) -> AsyncIterator[Desk]:
    """A served desk with four accounts; ``engine``: a migrated, empty database (default SQLite).

    ``cors`` and ``app_config`` are passed to the server (tests/e2e/handoff_harness.serving);
    ``channels(engine)``: customer channels served beside the desk (their reply windows reach the queue).
    """
    owned = engine is None
    if engine is None:
        engine = create_engine(f"sqlite:///{tmp_path / 'desk.sqlite'}")
        migrate(engine)
    accounts = AccountStore(engine)
    accounts.create_agent(email="noura@example.com", password=PASSWORDS["noura@example.com"], role="agent",
                          languages=["ar"], queues=["general"], display_name="Noura")
    accounts.create_agent(email="john@example.com", password=PASSWORDS["john@example.com"], role="agent",
                          languages=["en"], queues=["billing"], display_name="John")
    accounts.create_agent(email="sup@example.com", password=PASSWORDS["sup@example.com"], role="supervisor",
                          languages=["ar", "en"], queues=["*"], display_name="Sup")
    accounts.create_agent(email="tina@example.com", password=PASSWORDS["tina@example.com"], role="trainer",
                          languages=["ar", "en"], queues=["*"], display_name="Tina")
    accounts.shutdown()
    channel = AgentDeskInput(handoff_settings(**env), engine=engine, cookie_secure=cookie_secure,
                             cfg=Config({"MAJLIS_DESK_SECURE_COOKIE": "auto", **env}))
    trackers = FakeTrackers()
    try:
        served = [*(channels(engine) if channels else []), channel]
        async with serving(served, StubAgent(), free_port(), cors=cors, app_config=app_config) as base_url:
            assert channel.desk is not None
            channel.desk.service.trackers = trackers
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
                yield Desk(base_url=base_url, channel=channel, trackers=trackers, session=session)
    finally:
        if owned:
            engine.dispose()


@pytest.fixture
async def desk(tmp_path: Any) -> AsyncIterator[Desk]:
    async with serve_desk(tmp_path) as served:
        yield served


__all__ = ["Config", "Desk", "FakeTrackers", "login", "serve_desk", "user_event"]
