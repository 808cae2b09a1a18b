"""The cluster end to end: 3 Rasa servers and 2 WhatsApp receivers behind HAProxy.

Real processes, started by the launcher (``scripts/cluster.py``, what ``./majlis start
--instances N`` runs), on this machine's PostgreSQL (a database of this test's own,
dropped at the end), Redis (a key prefix of its own) and RabbitMQ (queues of its own,
deleted at the end).  WhatsApp webhooks are signed as Meta signs them and posted to the
load balancer; replies go to the fake Graph API (tests/fakes/fake_graph.py).

While ``MESSAGES`` messages of ``CONVERSATIONS`` customers (some posted twice, as Meta
retries) are being answered, the test SIGKILLs a Rasa server and a receiver (the
launcher starts them again) and closes a Rasa server's RabbitMQ connection.  Then:

- every message is processed once (once in its conversation's tracker) and answered
  once (exactly one Graph request per stored reply, also for a send in flight when its
  server was SIGKILLed: the fake Graph API posts Meta's signed status webhooks, echoing
  each reply's key, to the load balancer, and they settle it; bot/delivery/in_doubt.py),
  in the order the messages were accepted; nothing is left pending;
- a conversation handed to a person stays silent whichever server its messages reach;
- the desk's live stream on *every* server shows a message of that conversation, which
  only one of them processed;
- an agent's reply, claimed on one server and sent through another, reaches the
  customer once.

``MAJLIS_CLUSTER_TEST_MESSAGES`` / ``MAJLIS_CLUSTER_TEST_CONVERSATIONS`` change the load
(default 3,000 over 150).
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections import Counter
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List

import aiohttp
import psycopg2
import pytest

from bot.config import Secret
from channels.meta.graph import SIGNATURE_HEADER, sign
from tests.channels.whatsapp_harness import APP_SECRET, NUMBERS, PHONE_NUMBER_ID, VERIFY_TOKEN
from tests.e2e.cluster_harness import PG, Running, all_ready, channel_cluster, wait_until
from tests.e2e.cluster_harness import post_until_accepted as retry_post
from tests.fakes.fake_customer import encode, envelope, text_message
from tests.fakes.fake_graph import fake_graph  # noqa: F401 - fixture

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MESSAGES = int(os.environ.get("MAJLIS_CLUSTER_TEST_MESSAGES", "3000"))
CONVERSATIONS = int(os.environ.get("MAJLIS_CLUSTER_TEST_CONVERSATIONS", "150"))
RASA_SERVERS, RECEIVERS = 3, 2
ARABIC = re.compile(r"[\u0600-\u06FF]")
#: What the customers say: greetings and thanks in both languages (no handoff rule fires on them).
SAYINGS = ["مرحبا", "hello", "شكرا", "thank you", "السلام عليكم", "hi there", "شكرا جزيلا", "thanks"]
HANDOFF_ASK = "أبي أكلم موظف"
AGENT_REPLY = "أهلاً، معك نورة من خدمة العملاء. كيف أقدر أساعدك؟"


# -- the cluster -------------------------------------------------------------------


@asynccontextmanager
async def cluster(tmp_path: Path, graph_url: str) -> AsyncIterator[Running]:
    """3 Rasa servers and 2 WhatsApp receivers behind HAProxy, on their own database, queues and exchange."""
    channel_env = {
        "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_NUMBERS": json.dumps(NUMBERS), "WHATSAPP_GRAPH_URL": graph_url,
        "WHATSAPP_INBOX_SWEEP_SECONDS": "5",
    }
    async with channel_cluster(tmp_path, channel_env, servers=RASA_SERVERS, receivers=RECEIVERS) as running:
        yield running


# -- customers ----------------------------------------------------------------------


@dataclass
class Customer:
    wa_id: str
    sent: List[str] = field(default_factory=list)  # wamids, in the order the customer wrote them


async def post_until_accepted(session: aiohttp.ClientSession, url: str, raw: bytes) -> None:
    """POST as Meta does, signed: retried with backoff until answered 200."""
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(raw, Secret(APP_SECRET))}
    await retry_post(session, url, raw, headers)


async def say(session: aiohttp.ClientSession, url: str, who: Customer, text: str, *, twice: bool = False) -> str:
    message = text_message(text, sender=who.wa_id)
    raw = encode(envelope([message], phone_number_id=PHONE_NUMBER_ID))
    who.sent.append(message["id"])
    await post_until_accepted(session, url, raw)
    if twice:  # Meta's retry of a webhook it already delivered: likely to the other receiver
        await post_until_accepted(session, url, raw)
    return message["id"]


# -- what the database and the provider saw ------------------------------------------


def query(db: str, sql: str, *args: Any) -> List[tuple]:
    connection = psycopg2.connect(dbname=db, **PG)
    try:
        with connection, connection.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()
    finally:
        connection.close()


def unfinished(db: str) -> int:
    inbox = query(db, "SELECT count(*) FROM majlis_inbox WHERE state NOT IN ('done', 'failed')")[0][0]
    outbox = query(db, "SELECT count(*) FROM majlis_outbox WHERE state = 'pending'")[0][0]
    return inbox + outbox


# -- the desk --------------------------------------------------------------------------


async def watch_events(session: aiohttp.ClientSession, base: str, token: str, seen: List[Dict[str, Any]],
                       connected: asyncio.Event) -> None:
    """Read one server's live desk stream (server-sent events) into ``seen``."""
    async with session.get(f"{base}/webhooks/agent_desk/api/v1/events", headers={"Authorization": f"Bearer {token}"},
                           timeout=aiohttp.ClientTimeout(total=None, sock_read=None)) as answer:
        assert answer.status == 200
        connected.set()
        async for line in answer.content:
            text = line.decode("utf-8").strip()
            if text.startswith("data:"):
                seen.append(json.loads(text[5:]))


async def kill(running: Running, name: str) -> int:
    """SIGKILL one of the cluster's processes; returns its pid (the launcher starts a new one)."""
    pid = running.child(name)["pid"]
    os.kill(pid, signal.SIGKILL)
    return pid


def close_rabbitmq_connection(connection_name: str) -> int:
    """Close a client's RabbitMQ connection from the broker's side (as a broker restart or a network cut does)."""
    listing = subprocess.run(["rabbitmqctl", "-q", "list_connections", "pid", "client_properties"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    closed = 0
    for line in listing.splitlines():
        if f'"{connection_name}"' in line:
            pid = line.split("\t", 1)[0].strip()
            subprocess.run(["rabbitmqctl", "-q", "close_connection", pid, "closed by the cluster test"],
                           capture_output=True, timeout=60, check=True)
            closed += 1
    return closed


# -- the test ----------------------------------------------------------------------------


@pytest.mark.timeout(3000)  # three model loads, one reload after the kill, and the load itself on 2 shared cores
async def test_three_servers_two_receivers_answer_everything_once_through_kills(fake_graph, tmp_path):  # noqa: F811
    per_customer = max(1, MESSAGES // CONVERSATIONS)
    customers = [Customer(f"9716{n:08d}{uuid.uuid4().int % 100:02d}") for n in range(CONVERSATIONS)]
    handed_off = Customer(f"9717{uuid.uuid4().int % 10**8:08d}")
    async with cluster(tmp_path, fake_graph.url) as running:
        webhook = f"{running.lb}/webhooks/whatsapp_cloud/webhook"
        fake_graph.post_statuses(webhook, APP_SECRET)  # Meta's "sent" status of every accepted send
        connector = aiohttp.TCPConnector(limit=32)
        async with aiohttp.ClientSession(connector=connector) as session:
            # A conversation handed to a person, and an integration watching every server's live stream.
            await say(session, webhook, handed_off, HANDOFF_ASK)
            await wait_until(lambda: asyncio.to_thread(lambda: bool(query(
                running.db, "SELECT 1 FROM majlis_handoff WHERE customer LIKE %s AND state = 'queued'",
                f"%{handed_off.wa_id}"))), 300, "the handoff is queued")
            # The load, with the failures in the middle of it.
            total = per_customer * len(customers)
            progress = Counter()
            disruptions: Dict[str, Any] = {}

            async def customer_writes(who: Customer) -> None:
                for n in range(per_customer):
                    await say(session, webhook, who, SAYINGS[n % len(SAYINGS)], twice=(n % 10 == 3))
                    progress["sent"] += 1

            async def disrupt() -> None:
                await wait_until(lambda: progress["sent"] >= total // 5, 900, "a fifth sent", 0.1)
                disruptions["rasa_killed"] = await kill(running, "rasa-1")
                await wait_until(lambda: progress["sent"] >= total * 2 // 5, 900, "2/5 sent", 0.1)
                disruptions["receiver_killed"] = await kill(running, "receiver-0")
                # The handed-off customer writes while the servers change under it.
                for text in ("لو سمحت ردوا علي", "hello?"):
                    await say(session, webhook, handed_off, text)
                await wait_until(lambda: progress["sent"] >= total * 3 // 5, 900, "3/5 sent", 0.1)
                disruptions["rabbitmq_closed"] = await asyncio.to_thread(close_rabbitmq_connection, "majlis-rasa-2")

            started = time.monotonic()
            await asyncio.gather(disrupt(), *(customer_writes(who) for who in customers))
            accepted_in = time.monotonic() - started

            async def settled() -> bool:
                return await asyncio.to_thread(unfinished, running.db) == 0 and len(fake_graph.messages()) >= len(
                    await asyncio.to_thread(query, running.db, "SELECT id FROM majlis_outbox"))

            await wait_until(settled, 3600, "every message processed and every reply sent", interval=2)
            answered_in = time.monotonic() - started

            async def consuming_again() -> bool:  # the closed RabbitMQ connection was re-established
                async with session.get(running.child("rasa-2")["ready"]) as answer:
                    return answer.status == 200 and (await answer.json()).get("work_queue") == "consuming"

            await wait_until(consuming_again, 120, "rasa-2 consumes the work queue again")

            # Every server's live desk stream, opened now that all of them are up again: the handed-off
            # customer writes once more; one server processes it, and every stream shows it at once.
            token = await asyncio.to_thread(create_token, running.db)
            streams: Dict[str, List[Dict[str, Any]]] = {f"rasa-{i}": [] for i in range(RASA_SERVERS)}
            watchers = []
            async with aiohttp.ClientSession() as readiness:
                await wait_until(lambda: all_ready(readiness, running), 300, "every process ready again", interval=1)
            for name, seen in streams.items():
                connected = asyncio.Event()
                watchers.append(asyncio.create_task(watch_events(session, running.base(name), token, seen, connected)))
                await asyncio.wait_for(connected.wait(), 60)
            await say(session, webhook, handed_off, "ممكن أحد يرد؟")

            # The agent: claims on one server, replies through another; the customer gets it once.
            handoff_id = (await asyncio.to_thread(query, running.db, "SELECT public_id FROM majlis_handoff"))[0][0]
            api = "/webhooks/agent_desk/api/v1/handoffs/" + handoff_id
            auth = {"Authorization": f"Bearer {token}"}
            async with session.post(running.base("rasa-0") + api + "/claim", headers=auth) as answer:
                assert answer.status == 200, await answer.text()
            async with session.post(running.base("rasa-2") + api + "/messages", headers=auth,
                                    json={"text": AGENT_REPLY, "client_key": "reply-1"}) as answer:
                assert answer.status == 201, await answer.text()

            def agent_sends() -> List[Any]:
                return [r for r in fake_graph.messages() if (r.json.get("text") or {}).get("body") == AGENT_REPLY]

            await wait_until(lambda: len(agent_sends()) >= 1, 120, "the agent's reply sent")
            await wait_until(lambda: all(
                any(e.get("type") == "handoff.customer_message" for e in seen) for seen in streams.values()),
                60, "every server's desk stream shows the customer's message", interval=0.1)
            await asyncio.sleep(2)  # a second send of the agent's reply would show by now (senders run in ms)
            for watcher in watchers:
                watcher.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
            state = running.state()
            launcher_log = (tmp_path / "launcher.log").read_text(encoding="utf-8", errors="replace")

        # -- what happened ------------------------------------------------------------
        db = running.db
        inbox = await asyncio.to_thread(query, db, "SELECT id, customer, message_id, state FROM majlis_inbox ORDER BY id")
        outbox = await asyncio.to_thread(
            query, db, "SELECT customer, inbound_message_id, provider_message_id, state, idempotency_key "
                       "FROM majlis_outbox ORDER BY id")
        user_events = await asyncio.to_thread(
            query, db, "SELECT data::json->>'message_id' FROM events WHERE type_name = 'user'")
        sample = await asyncio.to_thread(query, db, "SELECT data FROM events WHERE type_name = 'user' LIMIT 1")
        tracker_sample = sample[0][0][:300] if sample else "no user event at all"

    restarts = {p["name"]: p["restarts"] for p in state["processes"]}
    print(f"\n[cluster test] {total} messages over {len(customers)} conversations: accepted in {accepted_in:.0f} s, "
          f"all answered in {answered_in:.0f} s; restarts {restarts}; disruptions {disruptions}")

    # Every check is made and every failed one listed: one run of this test is expensive.
    problems: List[str] = []

    def check(ok: bool, what: str) -> None:
        if not ok:
            problems.append(what)

    # The failures happened, and the launcher brought the killed processes back.
    check(restarts["rasa-1"] >= 1 and restarts["receiver-0"] >= 1, f"not restarted: {restarts}")
    check(disruptions["rabbitmq_closed"] >= 1, "no RabbitMQ connection of rasa-2 was closed")

    # Every message stored once, processed once (once in its tracker), nothing left.
    written = [m for who in customers for m in who.sent]
    stored = sorted(m for _, _, m, _ in inbox)
    check(stored == sorted(written + handed_off.sent),
          f"inbox holds {len(stored)} rows ({len(set(stored))} distinct) for {len(written) + len(handed_off.sent)} messages")
    check({s for _, _, _, s in inbox} == {"done"}, f"inbox states {Counter(s for _, _, _, s in inbox)}")
    in_trackers = Counter(m for (m,) in user_events)
    times = Counter(in_trackers[m] for m in written + handed_off.sent)
    check(set(times) == {1}, f"messages by times found in the trackers: {dict(times)} "
                             f"({len(user_events)} user events; e.g. {tracker_sample})")

    # Answered once: one Graph request per stored reply, every reply sent, each message answered.
    sends = [r for r in fake_graph.messages() if r.json.get("to") != handed_off.wa_id]
    replies = [row for row in outbox if row[0] != handed_off.wa_id]
    check({row[3] for row in replies} == {"sent"}, f"outbox states {Counter(row[3] for row in replies)}")
    # Each request gets its own id from the fake Graph API; the stored row keeps the id of the
    # request whose answer it recorded (or whose status webhook settled it).
    at_graph = {r.message_id for r in sends}
    stored_ids = {row[2] for row in replies}
    check(stored_ids <= at_graph, f"{len(stored_ids - at_graph)} stored replies never reached the Graph API")
    # Exactly once: every request carries its row's key (biz_opaque_callback_data), and each stored
    # key reached the Graph API exactly once, also the sends in flight when rasa-1 was SIGKILLed.
    keys_at_graph = Counter(r.callback_data for r in sends)
    stored_keys = Counter(row[4] for row in replies)
    twice = {key: n for key, n in keys_at_graph.items() if n > 1}
    check(keys_at_graph == stored_keys and len(sends) == len(replies),
          f"{len(sends)} Graph requests for {len(replies)} stored replies; sent more than once: {twice}; "
          f"never sent: {sorted(stored_keys - keys_at_graph)[:5]}")
    print(f"[cluster test] {len(sends)} Graph requests for {len(replies)} stored replies; "
          f"{len(fake_graph.statuses)} status webhooks delivered")
    answered = {row[1] for row in replies}
    unanswered = [m for m in written if m not in answered]
    check(not unanswered, f"{len(unanswered)} message(s) without a reply")

    # In order: per conversation, replies went out in the order the messages were accepted.
    accepted_order = {m: i for i, _, m, _ in inbox}
    inbound_of = {row[2]: row[1] for row in replies}
    out_of_order = []
    for who in customers:
        in_send_order = [accepted_order[inbound_of[r.message_id]] for r in sends
                         if r.json.get("to") == who.wa_id and r.message_id in inbound_of]
        if in_send_order != sorted(in_send_order):
            out_of_order.append(who.wa_id)
    check(not out_of_order, f"{len(out_of_order)} conversation(s) answered out of order")
    # The receivers record before they answer: the order each customer wrote in is the order accepted.
    late = [who.wa_id for who in customers if sorted(who.sent, key=accepted_order.get) != who.sent]
    check(not late, f"{len(late)} conversation(s) accepted in another order than written")

    # The handed-off conversation: silent on every server after the handoff.
    own = [row for row in outbox if row[0] == handed_off.wa_id]
    check({row[1] for row in own if row[1]} <= {handed_off.sent[0]},
          "the bot answered a message of the handed-off conversation")
    check(len(agent_sends()) == 1 and agent_sends()[0].json["to"] == handed_off.wa_id,
          f"the agent's reply was sent {len(agent_sends())} time(s)")
    for name, seen in streams.items():
        check(any(e.get("type") == "handoff.customer_message" for e in seen), f"{name}'s desk stream missed it")
    assert not problems, "\n".join(problems)


def create_token(db: str) -> str:
    """An integration token for the desk API, stored in the cluster's database."""
    from bot.agent_desk.accounts import AccountStore
    from bot.storage import create_engine

    engine = create_engine(f"postgresql://postgres@127.0.0.1:5432/{db}")
    store = AccountStore(engine)
    try:
        return store.create_token(name="cluster-test", scopes=["handoffs:read", "handoffs:claim", "handoffs:reply"],
                                  queues=["*"])
    finally:
        store.shutdown()
        engine.dispose()
