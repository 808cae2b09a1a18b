"""The Instagram webhook, independent of the web framework.

:meth:`InstagramWebhook.handle` takes what a request carries and returns ``(body,
status, content type)``; the Sanic routes in :mod:`channels.instagram.channel` only adapt.
Order of checks (statuses and bodies: :mod:`channels.webhook_errors`, shared by every webhook):

1. body larger than ``max_body_bytes`` → 413
2. ``X-Hub-Signature-256`` missing, malformed or not matching the raw bytes → 401
3. body not a JSON object → 400
4. ``object`` other than ``instagram``, unknown event kinds, events whose entry or
   recipient is an account we don't serve, comments by our own account, events older
   than the dedupe retention (a replay: channels._replay) → ignored (200, logged
   without ids or text)
5. every event of every entry → ``Delivery.accept`` (deduplicated on its event id,
   also inside one batch); the database failing → 503 so Meta retries
6. 200 ``EVENT_RECEIVED``

Rejections are logged at WARNING with the reason only: never the body, ids or text.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Mapping, Optional, Tuple

from sqlalchemy.exc import SQLAlchemyError

from bot.delivery import InboundItem
from bot.errors import PayloadError, SignatureError
from channels.instagram.parse import InstagramEvent, Kind, decode_body, parse_event, raw_events
from channels.meta.graph import verify_handshake, verify_signature
from channels._replay import too_old
from channels.webhook_errors import TOO_LARGE, UNAVAILABLE, refusal_for

if TYPE_CHECKING:
    from bot.delivery import Delivery
    from channels.instagram.settings import InstagramSettings

logger = logging.getLogger(__name__)

Answer = Tuple[str, int, str]
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookRequest:
    """What the webhook needs from an HTTP POST: the raw body and the signature header."""

    body: bytes
    signature: Optional[str]


class InstagramWebhook:
    """Verifies, parses and hands over Instagram webhooks.

    Args:
        channel: the channel name stored with every record.
        settings: secrets, served accounts, body limit.
        delivery: the delivery service the events go to.
    """

    def __init__(self, *, channel: str, settings: "InstagramSettings", delivery: "Delivery") -> None:
        self._channel = channel
        self._settings = settings
        self._delivery = delivery

    def verify(self, args: Mapping[str, str]) -> Answer:
        """The GET ``hub.challenge`` handshake (see :func:`channels.meta.graph.verify_handshake`)."""
        body, status = verify_handshake(args, self._settings.verify_token)
        return body, status, TEXT

    async def handle(self, request: WebhookRequest) -> Answer:
        """Process one POST; never raises for bad input."""
        if len(request.body) > self._settings.max_body_bytes:
            logger.warning("Instagram webhook rejected: body of %d bytes is too large", len(request.body))
            return TOO_LARGE.answer()
        try:
            verify_signature(request.body, request.signature, self._settings.app_secret)
        except SignatureError as exc:
            logger.warning("Instagram webhook rejected: signature %s", exc.reason)
            return refusal_for(exc).answer()
        try:
            body = decode_body(request.body)
        except PayloadError as exc:
            logger.warning("Instagram webhook rejected: %s", exc.reason)
            return refusal_for(exc).answer()
        items = self.items(body)
        try:
            accepted = await self._delivery.accept(items) if items else []
        except SQLAlchemyError:
            logger.exception("Instagram webhook could not be stored")
            return UNAVAILABLE.answer()
        logger.debug("Instagram webhook: %d event(s), %d new", len(items), len(accepted))
        return "EVENT_RECEIVED", 200, TEXT

    def items(self, body: Mapping[str, object]) -> List[InboundItem]:
        """The inbox items of every event we handle, in the order Meta sent them."""
        items: List[InboundItem] = []
        now = self._delivery.clock()
        for raw in raw_events(body):
            event = parse_event(raw)
            if event is None:
                logger.debug("Instagram event skipped: unknown kind or shape")
                continue
            # The recipient decides (the sender for echoes): an entry of ours can carry an event
            # for another account, which is not ours to answer.  No recipient: the entry's.
            # Neither (a comment sent inline, as Meta's dashboard test does): ours, see below.
            inline = not (event.account or raw.entry_id)
            if not inline and not self._settings.serves(event.account or raw.entry_id):
                logger.info("Instagram %s event skipped: addressed to an account this app does not serve",
                            event.kind.value)
                continue
            if too_old(event.sent_at, now, self._delivery.retention):
                logger.warning("Instagram %s event skipped: sent before the %s dedupe retention (a replay?)",
                               event.kind.value, self._delivery.retention)
                continue
            if event.kind is Kind.COMMENT and self._own(event):
                logger.debug("Instagram comment by our own account skipped")
                continue
            # Comments sent inline (no entry) belong to the configured account.
            account = event.account or (self._settings.account_ids[0] if self._settings.account_ids else "")
            payload = raw.to_payload()
            payload["entry_id"] = payload["entry_id"] or account
            items.append(self._item(event, account, payload))
        return items

    def _own(self, event: InstagramEvent) -> bool:
        return event.customer == event.account or event.customer in self._settings.account_ids

    def _item(self, event: InstagramEvent, account: str, payload: Mapping[str, object]) -> InboundItem:
        return InboundItem(
            channel=self._channel,
            message_id=event.event_id,
            account=account,
            customer=event.customer,
            payload=dict(payload),
            sent_at=event.sent_at,
            opens_window=event.opens_window,
        )
