"""Web chat: Rasa's socket.io channel with Majlis' own page, durable delivery and entry sources.

credentials.yml::

    channels.webchat.channel.WebChatInput:
      socketio_path: /webchat/socket.io     # default; the stock ``socketio:`` keeps /socket.io

Routes (prefix ``/webhooks/webchat``): ``GET /`` the chat page (``?src=snapchat&campaign=…``
records where the customer came from; ``?lang=en`` starts the page in English),
``GET /static/<file>`` its script and style, ``GET /health``.  The socket.io
server listens on ``socketio_path``.

Sessions are issued by the server (docs/security.md#web-chat): ``session_request``
``{"token": <kept token>|absent, "identity": <operator JWT>|absent}`` is answered with
``session_confirm`` ``{"session_id", "token", "verified"}`` (a new session when no token
is given) or ``session_refused`` ``{"error": "invalid_session"}`` (a token that is not
ours, or a session id without its token: the socket joins nothing and receives
nothing).  Only sockets holding a session's token receive its messages, agent
replies included.  The sender id is ``webchat:<session id>``.  Socket.io connections
are refused (``connect_error``) from another origin (unless in
``MAJLIS_WEBCHAT_ORIGINS``) or above the connection rate; messages above the rate
get ``rate_limited`` ``{"retry_after": s}`` and a refused acknowledgement.

Differences from Rasa's :class:`~rasa.core.channels.socketio.SocketIOInput`, whose
events and message shapes it otherwise keeps:

- every message goes through :mod:`bot.delivery`: stored before it is acknowledged,
  deduplicated on the client's ``message_id`` (a re-sent message after a reconnect is
  answered once), processed in order per session; replies wait in the outbox and are
  retried while the customer's page is disconnected, so a reload does not lose them;
- the session room is always used (``enter_room`` awaited: Rasa 3.6 forgets to with
  python-socketio 5, so its persistent sessions never receive replies);
- ``bot_typing`` events (``{"typing": true|false}``) around each bot turn;
- client metadata is not trusted: only ``entry_source`` (validated) and
  ``display_text`` (a tapped button's title) are read; ``input_channel`` is always
  ``webchat``; a customer vouched for by the operator's JWT gets a sealed
  :class:`bot.identity.IdentityProof` in the message metadata, written here;
- a bot message ``{"custom": {"majlis": "agent_joined", "agent": {"name": …}}}`` (and
  ``agent_left``) shows a notice that a person joined (docs/channels/webchat.md).
"""
from __future__ import annotations

import html
import logging
import re
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Mapping, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput
from socketio.exceptions import ConnectionRefusedError as SocketRefused
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.cluster.connected import ConnectedDelivery
from bot.cluster.wiring import make_connected_delivery
from bot.delivery import Delivery, DeliveryStore, InboundItem, OutboundMessage, Outbox, RetryPolicy
from bot.delivery.ports import AgentOutbox, CustomerChannel, ReplyOutbox
from bot.entry_links import METADATA_KEY, EntrySourceStore, from_metadata
from bot.gateway.sweep import InboxSweep, sweep_interval
from bot.identity import PROOF_METADATA_KEY, IdentityProof, provider_id, sender_id
from channels.webchat.parse import MAX_TEXT_CHARS, read_message
from channels.webchat.payloads import (
    AGENT_JOINED,
    AGENT_LEFT,
    agent_joined,
    attachment_body,
    buttons_body,
    custom_body,
    image_body,
    text_body,
)
from channels.webchat.sender import WebChatSender
from channels.webchat.session import (
    Limits,
    OperatorJWT,
    SessionTokens,
    SlidingWindow,
    allowed_origins,
    client_ip,
    origin_allowed,
)

logger = logging.getLogger(__name__)

CHANNEL_NAME = "webchat"
#: The web chat has one business identity; the conversation is the browser session.
ACCOUNT = "webchat"
PAGE_DIR = Path(__file__).resolve().parents[2] / "bot" / "webchat"
STATIC_FILES: Mapping[str, str] = {"webchat.js": "text/javascript; charset=utf-8",
                                   "webchat.css": "text/css; charset=utf-8"}
#: Largest socket.io packet accepted (Engine.IO ``max_http_buffer_size``).
MAX_PACKET_BYTES = 64 * 1024
#: Replies wait for a disconnected page: ~1 s … 30 s apart, for about 8 minutes.
WEBCHAT_RETRY = RetryPolicy(max_attempts=20, base_delay=1.0, max_delay=30.0, min_delay=0.2)
_CLIENT_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: The page may only talk to its own origin; no inline script, so injected text cannot run.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
       "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'")

class WebChatOutput(OutputChannel):
    """Rasa responses as socket.io ``bot_uttered`` payloads, stored in a :class:`bot.delivery.ports.ReplyOutbox`."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    def __init__(self, outbox: ReplyOutbox) -> None:
        self._outbox = outbox

    def outbox_for(self, recipient_id: Text) -> ReplyOutbox:
        """Where a message to ``recipient_id`` is stored (a reply's outbox serves one session)."""
        return self._outbox

    async def _store(self, recipient_id: Text, body: Optional[Mapping[str, Any]], kind: str) -> None:
        if body is not None:
            await self.outbox_for(recipient_id).add(body, kind=kind)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._store(recipient_id, text_body(text), "text")

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        await self._store(recipient_id, buttons_body(text, buttons), "buttons")

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self._store(recipient_id, image_body(image), "image")

    async def send_attachment(self, recipient_id: Text, attachment: Any, **kwargs: Any) -> None:
        await self._store(recipient_id, attachment_body(attachment), "attachment")

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        await self._store(recipient_id, custom_body(json_message), "custom")


class ProactiveOutbox:
    """The :class:`bot.delivery.ports.ReplyOutbox` of unprompted messages to one session (random keys)."""

    def __init__(self, delivery: Delivery, session_id: str) -> None:
        self.delivery, self.session_id = delivery, session_id

    async def add(self, payload: Mapping[str, Any], *, kind: str = "message", free_form: bool = True,
                  key: Optional[str] = None) -> Optional[OutboundMessage]:
        return await self.delivery.enqueue(OutboundMessage(
            channel=CHANNEL_NAME, account=ACCOUNT, customer=self.session_id, payload=payload,
            idempotency_key=key or f"proactive:{uuid.uuid4().hex}", kind=kind))


class ProactiveOutput(WebChatOutput):
    """For Rasa's proactive endpoints: each message to the session named by its recipient id."""

    def __init__(self, delivery: Delivery) -> None:
        self._delivery = delivery

    def outbox_for(self, recipient_id: Text) -> ReplyOutbox:
        return ProactiveOutbox(self._delivery, provider_id(CHANNEL_NAME, recipient_id))


class WebChatInput(SocketIOInput, CustomerChannel):
    """The socket.io channel serving Majlis' chat page (see the module docstring).

    Args:
        store: the delivery store; default: the shared engine (``MAJLIS_DATABASE_URL``).
        retry: backoff while a page is disconnected.
        title: the page title.
        tokens: session tokens (default: ``MAJLIS_WEBCHAT_SECRET`` or the data dir's secret).
        operator_jwt: the operator's identity JWT check (default: ``MAJLIS_WEBCHAT_JWT_*``).
        origins: origins allowed besides the page's own (default: ``MAJLIS_WEBCHAT_ORIGINS``).
        limits: per-minute rates (default: ``MAJLIS_WEBCHAT_*_PER_MINUTE``).
        (other arguments: as :class:`~rasa.core.channels.socketio.SocketIOInput`)
    """

    #: The chat page draws "an agent joined / left" notices (``agent_joined``).
    shows_agent_notices = True

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(
            user_message_evt=credentials.get("user_message_evt", "user_uttered"),
            bot_message_evt=credentials.get("bot_message_evt", "bot_uttered"),
            namespace=credentials.get("namespace"),
            socketio_path=credentials.get("socketio_path", "/webchat/socket.io"),
            jwt_key=credentials.get("jwt_key"),
            jwt_method=credentials.get("jwt_method", "HS256"),
            title=credentials.get("title", "Majlis"),
        )

    def __init__(self, user_message_evt: Text = "user_uttered", bot_message_evt: Text = "bot_uttered",
                 namespace: Optional[Text] = None, socketio_path: Text = "/webchat/socket.io",
                 jwt_key: Optional[Text] = None, jwt_method: Text = "HS256", *, title: Text = "Majlis",
                 store: Optional[DeliveryStore] = None, retry: RetryPolicy = WEBCHAT_RETRY,
                 tokens: Optional[SessionTokens] = None, operator_jwt: Optional[OperatorJWT] = None,
                 origins: Optional[Iterable[str]] = None, limits: Optional[Limits] = None) -> None:
        super().__init__(user_message_evt, bot_message_evt, namespace, True, socketio_path, jwt_key, jwt_method)
        if store is None:
            from bot.storage import get_engine

            store = DeliveryStore(get_engine())
        self.title = title
        self._store = store
        self._retry = retry
        # Share the delivery store's thread pool (see channels.instagram.channel): one SQLite thread.
        self.entry_sources = EntrySourceStore(store.engine, run=store.run_blocking)
        self.delivery: Optional[Delivery] = None
        self.tokens = tokens or SessionTokens.from_config()
        self.operator_jwt = operator_jwt or OperatorJWT.from_config()
        self.origins = allowed_origins() if origins is None else frozenset(origins)
        limits = limits or Limits.from_config()
        self.socket_rate = SlidingWindow(limits.messages_per_socket)
        self.ip_rate = SlidingWindow(limits.messages_per_ip)
        self.connection_rate = SlidingWindow(limits.connections_per_ip)

    def page(self) -> str:
        """The chat page with this server's settings in data attributes (no inline script)."""
        template = (PAGE_DIR / "index.html").read_text(encoding="utf-8")
        return (template.replace("{{title}}", html.escape(self.title))
                .replace("{{socket_path}}", html.escape(self.socketio_path or "/socket.io"))
                .replace("{{user_event}}", html.escape(self.user_message_evt))
                .replace("{{bot_event}}", html.escape(self.bot_message_evt)))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> SocketBlueprint:
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[], max_http_buffer_size=MAX_PACKET_BYTES)
        self.sio = sio
        # Several Rasa servers: a conversation is worked only on the server its page is connected to
        # (bot/cluster/connected.py), and a sweep finds work another server stored (an agent's reply).
        delivery = self.delivery = make_connected_delivery(
            self._connected_here, channel=CHANNEL_NAME, store=self._store, window=None, retry=self._retry,
            sender=WebChatSender(sio, self.bot_message_evt, self.namespace))
        clustered = isinstance(delivery, ConnectedDelivery)
        sweep = InboxSweep(delivery.store, CHANNEL_NAME, delivery.kick,
                           interval=sweep_interval("MAJLIS_WEBCHAT_SWEEP_SECONDS") if clustered else 0)

        async def process(item: InboundItem, outbox: Outbox) -> None:
            await self._process(item, outbox, on_new_message)

        delivery.set_handler(process)
        bp = SocketBlueprint(sio, self.socketio_path or "/socket.io", "webchat_webhook", __name__)
        page = self.page()

        @bp.listener("after_server_start")
        async def start(_app: Any, _loop: Any) -> None:
            await delivery.start()
            sweep.start()

        @bp.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            await sweep.stop()
            await delivery.stop()

        @bp.route("/", methods=["GET"])
        async def chat_page(_: Request) -> HTTPResponse:
            return response.html(page, headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                                                "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"})

        @bp.route("/static/<name>", methods=["GET"])
        async def static(_: Request, name: str) -> HTTPResponse:
            if name not in STATIC_FILES:
                return response.text("not found", status=404)
            return response.raw((PAGE_DIR / name).read_bytes(), content_type=STATIC_FILES[name],
                                headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})

        @bp.route("/health", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        self._socket_events(sio, delivery)
        return bp

    def _connected_here(self, conv: Any) -> bool:
        """Whether the session ``conv`` = (account, session id) has a page connected to this server."""
        return self.sio is not None and any(
            True for _ in self.sio.manager.get_participants(self.namespace or "/", conv[1]))

    def _socket_events(self, sio: AsyncServer, delivery: Delivery) -> None:
        namespace = self.namespace

        @sio.on("connect", namespace=namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            if self.jwt_key:
                token = auth.get("token") if isinstance(auth, dict) else None
                if not (token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm)):
                    raise SocketRefused("unauthorized")
            if not origin_allowed(environ.get("HTTP_ORIGIN"), environ.get("HTTP_HOST"), self.origins):
                logger.info("Web-chat connection refused: origin not allowed")
                raise SocketRefused("origin_not_allowed")
            ip = client_ip(environ)
            if not self.connection_rate.allow(ip):
                logger.info("Web-chat connection refused: too many connections from one address")
                raise SocketRefused("rate_limited", {"retry_after": self.connection_rate.retry_after(ip)})
            await sio.save_session(sid, {"ip": ip}, namespace=namespace)
            return True

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: Text) -> None:
            self.socket_rate.forget(sid)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: Text, data: Optional[Dict] = None) -> None:
            data = data if isinstance(data, dict) else {}
            if "token" in data or "session_id" in data:
                session_id = self.tokens.session_of(data.get("token"))
                token = data.get("token")
                if session_id is None:  # not our token, or a session id chosen by the browser
                    logger.info("Web-chat session refused: no valid session token")
                    await sio.emit("session_refused", {"error": "invalid_session"}, room=sid, namespace=namespace)
                    return
            else:
                session_id, token = self.tokens.issue()
            customer = self.operator_jwt.customer_of(data.get("identity")) if data.get("identity") else None
            session = await sio.get_session(sid, namespace=namespace)
            previous = session.get("session_id")
            if previous and previous != session_id:
                await sio.leave_room(sid, previous, namespace=namespace)
            session.update(session_id=session_id, customer=customer)
            await sio.save_session(sid, session, namespace=namespace)
            await sio.enter_room(sid, session_id, namespace=namespace)
            await sio.emit("session_confirm", {"session_id": session_id, "token": token, "verified": bool(customer)},
                           room=sid, namespace=namespace)
            delivery.kick((ACCOUNT, session_id))  # replies that waited for this page

        @sio.on(self.user_message_evt, namespace=namespace)
        async def user_message(sid: Text, data: Any = None) -> Dict[str, Any]:
            session = await sio.get_session(sid, namespace=namespace)
            session_id = session.get("session_id")
            if not session_id:
                return {"accepted": False, "error": "no_session"}
            if isinstance(data, Mapping) and data.get("session_id") not in (None, session_id):
                logger.info("Web-chat message refused: it names another session")
                return {"accepted": False, "error": "invalid_session"}
            refused = await self._rate_limited(sio, sid, str(session.get("ip")))
            if refused is not None:
                return refused
            stored = read_message(data)
            if stored is None:
                logger.info("Web-chat message refused: empty, too long or malformed")
                return {"accepted": False, "error": "invalid_message", "max_chars": MAX_TEXT_CHARS}
            if session.get("customer"):
                stored[PROOF_METADATA_KEY] = IdentityProof.issue(
                    sender_id(CHANNEL_NAME, session_id), str(session["customer"]), "operator_jwt").seal()
            client_id = data.get("message_id") if isinstance(data.get("message_id"), str) else ""
            client_id = client_id if _CLIENT_MESSAGE_ID.match(client_id) else ""
            # A re-sent message (same client id in the same session) is stored once: bot.delivery dedupes.
            message_id = f"{session_id}:{client_id or uuid.uuid4().hex}"
            await delivery.accept([InboundItem(channel=CHANNEL_NAME, message_id=message_id, account=ACCOUNT,
                                               customer=session_id, payload=stored)])
            return {"accepted": True, "message_id": client_id}

    async def _rate_limited(self, sio: AsyncServer, sid: str, ip: str) -> Optional[Dict[str, Any]]:
        """None when the message is within both budgets; else the refusal (and a ``rate_limited`` event)."""
        for window, key in ((self.socket_rate, sid), (self.ip_rate, ip)):
            if not window.allow(key):
                answer = {"accepted": False, "error": "rate_limited", "retry_after": window.retry_after(key)}
                logger.info("Web-chat message refused: rate limit")
                await sio.emit("rate_limited", {"error": "rate_limited", "retry_after": answer["retry_after"]},
                               room=sid, namespace=self.namespace)
                return answer
        return None

    async def _process(self, item: InboundItem, outbox: Outbox,
                       on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        payload = item.payload
        entry = from_metadata(payload.get(METADATA_KEY))
        if entry is not None:
            await self.entry_sources.record(CHANNEL_NAME, item.customer, entry, outbox.delivery.clock())
        metadata = {"channel": CHANNEL_NAME, "display_text": payload.get("display_text"),
                    METADATA_KEY: entry.as_metadata() if entry else None}
        if payload.get(PROOF_METADATA_KEY):
            metadata[PROOF_METADATA_KEY] = payload[PROOF_METADATA_KEY]

        await self._typing(item.customer, True)
        try:
            await on_new_message(UserMessage(
                text=str(payload["text"]), output_channel=WebChatOutput(outbox),
                sender_id=sender_id(CHANNEL_NAME, item.customer),
                input_channel=CHANNEL_NAME, message_id=item.message_id, metadata=metadata))
        finally:
            await self._typing(item.customer, False)

    async def _typing(self, session_id: str, typing: bool) -> None:
        if self.sio is not None:
            await self.sio.emit("bot_typing", {"typing": typing}, room=session_id, namespace=self.namespace)

    def get_output_channel(self) -> Optional[OutputChannel]:
        """Proactive messages (agent desk, ``trigger_intent``): stored and sent like replies."""
        if self.delivery is None:
            return None
        return ProactiveOutput(self.delivery)

    def agent_output(self, outbox: AgentOutbox) -> OutputChannel:
        """Agent replies and hand-back messages (``bot.handoff.outbound``), stored under the desk's keys."""
        return WebChatOutput(outbox)

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return None


__all__ = ["AGENT_JOINED", "AGENT_LEFT", "CHANNEL_NAME", "WebChatInput", "WebChatOutput", "agent_joined"]
