"""A cluster of this test's own, for the channels' multi-instance tests.

The launcher (``scripts/cluster.py``, what ``./majlis start --instances N`` runs) with N
Rasa servers behind HAProxy, on a PostgreSQL database, a Redis prefix, RabbitMQ queues
and an exchange of the test's own (dropped/deleted at the end).  Only the channels the
caller's environment configures are served (credentials.yml: a channel whose variables
are unset is left out).  The helpers that read the cluster's state, the database and the
desk are those of tests/e2e/test_cluster.py.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Dict

import aio_pika
import aiohttp
import psycopg2

from tests.conftest import ROOT

AMQP = "amqp://guest:guest@127.0.0.1:5672/"
PG = dict(host="127.0.0.1", port=5432, user="postgres")
#: Conversations a Rasa server holds at once: what a SIGKILL can interrupt in flight; PostgreSQL's
#: connections are shared with every test here, so a few per server keeps a cluster at a few dozen.
PREFETCH = 4


@dataclass
class Running:
    process: subprocess.Popen
    dir: Path
    db: str
    lb: str

    def state(self) -> Dict[str, Any]:
        return json.loads((self.dir / "state.json").read_text(encoding="utf-8"))

    def child(self, name: str) -> Dict[str, Any]:
        return next(p for p in self.state()["processes"] if p["name"] == name)

    def base(self, name: str) -> str:
        return f"http://127.0.0.1:{self.child(name)['port']}"


async def wait_until(predicate, timeout: float, what: str, interval: float = 0.5) -> None:
    """Wait until ``predicate()`` (awaited when it is a coroutine) is true; the bound only ends a run that failed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        outcome = predicate()
        if asyncio.iscoroutine(outcome):
            outcome = await outcome
        if outcome:
            return
        assert loop.time() < deadline, f"not reached in {timeout:.0f} s: {what}"
        await asyncio.sleep(interval)


async def all_ready(session: aiohttp.ClientSession, running: Running) -> bool:
    assert running.process.poll() is None, "the launcher exited"
    if not (running.dir / "state.json").exists():
        return False
    for child in running.state()["processes"]:
        try:
            async with session.get(child["ready"], timeout=aiohttp.ClientTimeout(total=2)) as answer:
                if answer.status != 200:
                    return False
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False
    return True


@asynccontextmanager
async def channel_cluster(tmp_path: Path, channel_env: Dict[str, str], *, servers: int = 2,
                          receivers: int = 0) -> AsyncIterator[Running]:
    """Start the cluster with ``channel_env`` (the channels' variables) and wait until every process is ready."""
    tag = uuid.uuid4().hex[:10]
    db = f"majlis_cluster_{tag}"
    admin = psycopg2.connect(dbname="postgres", **PG)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{db}"')
    queues = [f"majlis_test_inbox_{tag}", f"majlis_test_events_{tag}"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("WHATSAPP_", "TWILIO_", "INSTAGRAM_"))},
        "PYTHONPATH": str(ROOT), "MAJLIS_DATA_DIR": str(tmp_path),
        "MAJLIS_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{db}",
        "MAJLIS_REDIS_PREFIX": f"majlistest{tag}",  # Rasa takes alphanumeric prefixes only
        "MAJLIS_WORK_QUEUE": queues[0], "MAJLIS_RABBITMQ_QUEUE": queues[1],
        "MAJLIS_RABBITMQ_EXCHANGE": f"majlis_test_exchange_{tag}",
        "MAJLIS_BUSINESS_HOURS": "always", "MAJLIS_HANDOFF_UPDATE_SECONDS": "0", "MAJLIS_REST": "off",
        "MAJLIS_LOG_LEVEL": "INFO", "MAJLIS_WORK_QUEUE_PREFETCH": str(PREFETCH),
        **channel_env,
    }
    for key in ("MAJLIS_ENDPOINTS", "MAJLIS_PORT", "MAJLIS_WORK_QUEUE_URL"):
        env.pop(key, None)
    log = open(tmp_path / "launcher.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "scripts/cluster.py", "--instances", str(servers), "--receivers", str(receivers),
         "--port", "0", "--host", "127.0.0.1"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    running = Running(process, tmp_path / "cluster", db, "")
    try:
        async with aiohttp.ClientSession() as session:
            await wait_until(lambda: all_ready(session, running), 900, "every process ready", interval=2)
        running.lb = f"http://127.0.0.1:{running.state()['lb_port']}"
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        with suppress(Exception):
            connection = await aio_pika.connect(AMQP)
            channel = await connection.channel()
            for queue in queues:
                await channel.queue_delete(queue)
            await connection.close()
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db,))
            cur.execute(f'DROP DATABASE IF EXISTS "{db}"')
        admin.close()


async def post_until_accepted(session: aiohttp.ClientSession, url: str, body: bytes, headers: Dict[str, str]) -> None:
    """POST as the providers do: anything but 200 (or no answer) is tried again, with backoff."""
    pause = 0.2
    for _ in range(60):
        try:
            async with session.post(url, data=body, headers=headers) as answer:
                await answer.read()
                if answer.status == 200:
                    return
        except (aiohttp.ClientError, asyncio.TimeoutError):
            pass
        await asyncio.sleep(pause)
        pause = min(2.0, pause * 2)
    raise AssertionError("a webhook was never accepted")
