"""channels/whatsapp_receiver.py: the webhook receiver app over real HTTP, no Rasa.

The receiver's aiohttp app (:func:`channels.whatsapp_receiver.build_app`) listens on a
free port with its journal and a SQLite delivery database (files); a small fake "Rasa"
records the inbox notices it sends.  The receiver answers once a body is in its journal;
its relay then records it in the delivery database, so the tests wait for the relay
(:meth:`Receiver.settle`) before looking at the database.  Test data: tests/fixtures/whatsapp (david-lev/pywa ``tests/data/updates``,
MIT; tests/fixtures/SOURCES.md) posted byte for byte and signed; signature vectors
tests/fixtures/signatures/meta_x_hub_signature_256_vectors.json (pywa,
whatsapp-api-js); handshake cases ``verification_requests.json`` (Meta's docs); text
messages built by tests/fakes/fake_customer.py.  The end-to-end tests with the real
model are in test_whatsapp_receiver_e2e.py.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator, Dict, List, Optional, Tuple

import aiohttp
import pytest
from aiohttp import web

from bot.config import Secret
from bot.delivery import DeliveryStore, InboxState
from bot.gateway.journal import Journal
from bot.gateway.notice import SECRET_HEADER, InboxNotifier, decode_notice
from bot.gateway.relay import JournalRelay
from bot.storage import create_engine
from channels.meta.graph import SIGNATURE_HEADER, GraphClient, sign
from channels.whatsapp_cloud.sender import WhatsAppSender
from channels.whatsapp_cloud.settings import WhatsAppSettings
from channels.whatsapp_receiver import CHANNEL_NAME, NOTICE_PATH, RecordOnlyDelivery, build_app, deliverer
from sqlalchemy.exc import SQLAlchemyError
from tests.bot.delivery.helpers import eventually
from tests.channels.test_whatsapp_cloud import ECHOES, IGNORED, MESSAGES, PERSONAL, SILENT, STATUSES
from tests.channels.whatsapp_harness import (
    APP_SECRET,
    FIXTURES,
    NUMBERS,
    PHONE_NUMBER_ID,
    SIGNATURE_VECTORS,
    VERIFY_TOKEN,
    fixture_bytes,
    fixture_names,
    settings,
)
from tests.conftest import ROOT, free_port, wait_for_http
from tests.fakes.fake_customer import encode, envelope, text_message
from tests.logs import printed

WEBHOOK = "/webhooks/whatsapp_cloud/webhook"
CUSTOMER = "971500000001"
NOTICE_SECRET = "notice-secret-for-tests"


@dataclass
class FakeRasa:
    """Stands in for the Rasa process: records inbox notices (and can refuse them)."""

    notices: List[List[Tuple[str, str]]] = field(default_factory=list)
    status: int = 200
    secrets_seen: List[Optional[str]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.secrets_seen.append(request.headers.get(SECRET_HEADER))
        self.notices.append(decode_notice(await request.read()))
        return web.json_response({"kicked": len(self.notices[-1])}, status=self.status)

    @property
    def conversations(self) -> List[Tuple[str, str]]:
        return [conv for notice in self.notices for conv in notice]


@dataclass
class Receiver:
    url: str
    store: DeliveryStore
    rasa: FakeRasa
    notifier: InboxNotifier
    session: aiohttp.ClientSession
    journal: Journal
    relay: JournalRelay
    database: Path

    async def post(self, raw: bytes, headers: Dict[str, str]) -> Tuple[int, Dict]:
        async with self.session.post(self.url + WEBHOOK, data=raw, headers=headers) as answer:
            text = await answer.text()
            return answer.status, (json.loads(text) if text.startswith("{") else {"text": text})

    async def post_signed(self, raw: bytes, *, secret: str = APP_SECRET, content_type: str = "application/json"):
        return await self.post(raw, {"Content-Type": content_type, SIGNATURE_HEADER: sign(raw, Secret(secret))})

    async def settle(self, timeout: float = 60.0) -> None:
        """Wait until what was answered so far is recorded and its notices sent (or failed)."""
        await asyncio.sleep(0.05)  # the relay is woken just after the 200 is written
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.journal) > self.relay.parked:
            assert asyncio.get_running_loop().time() < deadline, "journal not relayed"
            await asyncio.sleep(0.01)
        while self.notifier._pending or (self.notifier._task is not None and not self.notifier._task.done()):
            assert asyncio.get_running_loop().time() < deadline, "notices still queued"
            await asyncio.sleep(0.01)

    def inbox_rows(self) -> List[str]:
        """The wamids of every inbox row, in id order (read from the database file)."""
        with sqlite3.connect(self.database) as db:
            return [row[0] for row in db.execute("SELECT message_id FROM majlis_inbox ORDER BY id")]

    async def inbox_state(self, message_id: str) -> Optional[InboxState]:
        found = await self.store.inbound(CHANNEL_NAME, message_id)
        return None if found is None else found[1]


async def _serve(app: web.Application) -> Tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


@asynccontextmanager
async def receiver(tmp_path: Path, config: Optional[WhatsAppSettings] = None,
                   rasa_url: Optional[str] = None, database: Optional[Path] = None,
                   limit: int = 1000) -> AsyncIterator[Receiver]:
    """The receiver app on a free port: journal and delivery database in SQLite files, notifying a FakeRasa."""
    config = config or settings()
    rasa = FakeRasa()
    rasa_app = web.Application()
    rasa_app.router.add_post(NOTICE_PATH, rasa.handle)
    rasa_runner, rasa_port = await _serve(rasa_app)
    notifier = InboxNotifier(rasa_url or f"http://127.0.0.1:{rasa_port}{NOTICE_PATH}", Secret(NOTICE_SECRET))
    store = DeliveryStore(create_engine(f"sqlite:///{database or tmp_path / 'majlis.sqlite'}"))
    if database is None:
        await store.setup()  # so tests can look for rows that must not be there (the relay migrates too)
    graph = GraphClient(config.graph_url)
    delivery = RecordOnlyDelivery(on_kick=lambda conv: notifier.notify([conv]), channel=CHANNEL_NAME,
                                  store=store, sender=WhatsAppSender(graph, config.numbers))
    journal = Journal(str(tmp_path / "journal.sqlite"), limit=limit)
    relay = JournalRelay(journal, deliverer(config, delivery), notifier.notify, retry_on=(SQLAlchemyError, OSError),
                         first_backoff=0.05, max_backoff=0.5)
    runner, port = await _serve(build_app(config, journal, relay))
    try:
        async with aiohttp.ClientSession() as session:
            yield Receiver(f"http://127.0.0.1:{port}", store, rasa, notifier, session, journal, relay,
                           database or tmp_path / "majlis.sqlite")
    finally:
        await runner.cleanup()
        await notifier.close()
        await graph.close()
        await rasa_runner.cleanup()
        store.close()
        store.engine.dispose()


def text_body(text: str = "مرحبا", *, sender: str = CUSTOMER, message_id: Optional[str] = None) -> Tuple[bytes, str]:
    message = text_message(text, sender=sender, message_id=message_id)
    return encode(envelope([message], phone_number_id=PHONE_NUMBER_ID)), message["id"]


# -- recording and notices ---------------------------------------------------------


async def test_message_is_recorded_answered_and_notified(tmp_path):
    raw, wamid = text_body()
    async with receiver(tmp_path) as rcv:
        status, body = await rcv.post_signed(raw)
        await rcv.settle()
        state = await rcv.inbox_state(wamid)
    assert (status, body) == (200, {"status": "ok"})
    assert state is InboxState.PENDING  # processing is the Rasa process' job
    assert rcv.rasa.conversations == [(PHONE_NUMBER_ID, CUSTOMER)]
    assert rcv.rasa.secrets_seen == [NOTICE_SECRET]


@pytest.mark.parametrize("name", fixture_names())
async def test_every_recorded_fixture_is_acknowledged_and_stored(tmp_path, name):
    """Source: tests/fixtures/whatsapp/<name> (pywa), posted byte for byte."""
    async with receiver(tmp_path) as rcv:
        status, body = await rcv.post_signed(fixture_bytes(name))
        await rcv.settle()
        if name in MESSAGES or name in SILENT:
            wamid = MESSAGES[name]["message_id"] if name in MESSAGES else SILENT[name]
            assert await rcv.inbox_state(wamid) is InboxState.PENDING
            assert rcv.rasa.notices
        elif name in ECHOES:  # a person answering from the phone: stored for the Rasa server to take over
            [echo_id] = rcv.inbox_rows()
            assert await rcv.inbox_state(echo_id) is InboxState.PENDING and rcv.rasa.notices
        elif name in STATUSES:
            wamid, status_name, _code = STATUSES[name]
            record = await rcv.store.current_status(CHANNEL_NAME, wamid)
            assert record is not None and record.status == status_name
            assert rcv.inbox_rows() == [] and rcv.rasa.notices == []
        else:
            assert name in IGNORED
            assert rcv.inbox_rows() == [] and rcv.rasa.notices == []
    assert (status, body) == (200, {"status": "ok"})


async def test_duplicates_are_dropped_and_not_notified_again(tmp_path):
    raw, wamid = text_body()
    first, second = text_message("a", sender=CUSTOMER), text_message("b", sender=CUSTOMER)
    batch = encode(envelope([first, second, first], phone_number_id=PHONE_NUMBER_ID))
    async with receiver(tmp_path) as rcv:
        assert (await rcv.post_signed(raw))[0] == 200
        await rcv.settle()
        assert (await rcv.post_signed(raw))[0] == 200  # Meta's retry: journaled, recorded once
        await rcv.settle()
        assert (await rcv.post_signed(batch))[0] == 200  # a duplicate inside one batch
        await rcv.settle()
        rows = rcv.inbox_rows()
    assert rows == [wamid, first["id"], second["id"]]  # one row per wamid
    assert len(rcv.rasa.notices) == 2 and set(rcv.rasa.conversations) == {(PHONE_NUMBER_ID, CUSTOMER)}


async def test_duplicate_bodies_posted_together_give_one_inbox_row(tmp_path):
    raw, wamid = text_body()
    async with receiver(tmp_path) as rcv:
        answers = await asyncio.gather(*(rcv.post_signed(raw) for _ in range(5)))
        await rcv.settle()
        rows = rcv.inbox_rows()
    assert [status for status, _ in answers] == [200] * 5
    assert rows == [wamid] and rcv.rasa.conversations == [(PHONE_NUMBER_ID, CUSTOMER)]


async def test_one_notice_per_batch_lists_each_conversation_once(tmp_path):
    messages = [text_message(str(i), sender=f"97150000000{i % 3}") for i in range(9)]
    async with receiver(tmp_path) as rcv:
        status, body = await rcv.post_signed(encode(envelope(messages, phone_number_id=PHONE_NUMBER_ID)))
        await rcv.settle()
        rows = rcv.inbox_rows()
    assert status == 200 and rows == [m["id"] for m in messages]
    assert sorted(rcv.rasa.conversations) == [(PHONE_NUMBER_ID, f"97150000000{i}") for i in range(3)]


async def test_unknown_types_and_fields_are_accepted(tmp_path, caplog):
    odd = {"from": CUSTOMER, "id": "wamid.odd1", "timestamp": "1900000000", "type": "hologram", "hologram": {}}
    unknown_field = {"object": "whatsapp_business_account",
                     "entry": [{"id": "1", "changes": [{"field": "calls", "value": {}}]}]}
    async with receiver(tmp_path) as rcv:
        with caplog.at_level(logging.DEBUG):
            odd_status, odd_body = await rcv.post_signed(encode(envelope([odd], phone_number_id=PHONE_NUMBER_ID)))
            field_status, field_body = await rcv.post_signed(json.dumps(unknown_field).encode())
            page_status, _ = await rcv.post_signed(json.dumps({"object": "page", "entry": []}).encode())
            await rcv.settle()
        assert await rcv.inbox_state("wamid.odd1") is InboxState.PENDING  # the bot says it can't read it
        rows = rcv.inbox_rows()
    assert (odd_status, field_status, page_status) == (200, 200, 200) and rows == ["wamid.odd1"]
    assert "Webhook part ignored" in caplog.text  # logged at DEBUG


async def test_message_for_an_unconfigured_number_is_acknowledged_not_stored(tmp_path):
    message = text_message("hi", sender=CUSTOMER)
    async with receiver(tmp_path) as rcv:
        status, body = await rcv.post_signed(encode(envelope([message], phone_number_id="999")))
        await rcv.settle()
        assert await rcv.inbox_state(message["id"]) is None
    assert status == 200 and rcv.rasa.notices == []


# -- refusals ----------------------------------------------------------------------


async def test_bad_requests_get_clear_status_codes(tmp_path, caplog):
    raw, wamid = text_body("secret words")
    async with receiver(tmp_path) as rcv:
        with caplog.at_level(logging.DEBUG):
            assert (await rcv.post(raw, {"Content-Type": "application/json"}))[0] == 401
            assert (await rcv.post(raw, {"Content-Type": "application/json",
                                         SIGNATURE_HEADER: "sha256=" + "0" * 64}))[0] == 401
            assert (await rcv.post_signed(raw, secret="another-app"))[0] == 401
            assert (await rcv.post_signed(b"{not json"))[0] == 400
            assert (await rcv.post_signed(b"[1, 2]"))[0] == 400
            assert (await rcv.post_signed(raw, content_type="text/plain"))[0] == 415
        assert len(rcv.journal) == 0 and rcv.journal.appended == 0  # refused before the journal
        assert await rcv.inbox_state(wamid) is None
    assert rcv.rasa.notices == []
    assert "secret words" not in caplog.text


def signature_cases():
    return {case["name"]: case for case in json.loads(SIGNATURE_VECTORS.read_text())["cases"]}


@pytest.mark.parametrize("name", [n for n, c in signature_cases().items() if "expect_valid" in c])
async def test_signature_vectors(tmp_path, name):
    """Source: tests/fixtures/signatures/meta_x_hub_signature_256_vectors.json (pywa test_server.py)."""
    case = signature_cases()[name]
    headers = {"Content-Type": "application/json"}
    if case["x_hub_signature_256"] is not None:
        headers[SIGNATURE_HEADER] = case["x_hub_signature_256"]
    async with receiver(tmp_path, settings(WHATSAPP_APP_SECRET=case["app_secret"])) as rcv:
        status, _ = await rcv.post(case["raw_body"].encode("utf-8"), headers)
    if case["expect_valid"]:
        assert status == 200
    else:
        assert status == 401


async def test_huge_bodies_are_refused_with_413(tmp_path):
    big, _ = text_body("x" * 3000)
    async with receiver(tmp_path, settings(WHATSAPP_MAX_BODY_BYTES="2048")) as rcv:
        assert (await rcv.post_signed(big))[0] == 413  # Content-Length over the limit

        async def chunks():  # no Content-Length: refused while reading
            for start in range(0, len(big), 512):
                yield big[start:start + 512]

        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(big, Secret(APP_SECRET))}
        async with rcv.session.post(rcv.url + WEBHOOK, data=chunks(), headers=headers) as answer:
            assert answer.status == 413
        small, wamid = text_body("ok")
        assert (await rcv.post_signed(small))[0] == 200  # still serving


async def test_database_down_still_acknowledges_and_delivers_once_it_is_back(tmp_path):
    """A real outage: the delivery database's directory does not exist until the test creates it."""
    missing = tmp_path / "not-yet" / "majlis.sqlite"
    raw, wamid = text_body()
    async with receiver(tmp_path, database=missing) as rcv:
        status, body = await rcv.post_signed(raw)
        await eventually(lambda: rcv.relay.failures >= 1)  # relay attempts fail meanwhile
        assert (status, body) == (200, {"status": "ok"})
        assert len(rcv.journal) == 1 and rcv.relay.failures >= 1 and rcv.rasa.notices == []
        missing.parent.mkdir()  # the database is back
        await rcv.settle()
        rows = rcv.inbox_rows()
    assert rows == [wamid] and rcv.rasa.conversations == [(PHONE_NUMBER_ID, CUSTOMER)]


async def test_full_journal_answers_503_so_meta_retries(tmp_path):
    missing = tmp_path / "not-yet" / "majlis.sqlite"
    bodies = [text_body(str(i)) for i in range(3)]
    async with receiver(tmp_path, database=missing, limit=2) as rcv:
        answers = [await rcv.post_signed(raw) for raw, _ in bodies]
        assert [status for status, _ in answers] == [200, 200, 503]
        assert answers[2][1] == {"error": "temporarily unavailable"}
        missing.parent.mkdir()
        await rcv.settle()
        assert (await rcv.post_signed(bodies[2][0]))[0] == 200  # Meta's retry, once there is room
        await rcv.settle()
        rows = rcv.inbox_rows()
    assert rows == [wamid for _, wamid in bodies]


async def test_journal_left_by_a_previous_run_is_relayed_first_in_order(tmp_path):
    """What a crashed receiver left in its journal is recorded on the next start, oldest first."""
    missing = tmp_path / "not-yet" / "majlis.sqlite"
    bodies = [text_body(str(i)) for i in range(3)]
    async with receiver(tmp_path, database=missing) as rcv:
        for raw, _ in bodies[:2]:
            assert (await rcv.post_signed(raw))[0] == 200
    assert not missing.exists()  # stopped with both still in the journal
    missing.parent.mkdir()
    async with receiver(tmp_path, database=missing) as rcv:
        assert (await rcv.post_signed(bodies[2][0]))[0] == 200
        await rcv.settle()
        rows = rcv.inbox_rows()
    assert rows == [wamid for _, wamid in bodies]


async def test_rasa_unreachable_still_acknowledges_and_keeps_the_row(tmp_path, caplog):
    raw, wamid = text_body()
    async with receiver(tmp_path, rasa_url=f"http://127.0.0.1:{free_port()}{NOTICE_PATH}") as rcv:
        with caplog.at_level(logging.WARNING):
            status, _ = await rcv.post_signed(raw)
            await rcv.settle()
        assert await rcv.inbox_state(wamid) is InboxState.PENDING
    assert status == 200 and rcv.notifier.failed == 1
    assert "sweep will pick them up" in caplog.text and CUSTOMER not in caplog.text


def verification_cases():
    data = json.loads((FIXTURES / "verification_requests.json").read_text())
    return [(case, case.get("configured_verify_token_override", data["configured_verify_token"]))
            for case in data["cases"]]


@pytest.mark.parametrize("case,token", verification_cases(), ids=lambda v: v["name"] if isinstance(v, dict) else "")
async def test_verification_handshake(tmp_path, case, token):
    """Source: tests/fixtures/whatsapp/verification_requests.json (Meta webhook docs)."""
    async with receiver(tmp_path, settings(WHATSAPP_VERIFY_TOKEN=token)) as rcv:
        async with rcv.session.get(f"{rcv.url}{WEBHOOK}?{case['query']}") as answer:
            status, body = answer.status, await answer.text()
        async with rcv.session.get(f"{rcv.url}/webhooks/whatsapp_cloud/") as health:
            assert await health.json() == {"status": "ok"}
    assert status == case["expect_status"]
    if status == 200:
        assert body == case["expect_body"]


async def test_no_personal_data_logged_at_info_for_any_fixture(tmp_path, caplog):
    """Every fixture of tests/fixtures/whatsapp; log lines at INFO+ carry no PII."""
    async with receiver(tmp_path, rasa_url=f"http://127.0.0.1:{free_port()}{NOTICE_PATH}") as rcv:
        with caplog.at_level(logging.INFO):
            for name in fixture_names():
                assert (await rcv.post_signed(fixture_bytes(name)))[0] == 200
                await rcv.settle()
    lines = printed(caplog.records).splitlines()  # tracebacks included
    assert lines
    for line in lines:
        for secret in [*PERSONAL, NOTICE_SECRET, APP_SECRET]:
            assert secret not in line, f"{secret!r} logged: {line}"


# -- the process -------------------------------------------------------------------


def receiver_env(tmp_path: Path, **extra: str) -> Dict[str, str]:
    return {
        **os.environ, "PYTHONPATH": str(ROOT), "MAJLIS_DATA_DIR": str(tmp_path),
        "MAJLIS_DATABASE_URL": f"sqlite:///{tmp_path / 'majlis.sqlite'}",
        "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_NUMBERS": json.dumps(NUMBERS), "MAJLIS_INBOX_SECRET": NOTICE_SECRET, **extra,
    }


def test_the_process_refuses_to_start_without_the_shared_secret(tmp_path):
    env = receiver_env(tmp_path)
    env.pop("MAJLIS_INBOX_SECRET")
    done = subprocess.run([sys.executable, "-m", "channels.whatsapp_receiver", "--port", str(free_port())],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "MAJLIS_INBOX_SECRET" in done.stderr


async def test_the_process_records_then_stops_gracefully_on_sigterm(tmp_path):
    port = free_port()
    log = open(tmp_path / "receiver.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "channels.whatsapp_receiver", "--host", "127.0.0.1", "--port", str(port),
         "--rasa-url", f"http://127.0.0.1:{free_port()}"],
        cwd=ROOT, env=receiver_env(tmp_path), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/webhooks/whatsapp_cloud/", 60, process)
        raw, wamid = text_body()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(raw, Secret(APP_SECRET))}
        async with aiohttp.ClientSession() as session:
            async with session.post(f"http://127.0.0.1:{port}{WEBHOOK}", data=raw, headers=headers) as answer:
                assert answer.status == 200
            # Meta's verification handshake carries the verify token in the query string:
            # send it (right and wrong), so the log check below has something to find.
            for token, status in ((VERIFY_TOKEN, 200), (VERIFY_TOKEN + "-wrong", 403)):
                query = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}
                async with session.get(f"http://127.0.0.1:{port}{WEBHOOK}", params=query) as answer:
                    assert answer.status == status
                    if status == 200:
                        assert await answer.text() == "1158201444"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    store = DeliveryStore(create_engine(f"sqlite:///{tmp_path / 'majlis.sqlite'}"))
    found = await store.inbound(CHANNEL_NAME, wamid)
    store.close()
    assert found is not None and found[1] is InboxState.PENDING
    text = (tmp_path / "receiver.log").read_text()
    assert "WhatsApp receiver stopped" in text
    assert CUSTOMER not in text and NOTICE_SECRET not in text and VERIFY_TOKEN not in text, text



async def test_the_process_acknowledges_while_the_database_is_down_and_delivers_once_it_is_back(tmp_path):
    """The receiver process with its delivery database unavailable (its directory missing):
    the webhook gets its 200 from the journal; once the database exists, the row is recorded
    once and Rasa is told once."""
    rasa = FakeRasa()
    rasa_app = web.Application()
    rasa_app.router.add_post(NOTICE_PATH, rasa.handle)
    rasa_runner, rasa_port = await _serve(rasa_app)
    database = tmp_path / "db" / "majlis.sqlite"
    port = free_port()
    log = open(tmp_path / "receiver.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "channels.whatsapp_receiver", "--host", "127.0.0.1", "--port", str(port),
         "--rasa-url", f"http://127.0.0.1:{rasa_port}"],
        cwd=ROOT, env=receiver_env(tmp_path, MAJLIS_DATABASE_URL=f"sqlite:///{database}"),
        stdout=log, stderr=subprocess.STDOUT)
    try:
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: wait_for_http(f"http://127.0.0.1:{port}/webhooks/whatsapp_cloud/", 60, process))
        raw, wamid = text_body()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(raw, Secret(APP_SECRET))}
        async with aiohttp.ClientSession() as session:
            for _ in range(2):  # and Meta's retry of the same body
                async with session.post(f"http://127.0.0.1:{port}{WEBHOOK}", data=raw, headers=headers) as answer:
                    assert answer.status == 200
        await asyncio.sleep(1.0)
        assert not database.exists() and rasa.notices == []
        database.parent.mkdir()  # the database is back
        rows = await wait_for_rows(database, 1, timeout=30)
        await asyncio.sleep(1.0)  # a second notice would arrive now
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
        await rasa_runner.cleanup()
    assert rows == [wamid]
    assert rasa.conversations == [(PHONE_NUMBER_ID, CUSTOMER)]
    text = (tmp_path / "receiver.log").read_text()
    assert "delivery database unavailable" in text and "recorded again" in text
    assert CUSTOMER not in text and NOTICE_SECRET not in text


async def wait_for_rows(database: Path, count: int, timeout: float) -> List[str]:
    """The wamids of the inbox rows once there are ``count`` of them."""
    deadline = asyncio.get_running_loop().time() + timeout
    rows: List[str] = []
    while asyncio.get_running_loop().time() < deadline:
        if database.exists():
            try:
                with sqlite3.connect(database) as db:
                    rows = [r[0] for r in db.execute("SELECT message_id FROM majlis_inbox ORDER BY id")]
            except sqlite3.OperationalError:  # not migrated yet
                rows = []
            if len(rows) >= count:
                return rows
        await asyncio.sleep(0.1)
    raise AssertionError(f"{len(rows)} inbox row(s) after {timeout} s, expected {count}")
