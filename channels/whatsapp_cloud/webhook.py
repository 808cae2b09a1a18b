"""Recording one WhatsApp Cloud webhook POST, independent of the web framework.

:func:`record_webhook` is the whole ``POST /webhook``: what a request carries in,
``(json body, status)`` and the newly accepted messages out.  Both places that take
Meta's webhooks call it: the Sanic route inside ``rasa run``
(:meth:`channels.whatsapp_cloud.channel.WhatsAppCloudInput.handle_post`, which lets
:meth:`bot.delivery.Delivery.accept` schedule processing at once) and the separate
receiver process (:mod:`channels.whatsapp_receiver`), which runs only
:func:`check_webhook` before answering and :func:`record_batch` (``schedule=False``)
later, from its journal, then tells the Rasa process.

Order of checks (statuses and bodies: :mod:`channels.webhook_errors`, shared by every webhook):

1. body larger than ``max_body_bytes`` → 413
2. ``X-Hub-Signature-256`` missing, malformed or wrong (over the raw bytes) → 401
3. not ``application/json`` → 415; malformed JSON or not an object → 400
4. statuses → ``Delivery.record_statuses``; messages, and the ``smb_message_echoes`` of a
   person answering from the WhatsApp Business app, → ``Delivery.accept``
   (deduplicated on the wamid); the database failing → 503 (Meta retries).
   Messages are skipped (still 200, logged) when they are for a number we do not
   serve, come from a group while group support is off, or are older than the
   dedupe retention: a signed body replayed after its wamid was pruned is not
   processed a second time (:func:`channels._replay.too_old`).
5. 200 once everything is durably recorded; unknown fields and types are
   acknowledged (and logged at DEBUG), never refused.

Log lines name reasons and counts only: never the body, numbers, names or text.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from sqlalchemy.exc import SQLAlchemyError

from bot.delivery import Delivery, InboundItem, StatusUpdate
from bot.errors import PayloadError, SignatureError
from channels.meta.graph import WINDOW_CLOSED_CODES, verify_signature
from channels._replay import too_old
from channels.webhook_errors import TOO_LARGE, UNAVAILABLE, refusal_for
from channels.whatsapp_cloud.parse import Echo, InboundMessage, parse_webhook
from channels.whatsapp_cloud.settings import WhatsAppSettings

logger = logging.getLogger(__name__)

CHANNEL_NAME = "whatsapp_cloud"

Conversation = Tuple[str, str]
"""(account, customer): the unit processed in order by one delivery worker."""


@dataclass(frozen=True)
class WebhookReceipt:
    """The answer to one webhook POST and what it stored."""

    body: Dict[str, Any]
    status: int
    accepted: List[InboundItem] = field(default_factory=list)
    """Messages stored by this call (duplicates of earlier deliveries are not in it)."""

    @property
    def conversations(self) -> List[Conversation]:
        """The conversations with new messages, each once, in arrival order."""
        return conversations_of(self.accepted)


def conversations_of(items: List[InboundItem]) -> List[Conversation]:
    """The conversations of ``items``, each once, in arrival order."""
    return list(dict.fromkeys((item.account, item.customer) for item in items))


async def record_webhook(
    raw: bytes,
    signature: Optional[str],
    content_type: Optional[str],
    *,
    settings: WhatsAppSettings,
    delivery: Delivery,
    schedule: bool = True,
) -> WebhookReceipt:
    """Verify, parse and durably record one webhook POST.

    Args:
        raw: the request body, exactly as received (the signature is over these bytes).
        signature: the ``X-Hub-Signature-256`` header (None if absent).
        content_type: the ``Content-Type`` header.
        settings: the channel settings (app secret, numbers, body limit).
        delivery: where statuses and messages are stored.
        schedule: let ``delivery`` start processing the new messages in this process
            (``rasa run``); False in the receiver process, which only records.

    Returns:
        The JSON body and status to answer with, and the newly accepted messages.
    """
    body, refusal = check_webhook(raw, signature, content_type, settings=settings)
    if refusal is not None:
        return refusal
    assert body is not None
    try:
        accepted, statuses = await record_batch(body, settings=settings, delivery=delivery, schedule=schedule)
    except SQLAlchemyError:
        logger.exception("Webhook not recorded: database unavailable")
        return WebhookReceipt(UNAVAILABLE.body, UNAVAILABLE.status)
    return WebhookReceipt({"status": "ok", "accepted": len(accepted), "statuses": statuses}, 200, accepted)


def check_webhook(
    raw: bytes, signature: Optional[str], content_type: Optional[str], *, settings: WhatsAppSettings
) -> Tuple[Optional[Dict[str, Any]], Optional[WebhookReceipt]]:
    """Steps 1–3 (size, signature over the raw bytes, JSON): ``(body, None)`` or ``(None, refusal)``.

    The receiver process runs only this before journaling the raw bytes and answering;
    the database part (step 4) runs later from its journal (:mod:`bot.gateway.relay`).
    """
    if len(raw) > settings.max_body_bytes:
        logger.warning("Webhook body of %d bytes refused (limit %d)", len(raw), settings.max_body_bytes)
        return None, WebhookReceipt(TOO_LARGE.body, TOO_LARGE.status)
    try:
        verify_signature(raw, signature, settings.app_secret)
        return decode_body(raw, content_type), None
    except SignatureError as exc:
        logger.warning("Webhook refused: signature %s", exc.reason)
        refusal = refusal_for(exc)
    except PayloadError as exc:
        logger.warning("Webhook refused: %s", exc.reason)
        refusal = refusal_for(exc)
    return None, WebhookReceipt(refusal.body, refusal.status)


async def record_batch(
    body: Mapping[str, Any], *, settings: WhatsAppSettings, delivery: Delivery, schedule: bool = True
) -> Tuple[List[InboundItem], int]:
    """Store statuses and messages of one verified webhook body; (new messages, statuses).

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database is unavailable.
    """
    batch = parse_webhook(body)
    for what in batch.ignored:
        logger.debug("Webhook part ignored: %s", what)
    items: List[InboundItem] = []
    now = delivery.clock()
    for message in batch.messages:
        if not _accepts(message, settings, now):
            continue
        items.append(
            InboundItem(
                channel=CHANNEL_NAME,
                message_id=message.id,
                account=message.phone_number_id,
                customer=message.conversation_key,
                payload=message.to_stored(),
                sent_at=message.sent_at,
                opens_window=message.opens_window,
            )
        )
    items.extend(echo_item(echo) for echo in batch.echoes if _serves(echo.phone_number_id, settings))
    updates = [status_update(status) for status in batch.statuses]
    await delivery.record_statuses(updates)
    accepted = await delivery.accept(items, schedule=schedule)
    logger.info("Webhook recorded: %d new message(s) of %d, %d status(es)", len(accepted), len(items), len(updates))
    return accepted, len(updates)


def echo_item(echo: Echo) -> InboundItem:
    """A person's message from the phone, stored in the conversation's inbox like a customer
    message, so it is worked in order with them (an echo then the customer's next message:
    the bot stays silent).  It opens no window: the customer did not write."""
    return InboundItem(channel=CHANNEL_NAME, message_id=echo.id, account=echo.phone_number_id,
                       customer=echo.customer, payload=echo.to_stored(), sent_at=echo.sent_at, opens_window=False)


def _serves(phone_number_id: str, settings: WhatsAppSettings) -> bool:
    if phone_number_id not in settings.numbers:
        logger.warning("Message for unconfigured phone_number_id %s ignored", phone_number_id)
        return False
    return True


def _accepts(message: InboundMessage, settings: WhatsAppSettings, now: Any) -> bool:
    """Whether a parsed message is ours to record (why not is logged, without personal data)."""
    if not _serves(message.phone_number_id, settings):
        return False
    if message.group_id and not settings.groups:
        logger.info("Group message %s ignored: group support is off (WHATSAPP_GROUPS)", message.id)
        return False
    if too_old(message.sent_at, now, settings.retention):
        logger.warning("Message %s ignored: sent before the %s dedupe retention (a replay?)",
                       message.id, settings.retention)
        return False
    return True


def decode_body(raw: bytes, content_type: Optional[str]) -> Dict[str, Any]:
    """The JSON object of a webhook body.

    Raises:
        PayloadError: not ``application/json`` (415), malformed or not an object (400).
    """
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime != "application/json":
        raise PayloadError("content type must be application/json", status=415)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        raise PayloadError("malformed JSON") from None
    if not isinstance(body, dict):
        raise PayloadError("JSON body must be an object")
    return body


def status_update(status: Any) -> StatusUpdate:
    """A parsed ``statuses[]`` entry as the delivery layer's :class:`StatusUpdate`."""
    return StatusUpdate(
        channel=CHANNEL_NAME,
        provider_message_id=status.message_id,
        status=status.status,
        timestamp=status.timestamp,
        error_code=status.error_code,
        error_title=status.error_title,
        window_closed=status.error_code in WINDOW_CLOSED_CODES,
        callback_key=status.callback_data,
        account=status.phone_number_id,
    )
