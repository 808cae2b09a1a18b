"""The Twilio webhook, independent of the web framework.

:meth:`TwilioWebhook.handle` takes what a request carries and returns ``(body, status,
content type)``; the Sanic route in :mod:`channels.twilio.channel` only adapts. Order
of checks (statuses and bodies: :mod:`channels.webhook_errors`, shared by every webhook):

1. body larger than ``max_body_bytes`` → 413
2. not ``application/x-www-form-urlencoded`` → 415
3. no ``X-Twilio-Signature`` → 401
4. body not a form → 400
5. signature does not match the public URL and fields → 401
6. required fields missing or unreadable → 400
7. inbound message → ``Delivery.accept`` (deduplicated on MessageSid; an SMS to a
   number without SMS enabled is ignored, 200); status callback (``MessageSid`` and
   ``MessageStatus`` suffice) → ``Delivery.record_statuses``; the database failing → 503
8. empty TwiML, 200

Rejections are logged at WARNING with the reason only: never the body, the numbers,
the profile name or the text.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, Mapping, Optional, Tuple

from sqlalchemy.exc import SQLAlchemyError

from bot.delivery import InboundItem, StatusUpdate
from channels.twilio.parse import (
    FormFields,
    MalformedWebhook,
    Transport,
    TwilioInbound,
    TwilioStatus,
    decode_form,
    parse_event,
)
from channels.twilio.payloads import WHATSAPP_PREFIX, callback_key_of
from channels.twilio.sender import WINDOW_CLOSED, title
from channels.twilio.signature import is_valid_signature
from channels.webhook_errors import BAD_SIGNATURE, TOO_LARGE, UNAVAILABLE, malformed, unsupported_type

if TYPE_CHECKING:
    from bot.delivery import Delivery

logger = logging.getLogger(__name__)

#: What Twilio expects back: a TwiML document that sends nothing.
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
TWIML_CONTENT_TYPE = "text/xml"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

Answer = Tuple[str, int, str]


def strip_channel(address: str) -> str:
    """``whatsapp:+316…`` → ``+316…``: the id stored as account/customer (Rasa sender_id)."""
    return address[len(WHATSAPP_PREFIX):] if address.startswith(WHATSAPP_PREFIX) else address


SMS_KEY_PREFIX = "sms:"


def conversation_key(message: TwilioInbound) -> str:
    """The delivery layer's customer key (Rasa's sender id): the number, ``sms:``-prefixed for SMS.

    One person may write to the same business number by SMS and on WhatsApp; those are
    two conversations, so an SMS conversation (its handoff, its agent replies) is never
    continued on WhatsApp.
    """
    return f"{SMS_KEY_PREFIX}{message.number}" if message.transport is Transport.SMS else message.number


def inbound_item(channel: str, message: TwilioInbound, fields: Mapping[str, str]) -> InboundItem:
    """The delivery layer's record of an inbound message.

    The payload is the decoded form itself, so the handler re-parses it with the same
    code (and fields added later by Twilio survive a restart). Twilio sends no
    timestamp, so the window opens at receipt (and a replay can only be recognised
    while its MessageSid is still in the inbox: see channels._replay).
    """
    return InboundItem(
        channel=channel,
        message_id=message.message_sid,
        account=strip_channel(message.recipient),
        customer=conversation_key(message),
        payload=dict(fields),
        sent_at=None,
        opens_window=True,
    )


def status_update(channel: str, status: TwilioStatus, callback_key: Optional[str] = None) -> StatusUpdate:
    """The delivery layer's record of a status callback (63016 → template).

    Args:
        callback_key: our outbox key from the callback URL (signed with it), if any.
    """
    return StatusUpdate(
        callback_key=callback_key,
        channel=channel,
        provider_message_id=status.message_sid,
        status=status.status,
        error_code=status.error_code,
        error_title=title(status.error_code, None) if status.error_code is not None else None,
        window_closed=status.error_code == WINDOW_CLOSED,
    )


def metadata_for(message: TwilioInbound) -> Dict[str, Any]:
    """``UserMessage.metadata``: everything but the text, for actions and transcripts."""
    metadata: Dict[str, Any] = {
        "channel": "twilio_whatsapp",
        "account": strip_channel(message.recipient),
        "transport": message.transport.value,
        "customer": {
            "address": message.sender,
            "wa_id": message.wa_id,
            "profile_name": message.profile_name,
            "external_user_id": message.external_user_id,
        },
        "twilio": {
            "message_sid": message.message_sid,
            "account_sid": message.account_sid,
            "to": message.recipient,
            "messaging_service_sid": message.messaging_service_sid,
            "message_type": message.message_type,
            "replied_to_sid": message.replied_to_sid,
            "forwarded": message.forwarded,
        },
        "media": [{"url": item.url, "content_type": item.content_type} for item in message.media],
    }
    if message.button_payload or message.button_text:
        metadata["button"] = {"payload": message.button_payload, "text": message.button_text}
    if message.location is not None:
        location = message.location
        metadata["location"] = {
            "latitude": location.latitude,
            "longitude": location.longitude,
            "address": location.address,
            "label": location.label,
        }
    if message.referral:
        metadata["referral"] = dict(message.referral)
    return metadata


def single_values(fields: FormFields) -> Dict[str, str]:
    """The decoded form with one value per field (parse_event rejects repeats first)."""
    return {name: values[0] for name, values in fields.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookRequest:
    """What the webhook needs from an HTTP request.

    Attributes:
        body: the raw body bytes.
        content_type: the Content-Type header, parameters included.
        signature: the X-Twilio-Signature header, if any.
        url: the public URL Twilio requested (see ``public_request_url``).
    """

    body: bytes
    content_type: str
    signature: Optional[str]
    url: str


class TwilioWebhook:
    """Verifies, parses and hands over Twilio webhooks.

    Args:
        channel: the channel name stored with every record.
        auth_token: the HMAC key.
        delivery: the delivery service the messages and statuses go to.
        max_body_bytes: the largest body accepted.
        sms_numbers: business numbers (``+1415…``) whose SMS are answered; SMS to any
            other number are ignored (never answered on WhatsApp instead).
    """

    def __init__(self, *, channel: str, auth_token: str, delivery: "Delivery", max_body_bytes: int,
                 sms_numbers: FrozenSet[str] = frozenset()) -> None:
        self._channel = channel
        self._auth_token = auth_token
        self._delivery = delivery
        self._max_body_bytes = max_body_bytes
        self._sms_numbers = sms_numbers

    async def handle(self, request: WebhookRequest) -> Answer:
        """Process one webhook request; never raises for bad input."""
        if len(request.body) > self._max_body_bytes:
            logger.warning("Twilio webhook rejected: body of %d bytes is too large", len(request.body))
            return TOO_LARGE.answer()
        media_type = request.content_type.split(";", 1)[0].strip().lower()
        if media_type != FORM_CONTENT_TYPE:
            logger.warning("Twilio webhook rejected: content type %.60r", media_type)
            return unsupported_type(FORM_CONTENT_TYPE).answer()
        if not request.signature:
            logger.warning("Twilio webhook rejected: no X-Twilio-Signature header")
            return BAD_SIGNATURE.answer()
        try:
            fields = decode_form(request.body)
        except MalformedWebhook as exc:
            logger.warning("Twilio webhook rejected: %s", exc.reason)
            return malformed("malformed body").answer()
        if not is_valid_signature(self._auth_token, request.url, fields, request.signature):
            logger.warning("Twilio webhook rejected: signature does not match (checked against %s)",
                           request.url.split("?", 1)[0])
            return BAD_SIGNATURE.answer()
        try:
            event = parse_event(fields)
        except MalformedWebhook as exc:
            logger.warning("Twilio webhook rejected: %.200s", exc.reason)
            return malformed(f"malformed webhook: {exc.reason}").answer()
        try:
            await self._hand_over(event, single_values(fields), request.url)
        except SQLAlchemyError:
            logger.exception("Twilio webhook could not be stored")
            return UNAVAILABLE.answer()
        return TWIML_EMPTY, 200, TWIML_CONTENT_TYPE

    async def _hand_over(self, event: Any, fields: Mapping[str, str], url: str) -> None:
        if isinstance(event, TwilioStatus):
            logger.debug("Twilio status %s for %s", event.status, event.message_sid)
            await self._delivery.record_statuses([status_update(self._channel, event, callback_key_of(url))])
            return
        if event.transport is Transport.SMS and strip_channel(event.recipient) not in self._sms_numbers:
            logger.info("Twilio SMS %s ignored: SMS is not enabled on the number it was sent to "
                        "(TWILIO_SMS_NUMBERS)", event.message_sid)
            return
        accepted = await self._delivery.accept([inbound_item(self._channel, event, fields)])
        logger.debug("Twilio message %s accepted: %s", event.message_sid, bool(accepted))
