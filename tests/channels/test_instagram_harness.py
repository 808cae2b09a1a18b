"""Shared helpers for the Instagram tests (no tests of its own).

The channel is served exactly as ``rasa run`` serves it (Rasa's ``configure_app``
on a real Sanic server, :func:`tests.channels.whatsapp_harness.running_channel`);
requests go over real HTTP with real ``X-Hub-Signature-256`` headers, and replies
go to :class:`tests.fakes.fake_instagram_graph.FakeInstagramGraph`.
"""
from __future__ import annotations

import json
from contextlib import asynccontextmanager
from datetime import datetime
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Dict, List, Mapping, Optional, Sequence, Tuple

import aiohttp
from rasa.core.channels.channel import UserMessage

from bot.config import Config, Secret
from bot.delivery import DeliveryStore, InboxState, RetryPolicy, utcnow
from bot.storage import create_engine
from channels.instagram.settings import InstagramSettings
from channels.meta.graph import SIGNATURE_HEADER, sign
from channels.instagram.channel import InstagramInput
from tests.channels.whatsapp_harness import running_channel
from tests.conftest import FIXTURES_ROOT

FIXTURES = FIXTURES_ROOT / "instagram"
WEBHOOK_PATH = "/webhooks/instagram/webhook"
APP_SECRET = "test-instagram-app-secret"
VERIFY_TOKEN = "ig-verify-token"
ACCESS_TOKEN = "ig-user-token"
ACCOUNT = "17841400000000001"
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=0.2, min_delay=0.01)
#: A moment all built events share (epoch milliseconds, as Meta sends).
NOW_MS = 1_900_000_000_000


def fixture_names() -> List[str]:
    """Every webhook body in tests/fixtures/instagram (Chatwoot's, see tests/fixtures/SOURCES.md)."""
    return sorted(p.name for p in FIXTURES.glob("*.json"))


def fixture_bytes(name: str) -> bytes:
    """The file's bytes as stored: posted unchanged, so they are exactly what is signed."""
    return (FIXTURES / name).read_bytes()


def settings(graph_url: str = "http://127.0.0.1:9/v21.0", **env: str) -> InstagramSettings:
    """Channel settings from a test environment (``INSTAGRAM_*`` names)."""
    environ = {
        "INSTAGRAM_APP_SECRET": APP_SECRET,
        "INSTAGRAM_VERIFY_TOKEN": VERIFY_TOKEN,
        "INSTAGRAM_ACCESS_TOKEN": ACCESS_TOKEN,
        "INSTAGRAM_GRAPH_URL": graph_url,
        "INSTAGRAM_TIMEOUT": "1",
        **env,
    }
    return InstagramSettings.from_config(Config(environ))


class Clock:
    """A settable clock for the channel (``clock.now = …``); real time until set."""

    def __init__(self, now: Optional[datetime] = None) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now or utcnow()


def make_channel(config: InstagramSettings, clock: Optional[Clock] = None) -> InstagramInput:
    """The channel on a fresh in-memory database."""
    return InstagramInput(config, store=DeliveryStore(create_engine("sqlite://")), retry=FAST_RETRY,
                          clock=clock or Clock())


def message_event(customer: str, text: str = "", *, mid: str, account: str = ACCOUNT, at_ms: int = NOW_MS,
                   **message: Any) -> Dict[str, Any]:
    """One ``messaging[]`` item in Meta's shape (a customer's message unless ``is_echo``)."""
    body: Dict[str, Any] = {"mid": mid, **message}
    if text:
        body["text"] = text
    sender, recipient = (account, customer) if message.get("is_echo") else (customer, account)
    return {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": at_ms, "message": body}


def webhook_body(*events: Mapping[str, Any], account: str = ACCOUNT, key: str = "messaging") -> bytes:
    """A Meta-shaped webhook body with ``events`` in one entry, as compact bytes."""
    entry = {"id": account, "time": NOW_MS, key: list(events)}
    return json.dumps({"object": "instagram", "entry": [entry]}, ensure_ascii=True).encode()


def comment_change(comment_id: str, text: str, *, author: str = "commenter-1", media_id: str = "media-1",
                   username: str = "customer_one", **extra: Any) -> Dict[str, Any]:
    """A ``changes[]`` item of field ``comments`` (Meta's examples page shape)."""
    return {"field": "comments", "value": {"from": {"id": author, "username": username},
                                           "media": {"id": media_id, "media_product_type": "FEED"},
                                           "id": comment_id, "text": text, **extra}}


@dataclass
class RecordingAgent:
    """Stands in for Rasa's Agent: records messages, answers each with ``reply``.

    Args:
        reply: a Rasa response dict sent back (``{"text": …, "buttons": […]}``); None: silent.
    """

    reply: Optional[Dict[str, Any]] = None
    messages: List[UserMessage] = field(default_factory=list)
    tracker_store: Any = None

    async def handle_message(self, message: UserMessage) -> None:
        self.messages.append(message)
        if self.reply:
            await message.output_channel.send_response(message.sender_id, dict(self.reply))

    @property
    def texts(self) -> List[str]:
        return [m.text for m in self.messages]


@dataclass
class Served:
    """A served channel and a signed HTTP client for it."""

    channel: InstagramInput
    base_url: str
    session: aiohttp.ClientSession

    async def post(self, raw: bytes, headers: Optional[Mapping[str, str]] = None) -> Tuple[int, str]:
        async with self.session.post(self.base_url + WEBHOOK_PATH, data=raw, headers=dict(headers or {})) as answer:
            return answer.status, await answer.text()

    async def post_signed(self, raw: bytes, secret: str = APP_SECRET) -> Tuple[int, str]:
        """POST raw bytes with the signature Meta would send."""
        return await self.post(raw, {"Content-Type": "application/json", SIGNATURE_HEADER: sign(raw, Secret(secret))})

    async def get(self, path_and_query: str) -> Tuple[int, str]:
        async with self.session.get(self.base_url + path_and_query) as answer:
            return answer.status, await answer.text()

    async def deliver(self, raw: bytes) -> None:
        """POST signed, expect 200, wait until everything is processed and sent."""
        status, text = await self.post_signed(raw)
        assert status == 200, text
        await self.channel.delivery.drain()

    async def inbox_state(self, event_id: str) -> Optional[InboxState]:
        found = await self.channel.delivery.store.inbound("instagram", event_id)
        return found[1] if found else None


@asynccontextmanager
async def serve(channel: InstagramInput, agent: Any) -> AsyncIterator[Served]:
    """Serve the Instagram channel through Rasa's ``configure_app`` on a real port."""
    async with running_channel(channel, agent) as running:  # type: ignore[arg-type]
        yield Served(channel=channel, base_url=running.base_url, session=running.session)


def sent_texts(bodies: Sequence[Mapping[str, Any]]) -> List[str]:
    return [b["message"]["text"] for b in bodies if "message" in b and isinstance(b["message"], dict)
            and "text" in b["message"]]
