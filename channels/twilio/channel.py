"""WhatsApp through Twilio Programmable Messaging, as a Rasa input/output channel.

credentials.yml::

    channels.twilio.channel.TwilioWhatsAppInput:
      account_sid: ${TWILIO_ACCOUNT_SID}
      auth_token: ${TWILIO_AUTH_TOKEN}
      whatsapp_from: ${TWILIO_WHATSAPP_FROM}

Routes (prefix ``/webhooks/twilio_whatsapp``): ``GET /`` health, ``POST /webhook``
inbound messages (status callbacks are accepted there too), ``POST /status`` status
callbacks. Everything durable (dedupe, ordering, retries, the 24-hour window) is
:mod:`bot.delivery`; this module wires Twilio's pieces into it:

- :mod:`channels.twilio.webhook`: verify, parse, accept (framework-independent);
- :mod:`channels.twilio.payloads`: pure request builders and the 1,600-char split;
- :mod:`channels.twilio.sender` / :mod:`channels.twilio.http_client`: one non-blocking
  ``create_async`` attempt through twilio-python, errors classified.

Docs: docs/channels/twilio.md.
"""
from __future__ import annotations

import logging
import uuid
from urllib.parse import urlsplit
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Mapping, Optional, Text, Tuple

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.rest import Client

from bot.cluster.wiring import make_delivery
from bot.delivery import Delivery, DeliveryStore, InboundItem, OutboundMessage, Outbox, RetryPolicy
from bot.delivery.ports import AgentOutbox, CustomerChannel, MediaFile, ReplyOutbox
from bot.errors import MediaUnavailable
from bot.entry_links import METADATA_KEY, EntrySource, EntrySourceStore, split_ref
from bot.identity import provider_id, sender_id
from bot.storage import get_engine
from channels._contacts import ContactBook
from channels._settings import settings_from_credentials
from channels._structured import parse_data_for
from channels._text import split_text
from channels._media import download
from channels.twilio.http_client import AiohttpTwilioClient, rebase_url
from channels.twilio.parse import Transport, TwilioInbound, parse_event
from channels.twilio.payloads import (
    WHATSAPP_PREFIX,
    body_length,
    build_media,
    build_template,
    build_text,
    sms_part_limit,
    split_body,
)
from channels.twilio.sender import TwilioSender
from channels.twilio.settings import TwilioSettings
from channels.twilio.signature import SIGNATURE_HEADER, public_request_url
from channels.twilio.webhook import SMS_KEY_PREFIX, TwilioWebhook, WebhookRequest, metadata_for

logger = logging.getLogger(__name__)

#: Where Twilio serves ``MediaUrl``s (the only host the desk's proxy sends our credentials to).
TWILIO_API_HOST = "api.twilio.com"

CHANNEL_NAME = "twilio_whatsapp"


def _to(recipient_id: str) -> str:
    """The customer's number in Rasa's recipient id (``twilio_whatsapp:+9715…`` → ``+9715…``)."""
    return provider_id(CHANNEL_NAME, recipient_id)


def option_lines(buttons: Iterable[Mapping[str, Any]]) -> str:
    """Buttons as numbered lines: free-form WhatsApp has no buttons without a Content template."""
    return "\n".join(f"{index}. {button.get('title', '')}" for index, button in enumerate(buttons, start=1))


class TwilioWhatsAppOutput(OutputChannel):
    """Turns Rasa responses into Twilio payloads stored in a :class:`bot.delivery.ports.ReplyOutbox`.

    Every message is one outbox entry (never sent directly), so it is retried, ordered
    and sent at most once per idempotency key by :mod:`bot.delivery`.  Replies go back
    on the transport the customer used: WhatsApp (``whatsapp:+…``) or SMS (bare
    numbers, parts of at most 10 segments, no 24-hour window).

    Args:
        outbox: where payloads are stored: the inbound message's ``Outbox`` for replies,
            the desk's outbox for a person's messages, :class:`ProactiveOutbox` otherwise.
        account: the business address the customer wrote to (``+1415…``).
        status_callback: URL Twilio posts delivery reports to, if any.
        to: the customer's number, known from the message being answered.
        sms: that message came by SMS.
        contacts: outside a turn (agent replies, proactive sends): the number and
            transport stored with the conversation.
    """

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    def __init__(self, outbox: ReplyOutbox, *, account: str, status_callback: Optional[str] = None,
                 to: Optional[str] = None, sms: bool = False, contacts: Optional[ContactBook] = None) -> None:
        self._outbox = outbox
        self._account = account
        self._status_callback = status_callback
        self._to, self._sms, self._contacts = to, sms, contacts

    async def _recipient(self, recipient_id: Text) -> Tuple[str, bool]:
        """(number, by SMS) of the customer."""
        if self._to is not None:
            return self._to, self._sms
        customer = _to(recipient_id)
        if self._contacts is not None:
            stored = await self._contacts.lookup(CHANNEL_NAME, customer, self._account)
            if stored is not None:
                return stored["value"], stored["kind"] == Transport.SMS.value
        return customer, False

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        """One message per 1,600-character part (SMS: per 10 segments); Rasa's ``\\n\\n`` split is not applied."""
        to, sms = await self._recipient(recipient_id)
        parts = split_text(text, sms_part_limit(text), body_length) if sms else split_body(text)
        for part in parts:
            payload = build_text(to=to, from_=self._account, body=part, status_callback=self._status_callback, sms=sms)
            # SMS has no customer-service window: never held back as "free-form".
            await self._outbox.add(payload, kind="sms" if sms else "text", free_form=not sms)

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        to, sms = await self._recipient(recipient_id)
        payload = build_media(
            to=to, from_=self._account, media_urls=[image], status_callback=self._status_callback, sms=sms
        )
        await self._outbox.add(payload, kind="media", free_form=not sms)

    async def send_attachment(self, recipient_id: Text, attachment: Any, **kwargs: Any) -> None:
        """A URL attachment is sent as media; anything else as its text."""
        if isinstance(attachment, str) and attachment.startswith(("https://", "http://")):
            await self.send_image_url(recipient_id, attachment)
            return
        await self.send_text_message(recipient_id, str(attachment))

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        """Text and its options in one message (Rasa's default sends one per button)."""
        options = option_lines(buttons)
        await self.send_text_message(recipient_id, f"{text}\n\n{options}" if options else text)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        """``{"content_sid": "HX…", "content_variables": {...}}`` sends an approved template;
        ``{"media_url": [...], "body": "…"}`` media; anything else is dropped with a warning."""
        if json_message.get("content_sid"):
            to, sms = await self._recipient(recipient_id)
            if sms:
                logger.warning("A WhatsApp template is not sent to an SMS conversation")
                return
            payload = build_template(
                to=to,
                from_=self._account,
                content_sid=str(json_message["content_sid"]),
                variables=json_message.get("content_variables"),
                status_callback=self._status_callback,
            )
            await self._outbox.add(payload, kind="template", free_form=False)
        elif json_message.get("media_url"):
            urls = json_message["media_url"]
            to, sms = await self._recipient(recipient_id)
            payload = build_media(
                to=to,
                from_=self._account,
                media_urls=[urls] if isinstance(urls, str) else list(urls),
                caption=json_message.get("body"),
                status_callback=self._status_callback,
                sms=sms,
            )
            await self._outbox.add(payload, kind="media", free_form=not sms)
        elif json_message.get("body"):
            await self.send_text_message(recipient_id, str(json_message["body"]))
        else:
            logger.warning("Custom message with keys %s has nothing Twilio can send", sorted(json_message))


class ProactiveOutbox:
    """The :class:`bot.delivery.ports.ReplyOutbox` of proactive messages (no inbound message; random keys).

    The customer is the payload's ``To``: ``whatsapp:+…`` is stored as the bare number,
    an SMS number under its ``sms:`` key, as inbound messages are.
    """

    def __init__(self, delivery: Delivery, account: str) -> None:
        self.delivery, self.account = delivery, account

    async def add(self, payload: Mapping[str, Any], *, kind: str = "message", free_form: bool = True,
                  key: Optional[str] = None) -> Optional[OutboundMessage]:
        to = str(payload["To"])
        customer = to[len(WHATSAPP_PREFIX):] if to.startswith(WHATSAPP_PREFIX) else f"{SMS_KEY_PREFIX}{to}"
        return await self.delivery.enqueue(
            OutboundMessage(
                channel=CHANNEL_NAME,
                account=self.account,
                customer=customer,
                payload=payload,
                idempotency_key=key or f"proactive:{uuid.uuid4().hex}",
                free_form=free_form,
                kind=kind,
            )
        )


class TwilioWhatsAppInput(InputChannel, CustomerChannel):
    """Receives WhatsApp messages and status callbacks from Twilio.

    Args:
        settings: validated settings (see :mod:`channels.twilio.settings`).
        store: the delivery store; default: the shared engine (``MAJLIS_DATABASE_URL``).
        retry: backoff policy for transient send failures.
    """

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """Build from credentials.yml values, falling back to the environment.

        Raises:
            RasaException: a required setting is missing or unreadable.
        """
        return cls(settings_from_credentials(cls, TwilioSettings.from_credentials, credentials))

    def __init__(
        self,
        settings: TwilioSettings,
        *,
        store: Optional[DeliveryStore] = None,
        retry: Optional[RetryPolicy] = None,
    ) -> None:
        self.settings = settings
        self._store = store
        self._retry = retry or RetryPolicy()
        self._http = AiohttpTwilioClient(session=None, api_url=settings.api_url, timeout=settings.timeout)
        self._session: Optional[aiohttp.ClientSession] = None
        self.delivery: Optional[Delivery] = None
        self.entry_sources: Optional[EntrySourceStore] = None
        self.contacts: Optional[ContactBook] = None

    def _build_delivery(self) -> Delivery:
        if self._store is None:
            self._store = DeliveryStore(get_engine())
        self.entry_sources = EntrySourceStore(self._store.engine, run=self._store.run_blocking)
        self.contacts = ContactBook(self._store.engine, run=self._store.run_blocking)
        client = Client(self.settings.account_sid, self.settings.auth_token.reveal(), http_client=self._http)
        sender = TwilioSender(client, template=self.settings.template, status_callback=self.settings.status_callback_url)
        # Several Rasa servers: the conversation-leased kind (bot/cluster), one server per conversation at a time.
        return make_delivery(channel=self.name(), store=self._store, sender=sender, retry=self._retry)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        delivery = self.delivery = self._build_delivery()
        webhook = TwilioWebhook(
            channel=self.name(),
            auth_token=self.settings.auth_token.reveal(),
            delivery=delivery,
            max_body_bytes=self.settings.max_body_bytes,
            sms_numbers=self.settings.sms_numbers,
        )

        async def handle(item: InboundItem, outbox: Outbox) -> None:
            inbound = self._parse(item)
            if self.contacts is not None:
                await self.contacts.remember(self.name(), item.account, item.customer, inbound.transport.value,
                                             inbound.number, delivery.clock())
            message = self._user_message(item, outbox, inbound)
            entry = (message.metadata or {}).get(METADATA_KEY)
            if entry and self.entry_sources is not None:
                await self.entry_sources.record(self.name(), item.customer, EntrySource(**entry), delivery.clock())
            await on_new_message(message)

        delivery.set_handler(handle)
        bp = Blueprint("twilio_whatsapp_webhook", __name__)

        @bp.listener("after_server_start")
        async def start(_app: Any, _loop: Any) -> None:
            await self.open()

        @bp.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            await self.close()

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def receive(request: Request) -> HTTPResponse:
            body, status, content_type = await webhook.handle(self._webhook_request(request))
            return response.text(body, status=status, content_type=content_type)

        bp.add_route(receive, "/webhook", methods=["POST"], name="receive")
        bp.add_route(receive, "/status", methods=["POST"], name="receive_status")
        return bp

    async def open(self) -> None:
        """Open the HTTP session and start (and resume) delivery."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._http.attach(self._session)
        if self.delivery is not None:
            await self.delivery.start()

    async def close(self) -> None:
        """Stop delivery, then close the HTTP session."""
        if self.delivery is not None:
            await self.delivery.stop()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch_media(self, account: Optional[str], item: Mapping[str, Any], *, max_bytes: int) -> MediaFile:
        """A customer's media for the desk's proxy: the ``MediaUrl`` with HTTP Basic auth (AccountSid:AuthToken).

        Only URLs on Twilio's API host are fetched (a URL elsewhere would get our credentials).
        """
        url = item.get("url")
        if not isinstance(url, str) or urlsplit(url).scheme != "https" or urlsplit(url).hostname != TWILIO_API_HOST:
            raise MediaUnavailable("not a Twilio media URL")
        if self._session is None:
            raise MediaUnavailable("the Twilio channel is not started")
        auth = aiohttp.BasicAuth(self.settings.account_sid, self.settings.auth_token.reveal())
        return await download(self._session, rebase_url(url, self.settings.api_url), max_bytes=max_bytes,
                              timeout=self.settings.timeout, auth=auth, content_type=item.get("mime_type"))

    def _webhook_request(self, request: Request) -> WebhookRequest:
        url = public_request_url(
            scheme=request.scheme,
            host=request.host,
            path=request.path,
            query_string=request.query_string,
            headers=request.headers,
            policy=self.settings.url_policy,
        )
        return WebhookRequest(
            body=request.body or b"",
            content_type=request.headers.get("Content-Type", ""),
            signature=request.headers.get(SIGNATURE_HEADER),
            url=url,
        )

    @staticmethod
    def _parse(item: InboundItem) -> TwilioInbound:
        message = parse_event({name: [str(value)] for name, value in item.payload.items()})
        assert isinstance(message, TwilioInbound), "only inbound messages are stored in the inbox"
        return message

    def _user_message(self, item: InboundItem, outbox: Outbox, message: TwilioInbound) -> UserMessage:
        output = TwilioWhatsAppOutput(
            outbox, account=item.account, status_callback=self.settings.status_callback_url,
            to=message.number, sms=message.transport is Transport.SMS,
        )
        metadata = metadata_for(message)
        # A wa.me entry link prefills "[ref:snap-ramadan] …": the ref is recorded, not classified.
        text, entry = split_ref(message.text) if message.text else (message.text, None)
        if entry is not None:
            metadata[METADATA_KEY] = entry.as_metadata()
        return UserMessage(
            text=text,
            output_channel=output,
            sender_id=sender_id(CHANNEL_NAME, item.customer),
            # The payload picks the intent while the transcript keeps the label.
            parse_data=parse_data_for(message.payload, message.text),
            input_channel=self.name(),
            message_id=item.message_id,
            metadata=metadata,
        )

    def get_output_channel(self) -> Optional[OutputChannel]:
        """For Rasa's proactive endpoints (``/conversations/{id}/trigger_intent``)."""
        if self.delivery is None:
            return None
        return TwilioWhatsAppOutput(
            ProactiveOutbox(self.delivery, self.settings.sender_account),
            account=self.settings.sender_account,
            status_callback=self.settings.status_callback_url,
            contacts=self.contacts,
        )

    def agent_output(self, outbox: AgentOutbox) -> OutputChannel:
        """Agent replies from the desk, on the transport the conversation uses (SMS stays SMS)."""
        return TwilioWhatsAppOutput(outbox, account=outbox.account, status_callback=self.settings.status_callback_url,
                                    contacts=self.contacts)

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        """Metadata is built from the stored message in the handler, not the request."""
        return None


__all__ = ["CHANNEL_NAME", "TwilioWhatsAppInput", "TwilioWhatsAppOutput"]
