"""A 90 MB POST is refused early with 413 by every server Majlis runs, without buffering it.

The Rasa server's app (``configure_app`` with bot/rasa_fixes.py applied, served on a real
port here; the ``./majlis start`` process itself in tests/test_start.py), the action
server and the WhatsApp receiver (real processes): with a ``Content-Length`` over 1 MiB
the answer comes before the body is read; a chunked body is cut off once it passes the
limit; the process's memory does not grow by the body.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List

import psutil
import pytest

from bot.config import Secret
from channels.rest.channel import RestInput
from tests.channels.test_instagram_harness import RecordingAgent
from tests.channels.whatsapp_harness import APP_SECRET, NUMBERS, VERIFY_TOKEN
from tests.conftest import ROOT, free_port, wait_for_http
from tests.huge_body import HUGE, post_huge_body
from tests.rasa_server_app import served_rasa_app

#: Memory a refused 90 MB body may cost a server at most (it held the whole body before: +174 MiB).
MAX_GROWTH = 16 * 1024 * 1024


def spawn(args: List[str], env: dict, log: Path, health: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                               stdout=open(log, "w"), stderr=subprocess.STDOUT)
    wait_for_http(health, timeout=120, process=process)
    return process


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The action server and the WhatsApp receiver, as ./majlis start runs them."""
    data = tmp_path_factory.mktemp("limits")
    actions_port, receiver_port = free_port(), free_port()
    processes = []
    try:
        processes.append(spawn(["bot.action_server", "--port", str(actions_port)],
                               {"MAJLIS_DATA_DIR": str(data), "MAJLIS_ACTION_SECRET": "limits-secret"},
                               data / "actions.log", f"http://127.0.0.1:{actions_port}/health"))
        processes.append(spawn(
            ["channels.whatsapp_receiver", "--host", "127.0.0.1", "--port", str(receiver_port),
             "--rasa-url", "http://127.0.0.1:9"],
            {"MAJLIS_DATA_DIR": str(data), "MAJLIS_DATABASE_URL": f"sqlite:///{data / 'majlis.sqlite'}",
             "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
             "WHATSAPP_NUMBERS": json.dumps(NUMBERS), "MAJLIS_INBOX_SECRET": "limits-inbox"},
            data / "receiver.log", f"http://127.0.0.1:{receiver_port}/webhooks/whatsapp_cloud/"))
        yield {"actions": (actions_port, "/webhook", processes[0], {"X-Majlis-Action-Secret": "limits-secret"}),
               "receiver": (receiver_port, "/webhooks/whatsapp_cloud/webhook", processes[1], {})}
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("server", ["actions", "receiver"])
def test_a_90_mb_post_is_refused_by_each_process(servers: dict, server: str, chunked: bool) -> None:
    port, path, process, headers = servers[server]
    before = psutil.Process(process.pid).memory_info().rss
    status, sent = post_huge_body(port, path, chunked=chunked, headers=headers)
    assert status == 413
    assert sent < HUGE // 4  # refused long before the end of the body
    assert psutil.Process(process.pid).memory_info().rss - before < MAX_GROWTH


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_the_rasa_server_app_refuses_a_90_mb_post(chunked: bool) -> None:
    agent = RecordingAgent(reply={"text": "ok"})
    async with served_rasa_app([RestInput(Secret("t"))], agent) as port:
        loop = asyncio.get_running_loop()
        status, sent = await loop.run_in_executor(None, lambda: post_huge_body(
            port, "/webhooks/rest/webhook", chunked=chunked, headers={"Authorization": "Bearer t"}))
        assert status == 413
        assert sent < HUGE // 4  # what the server read (<= 1 MiB) plus the sockets' buffers
    assert agent.messages == []
