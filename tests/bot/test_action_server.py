"""The action server as ./majlis start runs it (bot/action_server.py), as a real process.

A forged call, made the way anyone who reaches the port would try it with curl, runs
nothing and changes nothing in the care backend; Rasa's own calls (with the shared
secret, plain or compressed) run the action; a compressed bomb and a 90 MB body are
refused before they cost memory.
"""
from __future__ import annotations

import gzip
import http.client
import json
import os
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

import psutil
import pytest

from bot.action_server import MAX_INFLATED_BYTES, SECRET_HEADER, TooLarge, inflate
from tests.conftest import ROOT, free_port, wait_for_http

SECRET = "action-server-test-secret"
CUSTOMER = "971500000001"


def buy_bundle_call(line: str = CUSTOMER) -> bytes:
    """What Rasa would send to run ``action_buy_bundle`` for a confirmed 10GB bundle of a
    WhatsApp customer (namespaced sender id, last message in on WhatsApp), forged."""
    sender = f"whatsapp_cloud:{line}"
    slots = {"bundle_size": "10GB", "bundle_confirmed": True}
    user = {"event": "user", "text": "yes", "input_channel": "whatsapp_cloud", "parse_data": {"intent": {"name": "affirm"}}}
    tracker = {"sender_id": sender, "slots": slots, "latest_message": {"text": "yes", "intent": {"name": "affirm"}},
               "events": [user], "paused": False, "followup_action": None, "active_loop": {},
               "latest_input_channel": "whatsapp_cloud",
               "latest_action_name": "action_listen", "latest_event_time": None}
    return json.dumps({"next_action": "action_buy_bundle", "sender_id": sender, "tracker": tracker,
                       "domain": {}, "version": "3.6.2"}).encode()


class ActionServer:
    def __init__(self, port: int, data_dir: Path, process: subprocess.Popen) -> None:
        self.port, self.data_dir, self.process = port, data_dir, process

    def post(self, body: bytes, headers: Optional[Dict[str, str]] = None, path: str = "/webhook") -> Tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request("POST", path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
            answer = connection.getresponse()
            return answer.status, answer.read()
        finally:
            connection.close()

    def purchases(self) -> list:
        database = self.data_dir / "care_demo.sqlite"
        if not database.exists():
            return []
        with sqlite3.connect(database) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            return db.execute("SELECT customer_id, bundle FROM purchases").fetchall() if "purchases" in tables else []

    @property
    def rss(self) -> int:
        return psutil.Process(self.process.pid).memory_info().rss


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServer]:
    data_dir = tmp_path_factory.mktemp("actions-data")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MAJLIS_DATA_DIR": str(data_dir), "MAJLIS_ACTION_SECRET": SECRET}
    log = open(data_dir / "actions.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "bot.action_server", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", timeout=120, process=process)
        yield ActionServer(port, data_dir, process)
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def test_listens_on_loopback_only(action_server: ActionServer) -> None:
    listening = {c.laddr.ip for c in psutil.net_connections(kind="tcp")
                 if c.status == "LISTEN" and c.laddr.port == action_server.port}
    assert listening == {"127.0.0.1"}


@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "guess"}, {SECRET_HEADER: SECRET + "x"},
                                     {"Authorization": f"Bearer {SECRET}"}])
def test_a_forged_call_runs_nothing(action_server: ActionServer, headers: Dict[str, str]) -> None:
    status, body = action_server.post(buy_bundle_call(), headers)
    assert status == 401 and b"events" not in body, body
    assert action_server.purchases() == []


def test_listing_the_actions_needs_the_secret_too(action_server: ActionServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", action_server.port, timeout=30)
    connection.request("GET", "/actions")
    assert connection.getresponse().status == 401


def test_rasa_with_the_secret_runs_the_action(action_server: ActionServer) -> None:
    """The same call with the secret books the bundle: the secret alone made the difference."""
    before = len(action_server.purchases())
    status, body = action_server.post(buy_bundle_call("971500000002"), {SECRET_HEADER: SECRET})
    assert status == 200, body
    answer = json.loads(body)
    assert answer["responses"][0]["response"] == "utter_bundle_added" and answer["responses"][0]["reference"]
    assert action_server.purchases()[before:] == [("971500000002", "10GB")]


@pytest.mark.parametrize("encoding,compress", [("deflate", zlib.compress), ("gzip", gzip.compress)])
def test_compressed_calls_are_inflated(action_server: ActionServer, encoding: str, compress) -> None:
    before = len(action_server.purchases())
    status, body = action_server.post(compress(buy_bundle_call(CUSTOMER)),
                                      {SECRET_HEADER: SECRET, "Content-Encoding": encoding})
    assert status == 200, body
    assert action_server.purchases()[before:] == [(CUSTOMER, "10GB")]


def test_a_deflate_bomb_is_refused_without_inflating_it(action_server: ActionServer) -> None:
    bomb = zlib.compress(b"{" + b" " * (200 * 1024 * 1024), 9)  # 200 MiB of JSON prefix in ~200 kB
    assert len(bomb) < 1024 * 1024
    before = action_server.rss
    status, body = action_server.post(bomb, {SECRET_HEADER: SECRET, "Content-Encoding": "deflate"})
    assert status == 413, body
    assert action_server.rss - before < 4 * MAX_INFLATED_BYTES


def test_garbage_compressed_bodies_get_a_400(action_server: ActionServer) -> None:
    status, body = action_server.post(b"not deflate", {SECRET_HEADER: SECRET, "Content-Encoding": "deflate"})
    assert status == 400 and b"deflate" in body


def test_inflate_stops_at_the_limit() -> None:
    with pytest.raises(TooLarge):
        inflate(zlib.compress(b"a" * 1001), "deflate", limit=1000)
    assert inflate(zlib.compress(b"a" * 1000), "deflate", limit=1000) == b"a" * 1000
    with pytest.raises(ValueError):
        inflate(zlib.compress(b"abc")[:-3], "deflate")
    with pytest.raises(ValueError):
        inflate(b"x", "br")


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b"not json", b"[]"], ids=["nested", "text", "list"])
def test_malformed_calls_get_a_400_not_a_500(action_server: ActionServer, body: bytes) -> None:
    status, answer = action_server.post(body, {SECRET_HEADER: SECRET})
    assert status == 400 and answer, answer
