"""Sending a conversation's outbox: one attempt at a time, in order, with the policies.

Used by :class:`bot.delivery.service.Delivery`; not part of the public API.  The
policies live here once for every channel: backoff on transient errors, failure
records, and the customer-service window (free-form messages outside it are not
attempted; the channel's approved template goes out once per closed window).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Dict, Optional, Set

from bot.delivery import killpoint
from bot.delivery.sender import RetryPolicy, Sender
from bot.delivery._rows import Conversation
from bot.storage.ports import DeliveryStorage
from bot.delivery.types import OutboundMessage, OutboxState, SendResult
from bot.errors import ProviderAPIError, WindowClosedError
from bot.metrics import delivery as delivery_metrics

logger = logging.getLogger(__name__)


class Dispatcher:
    """Sends pending outbox messages of one channel.

    Args:
        channel: the channel name.
        store: the delivery store.
        sender: makes single send attempts.
        retry: the backoff policy.
        clock: the current aware UTC time.
        window_open: whether a free-form message may go from account to customer at a
            time, given when the customer last wrote (None: never) — read with the
            pending messages, so each send costs no window query of its own.
        stopping: True once the service is shutting down.
        batch: pending messages read per query.
    """

    def __init__(
        self,
        *,
        channel: str,
        store: DeliveryStorage,
        sender: Sender,
        retry: RetryPolicy,
        clock: Callable[[], datetime],
        window_open: Callable[[Optional[datetime], datetime], bool],
        stopping: Callable[[], bool],
        batch: int = 50,
    ) -> None:
        self.channel = channel
        self.store = store
        self.sender = sender
        self.retry = retry
        self.clock = clock
        self._window_open = window_open
        self._stopping = stopping
        self._batch = batch
        #: Per conversation being flushed: the newest outbox id read so far.  A row with a
        #: higher id was stored after the read, and its sender must read again.
        self.read_upto: Dict[Conversation, int] = {}
        #: Sends the provider accepted whose outcome could not be written (the database
        #: failed right after): the next attempt records them instead of sending again.
        self._unrecorded: Dict[int, SendResult] = {}
        #: In-doubt rows already reported (a conversation is woken often while it waits).
        self._doubt_told: Set[int] = set()

    async def flush(self, conv: Conversation) -> Optional[float]:
        """Send due pending messages of ``conv`` in order; seconds until the next is due.

        Claims pending messages a batch at a time (one transaction, not one per message;
        :meth:`bot.delivery.sql.SqlDelivery.claim_outbound`), until a claim finds nothing:
        messages stored meanwhile, here or by another instance, are sent too.  Nothing
        is claimed while another instance sends the conversation's older messages.
        """
        while not self._stopping():
            records, last_inbound = await self.store.claim_outbound(self.channel, conv, self.clock(), self._batch)
            if not records:
                return None
            self.read_upto[conv] = max(self.read_upto.get(conv, 0), records[-1].message.id or 0)
            for record in records:
                if self._stopping():
                    return None
                if record.next_attempt_at is not None:
                    delay = (record.next_attempt_at - self.clock()).total_seconds()
                    if delay > 0:
                        if record.sending_since is not None and record.message.id not in self._doubt_told:
                            self._doubt_told.add(record.message.id or 0)  # bot/delivery/in_doubt.py
                            logger.info("%s: outbox %s is in doubt (its send was under way when its process "
                                        "stopped): waiting %.0fs for a status echoing its key",
                                        self.channel, record.message.id, delay)
                        return delay
                outcome = await self.attempt(record.message, last_inbound)
                if outcome.retry_in is not None:
                    return outcome.retry_in  # later messages wait behind this one (order)
        return None

    async def attempt(self, message: OutboundMessage, last_inbound: Optional[datetime], *,
                      marked: bool = False) -> "Outcome":
        """One send attempt of ``message`` with the policies; what the caller must do next.

        Args:
            marked: the row already says a send is under way (stored so, first in
                line); otherwise it is marked now, before the request leaves
                (:mod:`bot.delivery.in_doubt`).
        """
        now = self.clock()
        attempts = message.attempts + 1
        done = self._unrecorded.get(message.id or 0)
        if done is not None:  # it went out before; only its record failed
            return await self._sent(message, attempts, done)
        if message.free_form and not self._window_open(last_inbound, now):
            return Outcome(queued=await self._skip_outside_window(message, None))
        if not marked:
            await self.store.mark_sending(message.id or 0, now)
        try:
            result = await self.sender.send(message)
        except WindowClosedError as exc:
            return Outcome(queued=await self._skip_outside_window(message, exc))
        except ProviderAPIError as exc:
            return Outcome(retry_in=await self._failed_attempt(message, attempts, exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a sender bug: keep the message, retry like a transient error
            logger.exception("%s: sender raised unexpectedly", self.channel)
            bug = ProviderAPIError(0, type(exc).__name__, True)
            return Outcome(retry_in=await self._failed_attempt(message, attempts, bug))
        if killpoint.due("after_provider_accepted"):
            killpoint.crash("after_provider_accepted")
        return await self._sent(message, attempts, result)

    async def _sent(self, message: OutboundMessage, attempts: int, result: SendResult) -> "Outcome":
        """Record an accepted send (unless a status webhook recorded it first)."""
        self._unrecorded[message.id or 0] = result
        await self.store.update_outbound(
            message.id or 0,
            self.clock(),
            state=OutboxState.SENT,
            attempts=attempts,
            provider_message_id=result.provider_message_id,
            only_pending=True,
        )
        self._unrecorded.pop(message.id or 0, None)
        self._doubt_told.discard(message.id or 0)
        logger.debug("%s: outbox %s sent (attempt %d)", self.channel, message.id, attempts)
        delivery_metrics.sent(self.channel, message.kind)
        return Outcome()

    async def _failed_attempt(self, message: OutboundMessage, attempts: int, exc: ProviderAPIError) -> Optional[float]:
        """Record a failed attempt; seconds until the retry, or None when it is final."""
        retry = exc.is_transient and not self.retry.exhausted(attempts)
        delay = self.retry.delay(attempts) if retry else 0.0
        if retry:
            logger.info(
                "%s: outbox %s attempt %d failed (code %s); retrying in %.2fs",
                self.channel, message.id, attempts, exc.code, delay,
            )
        else:
            delivery_metrics.failed(self.channel, exc.code)
            logger.warning(
                "%s: outbox %s (%s) failed after %d attempt(s): code %s, %s",
                self.channel, message.id, message.kind, attempts, exc.code,
                "transient, retries exhausted" if exc.is_transient else "permanent",
            )
        await self.store.update_outbound(
            message.id or 0,
            self.clock(),
            state=OutboxState.PENDING if retry else OutboxState.FAILED,
            attempts=attempts,
            next_attempt_at=self.clock() + timedelta(seconds=delay) if retry else None,
            error_code=exc.code,
            error_message=exc.message,
            only_pending=True,
        )
        return delay if retry else None

    async def _skip_outside_window(self, message: OutboundMessage, exc: Optional[WindowClosedError]) -> bool:
        """Mark ``message`` skipped and queue the template; whether a template was queued."""
        delivery_metrics.window_expired(self.channel)
        logger.info(
            "%s: outbox %s not sent: customer-service window closed%s",
            self.channel, message.id, f" (provider code {exc.code})" if exc else "",
        )
        await self.store.update_outbound(
            message.id or 0,
            self.clock(),
            state=OutboxState.SKIPPED,
            attempts=message.attempts + (1 if exc else 0),
            error_code=exc.code if exc else None,
            error_message=exc.message if exc else "customer-service window closed",
            only_pending=True,
        )
        return await self.queue_template(message)

    async def queue_template(self, message: OutboundMessage) -> bool:
        """Queue the channel's approved template once per closed-window period; whether it was new."""
        payload = self.sender.window_template(message)
        if payload is None:
            logger.warning("%s: window closed and no template configured; message %s not delivered",
                           self.channel, message.id)
            return False
        last = await self.store.last_inbound_at(self.channel, message.account, message.customer)
        period = int(last.timestamp()) if last else 0
        template = OutboundMessage(
            channel=self.channel,
            account=message.account,
            customer=message.customer,
            payload=payload,
            idempotency_key=f"window-template:{message.account}:{message.customer}:{period}",
            free_form=False,
            kind="template",
            inbound_message_id=message.inbound_message_id,
        )
        stored, created = await self.store.enqueue(template, self.clock())
        if created:
            delivery_metrics.template_fallback(self.channel)
            logger.info("%s: template %s queued instead of outbox %s", self.channel, stored.id, message.id)
        return created


@dataclass(frozen=True)
class Outcome:
    """What a send attempt leaves to do for the conversation."""

    retry_in: Optional[float] = None
    """Seconds until this message is tried again; later messages must wait for it."""
    queued: bool = False
    """A new message (the window template) was stored behind it: read the outbox again."""
