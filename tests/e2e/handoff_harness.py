"""Serving a customer channel + the agent desk in one Rasa app, as ``rasa run`` does (no tests here).

:func:`served_majlis` (WhatsApp Cloud) and :func:`served_webchat` (web chat) register
the channel and the desk through Rasa's ``configure_app`` on a
real Sanic server; calling it again with the same database and port is a restart:
new channel objects, new desk services, nothing kept in memory.
"""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional

import yaml
from rasa.core.run import configure_app
from sanic import Sanic
from sqlalchemy.engine import Engine

from bot.config import Config
from bot.delivery import DeliveryStore
from bot.handoff.config import ROOT, HandoffSettings, parse_settings
from bot.agent_desk.channel import AgentDeskInput
from channels.webchat.channel import WebChatInput
from channels.whatsapp_cloud.channel import WhatsAppCloudInput
from tests.channels.whatsapp_harness import APP_SECRET, PHONE_NUMBER_ID, WEBHOOK_PATH, settings
from tests.fakes.fake_customer import FakeCustomer

DESK = "/webhooks/agent_desk"
ARTIFACTS = ROOT / "test-artifacts" / "handoff"
WEBCHAT_PAGE = "/webhooks/webchat/"


def handoff_settings(**env: str) -> HandoffSettings:
    """handoff.yml as shipped, open around the clock (tests run at any hour)."""
    data = yaml.safe_load((ROOT / "handoff.yml").read_text(encoding="utf-8"))
    return parse_settings(data, Config({"MAJLIS_BUSINESS_HOURS": "always", "MAJLIS_HANDOFF_UPDATE_SECONDS": "0",
                                        **env}))


@dataclass
class Served:
    """A running Majlis: the channels and where to reach it."""

    whatsapp: WhatsAppCloudInput
    desk: AgentDeskInput
    base_url: str

    def customer(self, sender: str) -> FakeCustomer:
        return FakeCustomer(f"{self.base_url}{WEBHOOK_PATH}", APP_SECRET, PHONE_NUMBER_ID, sender)

    async def settle(self, timeout: float = 120.0) -> None:
        """Wait until every accepted message was processed and every reply sent."""
        await self.whatsapp.delivery.drain(timeout=timeout)
        await asyncio.sleep(0.2)
        await self.whatsapp.delivery.drain(timeout=timeout)


@asynccontextmanager
async def serving(input_channels: List[Any], agent: Any, port: int, cors: Optional[str] = None,
                  app_config: Optional[Dict[str, Any]] = None) -> AsyncIterator[str]:
    """Serve ``input_channels`` through Rasa's ``configure_app`` around ``agent``; yields the base URL.

    ``cors``: as ``rasa run --cors``; ``app_config``: Sanic settings (e.g. ``PROXIES_COUNT``).
    """
    Sanic.test_mode = True
    app = configure_app(input_channels, cors=cors, enable_api=False, port=port)
    app.config.update(app_config or {})
    app.ctx.agent = agent
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.before_stop()
        server.close()
        # Like a real process exit: drop the browser's keep-alive and event-stream
        # connections, or they would go on talking to the stopped app.
        for connection in list(server.connections):
            if not connection.close_if_idle():
                connection.abort()
        await server.wait_closed()
        await server.after_stop()


@asynccontextmanager
async def served_majlis(agent: Any, engine: Engine, graph_url: str, port: int,
                        handoff: Optional[HandoffSettings] = None) -> AsyncIterator[Served]:
    """Serve WhatsApp Cloud and the agent desk around ``agent`` on ``port``."""
    whatsapp = WhatsAppCloudInput(settings(graph_url), store=DeliveryStore(engine))
    desk = AgentDeskInput(handoff or handoff_settings(), engine=engine, cookie_secure=False)
    async with serving([whatsapp, desk], agent, port) as base_url:
        yield Served(whatsapp=whatsapp, desk=desk, base_url=base_url)


@dataclass
class ServedWebChat:
    """A running Majlis with the web chat: the channels and where to reach it."""

    webchat: WebChatInput
    desk: AgentDeskInput
    base_url: str

    @property
    def chat_url(self) -> str:
        return f"{self.base_url}{WEBCHAT_PAGE}"

    async def settle(self, timeout: float = 120.0) -> None:
        """Wait until every accepted message was processed."""
        assert self.webchat.delivery is not None
        await self.webchat.delivery.drain(timeout=timeout)
        await asyncio.sleep(0.2)
        await self.webchat.delivery.drain(timeout=timeout)


@asynccontextmanager
async def served_webchat(agent: Any, engine: Engine, port: int,
                         handoff: Optional[HandoffSettings] = None) -> AsyncIterator[ServedWebChat]:
    """Serve the web chat and the agent desk around ``agent`` on ``port``."""
    webchat = WebChatInput(store=DeliveryStore(engine))
    desk = AgentDeskInput(handoff or handoff_settings(), engine=engine, cookie_secure=False)
    async with serving([webchat, desk], agent, port) as base_url:
        yield ServedWebChat(webchat=webchat, desk=desk, base_url=base_url)


def texts_to(graph: Any, customer: str) -> List[str]:
    """Bodies of the text messages the fake Graph API accepted for ``customer``, in order."""
    found = []
    for request in graph.messages():
        body: Dict[str, Any] = request.json
        if body.get("to") == customer:
            found.append((body.get("text") or {}).get("body") or (body.get("interactive") or {}).get("body", {}).get("text", ""))
    return found


def artifact(name: str, folder: str = "handoff") -> Path:
    """A screenshot's path under test-artifacts/<folder>/."""
    directory = ARTIFACTS.parent / folder
    directory.mkdir(parents=True, exist_ok=True)
    return directory / name
