"""WhatsApp Business Platform (Cloud API) channel for Rasa.

Three layers (docs/delivery.md, STYLE.md §9):

- parse: :mod:`channels.whatsapp_cloud.parse` (pure, frozen dataclasses);
- transport: :func:`channels.whatsapp_cloud.webhook.record_webhook` (framework-free,
  also run by the separate receiver process :mod:`channels.whatsapp_receiver`)
  behind the Sanic blueprint: verify signature → parse → dedupe/store
  (``bot.delivery``) → 200;
- send: :class:`WhatsAppCloudOutput` builds bodies with
  :mod:`channels.whatsapp_cloud.payloads` and puts them in the durable outbox;
  :class:`channels.whatsapp_cloud.sender.WhatsAppSender` makes single Graph attempts.

Routes (prefix ``/webhooks/whatsapp_cloud``): ``GET /`` health, ``GET /ready`` readiness
(:mod:`bot.cluster.wiring`), ``GET /webhook`` verification handshake, ``POST /webhook``
events (customer messages, and ``smb_message_echoes``: a person answering from the
WhatsApp Business app takes the conversation over, :mod:`channels._takeover`), ``POST /inbox`` notices from the receiver process (:mod:`bot.gateway.notice`; rows
it stored, shared secret).  With ``MAJLIS_WORK_QUEUE_URL`` (several Rasa servers,
docs/deploy.md) the receivers' rows arrive through a RabbitMQ work queue instead.
"""
from __future__ import annotations

import logging
import uuid
from functools import partial
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request

from bot.config import ConfigError
from bot.delivery import Delivery, DeliveryStore, InboundItem, OutboundMessage, Outbox
from bot.cluster.wiring import make_delivery, serve_work
from bot.delivery.ports import AgentOutbox, CustomerChannel, MediaFile, ReplyOutbox, TakeoverListener
from bot.errors import MediaUnavailable
from bot.storage.takeover import TakeoverStore
from channels._takeover import EchoTakeover
from bot.entry_links import METADATA_KEY, EntrySourceStore, split_ref
from bot.gateway.notice import SECRET_HEADER as NOTICE_SECRET_HEADER, handle_notice, inbox_secret
from bot.gateway.sweep import InboxSweep, sweep_interval
from bot.identity import provider_id, sender_id
from bot.storage import get_engine
from channels._contacts import ContactBook
from channels.meta.graph import SIGNATURE_HEADER, GraphClient, verify_handshake
from channels._reactions import Reaction, ReactionRecorder, Reactions
from channels._structured import parse_data_for
from channels.whatsapp_cloud.address import Address, address_of_payload
from channels.whatsapp_cloud.parse import Echo, InboundMessage
from channels.whatsapp_cloud.payloads import (
    To,
    build_buttons_payloads,
    build_custom_payload,
    build_media_payload,
    build_text_payloads,
)
from channels.whatsapp_cloud.sender import WhatsAppSender
from channels.whatsapp_cloud.settings import WhatsAppSettings
from channels.whatsapp_cloud.webhook import CHANNEL_NAME, record_webhook
from channels.whatsapp_cloud.window import WindowClosed

logger = logging.getLogger(__name__)

#: Why a person owns a conversation taken over from the phone (the takeover's and the handoff's reason).
TAKEOVER_REASON = "whatsapp_phone_echo"

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def _to(recipient_id: str) -> str:
    """The WhatsApp number in Rasa's recipient id (``whatsapp_cloud:9715…`` → ``9715…``)."""
    return provider_id(CHANNEL_NAME, recipient_id)


class WhatsAppCloudOutput(OutputChannel):
    """Turns Rasa responses into WhatsApp messages in the durable outbox.

    Bound to a :class:`bot.delivery.ports.ReplyOutbox`: one inbound message's
    :class:`bot.delivery.Outbox` (each reply keyed ``<wamid>:<position>``, sent at most
    once), a person's messages from the desk, or :class:`ProactiveOutbox`.

    Args:
        outbox: where the payloads are stored.
        address: how the customer is addressed (``to`` a phone, ``recipient`` a
            BSUID), known from the message being answered.
        contacts: for messages outside a turn (agent replies, proactive sends): the
            address stored with the conversation.  With neither, Rasa's recipient id
            is a phone ``wa_id`` (every conversation before BSUIDs existed).
        account: the business number the stored address is looked up for (None: any).
    """

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(self, outbox: ReplyOutbox, *, address: Optional[Address] = None,
                 contacts: Optional[ContactBook] = None, account: Optional[str] = None) -> None:
        self.outbox = outbox
        self.address = address
        self.contacts = contacts
        self.account = account

    async def _to(self, recipient_id: str) -> To:
        """The address of Rasa's recipient (``whatsapp_cloud:<id>``): phone, user id or group."""
        if self.address is not None:
            return self.address
        customer = _to(recipient_id)
        if self.contacts is not None:
            stored = await self.contacts.lookup(CHANNEL_NAME, customer, self.account)
            if stored is not None:
                return Address.from_stored(stored)
        return customer

    async def _add(self, payloads: Iterable[Mapping[str, Any]]) -> None:
        for payload in payloads:
            kind = str(payload.get("type", "message"))
            await self.outbox.add(payload, kind=kind, free_form=kind != "template")

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        """One Rasa response; unlike Rasa's default, text is not split at blank lines."""
        text = message.get("text") or ""
        buttons = message.get("quick_replies") or message.get("buttons")
        if buttons:
            await self.send_text_with_buttons(recipient_id, text, buttons)
        elif text:
            await self.send_text_message(recipient_id, text)
        if message.get("custom"):
            await self.send_custom_json(recipient_id, message["custom"])
        if message.get("image"):
            await self.send_image_url(recipient_id, message["image"])
        if message.get("attachment"):
            await self.send_attachment(recipient_id, message["attachment"])
        if message.get("elements"):
            await self.send_elements(recipient_id, message["elements"])

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._add(build_text_payloads(await self._to(recipient_id), text))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._add(build_buttons_payloads(await self._to(recipient_id), text, buttons))

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._add([build_media_payload(await self._to(recipient_id), "image", link=image)])

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        """A URL string is sent as a document; a dict may name type, link/id, caption, filename."""
        to = await self._to(recipient_id)
        if isinstance(attachment, str):
            await self._add([build_media_payload(to, "document", link=attachment)])
            return
        if isinstance(attachment, Mapping):
            kind = str(attachment.get("type") or "document")
            await self._add([
                build_media_payload(
                    to,
                    kind if kind in ("image", "video", "audio", "document", "sticker") else "document",
                    link=attachment.get("link") or attachment.get("url"),
                    media_id=attachment.get("id"),
                    caption=attachment.get("caption"),
                    filename=attachment.get("filename"),
                )
            ])
            return
        logger.warning("Attachment of type %s not sent", type(attachment).__name__)

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        payload = build_custom_payload(await self._to(recipient_id), json_message)
        if payload is None:
            logger.warning("Custom response without a WhatsApp 'type' not sent")
            return
        await self._add([payload])

    async def send_elements(self, recipient_id: str, elements: Iterable[Dict[str, Any]], **kwargs: Any) -> None:
        """Carousels do not exist on WhatsApp: each element becomes text (and buttons)."""
        for element in elements:
            lines = [str(element.get(k)) for k in ("title", "subtitle") if element.get(k)]
            text = "\n".join(lines)
            if element.get("buttons"):
                await self.send_text_with_buttons(recipient_id, text, element["buttons"])
            elif text:
                await self.send_text_message(recipient_id, text)


class WhatsAppAgentOutput(WhatsAppCloudOutput):
    """A person's messages from the desk: free-form text only inside the 24-hour window.

    After it, :meth:`send_text_message` raises :class:`WindowClosed` (nothing queued), so
    the desk says why at once; templates (``send_custom_json``) go out at any time.
    """

    def __init__(self, outbox: AgentOutbox, *, channel: "WhatsAppCloudInput") -> None:
        super().__init__(outbox, contacts=channel.contacts, account=outbox.account)
        self._channel = channel

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        delivery = self._channel.delivery
        account, customer = str(self.account), str(getattr(self.outbox, "customer", "") or _to(recipient_id))
        if not await delivery.window_open(account, customer):
            # Kept as a skipped row: the conversation counts as lost to the window in the
            # reports and metrics, though nothing was queued.  Its own key, so a retry of the
            # same reply once the customer writes again is not taken for a duplicate.
            for n, payload in enumerate(build_text_payloads(await self._to(recipient_id), text)):
                await delivery.refuse_outside_window(OutboundMessage(
                    channel=CHANNEL_NAME, account=account, customer=customer, payload=payload,
                    idempotency_key=f"{self.outbox.key}:outside-window:{n}", kind="text"))
            raise WindowClosed(await self._channel.window_expires_at(account, customer))
        await super().send_text_message(recipient_id, text, **kwargs)


def payload_parse_data(message: InboundMessage) -> Optional[Dict[str, Any]]:
    """Rasa parse data for a message whose payload picks the intent (a tapped button whose id
    is a Rasa payload, or what a message without text carried); None: NLU reads the text."""
    return parse_data_for(message.payload, message.text)


class ProactiveOutbox:
    """The :class:`bot.delivery.ports.ReplyOutbox` of messages Rasa sends unprompted.

    Rasa's ``get_output_channel`` path (``/conversations/<id>/trigger_intent``,
    reminders) has no inbound message: each payload gets a fresh idempotency key and
    goes out from the number the customer last wrote to (else the first configured).
    """

    def __init__(self, delivery: Delivery, default_account: str) -> None:
        self.delivery = delivery
        self.default_account = default_account

    async def add(
        self, payload: Mapping[str, Any], *, kind: str = "message", free_form: bool = True, key: Optional[str] = None
    ) -> Optional[OutboundMessage]:
        address = address_of_payload(payload)
        customer = address.value if address else ""
        account = await self.delivery.store.last_account(CHANNEL_NAME, customer) or self.default_account
        return await self.delivery.enqueue(
            OutboundMessage(
                channel=CHANNEL_NAME, account=account, customer=customer, payload=payload,
                idempotency_key=key or f"proactive:{uuid.uuid4().hex}", free_form=free_form, kind=kind,
            )
        )


class WhatsAppCloudInput(InputChannel, CustomerChannel):
    """Receives WhatsApp Cloud API webhooks for one or more business numbers.

    Args:
        settings: validated settings (:meth:`from_credentials` reads them).
        store: the delivery store (default: ``bot.config.database_url()``).
        graph: the Graph API client (default: one for ``settings.graph_url``).
    """

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "WhatsAppCloudInput":
        try:
            settings = WhatsAppSettings.from_credentials(credentials)
        except ConfigError as exc:
            logger.error("WhatsApp Cloud channel not configured: %s", exc)
            cls.raise_missing_credentials_exception()
        return cls(settings)

    def __init__(
        self,
        settings: WhatsAppSettings,
        *,
        store: Optional[DeliveryStore] = None,
        graph: Optional[GraphClient] = None,
    ) -> None:
        self.settings = settings
        self.graph = graph or GraphClient(settings.graph_url, timeout_s=settings.timeout)
        self.sender = WhatsAppSender(self.graph, settings.numbers)
        store = store or DeliveryStore(get_engine())
        # Several Rasa servers (a work queue configured): the conversation-leased kind (bot/cluster).
        self.delivery = make_delivery(
            channel=CHANNEL_NAME,
            store=store,
            sender=self.sender,
            retry=settings.retry,
            retention=settings.retention,
        )
        self.entry_sources = EntrySourceStore(store.engine, run=store.run_blocking)
        self.contacts = ContactBook(store.engine, run=store.run_blocking)
        self.reactions = Reactions()
        # A person answering from the WhatsApp Business app (coexistence): the bot stays silent.
        self.takeover = EchoTakeover(channel=CHANNEL_NAME, store=TakeoverStore(store.engine, run=store.run_blocking),
                                     reason=TAKEOVER_REASON, clock=lambda: self.delivery.clock(),
                                     quiet=settings.takeover_quiet)

    def get_output_channel(self) -> OutputChannel:
        """An output channel for messages Rasa sends without an inbound message."""
        return WhatsAppCloudOutput(ProactiveOutbox(self.delivery, next(iter(self.settings.numbers))),
                                   contacts=self.contacts)

    def agent_output(self, outbox: AgentOutbox) -> OutputChannel:
        """Agent replies and notices from the desk, addressed as the conversation's last message was;
        free-form text after the 24-hour window is refused (:class:`WindowClosed`)."""
        return WhatsAppAgentOutput(outbox, channel=self)

    def attach_reactions(self, recorder: ReactionRecorder) -> None:
        """The desk shows reactions in handed-off conversations (see :mod:`channels._reactions`)."""
        self.reactions.attach(recorder)

    def attach_handoff(self, listener: TakeoverListener) -> None:
        """Called by the agent desk at start: a takeover from the phone opens (or finds) a handoff,
        the customer's messages go to the desk, and closing it calls :meth:`release_to_bot`."""
        self.takeover.attach(listener)

    async def release_to_bot(self, customer: str, account: Optional[str] = None) -> bool:
        """End a phone takeover: the bot answers this customer again. False if none was active."""
        if account is None:
            account = await self.delivery.store.last_account(CHANNEL_NAME, customer)
        return bool(account) and await self.takeover.release(str(account), customer)

    # -- transport ---------------------------------------------------------

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        self.delivery.set_handler(partial(self._process, on_new_message))
        webhook = Blueprint(f"{CHANNEL_NAME}_webhook", __name__)
        # Rows stored by the receiver process (channels.whatsapp_receiver): woken by its
        # notices, and by this sweep if a notice is lost.
        sweep = InboxSweep(self.delivery.store, CHANNEL_NAME, self.delivery.kick, interval=_sweep_interval())
        notice_secret = inbox_secret()
        work = serve_work(webhook, self.delivery)  # GET /ready; with RabbitMQ, the work-queue consumer

        @webhook.listener("after_server_start")
        async def start_delivery(_app: Any, _loop: Any) -> None:
            await self.delivery.start()
            sweep.start()
            await work.start()

        @webhook.listener("before_server_stop")
        async def stop_delivery(_app: Any, _loop: Any) -> None:
            await work.stop()
            await sweep.stop()
            await self.delivery.stop()
            await self.graph.close()

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> response.HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> response.HTTPResponse:
            args = {key: request.args.get(key) for key in request.args}
            body, status = verify_handshake(args, self.settings.verify_token)
            return response.text(body, status=status)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> response.HTTPResponse:
            body, status = await self.handle_post(
                request.body or b"", request.headers.get(SIGNATURE_HEADER), request.headers.get("content-type")
            )
            return response.json(body, status=status)

        @webhook.route("/inbox", methods=["POST"])
        async def inbox_notice(request: Request) -> response.HTTPResponse:
            body, status = handle_notice(
                request.body or b"", request.headers.get(NOTICE_SECRET_HEADER), notice_secret,
                self.delivery.kick, ready=sweep.started,
            )
            return response.json(body, status=status)

        return webhook

    async def handle_post(
        self, raw: bytes, signature: Optional[str], content_type: Optional[str]
    ) -> Tuple[Dict[str, Any], int]:
        """The whole POST /webhook, framework-free: ``(json body, status)``.

        :func:`channels.whatsapp_cloud.webhook.record_webhook` is the one place errors
        become status codes: 413 too large, 401 missing signature, 403 wrong
        signature, 415 not JSON, 400 malformed, 503 database unavailable (Meta
        retries), 200 once everything is durably recorded; processing is scheduled
        in this process.
        """
        receipt = await record_webhook(raw, signature, content_type, settings=self.settings, delivery=self.delivery)
        return receipt.body, receipt.status

    # -- processing (after the 200) -----------------------------------------

    async def _process(self, on_new_message: OnNewMessage, item: InboundItem, outbox: Outbox) -> None:
        echo = Echo.from_stored(item.payload)
        if echo is not None:
            await self._echo(echo, item)
            return
        message = InboundMessage.from_stored(item.payload)
        if message is None:
            logger.warning("Stored message %s could not be parsed again; skipped", item.id)
            return
        await self.contacts.remember(CHANNEL_NAME, message.phone_number_id, item.customer,
                                     message.address.kind.value, message.address.value, self.delivery.clock())
        if message.type == "reaction":
            reaction = message.details.get("reaction") or {}
            await self.reactions.record(Reaction(
                channel=CHANNEL_NAME, account=message.phone_number_id, customer=item.customer,
                emoji=str(reaction.get("emoji") or ""), message_id=reaction.get("message_id")))
            return
        if message.silent:
            logger.debug("Message %s of type %s recorded without waking the bot", item.id, message.type)
            return
        silenced = await self.takeover.bot_silenced(item.account, item.customer)
        if silenced:
            logger.info("WhatsApp item %s: a person answers from the phone; bot not run", item.id)
            return
        if self.settings.mark_read:
            # Not awaited: the turn runs while the receipt is on its way; the first reply
            # to this customer waits for it, so "typing…" never shows after the answer.
            self.sender.mark_read_soon(message.phone_number_id, message.id, item.customer)
        metadata = self._metadata(message)
        # A wa.me entry link prefills "[ref:snap-ramadan] …": the ref is recorded, not classified.
        text, entry = split_ref(message.text) if message.text else (message.text, None)
        if entry is not None:
            metadata[METADATA_KEY] = entry.as_metadata()
            await self.entry_sources.record(CHANNEL_NAME, item.customer, entry, self.delivery.clock())
        await on_new_message(
            UserMessage(
                text=text,
                output_channel=WhatsAppCloudOutput(outbox, address=message.address),
                sender_id=sender_id(CHANNEL_NAME, item.customer),
                parse_data=payload_parse_data(message),
                input_channel=CHANNEL_NAME,
                message_id=message.id,
                metadata=metadata,
            )
        )

    async def _echo(self, echo: Echo, item: InboundItem) -> None:
        """A person sent a message from the WhatsApp Business app: the conversation is theirs.

        Never a customer message (the bot is not run, no read receipt).  An echo of a
        message this deployment sent through the Cloud API (should Meta ever echo one) is
        recognised by its wamid and changes nothing.
        """
        records = await self.delivery.outbox_records(item.customer)
        if any(r.provider_message_id == echo.id for r in records):
            return
        if await self.takeover.person_answered(item.account, item.customer):
            logger.info("WhatsApp item %s: a person answered from the phone (%s); bot paused for this customer",
                        item.id, echo.type)

    def _metadata(self, message: InboundMessage) -> Dict[str, Any]:
        metadata = message.metadata()
        media = metadata["whatsapp"].get("media")
        if media and media.get("id"):
            metadata["whatsapp"]["media"] = {**media, "fetch_url": self.graph.url(str(media["id"]))}
        return metadata

    async def fetch_media(self, account: Optional[str], item: Mapping[str, Any], *,
                          max_bytes: int) -> MediaFile:
        """A customer's media for the desk's proxy: the Graph media id in ``item["ref"]``."""
        media_id = item.get("ref")
        if not account or not isinstance(media_id, str) or not media_id:
            raise MediaUnavailable("no WhatsApp media id")
        return await self.sender.fetch_media(account, media_id, max_bytes=max_bytes,
                                             content_type=item.get("mime_type"))

    async def upload_media(self, account: str, media: MediaFile) -> Optional[Mapping[str, Any]]:
        """Upload an agent's file; sent as ``{"type": "image"|"document", "image": {"id": …}}``."""
        kind = "image" if media.content_type.startswith("image/") else "document"
        media_id = await self.sender.upload_media(account, media)
        return {"type": kind, "id": media_id, "filename": media.filename if kind == "document" else None}

    async def fetch_inbound_media(self, metadata: Mapping[str, Any]) -> bytes:
        """Download the media of an inbound message from its ``UserMessage.metadata``.

        Raises:
            bot.errors.ProviderAPIError: the Graph API refused or failed.
            KeyError: the metadata has no media.
        """
        whatsapp = metadata["whatsapp"]
        return await self.sender.download_media(whatsapp["phone_number_id"], whatsapp["media"]["id"])


def _sweep_interval() -> float:
    """Seconds between looks for rows another process stored (``WHATSAPP_INBOX_SWEEP_SECONDS``; 0: never)."""
    return sweep_interval("WHATSAPP_INBOX_SWEEP_SECONDS")
