"""Web chat over real socket.io: page and assets, durable delivery, dedupe, entry source, logs."""
from __future__ import annotations

import asyncio
import json
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple

import websockets

from bot.delivery import DeliveryStore, RetryPolicy
from bot.storage import create_engine
from channels.webchat.channel import CSP, WebChatInput
from channels.webchat.parse import MAX_TEXT_CHARS
from channels.webchat.payloads import agent_joined
from tests.channels.test_instagram_harness import RecordingAgent
from tests.channels.whatsapp_harness import running_channel
from tests.logs import printed

SOCKET_PATH = "/webchat/socket.io"
FAST_RETRY = RetryPolicy(max_attempts=40, base_delay=0.05, max_delay=0.2, min_delay=0.02)


def make_channel() -> WebChatInput:
    return WebChatInput(store=DeliveryStore(create_engine("sqlite://")), retry=FAST_RETRY)


class Page:
    """The chat page's side of the protocol, as webchat.js speaks it: Socket.IO v5 packets
    over the Engine.IO v4 WebSocket transport (``websockets``; python-socketio's client
    needs a newer aiohttp for WebSockets).

    ``token``: the session token the page kept (None: ask for a new session);
    ``session_id``: a browser-chosen id sent instead (what a forger tries);
    ``origin``: the Origin header (default: the served page's own);
    ``auth``: the Socket.IO connect payload (``{"token": <JWT>}`` when the channel has a ``jwt_key``).
    """

    def __init__(self, base_url: str, token: Optional[str] = None, *, session_id: Optional[str] = None,
                 origin: Optional[str] = "same", identity: Optional[str] = None,
                 auth: Optional[Dict[str, Any]] = None) -> None:
        self.url = base_url.replace("http://", "ws://") + SOCKET_PATH + "/?EIO=4&transport=websocket"
        self.origin = base_url if origin == "same" else origin
        self.token = token
        self.forged_id = session_id
        self.identity = identity
        self.auth = auth
        self.session_id: Optional[str] = None
        self.verified = False
        self.received: List[Dict[str, Any]] = []
        self.events: List[Tuple[str, Any]] = []
        self.typing: List[bool] = []
        self.connect_error: Optional[Dict[str, Any]] = None
        self._acks: Dict[str, asyncio.Future] = {}
        self._next_ack = 0
        self._connected = asyncio.Event()
        self._answered = asyncio.Event()

    async def connect(self) -> "Page":
        """Open the socket.io connection (``connect_error`` is kept, not raised)."""
        self.ws = await websockets.connect(self.url, origin=self.origin)
        self._reader = asyncio.get_running_loop().create_task(self._read())
        await asyncio.wait_for(self._connected.wait(), 5)
        return self

    async def open(self) -> "Page":
        """Connect and ask for the session (confirmed or refused)."""
        await self.connect()
        assert self.connect_error is None, self.connect_error
        request: Dict[str, Any] = {}
        if self.token is not None:
            request["token"] = self.token
        if self.forged_id is not None:
            request["session_id"] = self.forged_id
        if self.identity is not None:
            request["identity"] = self.identity
        await self.emit("session_request", request)
        await asyncio.wait_for(self._answered.wait(), 5)
        return self

    @property
    def refused(self) -> bool:
        return any(name == "session_refused" for name, _ in self.events)

    async def _read(self) -> None:
        async for frame in self.ws:
            if frame == "2":
                await self.ws.send("3")
            elif frame.startswith("0"):
                await self.ws.send("40" + (json.dumps(self.auth) if self.auth is not None else ""))
            elif frame.startswith("40"):
                self._connected.set()
            elif frame.startswith("44"):
                self.connect_error = json.loads(frame[2:])
                self._connected.set()
            elif frame.startswith(("42", "43")):
                start = frame.index("[")
                args = json.loads(frame[start:])
                if frame.startswith("43"):
                    self._acks.pop(frame[2:start]).set_result(args[0])
                    continue
                self.events.append((args[0], args[1] if len(args) > 1 else None))
                if args[0] == "session_confirm":
                    self.session_id, self.token = args[1]["session_id"], args[1]["token"]
                    self.verified = args[1]["verified"]
                    self._answered.set()
                elif args[0] == "session_refused":
                    self._answered.set()
                elif args[0] == "bot_uttered":
                    self.received.append(args[1])
                elif args[0] == "bot_typing":
                    self.typing.append(args[1]["typing"])

    async def emit(self, event: str, data: Any, ack: bool = False) -> Any:
        ack_id = ""
        if ack:
            self._next_ack += 1
            ack_id = str(self._next_ack)
            self._acks[ack_id] = asyncio.get_running_loop().create_future()
        await self.ws.send("42" + ack_id + json.dumps([event, data]))
        return await asyncio.wait_for(self._acks[ack_id], 5) if ack else None

    async def say(self, text: str, message_id: str, **metadata: Any) -> Optional[Dict[str, Any]]:
        data = {"message": text, "message_id": message_id, "metadata": metadata}
        return await self.emit("user_uttered", data, ack=True)

    async def wait_for(self, count: int, timeout: float = 10) -> List[Dict[str, Any]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.received) < count:
            assert asyncio.get_running_loop().time() < deadline, f"got {self.received}"
            await asyncio.sleep(0.02)
        return self.received

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()


@asynccontextmanager
async def served(channel: WebChatInput, agent: Any) -> AsyncIterator[str]:
    async with running_channel(channel, agent) as running:  # type: ignore[arg-type]
        yield running.base_url


async def test_page_assets_and_health() -> None:
    async with served(make_channel(), RecordingAgent()) as base:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/webhooks/webchat/?src=snapchat&campaign=ramadan") as page:
                html = await page.text()
                assert page.status == 200 and page.headers["Content-Security-Policy"] == CSP
                assert 'data-socket-path="/webchat/socket.io"' in html and "<script>" not in html
            async with http.get(f"{base}/webhooks/webchat/static/webchat.js") as js:
                source = await js.text()
                assert js.status == 200 and js.headers["Content-Type"].startswith("text/javascript")
                assert "innerHTML" not in source and "textContent" in source
            async with http.get(f"{base}/webhooks/webchat/static/webchat.css") as css:
                assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")
            for path in ("static/../channels/webchat/channel.py", "static/index.html", "static/x.js"):
                async with http.get(f"{base}/webhooks/webchat/{path}") as missing:
                    assert missing.status == 404
            async with http.get(f"{base}/webhooks/webchat/health") as health:
                assert health.status == 200 and await health.json() == {"status": "ok"}


async def test_message_answered_once_with_buttons_typing_and_entry_source() -> None:
    buttons = [{"title": "فاتورتي", "payload": "/check_bill"}, {"title": "أكلم موظف", "payload": "/talk_to_human"}]
    agent = RecordingAgent(reply={"text": "أهلاً! كيف أقدر أساعدك؟", "buttons": buttons})
    channel = make_channel()
    async with served(channel, agent) as base:
        page = await Page(base).open()
        entry = {"source": "snapchat", "campaign": "ramadan"}
        assert await page.say("مرحبا", "client-1", entry_source=entry) == {"accepted": True, "message_id": "client-1"}
        assert await page.say("مرحبا", "client-1", entry_source=entry) == {"accepted": True, "message_id": "client-1"}
        await channel.delivery.drain()
        received = await page.wait_for(1)
        source = await channel.entry_sources.get("webchat", page.session_id)
        await page.close()
    assert agent.texts == ["مرحبا"]
    message = agent.messages[0]
    assert message.sender_id == f"webchat:{page.session_id}" and message.input_channel == "webchat"
    assert message.metadata["entry_source"] == {"ref": "snap-ramadan", "source": "snapchat", "campaign": "ramadan"}
    assert received == [{"text": "أهلاً! كيف أقدر أساعدك؟", "quick_replies": [
        {"content_type": "text", "title": "فاتورتي", "payload": "/check_bill"},
        {"content_type": "text", "title": "أكلم موظف", "payload": "/talk_to_human"}]}]
    assert page.typing[:1] == [True] and page.typing[-1] is False
    assert source is not None and source[0].ref == "snap-ramadan"


async def test_bad_messages_are_refused_and_never_reach_the_bot() -> None:
    agent = RecordingAgent(reply={"text": "no"})
    async with served(make_channel(), agent) as base:
        page = await Page(base).open()
        assert (await page.say("   ", "c1"))["accepted"] is False
        too_long = await page.say("x" * (MAX_TEXT_CHARS + 1), "c2")
        assert too_long == {"accepted": False, "error": "invalid_message", "max_chars": MAX_TEXT_CHARS}
        refused = await page.emit("user_uttered", {"message": "hi", "session_id": "../../etc"}, ack=True)
        assert refused == {"accepted": False, "error": "invalid_session"}
        assert (await page.emit("user_uttered", ["not", "a", "dict"], ack=True))["accepted"] is False
        forged = await page.say("hello", "c3", entry_source={"source": "<script>", "campaign": "x y"})
        assert forged["accepted"] is True
        await asyncio.sleep(0.3)
        await page.close()
    assert agent.texts == ["hello"]
    assert agent.messages[0].metadata["entry_source"] is None


async def test_reply_waits_for_a_closed_page_and_agent_joined_notice() -> None:
    """A message queued while the page is closed reaches it after a reload (nothing lost)."""
    channel = make_channel()
    async with served(channel, RecordingAgent()) as base:
        output = channel.get_output_channel()
        assert output is not None
        session_id, token = channel.tokens.issue()
        await output.send_response(f"webchat:{session_id}", {"custom": agent_joined("Sara")})
        await output.send_response(f"webchat:{session_id}", {"text": "Hi, Sara from customer care here."})
        await asyncio.sleep(0.3)  # attempts fail: nobody is connected
        page = await Page(base, token).open()
        assert page.session_id == session_id
        received = await page.wait_for(2)
        await page.close()
    assert received == [{"custom": {"majlis": "agent_joined", "agent": {"name": "Sara"}}},
                        {"text": "Hi, Sara from customer care here."}]


async def test_no_personal_data_logged_at_info(caplog) -> None:
    agent = RecordingAgent(reply={"text": "Thanks Fatima"})
    with caplog.at_level(logging.INFO):
        async with served(make_channel(), agent) as base:
            page = await Page(base).open()
            await page.say("I am Fatima, 0501234567", "c1")
            await page.say("", "c2")
            await page.wait_for(1)
            await page.close()
    info = printed(caplog.records)  # tracebacks included
    for private in ("Fatima", "0501234567", page.session_id, page.token):
        assert private not in info
