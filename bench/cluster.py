"""Throughput and latency with 1, 2 and 3 Rasa servers behind HAProxy, on PostgreSQL.

One command::

    .venv/bin/python bench/cluster.py                  # 1, 2 and 3 servers
    .venv/bin/python bench/cluster.py --servers 1,2 --messages 300 --conversations 30

For each size the cluster is started with the launcher (``scripts/cluster.py``, as
``./majlis start --instances N``; one WhatsApp receiver) on a PostgreSQL database of its
own, Redis (own key prefix) and RabbitMQ (own queues), with the trained model.  The fake
Graph API (tests/fakes/fake_graph.py, time-stamping what it receives) stands for Meta.

- **Throughput and latency**: ``--conversations`` customers each write their next message
  as soon as the previous one was answered (closed loop), ``--messages`` in all, through
  the load balancer.  Latency: from the webhook POST to the first reply at the fake Graph API.
- **CPU per turn per instance**: user + system CPU seconds of each Rasa server (and of the
  receiver and action servers) over the measured phase, divided by the turns in it.
- **WhatsApp vs REST**: on the same cluster, one conversation at a time, ``--probe`` turns on
  each channel through the load balancer; p50 of WhatsApp (POST → first reply at the fake
  Graph API) ÷ p50 of REST (POST → the answer with the replies).

Results: bench/results/cluster.md and .json.  The machine line says how many cores there
were: with 2 cores, more servers than cores cannot add throughput, only queueing.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    ROOT, TMP, base_env, be_nice, fmt_ms, load_line, machine_line, majlis_model, percentile, table, write_report,
)
from loadgen import RecordingGraph, new_customer  # noqa: E402
from tests.fakes.fake_graph import start as start_graph  # noqa: E402

import aiohttp  # noqa: E402
import psutil  # noqa: E402
import psycopg2  # noqa: E402

from bot.config import Secret  # noqa: E402
from channels.meta.graph import SIGNATURE_HEADER, sign  # noqa: E402
from tests.fakes.fake_customer import encode, envelope, text_message  # noqa: E402

APP_SECRET = "bench-app-secret"
PHONE_NUMBER_ID = "1122334455667"
REST_TOKEN = "bench-rest-token"
TEXTS = ["مرحبا", "hello", "شكرا", "thank you", "السلام عليكم", "hi there", "شكرا جزيلا", "thanks"]
PG = dict(host="127.0.0.1", port=5432, user="postgres")


class Cluster:
    """``scripts/cluster.py --instances N`` on a database and queues of its own."""

    def __init__(self, servers: int, graph_url: str, workdir: Path) -> None:
        self.servers = servers
        self.tag = uuid.uuid4().hex[:10]
        self.db = f"majlis_bench_{self.tag}"
        self.queues = [f"majlis_bench_inbox_{self.tag}", f"majlis_bench_events_{self.tag}"]
        self.dir = workdir / f"cluster-{servers}-{self.tag}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.graph_url = graph_url
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> None:
        admin = psycopg2.connect(dbname="postgres", **PG)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{self.db}"')
        admin.close()
        env = base_env(
            MAJLIS_DATA_DIR=str(self.dir), MAJLIS_DATABASE_URL=f"postgresql://postgres@127.0.0.1:5432/{self.db}",
            MAJLIS_REDIS_PREFIX=f"majlisbench{self.tag}", MAJLIS_WORK_QUEUE=self.queues[0],
            MAJLIS_RABBITMQ_QUEUE=self.queues[1], MAJLIS_RABBITMQ_EXCHANGE=f"majlis_bench_{self.tag}",
            MAJLIS_REST_TOKEN=REST_TOKEN,
            WHATSAPP_APP_SECRET=APP_SECRET, WHATSAPP_VERIFY_TOKEN="bench-verify-token",
            WHATSAPP_NUMBERS=json.dumps({PHONE_NUMBER_ID: {"token": "bench-access-token"}}),
            WHATSAPP_GRAPH_URL=self.graph_url, MAJLIS_BUSINESS_HOURS="always", MAJLIS_HANDOFF_UPDATE_SECONDS="0",
            TF_CPP_MIN_LOG_LEVEL="2")
        for key in ("MAJLIS_ENDPOINTS", "MAJLIS_PORT", "MAJLIS_WORK_QUEUE_URL", "WHATSAPP_PHONE_NUMBER_ID",
                    "WHATSAPP_ACCESS_TOKEN"):
            env.pop(key, None)
        self.log = open(self.dir / "launcher.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "scripts/cluster.py", "--instances", str(self.servers), "--receivers", "1",
             "--port", "0", "--host", "127.0.0.1"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def state(self) -> Dict[str, Any]:
        return json.loads((self.dir / "cluster" / "state.json").read_text(encoding="utf-8"))

    async def wait_ready(self, session: aiohttp.ClientSession, timeout: float = 900) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the launcher exited; see {self.dir}/launcher.log")
            if (self.dir / "cluster" / "state.json").exists() and await self._all_ready(session):
                return
            await asyncio.sleep(2)
        raise TimeoutError("the cluster did not get ready")

    async def _all_ready(self, session: aiohttp.ClientSession) -> bool:
        for child in self.state()["processes"]:
            try:
                async with session.get(child["ready"], timeout=aiohttp.ClientTimeout(total=2)) as answer:
                    if answer.status != 200:
                        return False
            except (aiohttp.ClientError, asyncio.TimeoutError):
                return False
        return True

    @property
    def lb(self) -> str:
        return f"http://127.0.0.1:{self.state()['lb_port']}"

    def cpu_seconds(self) -> Dict[str, float]:
        """User + system CPU of every process of the cluster so far."""
        seconds = {}
        for child in self.state()["processes"]:
            try:
                times = psutil.Process(child["pid"]).cpu_times()
                seconds[child["name"]] = times.user + times.system
            except psutil.Error:
                seconds[child["name"]] = float("nan")
        return seconds

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.log.close()
        admin = psycopg2.connect(dbname="postgres", **PG)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (self.db,))
            cur.execute(f'DROP DATABASE IF EXISTS "{self.db}"')
        admin.close()

    async def delete_queues(self) -> None:
        import aio_pika

        connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
        channel = await connection.channel()
        for queue in self.queues:
            await channel.queue_delete(queue)
        await connection.close()


async def whatsapp_turn(session: aiohttp.ClientSession, url: str, graph: RecordingGraph, customer: str,
                        text: str, timeout: float = 300) -> Optional[float]:
    """POST one signed message; ms until the first reply to it reached the fake Graph API (None: none came)."""
    message = text_message(text, sender=customer)
    raw = encode(envelope([message], phone_number_id=PHONE_NUMBER_ID))
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(raw, Secret(APP_SECRET))}
    before = graph.count(customer)
    start = time.perf_counter()
    async with session.post(url, data=raw, headers=headers) as answer:
        await answer.read()
        if answer.status != 200:
            return None
    if not await graph.wait_count(customer, before + 1, timeout):
        return None
    first = min(at for at, who in list(graph.arrived.values())[-2000:] if who == customer and at >= start)
    return 1000 * (first - start)


async def rest_turn(session: aiohttp.ClientSession, url: str, customer: str, text: str) -> Optional[float]:
    start = time.perf_counter()
    async with session.post(url, json={"sender": customer, "message": text},
                            headers={"Authorization": f"Bearer {REST_TOKEN}"}) as answer:
        body = await answer.json(content_type=None)
        if answer.status != 200 or not body:
            return None
    return 1000 * (time.perf_counter() - start)


async def measure(servers: int, args: argparse.Namespace, graph: RecordingGraph, graph_url: str) -> Dict[str, Any]:
    cluster = Cluster(servers, graph_url, TMP / "cluster")
    cluster.start()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:
            started = time.monotonic()
            await cluster.wait_ready(session)
            ready_s = time.monotonic() - started
            webhook = cluster.lb + "/webhooks/whatsapp_cloud/webhook"
            rest = cluster.lb + "/webhooks/rest/webhook"
            # Warm every server up (first turns load lazily), unmeasured.
            await asyncio.gather(*(whatsapp_turn(session, webhook, graph, new_customer("9718"), t) for t in TEXTS * servers))

            per_conversation = max(1, args.messages // args.conversations)
            latencies: List[float] = []
            lost = 0

            async def conversation() -> None:
                nonlocal lost
                customer = new_customer("9719")
                for n in range(per_conversation):
                    ms = await whatsapp_turn(session, webhook, graph, customer, TEXTS[n % len(TEXTS)])
                    if ms is None:
                        lost += 1
                    else:
                        latencies.append(ms)

            cpu_before = cluster.cpu_seconds()
            phase_start = time.perf_counter()
            await asyncio.gather(*(conversation() for _ in range(args.conversations)))
            phase_s = time.perf_counter() - phase_start
            cpu_after = cluster.cpu_seconds()
            turns = len(latencies)
            cpu = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}

            # WhatsApp vs REST, one conversation at a time (no queueing in either).
            wa, rs = [], []
            wa_customer, rest_customer = new_customer("9714"), f"bench-rest-{uuid.uuid4().hex[:8]}"
            for n in range(args.probe):
                text = TEXTS[n % len(TEXTS)]
                ms = await whatsapp_turn(session, webhook, graph, wa_customer, text)
                if ms is not None:
                    wa.append(ms)
                ms = await rest_turn(session, rest, rest_customer, text)
                if ms is not None:
                    rs.append(ms)
        return {
            "servers": servers, "ready_s": round(ready_s, 1), "turns": turns, "lost": lost,
            "phase_s": round(phase_s, 2), "throughput": round(turns / phase_s, 2) if phase_s else None,
            "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
            "cpu_s": cpu, "cpu_ms_per_turn": {name: 1000 * value / turns for name, value in cpu.items()} if turns else {},
            "whatsapp_p50_ms": percentile(wa, 50), "rest_p50_ms": percentile(rs, 50),
            "ratio": percentile(wa, 50) / percentile(rs, 50) if wa and rs else None,
        }
    finally:
        cluster.stop()
        try:
            await cluster.delete_queues()
        except Exception:
            pass


async def run(args: argparse.Namespace) -> List[Dict[str, Any]]:
    graph = RecordingGraph()
    runner = await start_graph(graph)
    graph_url = graph.url
    results = []
    try:
        for servers in args.servers:
            print(f"[bench] {servers} Rasa server(s) ...", file=sys.stderr)
            results.append(await measure(servers, args, graph, graph_url))
            print(f"[bench] {results[-1]}", file=sys.stderr)
    finally:
        await runner.cleanup()
    return results


def report(results: List[Dict[str, Any]], args: argparse.Namespace, machine: str) -> None:
    rows = []
    for r in results:
        rasa = {k: v for k, v in r["cpu_ms_per_turn"].items() if k.startswith("rasa-")}
        rows.append([r["servers"], r["turns"], r["lost"], f"{r['throughput']:.1f}", fmt_ms(r["p50_ms"]), fmt_ms(r["p99_ms"]),
                     " / ".join(f"{v:.0f}" for v in rasa.values()), f"{sum(rasa.values()):.0f}",
                     f"{r['cpu_ms_per_turn'].get('receiver-0', float('nan')):.1f}",
                     fmt_ms(r["whatsapp_p50_ms"]), fmt_ms(r["rest_p50_ms"]),
                     f"{r['ratio']:.2f}" if r["ratio"] else "n/a", f"{r['ready_s']:.0f}"])
    lines = [
        "# Several Rasa servers behind HAProxy, on PostgreSQL, Redis and RabbitMQ",
        "",
        machine,
        "",
        f"Command: `.venv/bin/python bench/cluster.py --servers {','.join(map(str, args.servers))} "
        f"--messages {args.messages} --conversations {args.conversations} --probe {args.probe}`. "
        "Each size: `scripts/cluster.py --instances N --receivers 1` (what `./majlis start --instances N` runs), "
        "a fresh PostgreSQL database, the trained model; WhatsApp webhooks signed like Meta's, posted to HAProxy; "
        f"{args.conversations} customers each sending their next message once the previous one was answered.",
        "",
        *table(["servers", "turns", "unanswered", "turns/s", "p50", "p99", "CPU ms/turn per Rasa server",
                "CPU ms/turn, all Rasa", "receiver CPU ms/turn", "WhatsApp p50 (1 conv.)", "REST p50 (1 conv.)",
                "WhatsApp ÷ REST", "start s"], rows),
        "",
        "- Latency: webhook POST → first reply at the fake Graph API (WhatsApp); POST → answer (REST).",
        "- CPU: user + system seconds of each process during the measured phase ÷ turns in the phase "
        "(the per-server columns add up to the cost of a turn; how they split shows how the queue spread the work).",
        "- WhatsApp ÷ REST: the same cluster, one conversation at a time through HAProxy, so neither waits in a queue.",
        f"- {os.cpu_count()} cores: every Rasa server, receiver, action server, PostgreSQL, RabbitMQ and this load "
        "generator share them, so servers beyond the core count add queueing, not throughput.",
        "",
        load_line(),
    ]
    write_report("cluster", lines)
    (Path(__file__).resolve().parent / "results" / "cluster.json").write_text(
        json.dumps({"machine": machine, "args": vars(args), "results": results}, indent=2, default=str), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 3])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--conversations", type=int, default=30)
    parser.add_argument("--probe", type=int, default=30, help="turns per channel for the WhatsApp/REST ratio")
    args = parser.parse_args()
    be_nice()
    majlis_model()  # trains if stale
    machine = machine_line()
    results = asyncio.run(run(args))
    report(results, args, machine)
    return 0


if __name__ == "__main__":
    sys.exit(main())
