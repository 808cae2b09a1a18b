"""`./majlis start`, the README's start command, as an operator runs it.

Real processes: ``./majlis start`` starts the action server, Rasa (through
``bot.rasa_cli``, with endpoints.yml: the windowed SQLite tracker store) and the
WhatsApp receiver.  A customer writes on the REST channel and on WhatsApp (signed
webhooks from tests/fakes/fake_customer.py, replies recorded by the local fake Graph
API tests/fakes/fake_graph.py); the replies are checked, then the tracker rows in the
data directory, then a clean stop on SIGTERM.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, wait_for_http
from tests.fakes.fake_customer import FakeCustomer
from tests.fakes.fake_graph import FakeGraph, serving

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

APP_SECRET = "start-test-app-secret"
PHONE_NUMBER_ID = "106540352242922"
ARABIC = ("\u0600", "\u06ff")


def has_arabic(text: str) -> bool:
    return any(ARABIC[0] <= ch <= ARABIC[1] for ch in text)


def rest(port: int, sender: str, text: str) -> list:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


async def test_majlis_start_serves_rest_and_whatsapp_and_stores_the_conversation(trained_model, tmp_path: Path):
    async with serving(FakeGraph()) as graph:
        port, actions_port, receiver_port = free_port(), free_port(), free_port()
        env = {
            **os.environ,
            "MAJLIS_DATA_DIR": str(tmp_path / "var"),
            "MAJLIS_PORT": str(port),
            "MAJLIS_ACTIONS_PORT": str(actions_port),
            "MAJLIS_RECEIVER_PORT": str(receiver_port),
            "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_VERIFY_TOKEN": "start-test-verify",
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_ACCESS_TOKEN": "start-test-token",
            "WHATSAPP_GRAPH_URL": graph.url,
        }
        for name in ("MAJLIS_ACTION_ENDPOINT", "MAJLIS_TRACKER_DB", "MAJLIS_ENDPOINTS"):
            env.pop(name, None)  # as on an operator's machine: ./majlis start derives them
        log = open(tmp_path / "start.log", "w")
        process = subprocess.Popen(["bash", str(ROOT / "majlis"), "start"], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: wait_for_http(f"http://127.0.0.1:{port}/", timeout=400, process=process))

            replies = await asyncio.get_running_loop().run_in_executor(None, rest, port, "start-rest", "مرحبا")
            assert replies and has_arabic(replies[0]["text"])

            customer = FakeCustomer(f"http://127.0.0.1:{receiver_port}/webhooks/whatsapp_cloud/webhook",
                                    APP_SECRET, PHONE_NUMBER_ID, sender="971501234567")
            status, _ = await customer.say("How much is my bill this month?")
            assert status == 200
            sent = await graph.wait_for(1, timeout=60)
            assert sent[0].json["to"] == "971501234567"
            assert "AED" in json.dumps(sent[0].json) and not has_arabic(json.dumps(sent[0].json, ensure_ascii=False))
        finally:
            process.send_signal(signal.SIGTERM)  # Ctrl-C / a service manager: stops all three
            try:
                process.wait(timeout=60)
                stopped = True
            except subprocess.TimeoutExpired:
                stopped = False
            os.killpg(process.pid, signal.SIGKILL) if process.poll() is None else None
            log.close()
        assert stopped, (tmp_path / "start.log").read_text()[-3000:]
        alive = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, text=True).stdout.split()
        assert not alive, f"children left running: {alive}"

    with sqlite3.connect(tmp_path / "var" / "tracker.sqlite") as db:
        users = db.execute("SELECT sender_id, data FROM events WHERE type_name = 'user' ORDER BY id").fetchall()
    assert [(sender, json.loads(data)["text"]) for sender, data in users] == [
        ("start-rest", "مرحبا"), ("whatsapp_cloud:971501234567", "How much is my bill this month?")]
