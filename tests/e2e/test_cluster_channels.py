"""Twilio WhatsApp and Instagram with two Rasa servers behind HAProxy, one of them SIGKILLed.

Their webhooks reach whichever Rasa server HAProxy picks (no receiver, no work queue
message): conversation leases (bot/cluster/) keep one server per conversation at a
time.  Customers of both channels write, each one message after the provider got the
200 of the previous one (as Twilio and Meta do), signed as the providers sign; a third
of the way through, a Rasa server is SIGKILLed (the launcher starts it again).  Then
every message is processed and answered, and each fake provider (tests/fakes/) received
every stored reply, per customer in the order the messages were written.

One cluster serves both channels: a model load per server is the expensive part.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections import Counter
from typing import Any, Dict, List, Sequence

import aiohttp
import pytest

from bot.config import Secret
from channels.meta.graph import SIGNATURE_HEADER as META_SIGNATURE, sign
from channels.twilio.signature import SIGNATURE_HEADER as TWILIO_SIGNATURE, compute_signature
from tests.channels.test_instagram_harness import ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN, message_event, webhook_body
from tests.channels.test_twilio_whatsapp_harness import form_fields, inbound_body
from tests.e2e.cluster_harness import PREFETCH, channel_cluster, post_until_accepted
from tests.e2e.test_cluster import kill, query, wait_until
from tests.fakes.fake_instagram_graph import fake_instagram_graph  # noqa: F401 - fixture
from tests.fakes.fake_twilio import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, fake_twilio  # noqa: F401 - fixture

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CUSTOMERS_PER_CHANNEL = 3
MESSAGES_PER_CUSTOMER = 4
SAYINGS = ["مرحبا", "hello", "شكرا جزيلا", "thank you"]
TWILIO_PATH = "/webhooks/twilio_whatsapp/webhook"
INSTAGRAM_PATH = "/webhooks/instagram/webhook"


def stored_text(payload: Dict[str, Any]) -> Any:
    """The text a stored reply sends: Twilio's ``Body``, Instagram's ``message.text``."""
    return payload.get("Body") or (payload.get("message") or {}).get("text")


def collapsed(texts: Sequence[Any]) -> List[Any]:
    """Consecutive repeats as one: a reply re-sent after a SIGKILL (docs/delivery.md) is not a reordering."""
    return [text for text, _ in itertools.groupby(texts)]


@pytest.mark.timeout(1200)  # two model loads and a restart on 2 shared cores
async def test_twilio_and_instagram_answer_every_message_in_order_through_a_kill(
        tmp_path, fake_twilio, fake_instagram_graph) -> None:  # noqa: F811
    env = {
        "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID, "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
        "TWILIO_WHATSAPP_FROM": "whatsapp:+14155238886", "TWILIO_API_URL": fake_twilio.base_url,
        "INSTAGRAM_APP_SECRET": APP_SECRET, "INSTAGRAM_VERIFY_TOKEN": VERIFY_TOKEN,
        "INSTAGRAM_ACCESS_TOKEN": ACCESS_TOKEN, "INSTAGRAM_GRAPH_URL": fake_instagram_graph.url,
    }
    tag = uuid.uuid4().int % 10**6
    twilio_customers = [f"+9715{tag:06d}{n:02d}" for n in range(CUSTOMERS_PER_CHANNEL)]
    instagram_customers = [f"{tag:06d}00000{n:02d}" for n in range(CUSTOMERS_PER_CHANNEL)]
    written: Dict[str, List[str]] = {}  # customer → message ids in the order written
    progress: Counter = Counter()
    total = 2 * CUSTOMERS_PER_CHANNEL * MESSAGES_PER_CUSTOMER
    async with channel_cluster(tmp_path, env, servers=2) as running:
        async with aiohttp.ClientSession() as session:

            async def twilio_customer(number: str) -> None:
                for n in range(MESSAGES_PER_CUSTOMER):
                    sid = f"SM{uuid.uuid4().hex}"
                    raw = inbound_body(sid, SAYINGS[n % len(SAYINGS)], number)
                    url = running.lb + TWILIO_PATH
                    headers = {"Content-Type": "application/x-www-form-urlencoded",
                               TWILIO_SIGNATURE: compute_signature(DEFAULT_AUTH_TOKEN, url, form_fields(raw))}
                    written.setdefault(number, []).append(sid)
                    await post_until_accepted(session, url, raw.encode("utf-8"), headers)
                    progress["sent"] += 1

            async def instagram_customer(igsid: str) -> None:
                for n in range(MESSAGES_PER_CUSTOMER):
                    mid = f"m_{uuid.uuid4().hex}"
                    raw = webhook_body(message_event(igsid, SAYINGS[n % len(SAYINGS)], mid=mid))
                    headers = {"Content-Type": "application/json", META_SIGNATURE: sign(raw, Secret(APP_SECRET))}
                    written.setdefault(igsid, []).append(mid)
                    await post_until_accepted(session, running.lb + INSTAGRAM_PATH, raw, headers)
                    progress["sent"] += 1

            async def disrupt() -> int:
                await wait_until(lambda: progress["sent"] >= total // 3, 600, "a third sent", 0.1)
                return await kill(running, "rasa-1")

            writers = ([twilio_customer(c) for c in twilio_customers]
                       + [instagram_customer(c) for c in instagram_customers])
            killed, *_ = await asyncio.gather(disrupt(), *writers)

            def settled() -> bool:
                pending = query(running.db, "SELECT count(*) FROM majlis_inbox WHERE state NOT IN ('done', 'failed')")
                unsent = query(running.db, "SELECT count(*) FROM majlis_outbox WHERE state = 'pending'")
                return pending[0][0] + unsent[0][0] == 0 and progress["sent"] == total

            await wait_until(lambda: asyncio.to_thread(settled), 600, "every message processed and every reply sent")
            inbox = await asyncio.to_thread(query, running.db,
                                            "SELECT channel, message_id, state FROM majlis_inbox ORDER BY id")
            outbox = await asyncio.to_thread(query, running.db, "SELECT channel, customer, inbound_message_id, "
                                                                "state, payload FROM majlis_outbox ORDER BY id")
            restarts = {p["name"]: p["restarts"] for p in running.state()["processes"]}

    problems: List[str] = []

    def check(ok: bool, what: str) -> None:
        if not ok:
            problems.append(what)

    check(killed > 0 and restarts["rasa-1"] >= 1, f"rasa-1 was not killed and restarted: {restarts}")
    every = [m for ids in written.values() for m in ids]
    check(sorted(m for _, m, _ in inbox) == sorted(every), f"inbox holds {len(inbox)} rows for {len(every)} messages")
    check({s for _, _, s in inbox} == {"done"}, f"inbox states {Counter(s for _, _, s in inbox)}")
    answered = {row[2] for row in outbox}
    check(not [m for m in every if m not in answered], f"unanswered: {[m for m in every if m not in answered]}")
    check({row[3] for row in outbox} == {"sent"}, f"outbox states {Counter(row[3] for row in outbox)}")

    # What each provider received, per customer, against the replies stored for that customer.
    at_twilio: Dict[str, List[str]] = {}
    for request in fake_twilio.created:
        at_twilio.setdefault(str(request.field("To")).replace("whatsapp:", ""), []).append(request.field("Body"))
    at_instagram: Dict[str, List[str]] = {}
    for request in fake_instagram_graph.messages():
        at_instagram.setdefault(request.json["recipient"]["id"], []).append(request.json["message"].get("text"))
    for customers, channel, received in ((twilio_customers, "twilio_whatsapp", at_twilio),
                                         (instagram_customers, "instagram", at_instagram)):
        for customer in customers:
            rows = [row for row in outbox if row[0] == channel and row[1].endswith(customer.lstrip("+"))]
            stored = [stored_text(json.loads(row[4])) for row in rows]
            got = received.get(customer, [])
            # Each inbound message's replies are stored in the order the messages were written.
            position = {m: i for i, m in enumerate(written[customer])}
            check([position[r[2]] for r in rows] == sorted(position[r[2]] for r in rows),
                  f"{channel} {customer}: replies stored out of order")
            check(len(stored) <= len(got) <= len(stored) + PREFETCH,
                  f"{channel} {customer}: {len(got)} requests at the provider for {len(stored)} stored replies")
            check(collapsed(got) == collapsed(stored), f"{channel} {customer}: the provider got {got}, stored {stored}")
    assert not problems, "\n".join(problems)
