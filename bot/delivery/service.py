"""Nothing lost, nothing twice: the delivery service every channel uses.

A channel's webhook calls :meth:`Delivery.accept` (durable, deduplicated) and only
then answers 200.  Processing runs afterwards, one worker per conversation
(account, customer), strictly in arrival order.  The channel's handler turns an
:class:`~bot.delivery.types.InboundItem` into a Rasa ``UserMessage``; its output
channel writes replies into the :class:`Outbox`, which stores each under an
idempotency key before the first attempt to send.  Sends are retried with
exponential backoff and jitter on transient errors, also after a restart
(:meth:`Delivery.start` resumes unfinished work).  See ``docs/delivery.md``.

Each conversation has up to two tasks: a *worker* that processes inbound items in
order, and a *sender* that sends stored replies in order.  A reply is sent while
the turn goes on (Rasa predicts the next action, saves the tracker), not after it.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from bot.delivery import killpoint, replay
from bot.delivery.dispatch import Dispatcher
from bot.delivery.sender import RetryPolicy, Sender
from bot.delivery._rows import Conversation, utcnow
from bot.delivery.sql import Finished
from bot.storage.ports import DeliveryStorage
from bot.metrics import delivery as delivery_metrics
from bot.delivery.types import (
    InboundItem,
    InboxState,
    OutboundMessage,
    OutboxRecord,
    OutboxState,
    StatusUpdate,
)

logger = logging.getLogger(__name__)

Handler = Callable[[InboundItem, "Outbox"], Awaitable[None]]
"""Processes one inbound item; replies go through the given :class:`Outbox`."""

#: WhatsApp's customer-service window; Twilio's WhatsApp sender has the same rule.
DEFAULT_WINDOW = timedelta(hours=24)
#: Meta retries webhooks for up to 7 days, so dedupe records must live that long.
DEFAULT_RETENTION = timedelta(days=7)


class Outbox:
    """Where a handler puts the replies to one inbound message.

    Each :meth:`add` stores the message under the key
    ``"<inbound message id>:<position>"`` (position counts from 0 per processing
    run), so re-processing the same inbound message after a crash produces the same
    keys and never sends a reply twice.  Messages are sent in the order added,
    by the conversation's sender task: :meth:`add` returns once the message is
    stored, without waiting for the provider.
    """

    def __init__(self, delivery: "Delivery", inbound: InboundItem) -> None:
        self.delivery = delivery
        self.inbound = inbound
        self._position = 0

    async def add(
        self,
        payload: Mapping[str, Any],
        *,
        kind: str = "message",
        free_form: bool = True,
        key: Optional[str] = None,
    ) -> Optional[OutboundMessage]:
        """Store one reply durably and have it sent (now, or later if earlier ones wait).

        Args:
            payload: the provider request body.
            kind: a label for records and logs ("text", "interactive", ...).
            free_form: False only for approved templates and similar messages
                allowed outside the customer-service window.
            key: override the idempotency key (default: inbound id + position).

        Returns:
            The stored message, or None when its key was already stored (a reply
            from an earlier run of the same inbound message; it is not sent again).
        """
        key = key or f"{self.inbound.message_id}:{self._position}"
        self._position += 1
        message = OutboundMessage(
            channel=self.inbound.channel,
            account=self.inbound.account,
            customer=self.inbound.customer,
            payload=payload,
            idempotency_key=key,
            free_form=free_form,
            kind=kind,
            inbound_message_id=self.inbound.message_id,
        )
        stored, created, first_in_line, last_inbound = await self.delivery.store.enqueue_reply(
            message, self.delivery.clock()
        )
        if not created:
            logger.debug("Outbox key %s already stored; not sending again", key)
            return None
        if killpoint.due("after_reply_stored"):
            killpoint.crash("after_reply_stored")
        conv = (stored.account, stored.customer)
        if first_in_line:
            self.delivery._send_now(conv, stored, last_inbound)
        else:
            self.delivery._wake_sender(conv)
        return stored


class Delivery:
    """Durable inbox/outbox with ordered per-conversation processing for one channel.

    Args:
        channel: the channel name (rows are keyed by it).
        store: the database access (one per process is enough for every channel).
        sender: makes single send attempts and classifies errors.
        handler: processes an inbound item; may be set later with :meth:`set_handler`
            (Rasa hands ``on_new_message`` to ``blueprint()`` after construction).
        retry: backoff policy for transient send failures.
        window: the customer-service window (None: the channel has none).
        window_margin: treat the window as closed this much early (clock skew).
        retention: how long finished inbox/outbox rows (the dedupe records) are kept.
        status_retention: how long delivery statuses and windows are kept.
        max_concurrency: conversations processed at the same time.
        processing_attempts: how often a failing inbound item is tried before it is
            marked failed (a later message of the conversation is not blocked forever).
        clock: returns the current aware UTC time (tests inject one).
    """

    def __init__(
        self,
        *,
        channel: str,
        store: DeliveryStorage,
        sender: Sender,
        handler: Optional[Handler] = None,
        retry: RetryPolicy = RetryPolicy(),
        window: Optional[timedelta] = DEFAULT_WINDOW,
        window_margin: timedelta = timedelta(minutes=1),
        retention: timedelta = DEFAULT_RETENTION,
        status_retention: timedelta = timedelta(days=30),
        max_concurrency: int = 8,
        processing_attempts: int = 3,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.channel = channel
        self.store = store
        self.sender = sender
        self.retry = retry
        self.window = window
        self.window_margin = window_margin
        self.retention = retention
        self.status_retention = status_retention
        self.processing_attempts = processing_attempts
        self.clock = clock
        self._handler = handler
        self._dispatcher = Dispatcher(
            channel=channel, store=store, sender=sender, retry=retry, clock=clock,
            window_open=self._window_allows, stopping=lambda: self._stopping,
        )
        self._semaphore: Optional[asyncio.Semaphore] = None
        self._max_concurrency = max_concurrency
        self._workers: Dict[Conversation, asyncio.Task] = {}
        self._dirty: Set[Conversation] = set()
        self._senders: Dict[Conversation, asyncio.Task] = {}
        self._send_dirty: Set[Conversation] = set()
        self._timers: Dict[Tuple[str, Conversation], asyncio.TimerHandle] = {}
        self._prune_task: Optional[asyncio.Task] = None
        self._started = False
        self._stopping = False

    def set_handler(self, handler: Handler) -> None:
        """Set the function that processes inbound items."""
        self._handler = handler

    # -- inbound -----------------------------------------------------------

    async def accept(self, items: Sequence[InboundItem], *, schedule: bool = True) -> List[InboundItem]:
        """Record inbound messages durably, dropping ones already seen.

        Call this before answering the webhook; answer 200 once it returns.  Items
        with a ``message_id`` already stored (an earlier delivery, or a duplicate in
        the same batch) are not stored again and not returned.  The customer's
        service window is extended to the newest item.

        Args:
            items: parsed inbound messages, all of this channel.
            schedule: start processing right after (the default).  Processing runs
                in background tasks, never inside the webhook request.

        Returns:
            The newly accepted items, with database ids, in arrival order.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the database is unavailable; answer the
                webhook with 5xx so the provider retries later.
        """
        unique: Dict[str, InboundItem] = {}
        for item in items:
            if item.channel != self.channel:
                raise ValueError(f"item of channel {item.channel!r} given to {self.channel!r}")
            unique.setdefault(item.message_id, item)
        accepted = await self.store.accept(list(unique.values()), self.clock())
        dropped = len(items) - len(accepted)
        if dropped:
            logger.info("%s: %d duplicate inbound message(s) ignored", self.channel, dropped)
        if schedule:
            for conv in {(item.account, item.customer) for item in accepted}:
                self.kick(conv)
        return accepted

    async def record_statuses(self, updates: Sequence[StatusUpdate]) -> None:
        """Record delivery reports; a window-closed failure triggers the template.

        Out of order, duplicated, or about messages never seen: all fine.  The
        current status of a message is its highest-ranked one
        (:data:`bot.delivery.types.STATUS_RANK`).
        """
        if not updates:
            return
        new, settled = await self.store.record_statuses(updates, self.clock())
        if settled:
            # A send whose answer was never recorded (its process died) was proven by its
            # status: the conversation's later replies may go now, not after the window.
            logger.info("%s: %d interrupted send(s) settled by a status webhook echoing their key",
                        self.channel, len(settled))
            for conv in settled:
                self._have_sent(conv)
        for update in new:
            if update.status not in ("failed", "undelivered"):
                continue
            record = await self.store.outbound_by_provider_id(self.channel, update.provider_message_id)
            if record is None:
                continue
            delivery_metrics.failed(self.channel, update.error_code)
            logger.warning(
                "%s: outbox message %s failed at the provider (code %s)",
                self.channel, record.message.id, update.error_code,
            )
            await self.store.update_outbound(
                record.message.id or 0,
                self.clock(),
                state=OutboxState.FAILED,
                attempts=record.message.attempts,
                error_code=update.error_code,
                error_message=update.error_title,
            )
            if update.window_closed and record.message.free_form:
                if await self._dispatcher.queue_template(record.message):
                    self._have_sent((record.message.account, record.message.customer))

    async def enqueue(self, message: OutboundMessage) -> Optional[OutboundMessage]:
        """Send a message that is not a reply to an inbound one (agent replies, notices).

        Args:
            message: with a caller-chosen ``idempotency_key`` (e.g. the agent desk's
                reply id), so retrying the call never sends twice.

        Returns:
            The stored message, or None if the key was already stored.
        """
        stored, created = await self.store.enqueue(message, self.clock())
        if created:
            self._have_sent((stored.account, stored.customer))
        return stored if created else None

    async def refuse_outside_window(self, message: OutboundMessage) -> bool:
        """Record a person's free-form message refused because the window had closed.

        Stored as skipped, never sent and with no template queued (the person chooses one):
        the reports then count the conversation as lost to the window, and the window-expiry
        metric counts it as the dispatcher counts a reply it skips.  False if the key was
        recorded before.
        """
        _stored, created = await self.store.enqueue(message, self.clock(), state=OutboxState.SKIPPED)
        if created:
            delivery_metrics.window_expired(self.channel)
            logger.info("%s: a free-form message from the desk was refused: customer-service window closed",
                        self.channel)
        return created

    async def window_open(self, account: str, customer: str, at: Optional[datetime] = None) -> bool:
        """Whether a free-form message to ``customer`` from ``account`` is allowed now."""
        if self.window is None:
            return True
        last = await self.store.last_inbound_at(self.channel, account, customer)
        return self._window_allows(last, at or self.clock())

    def _window_allows(self, last_inbound: Optional[datetime], at: datetime) -> bool:
        """The window rule, given when the customer last wrote (None: never)."""
        if self.window is None:
            return True
        if last_inbound is None:
            return False
        return at < last_inbound + self.window - self.window_margin

    # -- life cycle --------------------------------------------------------

    async def start(self) -> None:
        """Migrate the schema and resume everything a crash or restart interrupted."""
        if self._started:
            return
        self._started, self._stopping = True, False
        self._semaphore = asyncio.Semaphore(self._max_concurrency)
        replay.install()  # a re-processed message already in its tracker is not fed to Rasa again
        await self.store.setup()
        conversations = await self.store.recover(self.channel, self.clock())
        if conversations:
            logger.info("%s: resuming unfinished work of %d conversation(s)", self.channel, len(conversations))
        for conv in conversations:
            self.kick(conv)
        self._prune_task = asyncio.get_running_loop().create_task(self._prune_loop())

    async def stop(self, timeout: float = 10.0) -> None:
        """Let running work finish (up to ``timeout`` s), then cancel the rest.

        Returns once no task of this service runs any more; unfinished work stays
        in the database and is resumed by the next :meth:`start`.
        """
        self._stopping = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        tasks = list(self._workers.values()) + list(self._senders.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
        if self._prune_task:
            self._prune_task.cancel()
            tasks.append(self._prune_task)
        await asyncio.gather(*tasks, return_exceptions=True)
        self._started = False

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until no conversation is being processed (tests, graceful shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._workers or self._senders:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{self.channel}: delivery still busy after {timeout}s")
            await asyncio.wait([*self._workers.values(), *self._senders.values()], timeout=remaining)

    async def prune(self) -> int:
        """Delete dedupe/outbox rows older than the retention; return how many."""
        now = self.clock()
        return await self.store.prune(self.channel, now - self.retention, now - self.status_retention)

    async def _prune_loop(self) -> None:
        while True:
            try:
                removed = await self.prune()
                if removed:
                    logger.info("%s: pruned %d old delivery record(s)", self.channel, removed)
            except Exception:  # the loop must survive a database hiccup
                logger.exception("%s: pruning failed", self.channel)
            await asyncio.sleep(3600)

    # -- workers -----------------------------------------------------------

    def kick(self, conv: Conversation) -> None:
        """Make sure ``conv``'s pending work (inbound items, then unsent replies) is done soon."""
        if self._stopping:
            return
        self._dirty.add(conv)
        if conv not in self._workers:
            task = asyncio.get_running_loop().create_task(self._work(conv))
            self._workers[conv] = task

    def _have_sent(self, conv: Conversation) -> None:
        """A message was stored outside a turn: wake the sender here, or :meth:`kick`.

        A service that was never started (a process that only records webhooks) does
        not send: :meth:`kick` is what such a subclass routes to the sending process.
        """
        if self._started:
            self._wake_sender(conv)
        else:
            self.kick(conv)

    def _wake_sender(self, conv: Conversation) -> None:
        """Make sure ``conv``'s sender sends its stored replies soon (without processing)."""
        if self._stopping:
            return
        self._send_dirty.add(conv)
        if conv not in self._senders:
            self._senders[conv] = asyncio.get_running_loop().create_task(self._send(conv))

    async def _work(self, conv: Conversation) -> None:
        finished: Optional[Finished] = None
        try:
            while conv in self._dirty and not self._stopping:
                self._dirty.discard(conv)
                while not self._stopping:
                    # Closing the last item and claiming the next is one transaction.
                    item, newest_pending = await self.store.finish_and_claim_next(
                        self.channel, conv, finished, self.clock()
                    )
                    finished = None
                    if newest_pending is not None and not self._sender_has_read(conv, newest_pending):
                        self._wake_sender(conv)  # e.g. left unsent by a restart, or another process
                    if item is None:
                        break
                    finished = await self._process(item)
        except asyncio.CancelledError:
            raise
        except Exception:  # boundary: a broken worker must not take the app down
            logger.exception("%s: delivery worker failed; retrying in 30s", self.channel)
            self._schedule_retry(conv, 30.0, self.kick)
        finally:
            try:
                if finished is not None:  # stopping, or the claim failed: record the end of the item
                    await self._finish_quietly(finished)
            finally:  # even if cancelled meanwhile: a stale entry would block the next kick
                # No await since the last check of _dirty on the normal path: no kick is lost.
                self._workers.pop(conv, None)

    async def _finish_quietly(self, finished: Finished) -> None:
        try:
            await self.store.finish_inbound(finished[0], finished[1], self.clock(), finished[2])
        except Exception:  # it stays "processing" and is re-processed after restart (same keys)
            logger.exception("%s: could not record the end of inbound %s", self.channel, finished[0])

    def _sender_has_read(self, conv: Conversation, outbox_id: int) -> bool:
        """Whether ``conv``'s running sender has read ``outbox_id`` (then it sends it; no wake needed)."""
        return conv in self._senders and self._dispatcher.read_upto.get(conv, 0) >= outbox_id

    def _send_now(self, conv: Conversation, message: OutboundMessage, last_inbound: Optional[datetime]) -> None:
        """Send a just-stored reply that nothing older waits before, without reading the outbox.

        Only when no sender of ``conv`` runs: a running one may already have read the
        outbox past this message, so it is told to read again instead (never twice).
        """
        if self._stopping:
            return
        if conv in self._senders:
            self._wake_sender(conv)
            return
        self._senders[conv] = asyncio.get_running_loop().create_task(self._send(conv, (message, last_inbound)))

    async def _send(
        self, conv: Conversation, first: Optional[Tuple[OutboundMessage, Optional[datetime]]] = None
    ) -> None:
        try:
            wait: Optional[float] = None
            if first is not None:
                self._dispatcher.read_upto[conv] = first[0].id or 0
                outcome = await self._dispatcher.attempt(*first, marked=True)  # stored marked as sending
                wait = outcome.retry_in
                if outcome.queued:  # the window template: read the outbox for it
                    self._send_dirty.add(conv)
            while conv in self._send_dirty and not self._stopping:
                self._send_dirty.discard(conv)
                wait = await self._dispatcher.flush(conv)
            if wait is not None and not self._stopping:
                self._schedule_retry(conv, wait, self._wake_sender)
        except asyncio.CancelledError:
            raise
        except Exception:  # boundary: e.g. the database went away; the rows stay pending
            logger.exception("%s: delivery sender failed; retrying in 30s", self.channel)
            self._schedule_retry(conv, 30.0, self._wake_sender)
        finally:
            self._senders.pop(conv, None)
            self._dispatcher.read_upto.pop(conv, None)

    def _schedule_retry(self, conv: Conversation, delay: float, wake: Callable[[Conversation], None]) -> None:
        # One timer per conversation and kind (worker or sender): a send backoff must not
        # cancel a worker's retry, nor the other way round.
        key = (wake.__name__, conv)
        old = self._timers.pop(key, None)
        if old:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(delay, self._timer_fired, key, wake)

    def _timer_fired(self, key: Tuple[str, Conversation], wake: Callable[[Conversation], None]) -> None:
        self._timers.pop(key, None)
        wake(key[1])

    async def _process(self, item: InboundItem) -> Finished:
        """Run the handler once; how the attempt ended (recorded with the next claim)."""
        if self._handler is None:
            raise RuntimeError(f"{self.channel}: no handler set")
        assert self._semaphore is not None, "Delivery.start() was not awaited"
        try:
            # A re-run (after a crash) must not feed Rasa a message its tracker already holds.
            with replay.reprocessing(item.message_id if item.attempts > 1 else None):
                async with self._semaphore:
                    await self._handler(item, Outbox(self, item))
        except replay.TurnAlreadyRecorded:
            logger.info("%s: inbound %s was already answered before a restart; its stored replies are sent",
                        self.channel, item.id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # boundary: record, retry a few times, then move on
            final = item.attempts >= self.processing_attempts
            logger.exception(
                "%s: processing inbound %s failed (attempt %d%s)",
                self.channel, item.id, item.attempts, ", giving up" if final else "",
            )
            return (item.id or 0, InboxState.FAILED if final else InboxState.PENDING, type(exc).__name__)
        if killpoint.due("after_tracker_saved"):
            await self._senders_idle((item.account, item.customer))
            killpoint.crash("after_tracker_saved")
        return (item.id or 0, InboxState.DONE, None)

    async def _senders_idle(self, conv: Conversation) -> None:
        """Wait until ``conv``'s sender has nothing in flight (a kill test's fixed point)."""
        while conv in self._senders:
            await asyncio.wait([self._senders[conv]])

    async def outbox_records(self, customer: Optional[str] = None) -> List[OutboxRecord]:
        """Stored outgoing messages of this channel (transcripts, tests)."""
        return await self.store.outbound_records(self.channel, customer)
