"""Kill tests: ``rasa run`` dies in the middle of real turns of the trained model.

A real ``rasa run`` subprocess serves the WhatsApp Cloud channel from a
credentials.yml entry, with its SQLite databases in a temporary directory.

- SIGKILL after acknowledging a webhook, while the reply hangs at the fake Graph API:
  after a restart the reply is sent, once.
- A deterministic crash (``MAJLIS_TEST_CRASH_AT``, bot/delivery/killpoint.py) after
  Rasa saved the tracker and before the inbox row was finished, in a turn that fills a
  form: after a restart the tracker holds each customer message once and the provider
  received exactly the replies the first run stored, once each.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from bot.delivery.killpoint import CRASH_EXIT_CODE
from tests.channels.whatsapp_harness import APP_SECRET, NUMBERS, PHONE_NUMBER_ID, VERIFY_TOKEN
from tests.conftest import ROOT, action_endpoint, free_port, wait_for_http
from tests.fakes.fake_customer import FakeCustomer
from tests.fakes.fake_graph import fake_graph  # noqa: F401 - fixture

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CREDENTIALS = """\
channels.whatsapp_cloud.channel.WhatsAppCloudInput:
  app_secret: ${WHATSAPP_APP_SECRET}
  verify_token: ${WHATSAPP_VERIFY_TOKEN}
  numbers: ${WHATSAPP_NUMBERS}
"""


def write_config(tmp: Path, action_server_url: str, tracker_store: str = "SQL") -> None:
    (tmp / "credentials.yml").write_text(CREDENTIALS, encoding="utf-8")
    (tmp / "endpoints.yml").write_text(
        yaml.safe_dump({"action_endpoint": action_endpoint(action_server_url)}) +
        "nlg:\n  type: bot.nlg.BilingualNLG\n"
        f"tracker_store:\n  type: {tracker_store}\n  dialect: sqlite\n  db: {tmp / 'tracker.sqlite'}\n",
        encoding="utf-8",
    )


def start_rasa(tmp: Path, model: Path, port: int, graph_url: str, log_name: str, **extra_env: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MAJLIS_DATA_DIR": str(tmp),
        "MAJLIS_DATABASE_URL": f"sqlite:///{tmp / 'majlis.sqlite'}",
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_NUMBERS": json.dumps(NUMBERS),
        "WHATSAPP_GRAPH_URL": graph_url,
        "WHATSAPP_TIMEOUT": "120",  # the hung request must still be in flight when we kill
        "DELIVERY_BACKOFF_BASE": "0.1",
        **extra_env,
    }
    rasa = str(Path(sys.executable).with_name("rasa"))
    log = open(tmp / log_name, "w")
    return subprocess.Popen(
        [rasa, "run", "--model", str(model), "--credentials", str(tmp / "credentials.yml"),
         "--endpoints", str(tmp / "endpoints.yml"), "--port", str(port), "--interface", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


async def wait_up(url: str, process: subprocess.Popen) -> None:
    await asyncio.get_running_loop().run_in_executor(None, lambda: wait_for_http(url, 240, process))


async def test_reply_survives_sigkill_between_ack_and_send(trained_model, action_server_url, fake_graph, tmp_path):
    write_config(tmp_path, action_server_url)
    port = free_port()
    health = f"http://127.0.0.1:{port}/webhooks/whatsapp_cloud/"
    customer = FakeCustomer(f"http://127.0.0.1:{port}/webhooks/whatsapp_cloud/webhook", APP_SECRET,
                            PHONE_NUMBER_ID, sender=f"9715{uuid.uuid4().int % 10**8:08d}")
    fake_graph.fail("hang")

    first = start_rasa(tmp_path, trained_model, port, fake_graph.url, "rasa-1.log")
    try:
        await wait_up(health, first)
        status, _ = await customer.say("مرحبا")
        assert status == 200  # acknowledged: the message is durably recorded
        for _ in range(600):  # the reply is on its way and hangs at the provider
            if any(r.outcome == "hung" for r in fake_graph.requests):
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the reply never reached the fake Graph API")
        assert fake_graph.messages() == []
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)

    # The hung request may have reached Meta: the reply is in doubt (bot/delivery/in_doubt.py) and,
    # with no status webhook echoing its key, is sent again once the (here short) window has passed.
    second = start_rasa(tmp_path, trained_model, port, fake_graph.url, "rasa-2.log", MAJLIS_SEND_IN_DOUBT_SECONDS="2")
    try:
        await wait_up(health, second)
        await fake_graph.wait_for(1, timeout=120)
        await settled(tmp_path, second)  # nothing left to process or send: all sends are recorded
        delivered = fake_graph.messages()
    finally:
        stop(second)
    hung = [r for r in fake_graph.requests if r.outcome == "hung"]
    assert len(hung) == 1
    assert delivered[0].json == hung[0].json  # the reply in flight at the kill, sent after restart
    assert all(r.json["to"] == customer.sender for r in delivered)
    with sqlite3.connect(tmp_path / "majlis.sqlite") as db:
        states = [row[0] for row in db.execute("SELECT state FROM majlis_outbox ORDER BY id")]
    assert states == ["sent"] * len(delivered)  # one successful request per stored reply: once each


def query(tmp: Path, database: str, sql: str, *args: object) -> list:
    with sqlite3.connect(tmp / database) as db:
        return db.execute(sql, args).fetchall()


async def settled(tmp: Path, process: subprocess.Popen, timeout: float = 240) -> None:
    """Wait until every inbox row is finished and no reply waits to be sent.

    A fixed point, not a pause: replies are stored before their inbox row is finished,
    and a reply is recorded as sent only after the provider accepted it, so from here
    on nothing more can reach the fake Graph API.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        assert process.poll() is None, f"rasa exited with {process.returncode}"
        unfinished = query(tmp, "majlis.sqlite", "SELECT COUNT(*) FROM majlis_inbox WHERE state NOT IN ('done', 'failed')")
        unsent = query(tmp, "majlis.sqlite", "SELECT COUNT(*) FROM majlis_outbox WHERE state = 'pending'")
        if unfinished[0][0] == 0 and unsent[0][0] == 0:
            return
        await asyncio.sleep(0.2)
    pytest.fail("the server never finished its work")


def user_turns(tmp: Path, customer: str) -> list:
    """The provider message id of every customer message in the customer's tracker, in order."""
    from bot.identity import sender_id

    rows = query(tmp, "tracker.sqlite", "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id",
                 sender_id("whatsapp_cloud", customer))
    return [json.loads(data).get("message_id") for (data,) in rows]


def replies_of(tmp: Path, wamid: str) -> list:
    """(key, state, body) of the replies stored for one inbound message, in order."""
    rows = query(tmp, "majlis.sqlite",
                 "SELECT idempotency_key, state, payload FROM majlis_outbox WHERE inbound_message_id = ? ORDER BY id",
                 wamid)
    return [(key, state, json.loads(payload)) for key, state, payload in rows]


async def wait_exit(process: subprocess.Popen, timeout: float = 240) -> int:
    return await asyncio.get_running_loop().run_in_executor(None, lambda: process.wait(timeout=timeout))


async def test_crash_after_the_tracker_is_saved_replays_the_recorded_replies(
    trained_model, action_server_url, fake_graph, tmp_path
):
    """A form turn dies after Rasa saved it and before its inbox row is finished.

    The first run's replies of that turn are stored but unsent (the fake Graph API
    answers 500 to every attempt, so all of them wait for a retry).  After the
    restart the turn is not run again: the tracker holds the order number once, and
    the provider receives exactly the stored replies, once each, in order.
    """
    write_config(tmp_path, action_server_url, "bot.storage.tracker_store.WindowedSQLTrackerStore")
    port = free_port()
    health = f"http://127.0.0.1:{port}/webhooks/whatsapp_cloud/"
    customer = FakeCustomer(f"http://127.0.0.1:{port}/webhooks/whatsapp_cloud/webhook", APP_SECRET,
                            PHONE_NUMBER_ID, sender=f"9715{uuid.uuid4().int % 10**8:08d}")

    retries = {"DELIVERY_MAX_ATTEMPTS": "100000", "DELIVERY_BACKOFF_MAX": "0.5"}
    first = start_rasa(tmp_path, trained_model, port, fake_graph.url, "rasa-1.log",
                       MAJLIS_TEST_CRASH_AT="after_tracker_saved:2", **retries)
    try:
        await wait_up(health, first)
        assert (await customer.say("وين طلبي؟ صار لي أسبوع أنتظر"))[0] == 200
        await settled(tmp_path, first)  # the form asked for the order number
        fake_graph.fail(*["500"] * 100000)  # from now on every send fails: the replies wait for a retry
        assert (await customer.say("٤٨٢١٩٣٧"))[0] == 200
        assert await wait_exit(first) == CRASH_EXIT_CODE, "the crash point was not reached"
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=30)
    ask_wamid, order_wamid = customer.sent
    stored = replies_of(tmp_path, order_wamid)
    assert stored and all(state == "pending" for _key, state, _body in stored), stored
    assert any("4821937" in json.dumps(body, ensure_ascii=False) for _k, _s, body in stored), stored
    assert query(tmp_path, "majlis.sqlite", "SELECT state FROM majlis_inbox WHERE message_id = ?",
                 order_wamid) == [("processing",)]
    assert user_turns(tmp_path, customer.sender) == [ask_wamid, order_wamid]  # saved before the crash
    before = [r.json for r in fake_graph.messages()]
    assert before and before == [body for _k, _s, body in replies_of(tmp_path, ask_wamid)]
    fake_graph.failures.clear()  # the provider is back

    second = start_rasa(tmp_path, trained_model, port, fake_graph.url, "rasa-2.log", **retries)
    try:
        await wait_up(health, second)
        await settled(tmp_path, second)
        after_restart = [r.json for r in fake_graph.messages()]
        assert replies_of(tmp_path, order_wamid) == [(key, "sent", body) for key, _state, body in stored]
        assert after_restart == before + [body for _k, _s, body in stored]  # exactly those, once each, in order
        assert user_turns(tmp_path, customer.sender) == [ask_wamid, order_wamid]  # not fed to Rasa again

        # The conversation goes on from the saved state: the next message is answered once.
        assert (await customer.say("مشكور ما قصرت"))[0] == 200
        await fake_graph.wait_for(len(after_restart) + 1, timeout=120)
        await settled(tmp_path, second)
    finally:
        stop(second)
    assert user_turns(tmp_path, customer.sender) == customer.sent
    thanks = [body for _k, _s, body in replies_of(tmp_path, customer.sent[2])]
    assert [r.json for r in fake_graph.messages()] == after_restart + thanks
