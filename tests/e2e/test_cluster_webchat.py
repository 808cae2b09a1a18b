"""Web chat with two Rasa servers behind HAProxy: sticky sessions, every reply, the desk on both.

A customer's page speaks socket.io over HTTP long polling (python-socketio's client,
polling only): every poll and every message is a separate HTTP request through HAProxy,
and each must reach the server holding the socket.io session (sticky sessions,
docs/deploy.md) or the connection breaks.  Then:

- every message is answered, every stored reply reaches the page once and in order;
- the customer asks for a person; a message written after that is not answered by the
  bot, and the desk's live stream of *both* servers shows it;
- two agent replies, one posted on each server, reach the page once each (the one
  stored on the server the page is not connected to is sent by the page's server);
- the page's server is SIGKILLed: the page reconnects through HAProxy to the other
  server with its session, and an agent's reply posted there reaches it once.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, Dict, List

import aiohttp
import pytest
import socketio

from tests.e2e.cluster_harness import channel_cluster
from tests.e2e.test_cluster import create_token, kill, query, wait_until, watch_events

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SAYINGS = ["مرحبا", "hello", "السلام عليكم", "thank you", "شكرا جزيلا", "hi there"]
HANDOFF_ASK = "أبي أكلم موظف"
AFTER_HANDOFF = "لو سمحت ردوا علي"
#: HAProxy's cookie naming the server a page is pinned to (scripts/cluster.py).
STICKY_COOKIE = "MAJLIS_SERVER"
FAILOVER_REPLY = "ما زلت معك، انقطع الاتصال للحظة."
AGENT_REPLIES = ["أهلاً، معك نورة من خدمة العملاء.", "تم تحويل طلبك، هل تحتاج شيئاً آخر؟"]


def outbox_of(db: str, session_id: str) -> List[tuple]:
    return query(db, "SELECT id, inbound_message_id, state, payload FROM majlis_outbox "
                     "WHERE channel = 'webchat' AND customer = %s ORDER BY id", session_id)


@pytest.mark.timeout(1200)  # two model loads on 2 shared cores
async def test_a_web_chat_page_behind_haproxy_gets_every_reply_and_both_desks_see_it(tmp_path) -> None:
    async with channel_cluster(tmp_path, {}, servers=2) as running:
        # "localhost", not 127.0.0.1: aiohttp keeps HAProxy's cookie only for a host name.
        base = running.lb.replace("127.0.0.1", "localhost")
        page = socketio.AsyncClient(reconnection_delay=0.5, reconnection_delay_max=2)
        received: List[Dict[str, Any]] = []
        session: Dict[str, Any] = {"confirms": 0}

        async def connected() -> None:  # as webchat.js: ask for the session, with its token after a reconnect
            await page.emit("session_request", {"token": session["token"]} if "token" in session else {})

        def confirmed(data: Dict[str, Any]) -> None:
            session.update(data, confirms=session["confirms"] + 1)

        page.on("connect", connected)
        page.on("bot_uttered", received.append)
        page.on("session_confirm", confirmed)
        await page.connect(base, socketio_path="webchat/socket.io", transports=["polling"],
                           headers={"Origin": base}, wait_timeout=30)
        try:
            await wait_until(lambda: session.get("session_id"), 60, "the session confirmed")
            session_id = session["session_id"]

            sent: List[str] = []
            for n, text in enumerate(SAYINGS):
                ack = await page.call("user_uttered", {"message": text, "message_id": f"m{n}"}, timeout=30)
                assert ack == {"accepted": True, "message_id": f"m{n}"}
                sent.append(f"{session_id}:m{n}")
                # The customer reads the answer before writing again.
                await wait_until(lambda: asyncio.to_thread(lambda: any(
                    row[1] == sent[-1] and row[2] == "sent" for row in outbox_of(running.db, session_id))),
                    300, f"message {n} answered")
            replies = await asyncio.to_thread(outbox_of, running.db, session_id)
            await wait_until(lambda: len(received) >= len(replies), 60, "every stored reply at the page")

            # A person, please; the desks of both servers follow the conversation.
            ack = await page.call("user_uttered", {"message": HANDOFF_ASK, "message_id": "ask"}, timeout=30)
            assert ack["accepted"]
            await wait_until(lambda: asyncio.to_thread(lambda: bool(query(
                running.db, "SELECT 1 FROM majlis_handoff WHERE customer LIKE %s AND state = 'queued'",
                f"%{session_id}"))), 300, "the handoff is queued")
            token = await asyncio.to_thread(create_token, running.db)
            streams: Dict[str, List[Dict[str, Any]]] = {"rasa-0": [], "rasa-1": []}
            async with aiohttp.ClientSession() as http:
                watchers = []
                for name, seen in streams.items():
                    connected = asyncio.Event()
                    watchers.append(asyncio.create_task(watch_events(http, running.base(name), token, seen, connected)))
                    await asyncio.wait_for(connected.wait(), 60)
                assert (await page.call("user_uttered", {"message": AFTER_HANDOFF, "message_id": "after"},
                                        timeout=30))["accepted"]
                await wait_until(lambda: all(any(e.get("type") == "handoff.customer_message" for e in seen)
                                             for seen in streams.values()),
                                 120, "both servers' desk streams show the customer's message", interval=0.2)

                # Two agents' replies, one posted on each server: the page gets both, once.
                handoff_id = (await asyncio.to_thread(query, running.db, "SELECT public_id FROM majlis_handoff"))[0][0]
                api = "/webhooks/agent_desk/api/v1/handoffs/" + handoff_id
                auth = {"Authorization": f"Bearer {token}"}
                async with http.post(running.base("rasa-0") + api + "/claim", headers=auth) as answer:
                    assert answer.status == 200, await answer.text()
                for n, (name, text) in enumerate(zip(("rasa-0", "rasa-1"), AGENT_REPLIES)):
                    reply = {"text": text, "client_key": f"reply-{n}-{uuid.uuid4().hex[:6]}"}
                    async with http.post(running.base(name) + api + "/messages", headers=auth, json=reply) as answer:
                        assert answer.status == 201, await answer.text()

                def agent_texts() -> List[str]:
                    return [r.get("text") for r in received if r.get("text") in AGENT_REPLIES]

                await wait_until(lambda: len(agent_texts()) >= len(AGENT_REPLIES), 120,
                                 "both agent replies at the page")
                for watcher in watchers:
                    watcher.cancel()
                await asyncio.gather(*watchers, return_exceptions=True)

                # The page's server dies: the page reconnects through HAProxy to the other server (the
                # cookie names a server that is down), keeps its session, and an agent's reply reaches it.
                holder = next(c.value for c in page.eio.http.cookie_jar if c.key == STICKY_COOKIE)
                survivor = "rasa-1" if holder == "rasa-0" else "rasa-0"
                confirms = session["confirms"]
                await kill(running, holder)
                await wait_until(lambda: session["confirms"] > confirms, 120, "the session confirmed again")
                assert session["session_id"] == session_id
                reply = {"text": FAILOVER_REPLY, "client_key": f"reply-failover-{uuid.uuid4().hex[:6]}"}
                async with http.post(running.base(survivor) + api + "/messages", headers=auth, json=reply) as answer:
                    assert answer.status == 201, await answer.text()
                await wait_until(lambda: any(r.get("text") == FAILOVER_REPLY for r in received), 120,
                                 "the agent's reply after the failover at the page")
            # A reply stored on one server and emitted by another too would show before every row is "sent".
            await wait_until(lambda: asyncio.to_thread(lambda: all(
                row[2] == "sent" for row in outbox_of(running.db, session_id))), 60, "the outbox sent")
            final = await asyncio.to_thread(outbox_of, running.db, session_id)
        finally:
            await page.disconnect()

    # Every message answered; every stored reply reached the page once, in the order stored.
    answered = {row[1] for row in replies}
    assert all(m in answered for m in sent), f"unanswered: {[m for m in sent if m not in answered]}"
    stored = [json.loads(row[3]) for row in final]
    assert received == stored, "the page did not get exactly the stored replies, once each, in order"
    # The bot stayed silent after the handoff; the agents' replies came once each, in order.
    assert not [row for row in final if row[1] == f"{session_id}:after"], "the bot answered during the handoff"
    assert agent_texts() == AGENT_REPLIES
    assert [r.get("text") for r in received].count(FAILOVER_REPLY) == 1
