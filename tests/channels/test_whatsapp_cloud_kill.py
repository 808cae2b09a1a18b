"""Kill test: ``rasa run`` dies (SIGKILL) after acknowledging a webhook, before replying.

A real ``rasa run`` subprocess serves the WhatsApp Cloud channel from a
credentials.yml entry, with its SQLite database in a temporary directory.  The fake
Graph API hangs on the reply, the server is killed, and after a restart the reply is
sent, once.
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

from tests.channels.whatsapp_harness import APP_SECRET, NUMBERS, PHONE_NUMBER_ID, VERIFY_TOKEN
from tests.conftest import ROOT, action_endpoint, free_port, wait_for_http
from tests.fakes.fake_customer import FakeCustomer
from tests.fakes.fake_graph import fake_graph  # noqa: F401 - fixture

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CREDENTIALS = """\
channels.whatsapp_cloud.WhatsAppCloudInput:
  app_secret: ${WHATSAPP_APP_SECRET}
  verify_token: ${WHATSAPP_VERIFY_TOKEN}
  numbers: ${WHATSAPP_NUMBERS}
"""


def write_config(tmp: Path, action_server_url: str) -> None:
    (tmp / "credentials.yml").write_text(CREDENTIALS, encoding="utf-8")
    (tmp / "endpoints.yml").write_text(
        yaml.safe_dump({"action_endpoint": action_endpoint(action_server_url)}) +
        "nlg:\n  type: bot.nlg.BilingualNLG\n"
        f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {tmp / 'tracker.sqlite'}\n",
        encoding="utf-8",
    )


def start_rasa(tmp: Path, model: Path, port: int, graph_url: str, log_name: str) -> subprocess.Popen:
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
    }
    rasa = str(Path(sys.executable).with_name("rasa"))
    log = open(tmp / log_name, "w")
    return subprocess.Popen(
        [rasa, "run", "--model", str(model), "--credentials", str(tmp / "credentials.yml"),
         "--endpoints", str(tmp / "endpoints.yml"), "--port", str(port), "--interface", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


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

    second = start_rasa(tmp_path, trained_model, port, fake_graph.url, "rasa-2.log")
    try:
        await wait_up(health, second)
        delivered = await fake_graph.wait_for(1, timeout=120)
        await asyncio.sleep(3)  # anything sent twice would show up now
        delivered = fake_graph.messages()
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=30)
        except subprocess.TimeoutExpired:
            second.kill()
    hung = [r for r in fake_graph.requests if r.outcome == "hung"]
    assert len(hung) == 1
    assert delivered[0].json == hung[0].json  # the reply in flight at the kill, sent after restart
    assert all(r.json["to"] == customer.sender for r in delivered)
    with sqlite3.connect(tmp_path / "majlis.sqlite") as db:
        states = [row[0] for row in db.execute("SELECT state FROM majlis_outbox ORDER BY id")]
    assert states == ["sent"] * len(delivered)  # one successful request per stored reply: once each
