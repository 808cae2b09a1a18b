"""Shared helpers for the Twilio WhatsApp tests (no tests of its own).

:func:`running_channel` serves the channel exactly as ``rasa run`` does: Rasa's
``configure_app`` registers it, a real Sanic server listens on a free port, and
requests go over real HTTP (the server part is tests/channels/whatsapp_harness.py's). ``app.ctx.agent`` is a :class:`RecordingAgent` (route
tests) or the session's real ``majlis_agent`` (end-to-end tests).
"""
from __future__ import annotations

import json
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Mapping, Optional, Tuple
from urllib.parse import parse_qs, urlencode

import aiohttp
from rasa.core.channels.channel import UserMessage

from bot.config import Config
from bot.delivery import DeliveryStore, RetryPolicy
from bot.storage import create_engine
from channels.twilio.settings import TwilioSettings
from channels.twilio.signature import SIGNATURE_HEADER, compute_signature
from channels.twilio.channel import TwilioWhatsAppInput
from tests.channels.whatsapp_harness import running_channel as serve_channel
from tests.conftest import FIXTURES_ROOT

#: The account the BotBuilder-Community fixtures were captured on.
ACCOUNT_SID = "AC1a03647d811fab342c0ad608e382fab2"
AUTH_TOKEN = "test-twilio-auth-token"
WEBHOOK_PATH = "/webhooks/twilio_whatsapp/webhook"
STATUS_PATH = "/webhooks/twilio_whatsapp/status"
FIXTURES = FIXTURES_ROOT / "twilio"
SIGNATURE_VECTORS = FIXTURES_ROOT / "signatures" / "twilio_request_validator_vectors.json"

#: The customer of the synthetic messages (a UAE mobile number).
CUSTOMER = "+971501234567"

#: Backoff small enough for tests, same shape as production.
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=0.2, min_delay=0.01)


def load_fixture(name: str) -> Dict[str, Any]:
    """One file of tests/fixtures/twilio (read-only, written by a third party)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def fixture_names() -> List[str]:
    return sorted(path.name for path in FIXTURES.glob("*.json"))


def settings(env: Optional[Mapping[str, str]] = None, **overrides: str) -> TwilioSettings:
    """Channel settings from a test environment (``TWILIO_*`` names)."""
    environ = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_WHATSAPP_FROM": "whatsapp:+14123456789",
        "TWILIO_TIMEOUT": "0.5",
        **(env or {}),
        **overrides,
    }
    return TwilioSettings.from_config(Config(environ))


def make_channel(config: TwilioSettings, *, retry: RetryPolicy = FAST_RETRY) -> TwilioWhatsAppInput:
    """The channel on a fresh in-memory database."""
    return TwilioWhatsAppInput(config, store=DeliveryStore(create_engine("sqlite://")), retry=retry)


def inbound_body(
    sid: str = "SM" + "1" * 32, body: str = "وين طلبي؟", customer: str = CUSTOMER, **extra: str
) -> str:
    """A WhatsApp text message as Twilio posts it (with ProfileName and WaId), url-encoded."""
    fields = {
        "SmsMessageSid": sid, "NumMedia": "0", "ProfileName": "سارة الكعبي", "SmsSid": sid,
        "WaId": customer[1:], "SmsStatus": "received", "Body": body, "To": "whatsapp:+14155238886",
        "NumSegments": "1", "MessageSid": sid, "AccountSid": ACCOUNT_SID, "From": f"whatsapp:{customer}",
        "ApiVersion": "2010-04-01", **extra,
    }
    return urlencode(fields)


def form_fields(raw_body: str) -> Dict[str, List[str]]:
    return parse_qs(raw_body, keep_blank_values=True)


@dataclass
class RecordingAgent:
    """Stands in for Rasa's Agent: records messages, optionally answers each one.

    Args:
        reply: text sent back through the message's output channel ("" = no reply).
    """

    reply: str = ""
    messages: List[UserMessage] = field(default_factory=list)

    async def handle_message(self, message: UserMessage) -> None:
        self.messages.append(message)
        if self.reply:
            await message.output_channel.send_text_message(message.sender_id, self.reply)


@dataclass
class RunningChannel:
    """A served channel and an HTTP client for it."""

    channel: TwilioWhatsAppInput
    base_url: str
    session: aiohttp.ClientSession

    def url(self, path: str = WEBHOOK_PATH) -> str:
        return f"{self.base_url}{path}"

    async def post(
        self, path: str, body: bytes, headers: Mapping[str, str]
    ) -> Tuple[int, str, str]:
        """POST raw bytes; returns (status, text, content type)."""
        async with self.session.post(self.url(path), data=body, headers=dict(headers)) as answer:
            return answer.status, await answer.text(), answer.headers.get("Content-Type", "")

    async def post_signed(
        self,
        raw_body: str,
        *,
        path: str = WEBHOOK_PATH,
        token: str = AUTH_TOKEN,
        url: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Tuple[int, str, str]:
        """POST a form body signed as Twilio signs it (over ``url``, default the test URL)."""
        signature = compute_signature(token, url or self.url(path), form_fields(raw_body))
        all_headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            SIGNATURE_HEADER: signature,
            **(headers or {}),
        }
        return await self.post(path, raw_body.encode("utf-8"), all_headers)


@asynccontextmanager
async def running_channel(channel: TwilioWhatsAppInput, agent: Any) -> AsyncIterator[RunningChannel]:
    """Serve ``channel`` with the WhatsApp tests' server helper (``configure_app``, real Sanic)."""
    async with serve_channel(channel, agent) as served:  # type: ignore[arg-type]  # any InputChannel
        yield RunningChannel(channel=channel, base_url=served.base_url, session=served.session)


def fixture_path(*parts: str) -> Path:
    """A file under tests/fixtures (third-party payloads copied into the repo, see SOURCES.md)."""
    return FIXTURES_ROOT.joinpath(*parts)
