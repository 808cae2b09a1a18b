"""Shared helpers for the WhatsApp Cloud tests (no tests of its own).

:func:`running_channel` serves the channel exactly as ``rasa run`` does: Rasa's
``configure_app`` registers it, a real Sanic server listens on a free port and
requests go over real HTTP.  ``app.ctx.agent`` is a :class:`RecordingAgent` (route
tests) or the session's real ``majlis_agent`` (end-to-end tests).
"""
from __future__ import annotations

import json
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Mapping, Optional, Tuple

import aiohttp
from rasa.core.channels.channel import UserMessage
from rasa.core.run import configure_app
from sanic import Sanic

from bot.config import Config, Secret
from bot.delivery import DeliveryStore, RetryPolicy
from bot.storage import create_engine
from channels.meta.graph import SIGNATURE_HEADER, sign
from channels.whatsapp_cloud.settings import WhatsAppSettings
from channels.whatsapp_cloud.channel import WhatsAppCloudInput
from tests.conftest import FIXTURES_ROOT, free_port

FIXTURES = FIXTURES_ROOT / "whatsapp"
SIGNATURE_VECTORS = FIXTURES_ROOT / "signatures" / "meta_x_hub_signature_256_vectors.json"
WEBHOOK_PATH = "/webhooks/whatsapp_cloud/webhook"

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "meatyhamhock"
#: The business numbers the pywa fixtures were captured on, each with its own token.
NUMBERS = {
    "1122334455667": {"token": "token-brand-a", "template": "reengage", "template_language": "ar"},
    "106540352242922": {"token": "token-brand-b"},
    "<BUSINESS_PHONE_NUMBER_ID>": {"token": "token-brand-c"},
}
PHONE_NUMBER_ID = "1122334455667"

#: Backoff small enough for tests, same shape as production.
FAST_RETRY_ENV = {"DELIVERY_MAX_ATTEMPTS": "4", "DELIVERY_BACKOFF_BASE": "0.05", "DELIVERY_BACKOFF_MAX": "0.2"}
#: The recorded fixtures were sent in 2023-2025: messages older than the dedupe retention are
#: refused as replays (channels._replay), so the harness keeps records for a century.  The
#: replay tests pass ``DELIVERY_RETENTION_DAYS`` themselves.
FIXTURE_RETENTION_ENV = {"DELIVERY_RETENTION_DAYS": "36500"}
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=0.2, min_delay=0.01)


def fixture_names() -> List[str]:
    """Every WhatsApp webhook body in tests/fixtures/whatsapp (pywa's, see tests/fixtures/SOURCES.md)."""
    return sorted(p.name for p in FIXTURES.glob("*.json") if p.name != "verification_requests.json")


def fixture_bytes(name: str) -> bytes:
    """The file's bytes exactly as stored (posted as-is, so they are what is signed)."""
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Dict[str, Any]:
    return json.loads(fixture_bytes(name))


def settings(graph_url: str = "http://127.0.0.1:9/v21.0", **env: str) -> WhatsAppSettings:
    """Channel settings from a test environment (``WHATSAPP_*`` names)."""
    environ = {
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_NUMBERS": json.dumps(NUMBERS),
        "WHATSAPP_GRAPH_URL": graph_url,
        "WHATSAPP_TIMEOUT": "1",
        **FAST_RETRY_ENV,
        **FIXTURE_RETENTION_ENV,
        **env,
    }
    return WhatsAppSettings.from_config(Config(environ))


def make_channel(config: WhatsAppSettings, store: Optional[DeliveryStore] = None) -> WhatsAppCloudInput:
    """The channel on a fresh in-memory database (unless a store is given)."""
    return WhatsAppCloudInput(config, store=store or DeliveryStore(create_engine("sqlite://")))


@dataclass
class RecordingAgent:
    """Stands in for Rasa's Agent: records messages, optionally answers each one."""

    reply: Any = ""
    """Text, or a whole Rasa response dict, or a list of responses, sent back to each message."""
    messages: List[UserMessage] = field(default_factory=list)

    async def handle_message(self, message: UserMessage) -> None:
        self.messages.append(message)
        replies = self.reply if isinstance(self.reply, list) else [self.reply]
        for reply in replies:
            if reply:
                response = reply if isinstance(reply, dict) else {"text": reply}
                await message.output_channel.send_response(message.sender_id, dict(response))


@dataclass
class RunningChannel:
    """A served channel and an HTTP client for it."""

    channel: WhatsAppCloudInput
    base_url: str
    session: aiohttp.ClientSession
    app_secret: str = APP_SECRET

    def url(self, path: str = WEBHOOK_PATH) -> str:
        return f"{self.base_url}{path}"

    async def post(self, raw: bytes, headers: Mapping[str, str]) -> Tuple[int, str]:
        async with self.session.post(self.url(), data=raw, headers=dict(headers)) as answer:
            return answer.status, await answer.text()

    async def post_signed(self, raw: bytes, *, content_type: str = "application/json") -> Tuple[int, str]:
        """POST raw bytes with a valid signature."""
        headers = {"Content-Type": content_type, SIGNATURE_HEADER: sign(raw, Secret(self.app_secret))}
        return await self.post(raw, headers)

    async def get(self, path_and_query: str) -> Tuple[int, str]:
        async with self.session.get(f"{self.base_url}{path_and_query}") as answer:
            return answer.status, await answer.text()


@asynccontextmanager
async def running_channel(channel: WhatsAppCloudInput, agent: Any) -> AsyncIterator[RunningChannel]:
    """Serve ``channel`` through Rasa's ``configure_app`` on a real Sanic server."""
    Sanic.test_mode = True  # Rasa names every app alike; allow one per test
    port = free_port()
    app = configure_app([channel], enable_api=False, port=port)
    app.ctx.agent = agent
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        async with aiohttp.ClientSession() as session:
            yield RunningChannel(channel=channel, base_url=f"http://127.0.0.1:{port}", session=session)
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()


def fixture_path(*parts: str) -> Path:
    """A file under tests/fixtures (third-party payloads copied into the repo, see SOURCES.md)."""
    return FIXTURES_ROOT.joinpath(*parts)


def text_of(request: Any) -> str:
    """The text a recorded Graph API send shows the customer ("" for media, templates)."""
    body = request.json
    if body["type"] == "text":
        return body["text"]["body"]
    if body["type"] == "interactive":
        return body["interactive"]["body"]["text"]
    return ""
