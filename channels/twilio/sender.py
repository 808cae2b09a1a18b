"""Twilio's side of ``bot.delivery``: one send attempt, failures classified.

The delivery layer retries what :class:`bot.errors.ProviderAPIError` marks transient
and switches to the template on :class:`bot.errors.WindowClosedError`; this module
only decides which is which.

Error catalogue: https://www.twilio.com/docs/api/errors and the WhatsApp mapping
https://www.twilio.com/docs/whatsapp/api/error-code-mapping.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Optional

import aiohttp
from twilio.base.exceptions import TwilioRestException

from bot.delivery.types import SendResult
from bot.errors import ProviderAPIError, WindowClosedError
from channels.twilio.payloads import build_template, create_kwargs, with_callback_key

if TYPE_CHECKING:
    from twilio.rest import Client

    from bot.delivery.types import OutboundMessage

logger = logging.getLogger(__name__)

#: 63016: "Failed to send freeform message because you are outside the allowed window."
#: Twilio's name for WhatsApp's 131047 (legacy 470).
WINDOW_CLOSED = 63016

#: Codes worth retrying whatever the HTTP status: 20429 "Too Many Requests",
#: 63018 "Rate limit exceeded for Channel" (courier treats it as throttled),
#: 20500/20503 internal error / service unavailable, 30001 "Queue overflow".
TRANSIENT_CODES = frozenset({20429, 63018, 20500, 20503, 30001})

#: Short, personal-data-free titles for the codes seen most (Twilio's own messages
#: quote the recipient's number, so they are never logged or stored).
TITLES: Mapping[int, str] = {
    WINDOW_CLOSED: "outside the customer-service window",
    20003: "authentication failed",
    20404: "resource not found",
    20429: "too many requests",
    20500: "Twilio internal error",
    20503: "Twilio service unavailable",
    21211: "invalid To number",
    21408: "permission to send to this region not enabled",
    21610: "recipient unsubscribed",
    21617: "body exceeds 1600 characters",
    63003: "channel could not find the To address",
    63013: "policy violation",
    63015: "sandbox recipient has not joined",
    63018: "channel rate limit exceeded",
    63019: "media download failed",
    63024: "invalid message recipient",
    63027: "template does not exist",
    63028: "template parameter count mismatch",
    63032: "WhatsApp limitation",
}


def is_transient(http_status: Optional[int], code: Optional[int]) -> bool:
    """Whether a later retry can succeed: rate limits, 5xx, the transient codes above."""
    if code is not None and code in TRANSIENT_CODES:
        return True
    if http_status is None:
        return True  # no answer at all: network failure or timeout
    return http_status == 429 or http_status == 408 or http_status >= 500


def title(code: Optional[int], http_status: Optional[int]) -> str:
    """A short description without personal data."""
    if code is not None and code in TITLES:
        return TITLES[code]
    return f"Twilio error {code if code is not None else http_status}"


def provider_error(exc: TwilioRestException) -> ProviderAPIError:
    """Map twilio's exception onto the shared hierarchy.

    twilio sets ``code`` to the body's Twilio code, or the HTTP status when the body has
    none. The raw record keeps code, status and the docs link, not Twilio's message
    text (it quotes phone numbers).
    """
    status = int(exc.status) if exc.status is not None else None
    code = int(exc.code) if exc.code is not None else status
    raw = {"code": code, "status": status, "more_info": f"https://www.twilio.com/docs/errors/{code}"}
    if code == WINDOW_CLOSED:
        return WindowClosedError(WINDOW_CLOSED, TITLES[WINDOW_CLOSED], raw, http_status=status)
    return ProviderAPIError(code or 0, title(code, status), is_transient(status, code), raw, http_status=status)


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateSettings:
    """The approved template sent when the window is closed (Content API).

    Attributes:
        content_sid: ``HX…`` SID of the approved content (``TWILIO_TEMPLATE_CONTENT_SID``).
        variables: placeholder values (``TWILIO_TEMPLATE_VARIABLES``, JSON), if any.
    """

    content_sid: str
    variables: Optional[Mapping[str, str]] = None


class TwilioSender:
    """Implements ``bot.delivery.sender.Sender`` with the twilio client.

    Args:
        client: a ``twilio.rest.Client`` whose ``http_client`` is asynchronous
            (:class:`channels.twilio.http_client.AiohttpTwilioClient`).
        template: what to send outside the window; None to only record the skip.
        status_callback: URL Twilio posts delivery reports to, put on templates.
    """

    def __init__(
        self,
        client: Client,
        *,
        template: Optional[TemplateSettings] = None,
        status_callback: Optional[str] = None,
    ) -> None:
        self._client = client
        self._template = template
        self._status_callback = status_callback

    async def send(self, message: OutboundMessage) -> SendResult:
        """Make one ``POST /Messages.json`` attempt.

        Raises:
            WindowClosedError: Twilio answered 63016.
            ProviderAPIError: any other refusal, a timeout or a network error.
        """
        kwargs = create_kwargs(message.payload)
        if kwargs.get("status_callback"):  # the key comes back with every status (exactly once after a crash)
            kwargs["status_callback"] = with_callback_key(kwargs["status_callback"], message.idempotency_key)
        try:
            created = await self._client.messages.create_async(**kwargs)
        except TwilioRestException as exc:
            error = provider_error(exc)
            # The delivery layer logs the outcome (retry, skip, failure) once, at INFO/WARNING.
            logger.debug("Twilio refused message %s (key %s): %r", message.id, message.idempotency_key, error)
            raise error from None
        except asyncio.TimeoutError:
            raise ProviderAPIError(0, "timeout", True) from None
        except aiohttp.ClientError as exc:
            raise ProviderAPIError(0, f"network error: {type(exc).__name__}", True) from None
        logger.debug("Twilio accepted message %s as %s", message.id, created.sid)
        return SendResult(provider_message_id=created.sid)

    def window_template(self, message: OutboundMessage) -> Optional[Mapping[str, Any]]:
        """The template payload replacing a free-form message outside the window."""
        if self._template is None:
            return None
        return build_template(
            to=message.customer,
            from_=message.account,
            content_sid=self._template.content_sid,
            variables=self._template.variables,
            status_callback=self._status_callback,
        )
