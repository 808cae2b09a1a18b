"""Inbox notices: a receiver process tells the Rasa process which conversations have new rows.

The notice is only a wake-up call: the rows are already durable in the delivery store
when it is sent, so a lost notice delays a message (until :mod:`bot.gateway.sweep`
finds it) but never loses it, and a repeated notice costs one empty database look-up.

Wire format: ``POST <channel>/inbox`` with the header :data:`SECRET_HEADER` carrying
the shared secret (environment variable :data:`SECRET_ENV`, compared in constant time)
and the JSON body ``{"conversations": [{"account": "...", "customer": "..."}, ...]}``.
Answers: 200 ``{"kicked": n}``; 403 wrong or missing secret; 404 no secret configured
(notices disabled); 400 malformed; 413 too large; 503 not started yet (the sweep
catches up).

Customer ids are personal data: they travel only in the notice body, never in logs.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import aiohttp

from bot.config import Config, Secret, config
from bot.gateway.coalesce import CoalescingNotifier

logger = logging.getLogger(__name__)

Conversation = Tuple[str, str]
"""(account, customer), as in :mod:`bot.delivery`."""

#: The environment variable both processes read the shared secret from.
SECRET_ENV = "MAJLIS_INBOX_SECRET"
SECRET_HEADER = "X-Majlis-Inbox-Secret"
#: Largest notice body accepted (a notice lists conversations, not messages).
MAX_NOTICE_BYTES = 1024 * 1024

Answer = Tuple[Dict[str, object], int]


def inbox_secret(cfg: Config = config) -> Optional[Secret]:
    """The shared secret from the environment, or None when notices are disabled."""
    value = cfg(SECRET_ENV, default="")
    return Secret(value) if value else None


def authorized(header: Optional[str], secret: Optional[Secret]) -> bool:
    """Whether ``header`` carries ``secret``; constant time, False when either is missing."""
    if not header or secret is None:
        return False
    return hmac.compare_digest(header.encode("utf-8", "replace"), secret.reveal().encode("utf-8"))


def encode_notice(conversations: Iterable[Conversation]) -> bytes:
    """The notice body for some conversations."""
    return json.dumps(
        {"conversations": [{"account": a, "customer": c} for a, c in conversations]}, ensure_ascii=False
    ).encode("utf-8")


def decode_notice(raw: bytes) -> List[Conversation]:
    """The conversations of a notice body.

    Raises:
        ValueError: not the notice format.
    """
    body = json.loads(raw)
    listed = body.get("conversations") if isinstance(body, dict) else None
    if not isinstance(listed, list):
        raise ValueError("no conversations list")
    found: List[Conversation] = []
    for entry in listed:
        if not (isinstance(entry, dict) and isinstance(entry.get("account"), str)
                and isinstance(entry.get("customer"), str)):
            raise ValueError("a conversation needs string account and customer")
        found.append((entry["account"], entry["customer"]))
    return found


def handle_notice(
    raw: bytes,
    header: Optional[str],
    secret: Optional[Secret],
    kick: Callable[[Conversation], None],
    *,
    ready: bool = True,
) -> Answer:
    """The whole notice route, framework-free: check, decode, ``kick`` each conversation.

    Args:
        raw: the request body.
        header: the :data:`SECRET_HEADER` value.
        secret: the configured shared secret (None: notices disabled, 404).
        kick: wakes the worker of one conversation (``Delivery.kick``).
        ready: False until the delivery service has started (then 503).
    """
    if secret is None:
        return {"error": "inbox notices are disabled"}, 404
    if not authorized(header, secret):
        logger.warning("Inbox notice refused: %s secret", "missing" if not header else "wrong")
        return {"error": "forbidden"}, 403
    if len(raw) > MAX_NOTICE_BYTES:
        return {"error": "notice too large"}, 413
    try:
        conversations = decode_notice(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deep
        logger.warning("Inbox notice refused: %s", type(exc).__name__)
        return {"error": "malformed notice"}, 400
    if not ready:
        return {"error": "not started"}, 503
    for conversation in dict.fromkeys(conversations):
        kick(conversation)
    logger.debug("Inbox notice: %d conversation(s) woken", len(conversations))
    return {"kicked": len(conversations)}, 200


class InboxNotifier(CoalescingNotifier):
    """Sends notices from a receiver, off the request path, coalescing bursts.

    Batches (:class:`bot.gateway.coalesce.CoalescingNotifier`) are POSTed one request
    at a time.  A failed notice is logged (counts only) and dropped: the rows are
    durable and the Rasa side's sweep picks them up.

    Args:
        url: the channel's notice route, e.g.
            ``http://127.0.0.1:5005/webhooks/whatsapp_cloud/inbox``.
        secret: the shared secret.
        timeout: seconds per notice request.
    """

    def __init__(self, url: str, secret: Secret, *, timeout: float = 5.0) -> None:
        super().__init__()
        self.url = url
        self.secret = secret
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.sent = 0
        self.failed = 0
        self._session: Optional[aiohttp.ClientSession] = None
        self._failing = False

    async def _deliver(self, batch: List[Conversation]) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        headers = {"Content-Type": "application/json", SECRET_HEADER: self.secret.reveal()}
        try:
            async with self._session.post(self.url, data=encode_notice(batch), headers=headers) as answer:
                await answer.read()
                status = answer.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            self._failed(len(batch), type(exc).__name__)
            return
        if status != 200:
            self._failed(len(batch), f"HTTP {status}")
            return
        self.sent += 1
        if self._failing:
            logger.info("Inbox notices reach the Rasa process again")
            self._failing = False

    def _failed(self, count: int, reason: str) -> None:
        self.failed += 1
        # One WARNING per outage, not one per webhook; the sweep delivers the rows meanwhile.
        log = logger.debug if self._failing else logger.warning
        log("Inbox notice for %d conversation(s) not delivered (%s); the Rasa side's sweep will pick them up",
            count, reason)
        self._failing = True

    async def close(self, timeout: float = 2.0) -> None:
        """Send what is queued (for up to ``timeout`` s), then stop."""
        await self._drain(timeout)
        if self._session is not None:
            await self._session.close()


__all__ = [
    "MAX_NOTICE_BYTES",
    "SECRET_ENV",
    "SECRET_HEADER",
    "InboxNotifier",
    "authorized",
    "decode_notice",
    "encode_notice",
    "handle_notice",
    "inbox_secret",
]
