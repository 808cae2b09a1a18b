"""Instagram's side of ``bot.delivery``: one Graph request per attempt, errors classified.

Messages (replies, quick replies, media, private replies) go to the Send API
(``POST /{IG_ID|PAGE_ID|me}/messages``); public comment replies to
``POST /{comment-id}/replies``.  The HTTP call and the generic classification are
:class:`channels.meta.graph.GraphClient`; this module adds what is Instagram's own:

- ``(#10)`` with subcode 2018278 "sent outside of allowed window" →
  :class:`bot.errors.WindowClosedError` (never retried; Instagram has no templates,
  so nothing replaces the message: :meth:`InstagramSender.window_template` is None);
- 613 "calls to this API have exceeded the rate limit" and 2 (temporary) → transient.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping, Optional

from bot.config import Secret
from bot.delivery.types import OutboundMessage, SendResult
from bot.errors import ProviderAPIError, WindowClosedError
from channels.instagram.payloads import KIND_PUBLIC_REPLY
from channels.meta.graph import GraphClient

logger = logging.getLogger(__name__)

#: Graph ``error_subcode`` values meaning the messaging window is closed.
WINDOW_CLOSED_SUBCODES = frozenset({2018278, 2018108})
#: Instagram throttling codes that ``channels.meta.graph.TRANSIENT_CODES`` does not list.
EXTRA_TRANSIENT_CODES = frozenset({613})


def classify(exc: ProviderAPIError) -> ProviderAPIError:
    """Refine a generic Graph error with Instagram's window and throttling codes."""
    error = exc.raw.get("error") if isinstance(exc.raw, Mapping) else None
    subcode = error.get("error_subcode") if isinstance(error, Mapping) else None
    if subcode in WINDOW_CLOSED_SUBCODES:
        return WindowClosedError(exc.code, "outside the Instagram messaging window", exc.raw,
                                 http_status=exc.http_status)
    if exc.code in EXTRA_TRANSIENT_CODES and not exc.is_transient:
        return ProviderAPIError(exc.code, exc.message, True, exc.raw, http_status=exc.http_status)
    return exc


class InstagramSender:
    """Implements ``bot.delivery.Sender`` for Instagram.

    Args:
        client: the Graph client (base URL of the chosen API flavour).
        token: the Page or Instagram user access token.
        messages_path: the Send API path (``InstagramSettings.messages_path``).
    """

    def __init__(self, client: GraphClient, *, token: Secret, messages_path: str) -> None:
        self._client = client
        self._token = token
        self._messages_path = messages_path

    async def send(self, message: OutboundMessage) -> SendResult:
        """Make one attempt.

        Raises:
            WindowClosedError: Instagram refused because the window is closed.
            ProviderAPIError: any other failure (``is_transient`` says whether to retry).
        """
        payload = dict(message.payload)
        if message.kind == KIND_PUBLIC_REPLY:
            path, body = f"{payload['comment_id']}/replies", {"message": payload["message"]}
        else:
            path, body = self._messages_path, payload
        try:
            answer = await self._client.request("POST", path, self._token, json=body)
        except ProviderAPIError as exc:
            error = classify(exc)
            logger.warning("Instagram refused outbox %s (%s): code %s%s", message.id, message.kind, error.code,
                           ", transient" if error.is_transient else "")
            raise error from None
        provider_id = answer.get("message_id") or answer.get("id")
        logger.debug("Instagram accepted outbox %s", message.id)
        return SendResult(provider_message_id=str(provider_id) if provider_id else None)

    def window_template(self, message: OutboundMessage) -> Optional[Mapping[str, Any]]:
        """Instagram has no message templates: a closed window is only recorded."""
        return None
