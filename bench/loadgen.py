"""Drive stacks over HTTP: a fake WhatsApp customer and Graph API, and a REST client.

- WhatsApp Cloud: each turn is a webhook body built and signed exactly as Meta does
  (``tests.fakes.fake_customer``'s builders and ``channels.meta.graph.sign``), POSTed to
  ``/webhooks/whatsapp_cloud/webhook`` of the stack's receiver process (as
  ``./majlis start`` runs it).  The 200 is the *acknowledgement*; the turn
  is *done* when its last reply reaches the local fake Graph API
  (``tests.fakes.fake_graph``, subclassed here only to time-stamp what it receives).
- REST (plain Rasa's channel): one POST to ``/webhooks/rest/webhook``; the turn is
  done when the reply list comes back.

Both use one keep-alive ``aiohttp`` session, so neither pays TCP set-up per turn.

How many WhatsApp messages a turn produces is learnt once per script by
:func:`calibrate` (unmeasured: it waits for the inbox row to be done in the stack's
delivery database).  :func:`verify_whatsapp` later proves from that database and the
fake Graph API that every inbound message was processed once and every reply was
sent once.
"""
from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import aiohttp

from bot.config import Secret
from channels.meta.graph import SIGNATURE_HEADER, sign
from stack import WA_APP_SECRET, WA_PHONE_NUMBER_ID, Stack
from tests.fakes.fake_customer import encode, envelope, text_message
from tests.fakes.fake_graph import FakeGraph, Recorded

_customer_ids = itertools.count(1)


def new_customer(prefix: str = "9715") -> str:
    """A fresh wa_id-like sender id (digits only, unknown to the demo backend)."""
    return f"{prefix}{int(time.time()) % 100000:05d}{next(_customer_ids):06d}"


@dataclass
class RecordingGraph(FakeGraph):
    """The shared fake Graph API, plus the time each message send arrived."""

    arrived: Dict[str, Tuple[float, str]] = field(default_factory=dict)
    """provider message id (``wamid.fakeN``) → (perf_counter time, customer)."""
    per_customer: Dict[str, int] = field(default_factory=dict)
    _waiters: Dict[str, asyncio.Event] = field(default_factory=dict)

    async def _record(self, recorded: Recorded, outcome: str) -> None:
        now = time.perf_counter()
        await super()._record(recorded, outcome)
        body = recorded.json
        if outcome != "ok" or not recorded.message_id or not isinstance(body, dict) or "to" not in body:
            return
        customer = str(body["to"])
        self.arrived[recorded.message_id] = (now, customer)
        self.per_customer[customer] = self.per_customer.get(customer, 0) + 1
        event = self._waiters.pop(customer, None)
        if event is not None:
            event.set()
        if len(self.requests) > 2000:  # keep memory flat in long runs; we keep our own record
            del self.requests[:1000]

    def count(self, customer: str) -> int:
        return self.per_customer.get(customer, 0)

    async def wait_count(self, customer: str, count: int, timeout: float) -> bool:
        """Wait until ``customer`` has received ``count`` messages in all; False on timeout."""
        deadline = time.perf_counter() + timeout
        while self.count(customer) < count:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return False
            event = self._waiters.setdefault(customer, asyncio.Event())
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except asyncio.TimeoutError:
                return False
        return True


@dataclass
class TurnRecord:
    system: str
    customer: str
    index: int
    text: str
    start: float
    ack: Optional[float] = None
    """When the HTTP answer came (WhatsApp: the webhook's 200; REST: the whole reply)."""
    done: Optional[float] = None
    replies: int = 0
    status: int = 0
    message_id: Optional[str] = None

    @property
    def latency_ms(self) -> Optional[float]:
        return None if self.done is None else 1000 * (self.done - self.start)

    @property
    def ack_ms(self) -> Optional[float]:
        return None if self.ack is None else 1000 * (self.ack - self.start)


class RestSystem:
    """Plain Rasa's REST channel."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.name = stack.name
        self.url = stack.base_url + "/webhooks/rest/webhook"

    async def turn(self, session: aiohttp.ClientSession, customer: str, index: int, text: str,
                   expected: Optional[int] = None, timeout: float = 120) -> TurnRecord:
        record = TurnRecord(self.name, customer, index, text, time.perf_counter())
        async with session.post(self.url, json={"sender": customer, "message": text},
                                timeout=aiohttp.ClientTimeout(total=timeout)) as answer:
            body = await answer.json(content_type=None)
            record.status = answer.status
        record.ack = record.done = time.perf_counter()
        record.replies = len(body) if isinstance(body, list) else 0
        return record


class WhatsAppSystem:
    """Majlis' WhatsApp Cloud channel, driven by a signing fake customer, observed at the fake Graph API."""

    def __init__(self, stack: Stack, graph: RecordingGraph) -> None:
        self.stack = stack
        self.graph = graph
        self.name = stack.name
        self.url = stack.webhook_url  # the receiver process, as ./majlis start serves it
        self.secret = Secret(WA_APP_SECRET)

    def signed(self, customer: str, text: str) -> Tuple[bytes, Dict[str, str], str]:
        message = text_message(text, sender=customer)
        raw = encode(envelope([message], phone_number_id=WA_PHONE_NUMBER_ID))
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(raw, self.secret)}
        return raw, headers, message["id"]

    async def post(self, session: aiohttp.ClientSession, record: TurnRecord, timeout: float = 60) -> TurnRecord:
        raw, headers, wamid = self.signed(record.customer, record.text)
        record.message_id = wamid
        record.start = time.perf_counter()
        async with session.post(self.url, data=raw, headers=headers,
                                timeout=aiohttp.ClientTimeout(total=timeout)) as answer:
            await answer.read()
            record.status = answer.status
        record.ack = time.perf_counter()
        return record

    async def turn(self, session: aiohttp.ClientSession, customer: str, index: int, text: str,
                   expected: Optional[int] = None, timeout: float = 120) -> TurnRecord:
        """Post one message; wait until ``expected`` replies for it reached the fake Graph API."""
        assert expected is not None, "calibrate() first"
        before = self.graph.count(customer)
        record = TurnRecord(self.name, customer, index, text, time.perf_counter())
        await self.post(session, record)
        if record.status == 200 and await self.graph.wait_count(customer, before + expected, timeout):
            record.done = time.perf_counter()
        record.replies = self.graph.count(customer) - before
        return record


# -- the stack's delivery database (calibration and verification only) ------------


def _db(stack: Stack) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{stack.delivery_db}?mode=ro", uri=True, timeout=30)


async def _inbound_finished(stack: Stack, message_id: str, timeout: float) -> str:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with _db(stack) as db:
            row = db.execute("SELECT state FROM majlis_inbox WHERE channel = 'whatsapp_cloud' AND message_id = ?",
                             (message_id,)).fetchone()
        if row and row[0] in ("done", "failed"):
            return row[0]
        await asyncio.sleep(0.05)
    return "timeout"


async def calibrate(system: WhatsAppSystem, session: aiohttp.ClientSession, texts: Sequence[str],
                    timeout: float = 120) -> List[int]:
    """How many WhatsApp messages each turn of ``texts`` produces (one fresh conversation, unmeasured)."""
    customer = new_customer("9716")
    counts: List[int] = []
    for index, text in enumerate(texts):
        record = TurnRecord(system.name, customer, index, text, time.perf_counter())
        await system.post(session, record)
        if record.status != 200:
            raise RuntimeError(f"webhook answered {record.status} during calibration")
        state = await _inbound_finished(system.stack, record.message_id or "", timeout)
        if state != "done":
            raise RuntimeError(f"calibration turn {index} ({text!r}) ended {state}")
        with _db(system.stack) as db:
            count = db.execute("SELECT count(*) FROM majlis_outbox WHERE channel = 'whatsapp_cloud' AND inbound_message_id = ?",
                               (record.message_id,)).fetchone()[0]
        before = sum(counts)
        if not await system.graph.wait_count(customer, before + count, timeout):
            raise RuntimeError(f"calibration turn {index}: replies stored but not sent")
        counts.append(count)
    return counts


@dataclass
class Verification:
    """What the delivery database and the fake Graph API say about a set of inbound messages."""

    inbound: int = 0
    processed_once: int = 0
    not_done: int = 0
    outbox_rows: int = 0
    outbox_sent: int = 0
    graph_messages: int = 0
    duplicates_at_graph: int = 0
    unmatched_at_graph: int = 0
    count_mismatches: int = 0
    last_reply_at: Dict[str, float] = field(default_factory=dict)
    """inbound message id → perf_counter time its last reply reached the fake Graph API."""

    def summary(self) -> str:
        return (f"{self.inbound} inbound, {self.processed_once} processed once, {self.not_done} not done; "
                f"{self.outbox_rows} outbox rows, {self.outbox_sent} sent, {self.graph_messages} at the Graph API, "
                f"{self.duplicates_at_graph} twice, {self.unmatched_at_graph} unmatched, "
                f"{self.count_mismatches} reply-count mismatches")

    @property
    def ok(self) -> bool:
        return (self.processed_once == self.inbound and self.outbox_sent == self.outbox_rows
                and self.graph_messages == self.outbox_sent and not self.duplicates_at_graph
                and not self.unmatched_at_graph and not self.count_mismatches)


async def settle_and_verify(system: WhatsAppSystem, turns: Sequence[TurnRecord],
                            expected: Optional[Dict[str, int]] = None, timeout: float = 30) -> Verification:
    """:func:`verify_whatsapp` once the stack has finished its bookkeeping.

    A reply reaches the Graph API a moment *before* the stack records it as sent and marks
    its inbound message done, so the check is repeated until it passes or ``timeout``.
    """
    deadline = time.perf_counter() + timeout
    while True:
        result = verify_whatsapp(system, turns, expected)
        if result.ok or time.perf_counter() > deadline:
            return result
        await asyncio.sleep(0.25)


def verify_whatsapp(system: WhatsAppSystem, turns: Iterable[TurnRecord],
                    expected: Optional[Dict[str, int]] = None) -> Verification:
    """Every inbound message processed once; every reply stored once, sent once, received once.

    Args:
        turns: the turns posted (their ``message_id`` are the inbound wamids).
        expected: inbound wamid → the number of replies calibration says it produces.
    """
    result = Verification()
    ids = [t.message_id for t in turns if t.message_id]
    result.inbound = len(ids)
    graph = system.graph
    seen_provider_ids: Dict[str, int] = {}
    with _db(system.stack) as db:
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start:chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            rows = db.execute(f"SELECT message_id, state FROM majlis_inbox WHERE channel = 'whatsapp_cloud' "
                              f"AND message_id IN ({marks})", chunk).fetchall()
            states: Dict[str, List[str]] = {}
            for message_id, state in rows:
                states.setdefault(message_id, []).append(state)
            for message_id in chunk:
                if states.get(message_id) == ["done"]:
                    result.processed_once += 1
                else:
                    result.not_done += 1
            out = db.execute(f"SELECT inbound_message_id, state, provider_message_id FROM majlis_outbox "
                             f"WHERE channel = 'whatsapp_cloud' AND inbound_message_id IN ({marks})", chunk).fetchall()
            per_inbound: Dict[str, int] = {}
            for inbound_id, state, provider_id in out:
                result.outbox_rows += 1
                per_inbound[inbound_id] = per_inbound.get(inbound_id, 0) + 1
                if state == "sent":
                    result.outbox_sent += 1
                if provider_id:
                    seen_provider_ids[provider_id] = seen_provider_ids.get(provider_id, 0) + 1
                    if provider_id in graph.arrived:
                        at = graph.arrived[provider_id][0]
                        result.last_reply_at[inbound_id] = max(at, result.last_reply_at.get(inbound_id, 0.0))
            if expected:
                result.count_mismatches += sum(per_inbound.get(m, 0) != expected.get(m, 0) for m in chunk if m in expected)
    customers = {t.customer for t in turns}
    at_graph = [pid for pid, (_, customer) in graph.arrived.items() if customer in customers]
    result.graph_messages = len(at_graph)
    result.duplicates_at_graph = sum(n - 1 for n in seen_provider_ids.values() if n > 1)
    result.unmatched_at_graph = sum(1 for pid in at_graph if pid not in seen_provider_ids)
    return result


# -- load patterns ----------------------------------------------------------------


def new_session(limit: int = 0) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit, force_close=False))


async def closed_loop(system, session: aiohttp.ClientSession, conversations: Sequence[Tuple[str, Sequence[str]]],
                      concurrency: int, expected: Optional[Dict[str, List[int]]] = None,
                      customer_prefix: str = "9715") -> List[TurnRecord]:
    """``concurrency`` customers at a time, each sending its conversation's turns one after the other.

    Args:
        conversations: (script kind, texts) per conversation; each gets a fresh customer.
        expected: script kind → replies per turn (WhatsApp only).
    """
    queue: asyncio.Queue = asyncio.Queue()
    for item in conversations:
        queue.put_nowait(item)
    records: List[TurnRecord] = []

    async def worker() -> None:
        while True:
            try:
                kind, texts = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            customer = new_customer(customer_prefix)
            for index, text in enumerate(texts):
                counts = expected.get(kind) if expected else None
                record = await system.turn(session, customer, index, text, counts[index] if counts else None)
                records.append(record)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return records
