"""channels/whatsapp_cloud/channel.py: the read receipt does not hold up the turn, nor the reply hold up on it.

The receipt (with the typing indicator) is sent in the background while the message
is processed; the reply to the same customer goes out after it, so "typing…" never
shows after the answer; a failed or hung receipt costs nothing but a DEBUG line.
Real HTTP both ways, against a fake Graph API whose receipts the test holds or fails.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from channels.whatsapp_cloud import sender as whatsapp_sender
from tests.channels.whatsapp_harness import PHONE_NUMBER_ID, RecordingAgent, make_channel, running_channel, settings
from tests.fakes.fake_customer import encode, envelope, text_message
from tests.fakes.fake_graph import FakeGraph, _error, serving
from tests.logs import printed

CUSTOMER = "971500000002"


@dataclass
class ReceiptControlledGraph(FakeGraph):
    """The fake Graph API, except that read receipts wait for ``receipts_open`` or fail."""

    receipts_open: asyncio.Event = field(default_factory=asyncio.Event)
    fail_receipts: bool = False

    async def _messages(self, request: web.Request) -> web.Response:
        body = await request.json()
        if isinstance(body, dict) and body.get("status") == "read":
            if self.fail_receipts:
                return _error(500, 2, "Service temporarily unavailable")
            await self.receipts_open.wait()
        return await super()._messages(request)


@pytest.fixture
async def graph():
    async with serving(ReceiptControlledGraph()) as graph:
        yield graph
        graph.receipts_open.set()  # let a held request finish before the server stops


@pytest.fixture
def agent():
    return RecordingAgent(reply="أهلاً")


@pytest.fixture
async def served(graph, agent):
    async with running_channel(make_channel(settings(graph.url)), agent) as running:
        yield running


async def post(running, text: str):
    status, _ = await running.post_signed(encode(envelope([text_message(text, sender=CUSTOMER)],
                                                          phone_number_id=PHONE_NUMBER_ID)))
    assert status == 200


async def until(condition, timeout: float = 60.0) -> None:
    """Wait for an async condition (a generous bound: it only ends a test that already failed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


@pytest.fixture
async def patient(graph, agent, monkeypatch):
    """The channel with bounds longer than any test runs: the receipt's HTTP timeout (1 s in
    ``served``) and how long a reply waits for it (RECEIPT_WAIT_S, 2 s), so what the test
    sees while the receipt is held cannot depend on how fast a loaded machine is."""
    monkeypatch.setattr(whatsapp_sender, "RECEIPT_WAIT_S", 3600.0)
    async with running_channel(make_channel(settings(graph.url, WHATSAPP_TIMEOUT="3600")), agent) as running:
        yield running


async def test_message_is_processed_while_the_receipt_is_in_flight(patient, graph, agent):
    await post(patient, "مرحبا")

    async def reply_stored() -> bool:  # the bot ran while the receipt was held, and answered
        return bool(agent.messages) and bool(await patient.channel.delivery.outbox_records())

    await until(reply_stored)
    assert graph.receipts() == [] and graph.messages(outcome=None) == []  # the reply waits for the receipt
    graph.receipts_open.set()
    [reply] = await graph.wait_for(1, timeout=60)
    await patient.channel.delivery.drain()
    kinds = ["receipt" if r.json.get("status") == "read" else "reply" for r in graph.requests]
    assert kinds == ["receipt", "reply"]  # "typing…" never shows after the answer
    assert graph.receipts()[0].json["message_id"] == agent.messages[0].message_id
    assert reply.json["text"]["body"] == "أهلاً"


async def test_a_failed_receipt_costs_only_a_debug_line(served, graph, caplog):
    graph.fail_receipts = True
    with caplog.at_level(logging.DEBUG, logger="channels"):
        await post(served, "hi")
        [reply] = await graph.wait_for(1, timeout=60)
        await served.channel.delivery.drain()
    assert reply.json["to"] == CUSTOMER
    notes = [r for r in caplog.records if "Read receipt not sent" in r.getMessage()]
    assert notes and all(r.levelno == logging.DEBUG for r in notes)
    assert CUSTOMER not in printed(caplog.records)  # tracebacks included


async def test_a_hung_receipt_does_not_keep_the_reply_back(served, graph):
    # The receipt is never answered: the client's timeout (1 s in these settings) ends it
    # and the reply goes out anyway.
    await post(served, "hi")
    [reply] = await graph.wait_for(1, timeout=60)
    assert reply.json["to"] == CUSTOMER
    assert graph.receipts() == []
