"""WhatsApp Cloud's side of ``bot.delivery``: one Graph API attempt per send.

Implements :class:`bot.delivery.Sender`.  Retrying, backoff and the window policy
are the delivery layer's; this module only talks to ``/{phone-number-id}/messages``
and classifies the answer (see :func:`channels.meta.graph.graph_error`).

Read receipts (with the typing indicator) go out in the background while the turn
runs (:meth:`WhatsAppSender.mark_read_soon`); a reply to the same customer waits for
the receipt (at most :data:`RECEIPT_WAIT_S`), so the indicator never outlives the answer.
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Tuple

import aiohttp

from bot.delivery import SendResult
from bot.delivery.ports import MediaFile
from bot.errors import MediaTooLarge, ProviderAPIError
from channels._media import download
from channels.meta.graph import GraphClient
from channels.whatsapp_cloud.address import address_of_payload
from channels.whatsapp_cloud.payloads import build_read_receipt, build_template_payload, with_callback_data

if TYPE_CHECKING:
    from bot.delivery import OutboundMessage
    from channels.whatsapp_cloud.settings import NumberSettings

logger = logging.getLogger(__name__)

#: Seconds a reply waits for the read receipt of its conversation still in flight.  The
#: receipt only orders the typing indicator before the answer: not worth a longer stall.
RECEIPT_WAIT_S = 2.0


class WhatsAppSender:
    """Sends stored outbox messages from the number they belong to.

    Args:
        client: the Graph API client (its session is shared by every number).
        numbers: the configured numbers, keyed by ``phone_number_id``.
    """

    def __init__(self, client: GraphClient, numbers: Mapping[str, NumberSettings]) -> None:
        self.client = client
        self.numbers = numbers
        # (phone_number_id, customer) → the read receipt being sent (tasks referenced here
        # until done, so they are not garbage-collected mid-flight).
        self._receipts: Dict[Tuple[str, str], asyncio.Task] = {}

    def _number(self, phone_number_id: str) -> NumberSettings:
        number = self.numbers.get(phone_number_id)
        if number is None:
            raise ProviderAPIError(0, "phone_number_id not configured", False)
        return number

    async def send(self, message: OutboundMessage) -> SendResult:
        """One ``POST /{account}/messages``; see :meth:`bot.delivery.Sender.send`."""
        number = self._number(message.account)
        receipt = self._receipts.get((message.account, message.customer))
        if receipt is not None:  # never raises: mark_read swallows its errors
            await asyncio.wait({receipt}, timeout=RECEIPT_WAIT_S)
        # The outbox key rides along and comes back in the status webhooks (exactly-once after a crash).
        body = with_callback_data(message.payload, message.idempotency_key)
        answer = await self.client.request("POST", f"{number.phone_number_id}/messages", number.token, body)
        messages = answer.get("messages")
        first: Dict[str, Any] = messages[0] if isinstance(messages, list) and messages and isinstance(messages[0], dict) else {}
        return SendResult(provider_message_id=first.get("id"))

    def window_template(self, message: OutboundMessage) -> Optional[Mapping[str, Any]]:
        """The number's configured template, addressed as the message it replaces was (phone or BSUID)."""
        number = self.numbers.get(message.account)
        if number is None or number.template is None:
            return None
        to = address_of_payload(message.payload) or message.customer
        return build_template_payload(to, number.template.name, number.template.language)

    def mark_read_soon(self, phone_number_id: str, message_id: str, customer: str, *, typing: bool = True) -> None:
        """Start :meth:`mark_read` in the background; the next :meth:`send` to ``customer`` waits for it."""
        key = (phone_number_id, customer)
        task = asyncio.get_running_loop().create_task(self.mark_read(phone_number_id, message_id, typing=typing))
        self._receipts[key] = task

        def forget(done: asyncio.Task, key: Tuple[str, str] = key) -> None:
            if self._receipts.get(key) is done:
                del self._receipts[key]

        task.add_done_callback(forget)

    async def mark_read(self, phone_number_id: str, message_id: str, *, typing: bool = True) -> None:
        """Mark a message read and show the typing indicator; failures only logged (DEBUG).

        Not durable on purpose: a read receipt that fails is not worth a retry, nor a
        log line above DEBUG (the reply itself is what matters, and it is tracked).
        """
        try:
            number = self._number(phone_number_id)
            await self.client.request(
                "POST", f"{number.phone_number_id}/messages", number.token, build_read_receipt(message_id, typing=typing)
            )
        except ProviderAPIError as exc:
            logger.debug("Read receipt not sent (code %s)", exc.code)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # background task: nothing above may fail because of it
            logger.debug("Read receipt not sent (%s)", type(exc).__name__)

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

    async def fetch_media(self, phone_number_id: str, media_id: str, *, max_bytes: int,
                          content_type: Optional[str] = None) -> MediaFile:
        """An inbound media file, at most ``max_bytes`` (``GET /{media-id}``, then the URL with the token).

        Raises:
            bot.errors.MediaTooLarge: Graph's ``file_size`` or the bytes read exceed ``max_bytes``.
            bot.errors.ProviderAPIError: the Graph API refused or failed.
        """
        number = self._number(phone_number_id)
        info = await self.media_url(phone_number_id, media_id)
        url, size = info.get("url"), info.get("file_size")
        if not isinstance(url, str):
            raise ProviderAPIError(0, "media URL missing in answer", False, info)
        if isinstance(size, int) and size > max_bytes:
            raise MediaTooLarge(f"the file is larger than {max_bytes} bytes")
        return await download(self.client.session(), url, max_bytes=max_bytes, timeout=self.client.timeout.total or 10,
                              headers={"Authorization": f"Bearer {number.token.reveal()}"},
                              content_type=content_type or info.get("mime_type"))

    async def upload_media(self, phone_number_id: str, media: MediaFile) -> str:
        """``POST /{phone-number-id}/media`` (multipart): the media id to send the file by.

        Meta also accepts a public ``link``, but that would make the desk's files
        reachable without sign-in; an uploaded id is valid for 30 days.
        https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media
        """
        number = self._number(phone_number_id)
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", media.content_type)
        form.add_field("file", media.data, filename=media.filename or "file", content_type=media.content_type)
        answer = await self.client.upload(f"{number.phone_number_id}/media", number.token, form)
        media_id = answer.get("id")
        if not isinstance(media_id, str) or not media_id:
            raise ProviderAPIError(0, "media id missing in upload answer", False, answer)
        return media_id
