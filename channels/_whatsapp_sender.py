"""WhatsApp Cloud's side of ``bot.delivery``: one Graph API attempt per send.

Implements :class:`bot.delivery.Sender`.  Retrying, backoff and the window policy
are the delivery layer's; this module only talks to ``/{phone-number-id}/messages``
and classifies the answer (see :func:`channels._meta.graph_error`).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

from bot.delivery import SendResult
from bot.errors import ProviderAPIError
from channels._meta import GraphClient
from channels._whatsapp_payloads import build_read_receipt, build_template_payload

if TYPE_CHECKING:
    from bot.delivery import OutboundMessage
    from channels._whatsapp_settings import NumberSettings

logger = logging.getLogger(__name__)


class WhatsAppSender:
    """Sends stored outbox messages from the number they belong to.

    Args:
        client: the Graph API client (its session is shared by every number).
        numbers: the configured numbers, keyed by ``phone_number_id``.
    """

    def __init__(self, client: GraphClient, numbers: Mapping[str, NumberSettings]) -> None:
        self.client = client
        self.numbers = numbers

    def _number(self, phone_number_id: str) -> NumberSettings:
        number = self.numbers.get(phone_number_id)
        if number is None:
            raise ProviderAPIError(0, "phone_number_id not configured", False)
        return number

    async def send(self, message: OutboundMessage) -> SendResult:
        """One ``POST /{account}/messages``; see :meth:`bot.delivery.Sender.send`."""
        number = self._number(message.account)
        answer = await self.client.request("POST", f"{number.phone_number_id}/messages", number.token, message.payload)
        messages = answer.get("messages")
        first: Dict[str, Any] = messages[0] if isinstance(messages, list) and messages and isinstance(messages[0], dict) else {}
        return SendResult(provider_message_id=first.get("id"))

    def window_template(self, message: OutboundMessage) -> Optional[Mapping[str, Any]]:
        """The number's configured template, addressed to the same customer."""
        number = self.numbers.get(message.account)
        if number is None or number.template is None:
            return None
        return build_template_payload(message.customer, number.template.name, number.template.language)

    async def mark_read(self, phone_number_id: str, message_id: str, *, typing: bool = True) -> None:
        """Mark a message read and show the typing indicator; failures only logged.

        Not durable on purpose: a read receipt that fails is not worth a retry.
        """
        try:
            number = self._number(phone_number_id)
            await self.client.request(
                "POST", f"{number.phone_number_id}/messages", number.token, build_read_receipt(message_id, typing=typing)
            )
        except ProviderAPIError as exc:
            logger.info("Read receipt not sent (code %s)", exc.code)

    async def media_url(self, phone_number_id: str, media_id: str) -> Dict[str, Any]:
        """``GET /{media-id}``: the short-lived download URL, mime type and size."""
        number = self._number(phone_number_id)
        return await self.client.request("GET", f"{media_id}?phone_number_id={phone_number_id}", number.token)

    async def download_media(self, phone_number_id: str, media_id: str) -> bytes:
        """Fetch an inbound media file (URL lookup, then an authenticated download)."""
        number = self._number(phone_number_id)
        info = await self.media_url(phone_number_id, media_id)
        url = info.get("url")
        if not isinstance(url, str):
            raise ProviderAPIError(0, "media URL missing in answer", False, info)
        return await self.client.download(url, number.token)
