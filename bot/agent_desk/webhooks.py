"""Signed outgoing webhooks: handoff created / claimed / message / closed, with the context packet.

Each event-log row gets one delivery row per subscribed target in the same
transaction (bot.handoff.store), so nothing is lost across restarts.  The sender
POSTs JSON with ``X-Majlis-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``
(the timestamp is signed, so a receiver can refuse replays: docs/handoff.md) and
retries failures (non-2xx, timeouts) with exponential backoff and full jitter
(``bot.delivery.RetryPolicy``) until ``max_attempts``.

Targets must be ``https://`` (plain ``http://`` only to localhost / 127.0.0.1 / ::1),
and redirects are never followed: a 3xx is a failed attempt, so a target cannot
bounce signed events (and their customer data) somewhere else.
"""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence
from urllib.parse import urlsplit

import aiohttp
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.agent_desk.security import sign_body
from bot.delivery import RetryPolicy, utcnow
from bot.handoff.config import WebhookTarget
from bot.handoff.records import EventRecord, to_db
from bot.handoff.store import SqlStore
from bot.storage.claims import (
    RELEASED,
    claim_values,
    claimable_by,
    configured_lease,
    instance_id,
    renew_claims,
    renewal_interval,
)
from bot.storage.renewal import renewing
from bot.storage.schema import webhook_delivery

logger = logging.getLogger(__name__)

#: Event types offered to subscribers (a target lists the ones it wants; none = all).
EVENT_TYPES = ("handoff.created", "handoff.claimed", "handoff.released", "handoff.transferred",
               "handoff.message", "handoff.customer_message", "handoff.closed", "handoff.returned")
SIGNATURE_HEADER = "X-Majlis-Signature"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
BodyBuilder = Callable[[EventRecord], Awaitable[Mapping[str, Any]]]


def check_target_url(url: str) -> None:
    """Refuse a webhook URL that is not HTTPS (plain HTTP only to this machine).

    Raises:
        ValueError: with the reason.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise ValueError(f"webhook URL is not a URL: {url!r}") from None
    if not host:
        raise ValueError(f"webhook URL has no host: {url!r}")
    if parts.scheme == "https" or (parts.scheme == "http" and host in LOCAL_HOSTS):
        return
    raise ValueError(f"webhook URL must use https:// (http:// only to localhost): {url!r}")


def subscribers(targets: Sequence[WebhookTarget]) -> Callable[[str], List[str]]:
    """Event type → names of the targets that want it (for HandoffStore)."""
    def route(kind: str) -> List[str]:
        return [t.name for t in targets if kind in EVENT_TYPES and (not t.events or kind in t.events)]
    return route


class WebhookStore(SqlStore):
    """Delivery rows of outgoing webhooks, claimed by the instance that sends them.

    With several instances on one database, each due row is claimed (``FOR UPDATE SKIP
    LOCKED`` on PostgreSQL, the write lock on SQLite) with a lease before it is sent
    (:mod:`bot.storage.claims`): one instance sends it; a crashed sender's rows are taken
    over once their lease has passed.

    Args:
        engine: from :func:`bot.storage.get_engine`.
        owner: this instance's claimer id (default :func:`bot.storage.claims.instance_id`).
        lease: how long a claim holds unless finished or renewed (default ``MAJLIS_CLAIM_LEASE_S``).
    """

    def __init__(self, engine: Engine, *, owner: Optional[str] = None, lease: Optional[timedelta] = None) -> None:
        super().__init__(engine)
        self.owner = owner or instance_id(engine)
        self.lease = lease or configured_lease()

    async def claim_due(self, now: datetime, limit: int = 50) -> List[Dict[str, Any]]:
        """Claim up to ``limit`` due pending rows for this instance (oldest first) and return them.

        Rows another instance claims (and whose lease holds) are skipped, so two senders
        never get the same row.
        """
        at = to_db(now)

        def run() -> List[Dict[str, Any]]:
            query = (sa.select(webhook_delivery)
                     .where(webhook_delivery.c.state == "pending", webhook_delivery.c.next_attempt_at <= at,
                            claimable_by(webhook_delivery, self.owner, at))
                     .order_by(webhook_delivery.c.id).limit(limit)
                     .with_for_update(skip_locked=True))
            with self.engine.begin() as conn:
                rows = [dict(row._mapping) for row in conn.execute(query)]
                if rows:
                    conn.execute(sa.update(webhook_delivery)
                                 .where(webhook_delivery.c.id.in_([row["id"] for row in rows]))
                                 .values(**claim_values(self.owner, at, self.lease)))
            return rows
        return await self._run(run)

    async def renew(self, delivery_ids: Sequence[int], now: datetime) -> int:
        """Keep this instance's claims on ``delivery_ids`` while it is still sending them."""
        def run() -> int:
            with self.engine.begin() as conn:
                return renew_claims(conn, webhook_delivery, self.owner, to_db(now), self.lease,
                                    webhook_delivery.c.id.in_(list(delivery_ids)),
                                    webhook_delivery.c.state == "pending")
        return await self._run(run)

    async def finish(self, delivery_id: int, *, state: str, attempts: int, next_at: datetime,
                     status: Optional[int]) -> None:
        """Record one attempt and release the claim (not when another instance took the row over)."""
        def run() -> None:
            with self.engine.begin() as conn:
                conn.execute(sa.update(webhook_delivery).where(
                    webhook_delivery.c.id == delivery_id,
                    sa.or_(webhook_delivery.c.claimed_by.is_(None), webhook_delivery.c.claimed_by == self.owner),
                ).values(state=state, attempts=attempts, next_attempt_at=to_db(next_at), last_status=status,
                         updated_at=to_db(utcnow()), **RELEASED))
        await self._run(run)

    async def all(self) -> List[Dict[str, Any]]:
        def run() -> List[Dict[str, Any]]:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(webhook_delivery).order_by(webhook_delivery.c.id))
                return [dict(row._mapping) for row in rows]
        return await self._run(run)


class WebhookSender:
    """Sends due webhook deliveries; woken by :meth:`wake` and every ``tick`` seconds.

    Args:
        targets: the configured targets (handoff.yml ``webhooks``).
        store: the delivery rows.
        events: loads an event-log row by id.
        build: the JSON body of an event (with its context packet).
        retry: backoff policy.
        timeout: seconds per POST.
    """

    def __init__(self, *, targets: Sequence[WebhookTarget], store: WebhookStore,
                 events: Callable[[int], Awaitable[Optional[EventRecord]]], build: BodyBuilder,
                 retry: RetryPolicy = RetryPolicy(max_attempts=8, base_delay=2.0, max_delay=600.0),
                 timeout: float = 10.0, tick: float = 5.0) -> None:
        for target in targets:
            check_target_url(target.url)
        self.targets = {t.name: t for t in targets}
        self.store, self.events, self.build, self.retry = store, events, build, retry
        self.timeout, self.tick = timeout, tick
        self._session: Optional[aiohttp.ClientSession] = None
        self._wake = asyncio.Event()
        self._task: Optional[asyncio.Task] = None

    async def start(self, session: Optional[aiohttp.ClientSession] = None) -> None:
        if not self.targets:
            return
        self._session = session or aiohttp.ClientSession()
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.tick)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.send_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep sending after a database hiccup
                logger.exception("Webhook sending failed")

    async def send_due(self) -> int:
        """Claim the due deliveries, attempt each once; returns how many succeeded.

        The claims are renewed while the batch is sent (50 slow targets can take longer
        than the lease), so no other instance sends them meanwhile.
        """
        delivered = 0
        rows = await self.store.claim_due(utcnow())
        if not rows:
            return 0
        left = [row["id"] for row in rows]
        async with renewing(lambda: self.store.renew(left, utcnow()), renewal_interval(self.store.lease)):
            for row in rows:
                delivered += await self._attempt(row)
                left.remove(row["id"])
        return delivered

    async def _attempt(self, row: Mapping[str, Any]) -> int:
        target = self.targets.get(row["target"])
        event = await self.events(row["event_id"])
        attempts = int(row["attempts"]) + 1
        if target is None or event is None:
            await self.store.finish(row["id"], state="dropped", attempts=attempts, next_at=utcnow(), status=None)
            return 0
        raw = json.dumps(await self.build(event), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "X-Majlis-Event": event.type,
                   "X-Majlis-Delivery": str(row["id"]), SIGNATURE_HEADER: sign_body(target.secret, raw)}
        status: Optional[int] = None
        assert self._session is not None, "WebhookSender.start() was not awaited"
        try:
            async with self._session.post(target.url, data=raw, headers=headers, allow_redirects=False,
                                          timeout=aiohttp.ClientTimeout(total=self.timeout)) as answer:
                status = answer.status
            if 300 <= status < 400:
                logger.warning("Webhook %s to %s answered a redirect (%d): not followed", row["id"], target.name,
                               status)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            logger.info("Webhook %s to %s failed: %s", row["id"], target.name, type(exc).__name__)
        if status is not None and 200 <= status < 300:
            await self.store.finish(row["id"], state="delivered", attempts=attempts, next_at=utcnow(), status=status)
            return 1
        final = self.retry.exhausted(attempts)
        next_at = utcnow() + timedelta(seconds=self.retry.delay(attempts))
        logger.log(logging.WARNING if final else logging.INFO, "Webhook %s to %s: status %s, attempt %d%s",
                   row["id"], target.name, status, attempts, ", giving up" if final else "")
        await self.store.finish(row["id"], state="failed" if final else "pending", attempts=attempts,
                                next_at=next_at, status=status)
        return 0


__all__ = ["EVENT_TYPES", "WebhookSender", "WebhookStore", "check_target_url", "subscribers"]
