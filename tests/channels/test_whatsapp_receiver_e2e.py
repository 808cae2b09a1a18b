"""End to end with the receiver: fake customer → receiver process → Rasa side → fake Graph API.

Real processes and servers: the receiver runs as its own process
(``python -m channels.whatsapp_receiver``, as ``./majlis start`` runs it); the Rasa
side is the WhatsApp Cloud channel served by Rasa's ``configure_app`` on a real Sanic
server with the session's ``majlis_agent`` (trained model, action server,
BilingualNLG; loaded once per session, tests/conftest.py).  Both share one delivery
database: a SQLite file (WAL) or a PostgreSQL database on 127.0.0.1.  The customer
(tests/fakes/fake_customer.py) signs its webhooks with the app secret like Meta; the
replies go to tests/fakes/fake_graph.py.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections import Counter
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import pytest

from bot.delivery import DeliveryStore, InboxState, OutboxState
from bot.storage import create_engine
from channels.whatsapp_receiver import CHANNEL_NAME
from tests.channels.whatsapp_harness import (
    APP_SECRET,
    NUMBERS,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    WEBHOOK_PATH,
    make_channel,
    running_channel,
    settings,
    text_of,
)
from tests.conftest import ROOT, free_port, wait_for_http
from tests.fakes.fake_customer import FakeCustomer, encode, envelope, text_message
from tests.fakes.fake_graph import fake_graph  # noqa: F401 - fixture

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ARABIC = re.compile(r"[\u0600-\u06FF]")
QUESTION = "مرحبا، أبي أعرف فاتورتي"
NOTICE_SECRET = "e2e-notice-secret"
PG = dict(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")


# -- the shared database ------------------------------------------------------------


@contextmanager
def postgres_database() -> Iterator[str]:
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        admin = psycopg2.connect(connect_timeout=3, **PG)
    except psycopg2.OperationalError:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    admin.autocommit = True
    name = f"majlis_receiver_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'majlis.sqlite'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'majlis.sqlite'}"


@pytest.fixture(autouse=True)
def rasa_side_env(monkeypatch):
    """What the Rasa process reads in ``blueprint()``: the notice secret, a quick sweep."""
    monkeypatch.setenv("MAJLIS_INBOX_SECRET", NOTICE_SECRET)
    monkeypatch.setenv("WHATSAPP_INBOX_SWEEP_SECONDS", "0.5")


# -- the two processes -------------------------------------------------------------


@asynccontextmanager
async def receiver_process(tmp_path: Path, database_url: str, rasa_url: str,
                           secret: str = NOTICE_SECRET, *, kill: bool = False) -> AsyncIterator[str]:
    """``python -m channels.whatsapp_receiver``; yields its webhook URL.  Stopped with
    SIGTERM at the end, or SIGKILL when ``kill`` (nothing of the process's shutdown runs)."""
    port = free_port()
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "MAJLIS_DATA_DIR": str(tmp_path), "MAJLIS_DATABASE_URL": database_url,
        "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_NUMBERS": json.dumps(NUMBERS), "MAJLIS_INBOX_SECRET": secret,
    }
    log = open(tmp_path / f"receiver-{port}.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "channels.whatsapp_receiver", "--host", "127.0.0.1", "--port", str(port),
         "--rasa-url", rasa_url], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: wait_for_http(f"http://127.0.0.1:{port}/webhooks/whatsapp_cloud/", 60, process))
        yield f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    finally:
        if kill:
            process.send_signal(signal.SIGKILL)
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@dataclass
class CountingAgent:
    """The session's real agent, counting how often each inbound message is processed."""

    agent: Any
    counts: Counter

    async def handle_message(self, message):
        self.counts[message.message_id] += 1
        return await self.agent.handle_message(message)


def rasa_side(database_url: str, graph_url: str):
    """The WhatsApp Cloud channel on the shared database (served by ``running_channel``)."""
    return make_channel(settings(graph_url), store=DeliveryStore(create_engine(database_url)))


def customer(url: str) -> FakeCustomer:
    return FakeCustomer(url, APP_SECRET, PHONE_NUMBER_ID, sender=f"9715{uuid.uuid4().int % 10**8:08d}")


async def answered(channel, message_id: str, timeout: float = 90.0) -> None:
    """Wait until the Rasa side has processed ``message_id`` and sent its replies."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await channel.delivery.store.inbound(CHANNEL_NAME, message_id)
        if found is not None and found[1] in (InboxState.DONE, InboxState.FAILED):
            break
        assert loop.time() < deadline, f"{message_id} not processed (state {found and found[1]})"
        await asyncio.sleep(0.1)
    await channel.delivery.drain(timeout=60)


def inbox_rows(sqlite_url: str):
    with sqlite3.connect(sqlite_url[len("sqlite:///"):]) as db:
        return [row[0] for row in db.execute("SELECT message_id FROM majlis_inbox ORDER BY id")]


async def replies_to(channel, fake_graph, who: str):
    records = [r for r in await channel.delivery.outbox_records(who)]
    sent = [r for r in fake_graph.messages() if r.json.get("to") == who]
    return records, sent


# -- tests -------------------------------------------------------------------------


async def test_message_through_the_receiver_is_answered_once(majlis_agent, fake_graph, tmp_path, database_url):
    counts: Counter = Counter()
    channel = rasa_side(database_url, fake_graph.url)
    async with running_channel(channel, CountingAgent(majlis_agent, counts)) as rasa:
        async with receiver_process(tmp_path, database_url, rasa.base_url) as webhook:
            who = customer(webhook)
            status, body = await who.say(QUESTION)
            assert (status, json.loads(body)) == (200, {"status": "ok"})
            await answered(channel, who.sent[0])
            records, sent = await replies_to(channel, fake_graph, who.sender)
    assert counts[who.sent[0]] == 1
    assert records and all(r.state is OutboxState.SENT for r in records)
    assert len(sent) == len(records)  # one request per stored reply: nothing twice
    assert ARABIC.search(text_of(sent[0])), text_of(sent[0])
    assert sent[0].headers["Authorization"] == "Bearer token-brand-a"


@pytest.mark.parametrize("lost", ["rasa_unreachable", "wrong_secret"])
async def test_message_is_answered_when_the_notice_is_lost(majlis_agent, fake_graph, tmp_path, sqlite_url, lost):
    """The notice never wakes the Rasa side; its sweep (every 0.5 s here) finds the row."""
    channel = rasa_side(sqlite_url, fake_graph.url)
    async with running_channel(channel, majlis_agent) as rasa:
        rasa_url = f"http://127.0.0.1:{free_port()}" if lost == "rasa_unreachable" else rasa.base_url
        secret = "not-the-secret" if lost == "wrong_secret" else NOTICE_SECRET
        async with receiver_process(tmp_path, sqlite_url, rasa_url, secret=secret) as webhook:
            who = customer(webhook)
            assert (await who.say(QUESTION))[0] == 200
            await answered(channel, who.sent[0])
            records, sent = await replies_to(channel, fake_graph, who.sender)
    assert records and len(sent) == len(records)
    assert ARABIC.search(text_of(sent[0]))


async def test_duplicate_to_receiver_and_rasa_route_is_answered_once(majlis_agent, fake_graph, tmp_path, sqlite_url):
    """Meta's retry may hit either endpoint during a switch-over: the wamid is stored once."""
    counts: Counter = Counter()
    channel = rasa_side(sqlite_url, fake_graph.url)
    async with running_channel(channel, CountingAgent(majlis_agent, counts)) as rasa:
        async with receiver_process(tmp_path, sqlite_url, rasa.base_url) as webhook:
            who = customer(webhook)
            message = text_message(QUESTION, sender=who.sender)
            raw = encode(envelope([message], phone_number_id=PHONE_NUMBER_ID))
            in_rasa = FakeCustomer(rasa.url(), APP_SECRET, PHONE_NUMBER_ID, sender=who.sender)
            results = await asyncio.gather(who.post_raw(raw), in_rasa.post_raw(raw), who.post_raw(raw))
            assert [status for status, _ in results] == [200, 200, 200]
            await answered(channel, message["id"])
            await asyncio.sleep(1.5)  # a second processing would show by now (sweeps at 0.5 s)
            records, sent = await replies_to(channel, fake_graph, who.sender)
    assert counts[message["id"]] == 1
    assert inbox_rows(sqlite_url) == [message["id"]]  # stored once
    assert records and len(sent) == len(records)
    assert len({r.message.idempotency_key for r in records}) == len(records)


async def test_messages_acknowledged_while_rasa_is_down_are_answered_when_it_starts(
        majlis_agent, fake_graph, tmp_path, sqlite_url):
    """The receiver keeps acknowledging while Rasa restarts; ``Delivery.start`` resumes the rows."""
    async with receiver_process(tmp_path, sqlite_url, f"http://127.0.0.1:{free_port()}") as webhook:
        who = customer(webhook)
        assert (await who.say(QUESTION))[0] == 200
        assert (await who.say("شكرا"))[0] == 200
        channel = rasa_side(sqlite_url, fake_graph.url)
        async with running_channel(channel, majlis_agent):
            await answered(channel, who.sent[1])
            first = await channel.delivery.store.inbound(CHANNEL_NAME, who.sent[0])
            records, sent = await replies_to(channel, fake_graph, who.sender)
    assert first is not None and first[1] is InboxState.DONE
    assert records and len(sent) == len(records)
    # in order: the replies to the first message come before those to the second
    assert [r.message.inbound_message_id for r in records] == sorted(
        (r.message.inbound_message_id for r in records), key=who.sent.index)


async def test_receiver_killed_after_the_200_before_relaying_delivers_after_restart(
        majlis_agent, fake_graph, tmp_path, sqlite_url):
    """SIGKILL between the acknowledgement and the relay: the restarted receiver finds the
    body in its journal, records it, and the Rasa side answers it once.

    The relay is held back for real: the test holds the delivery database's write lock
    (as a busy Rasa process does), so the receiver can answer but not record.
    """
    counts: Counter = Counter()
    channel = rasa_side(sqlite_url, fake_graph.url)
    async with running_channel(channel, CountingAgent(majlis_agent, counts)) as rasa:
        blocker = sqlite3.connect(sqlite_url[len("sqlite:///"):], isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # the write lock: the relay waits behind it
        try:
            async with receiver_process(tmp_path, sqlite_url, rasa.base_url, kill=True) as webhook:
                who = customer(webhook)
                status, _ = await who.say(QUESTION)
                assert status == 200  # durable in the journal only
                journal = sqlite3.connect(tmp_path / "whatsapp_receiver_journal.sqlite")
                assert journal.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == 1
                journal.close()
        finally:
            blocker.execute("ROLLBACK")  # the killed receiver had recorded nothing
            blocker.close()
        assert inbox_rows(sqlite_url) == []
        async with receiver_process(tmp_path, sqlite_url, rasa.base_url):
            await answered(channel, who.sent[0])
            await asyncio.sleep(1.5)  # a second processing would show by now (sweeps at 0.5 s)
            records, sent = await replies_to(channel, fake_graph, who.sender)
    assert counts[who.sent[0]] == 1
    assert inbox_rows(sqlite_url) == [who.sent[0]]
    assert records and all(r.state is OutboxState.SENT for r in records)
    assert len(sent) == len(records)
    assert ARABIC.search(text_of(sent[0])), text_of(sent[0])
