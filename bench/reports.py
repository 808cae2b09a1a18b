"""Reports with a year of data: page load time with 1,000,000 stored messages, and the
cost of metrics on a turn.

1. For SQLite and PostgreSQL: a year of traffic is written straight into the stores
   (Rasa's tracker ``events`` table: 100,000 conversations of 5 customer + 5 bot
   messages, each after a ``session_started``; 15% of them handed off, with claim,
   agent reply, close and rating).  Measured: the first fold of the backlog into the
   report tables (once, when reports are switched on), a refresh with nothing new,
   and the report as the page loads it (``/api/v1/reports`` over HTTP from a served
   desk, and the page in headless Chromium until every figure is drawn) for the last
   30 days, the whole year, and the year filtered to one language.
2. The cost of metrics on the turn: the trained model answers the same messages
   in-process (``Agent.handle_message``, windowed SQLite tracker store) with and
   without the metrics observer on its tracker events, alternating in blocks; ratio
   of the median turn times.

Usage::

    python bench/reports.py                    # 1,000,000 messages, both databases, the turn cost
    python bench/reports.py --messages 100000  # smaller
    python bench/reports.py --only sqlite      # one part (sqlite, postgresql, turns); kept in bench/results/tmp
    python bench/reports.py --report-only      # render bench/results/reports.md from the parts kept

Results: bench/results/reports.md and .json.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import sqlite3
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import RESULTS, TMP, be_nice, git_commit, load_line, machine_line, table, write_report  # noqa: E402

import sqlalchemy as sa  # noqa: E402

from bot.reports.builder import ReportBuilder  # noqa: E402
from bot.storage import create_engine, migrate  # noqa: E402
from bot.storage.schema import handoff, handoff_event, handoff_message  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
CHANNELS = ["whatsapp_cloud"] * 6 + ["twilio_whatsapp"] * 2 + ["instagram", "webchat"]
INTENTS = ["check_bill", "order_status", "greet", "roaming", "talk_to_human", "complaint", "nlu_fallback"]
LANGUAGES = [("ar", "arabic", "gulf"), ("ar", "arabic", "unknown"), ("ar", "arabizi", "gulf"), ("en", "english", None)]
REASONS = ["customer_request", "low_confidence", "frustration", "policy"]
TURNS = 5  # customer messages per conversation (plus as many bot messages)


def tracker_rows(conversations: int, seed: int = 7) -> Tuple[List[tuple], List[dict]]:
    """Tracker event rows over the last 365 days, and the handoffs to create."""
    rng = random.Random(seed)
    now = datetime.now(timezone.utc).timestamp()
    rows: List[tuple] = []
    handoffs: List[dict] = []
    for number in range(conversations):
        sender = f"whatsapp_cloud:97150{number:07d}"
        start = now - rng.random() * 365 * 86400 - 3600
        channel = rng.choice(CHANNELS)
        code, form, dialect = rng.choice(LANGUAGES)
        intent = rng.choice(INTENTS)
        rows.append((sender, "session_started", start, None, None, json.dumps({"event": "session_started"})))
        at = start
        for turn in range(TURNS):
            at += 20 + rng.random() * 40
            language = {"code": code, "form": form, **({"dialect": {"region": dialect}} if dialect else {})}
            data = {"event": "user", "timestamp": at, "input_channel": channel, "text": "…",
                    "parse_data": {"intent": {"name": intent if turn == 0 else rng.choice(INTENTS),
                                              "confidence": 0.5 + rng.random() / 2}, "language": language}}
            rows.append((sender, "user", at, data["parse_data"]["intent"]["name"], None, json.dumps(data)))
            rows.append((sender, "bot", at + 0.3, None, None, json.dumps({"event": "bot", "timestamp": at + 0.3})))
        if rng.random() < 0.15:
            created = datetime.fromtimestamp(at + 1, tz=timezone.utc).replace(tzinfo=None)
            claimed = created + timedelta(seconds=rng.expovariate(1 / 120))
            replied = claimed + timedelta(seconds=rng.expovariate(1 / 45))
            closed = replied + timedelta(seconds=rng.expovariate(1 / 400))
            handoffs.append({"customer": sender, "channel": channel, "language": code, "reason": rng.choice(REASONS),
                             "created": created, "claimed": claimed, "replied": replied, "closed": closed,
                             "rating": rng.choice([None, 3, 4, 5, 5])})
    return rows, handoffs


def write_tracker_sqlite(path: Path, rows: List[tuple]) -> None:
    from rasa.core.tracker_store import SQLTrackerStore

    engine = sa.create_engine(f"sqlite:///{path}")
    SQLTrackerStore.Base.metadata.create_all(engine)
    engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
                         "VALUES (?, ?, ?, ?, ?, ?)", rows)


def write_tracker_pg(url: str, rows: List[tuple]) -> None:
    from rasa.core.tracker_store import SQLTrackerStore

    engine = sa.create_engine(url)
    SQLTrackerStore.Base.metadata.create_all(engine)
    raw = engine.raw_connection()
    try:
        buffer = io.StringIO()
        for sender, kind, stamp, intent, action, data in rows:
            fields = [sender, kind, repr(stamp), intent or "\\N", action or "\\N",
                      data.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")]
            buffer.write("\t".join(fields) + "\n")
        buffer.seek(0)
        cursor = raw.cursor()
        cursor.copy_from(buffer, "events", columns=("sender_id", "type_name", "timestamp", "intent_name",
                                                     "action_name", "data"))
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


def write_handoffs(engine: Any, handoffs: List[dict]) -> None:
    with engine.begin() as conn:
        for chunk_start in range(0, len(handoffs), 2000):
            chunk = handoffs[chunk_start:chunk_start + 2000]
            ids = []
            for item in chunk:
                ids.append(conn.execute(handoff.insert().values(
                    public_id=str(uuid.uuid4()), channel=item["channel"], account="1", customer=item["customer"],
                    active_key=None, state="bot", queue="general", language=item["language"], priority=2,
                    reason=item["reason"], agent_id=None, version=4, context="{}", created_at=item["created"],
                    assigned_at=item["claimed"], closed_at=item["closed"], returned_at=item["closed"],
                    resolution="resolved", rating=item["rating"])).inserted_primary_key[0])
            events, messages = [], []
            for handoff_id, item in zip(ids, chunk):
                for kind, at in (("handoff.created", item["created"]), ("handoff.claimed", item["claimed"]),
                                 ("handoff.message", item["replied"]), ("handoff.closed", item["closed"])):
                    events.append({"handoff_id": handoff_id, "type": kind, "payload": "{}", "created_at": at})
                messages.append({"handoff_id": handoff_id, "kind": "agent", "text": "…", "send_attempt": 1,
                                 "delivery_state": "sent", "created_at": item["replied"]})
            conn.execute(handoff_event.insert(), events)
            conn.execute(handoff_message.insert(), messages)


async def page_loads(engine: Any, tmp: Path, zone: str, repeats: int) -> Dict[str, Dict[str, float]]:
    """Report API over HTTP and the page in Chromium, from a served desk on ``engine``."""
    import aiohttp
    from playwright.async_api import async_playwright

    from tests.bot.agent_desk.conftest import PASSWORDS, login, serve_desk
    from tests.e2e.browser import launch, sign_in

    today = datetime.now(timezone.utc).date()
    ranges = {"last 30 days": {"from": str(today - timedelta(days=29)), "to": str(today)},
              "whole year": {"from": str(today - timedelta(days=365)), "to": str(today)},
              "year, Arabic only": {"from": str(today - timedelta(days=365)), "to": str(today), "language": "ar"}}
    results: Dict[str, Dict[str, float]] = {}
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        # a busy shared machine can take longer than Sanic's default 60 s response timeout
        async with serve_desk(tmp, engine=engine, app_config={"RESPONSE_TIMEOUT": 900}) as desk:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
                await login(session, desk.url(""), "sup@example.com")
                for name, query in ranges.items():
                    times = []
                    for _ in range(repeats):
                        started = time.perf_counter()
                        async with session.get(desk.url("/api/v1/reports"), params=query) as answer:
                            assert answer.status == 200, await answer.text()
                            await answer.read()
                        times.append(time.perf_counter() - started)
                    results[f"API, {name}"] = {"median_ms": statistics.median(times) * 1000,
                                               "max_ms": max(times) * 1000}
            page = await browser.new_page(viewport={"width": 1300, "height": 900})
            await sign_in(page, desk.base_url, "sup@example.com", PASSWORDS["sup@example.com"])
            for name, query in ranges.items():
                times = []
                for _ in range(repeats):
                    url = desk.url("/reports") + "?" + "&".join(f"{k}={v}" for k, v in query.items())
                    started = time.perf_counter()
                    await page.goto(url)
                    await page.wait_for_selector("body[data-loaded]", timeout=120000)
                    times.append(time.perf_counter() - started)
                results[f"page in Chromium, {name}"] = {"median_ms": statistics.median(times) * 1000,
                                                        "max_ms": max(times) * 1000}
        await browser.close()
    return results


def backend_run(name: str, url: str, tracker_url: str, rows: List[tuple], handoffs: List[dict], tmp: Path,
                repeats: int) -> Dict[str, Any]:
    print(f"[{name}] writing {len(rows):,} tracker events and {len(handoffs):,} handoffs", flush=True)
    engine = create_engine(url)
    migrate(engine)
    started = time.perf_counter()
    if name == "sqlite":
        write_tracker_sqlite(Path(tracker_url.removeprefix("sqlite:///")), rows)
    else:
        write_tracker_pg(tracker_url, rows)
    write_handoffs(engine, handoffs)
    generated = time.perf_counter() - started
    tracker_engine = sa.create_engine(tracker_url)
    builder = ReportBuilder(engine, tracker_engine, zone="Asia/Dubai", settle=timedelta(0), batch=20000)
    print(f"[{name}] folding the backlog", flush=True)
    started = time.perf_counter()
    builder.refresh(budget=None)
    first_fold = time.perf_counter() - started
    started = time.perf_counter()
    builder.refresh(budget=None)
    idle_refresh = time.perf_counter() - started
    with engine.connect() as conn:
        conversations = conn.execute(sa.text("SELECT count(*) FROM majlis_report_conversation")).scalar()
    print(f"[{name}] page loads", flush=True)
    import tests.bot.agent_desk.conftest  # noqa: F401  (imported first: importing Rasa and Sanic
    # installs uvloop's loop policy, which cannot start Playwright's driver subprocess)
    asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
    loads = asyncio.run(page_loads(engine, tmp, "Asia/Dubai", repeats))
    engine.dispose()
    tracker_engine.dispose()
    return {"messages": sum(1 for r in rows if r[1] in ("user", "bot")), "tracker_rows": len(rows),
            "handoffs": len(handoffs), "conversations": conversations, "generate_s": generated,
            "first_fold_s": first_fold, "idle_refresh_ms": idle_refresh * 1000, "loads": loads}


def turn_cost(blocks: int, per_block: int) -> Dict[str, Any]:
    """Median in-process turn time with and without the metrics observer, alternating blocks."""
    import os

    os.environ.setdefault("MAJLIS_ACTION_ENDPOINT", "http://127.0.0.1:9/webhook")  # no action server
    os.environ.setdefault("MAJLIS_ACTION_SECRET", uuid.uuid4().hex)
    from common import majlis_model
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.utils import AvailableEndpoints

    from bot.metrics.follow import tee_tracker_events, untee_tracker_events
    from bot.metrics.observers import observe_tracker_event
    from bot.rasa_fixes import apply

    apply()
    data = TMP / "reports-turns"
    data.mkdir(parents=True, exist_ok=True)
    os.environ["MAJLIS_TRACKER_DB"] = str(data / f"tracker-{uuid.uuid4().hex[:6]}.sqlite")
    endpoints = AvailableEndpoints.read_endpoints(str(Path(__file__).resolve().parents[1] / "endpoints.yml"))
    from rasa.core.tracker_store import TrackerStore

    async def run() -> Dict[str, List[float]]:
        agent = Agent.load(str(majlis_model()), generator=endpoints.nlg,
                           tracker_store=TrackerStore.create(endpoints.tracker_store), action_endpoint=None)
        texts = ["مرحبا", "كم فاتورتي هالشهر؟", "hello", "what's my bill?", "shukran"]
        timings: Dict[str, List[float]] = {"with metrics": [], "without metrics": []}
        for block in range(blocks * 2):
            mode = "with metrics" if block % 2 == 0 else "without metrics"
            if mode == "with metrics":
                tee_tracker_events(agent, observe_tracker_event)
            else:
                untee_tracker_events(agent, observe_tracker_event)
            for turn in range(per_block):
                message = UserMessage(texts[turn % len(texts)], CollectingOutputChannel(),
                                      sender_id=f"bench-{block}-{turn // len(texts)}", input_channel="rest")
                started = time.perf_counter()
                await agent.handle_message(message)
                timings[mode].append(time.perf_counter() - started)
        return timings

    timings = asyncio.run(run())
    with_ms = statistics.median(timings["with metrics"]) * 1000
    without_ms = statistics.median(timings["without metrics"]) * 1000
    started = time.perf_counter()
    event = {"event": "user", "timestamp": time.time(), "input_channel": "whatsapp_cloud",
             "parse_data": {"intent": {"name": "greet", "confidence": 0.9}, "language": {"code": "ar", "form": "arabic"}}}
    for _ in range(10000):
        observe_tracker_event(event)
    observer_us = (time.perf_counter() - started) / 10000 * 1e6
    return {"turns_each": len(timings["with metrics"]), "with_ms": with_ms, "without_ms": without_ms,
            "ratio": with_ms / without_ms, "observer_us": observer_us}


PARTS = ("sqlite", "postgresql", "turns")


def part_path(name: str) -> Path:
    return TMP / f"reports-part-{name}.json"


def run_part(name: str, args: argparse.Namespace) -> None:
    """Run one part and keep its result (parts can run one after the other or side by side)."""
    conversations = args.messages // (2 * TURNS)
    tmp = TMP / f"reports-{name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True, exist_ok=True)
    result: Dict[str, Any] = {"machine": machine_line()}
    if name == "turns":
        result["turns"] = turn_cost(args.turn_blocks, 20)
    else:
        rows, handoffs = tracker_rows(conversations)
        if name == "sqlite":
            result["run"] = backend_run("sqlite", f"sqlite:///{tmp / 'majlis.sqlite'}",
                                        f"sqlite:///{tmp / 'tracker.sqlite'}", rows, handoffs, tmp / "desk",
                                        args.repeats)
        else:
            db = f"majlis_bench_reports_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
            try:
                url = PG_ADMIN.rsplit("/", 1)[0] + f"/{db}"
                result["run"] = backend_run("postgresql", url, url, rows, handoffs, tmp / "desk", args.repeats)
            finally:
                from bot.storage import dispose_engines

                dispose_engines()
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
                admin.dispose()
        result["messages"], result["conversations"] = args.messages, conversations
    result["load_end"] = load_line()
    part_path(name).write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")


def render(args: argparse.Namespace) -> None:
    parts = {name: json.loads(part_path(name).read_text(encoding="utf-8"))
             for name in PARTS if part_path(name).exists()}
    lines = ["# Reports: page load with a year of stored messages, and the cost of metrics", ""]
    lines += [f"- {name}: {part['machine']}" for name, part in parts.items()]
    lines += ["", "Page loads: median of the repeats (max beside it); API = `/api/v1/reports` over HTTP from a "
              "served desk; Chromium = `/reports` until every chart and table is drawn. Data: a year of traffic "
              f"written straight into the stores: Rasa's tracker events table ({TURNS} customer + {TURNS} bot "
              "messages per conversation, each after a `session_started`), 15% of conversations handed off "
              "(claim, agent reply, close, rating).", ""]
    for name in ("sqlite", "postgresql"):
        if name not in parts:
            continue
        run = parts[name]["run"]
        lines += [f"## {name}", "",
                  f"Stored: {run['tracker_rows']:,} tracker rows ({run['messages']:,} messages, "
                  f"{parts[name]['conversations']:,} conversations over 365 days), {run['handoffs']:,} handoffs "
                  f"→ {run['conversations']:,} report rows. Writing the data: {run['generate_s']:.0f} s. "
                  f"First fold of the whole year (once, when reports are switched on): {run['first_fold_s']:.1f} s; "
                  f"a refresh with nothing new: {run['idle_refresh_ms']:.1f} ms.", ""]
        lines += table(["what", "median ms", "max ms"],
                       [[k, f"{v['median_ms']:.0f}", f"{v['max_ms']:.0f}"] for k, v in run["loads"].items()])
        lines += ["", parts[name]["load_end"], ""]
    if "turns" in parts:
        turns = parts["turns"]["turns"]
        lines += ["## Cost of metrics on the turn", "",
                  "In-process `Agent.handle_message` with the trained model (REST input, windowed SQLite tracker "
                  "store, no action server: turns that call custom actions fail fast alike), "
                  f"{turns['turns_each']} turns each way in alternating blocks.", ""]
        lines += table(["", "median turn ms"], [["with metrics", f"{turns['with_ms']:.1f}"],
                                               ["without metrics", f"{turns['without_ms']:.1f}"],
                                               ["ratio", f"{turns['ratio']:.3f}"]])
        lines += ["", f"The observer itself (NLU, fallback and turn series for one customer message): "
                      f"{turns['observer_us']:.1f} µs per message.", "", parts["turns"]["load_end"], ""]
    lines += ["Command: `python bench/reports.py` (parts: `--only sqlite`, `--only postgresql`, `--only turns`, "
              "then `--report-only`)"]
    write_report("reports", lines)
    (RESULTS / "reports.json").write_text(json.dumps({"git": git_commit(), "parts": parts}, indent=2),
                                          encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000, help="customer + bot messages stored")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=PARTS, action="append", help="run only these parts (repeatable)")
    parser.add_argument("--report-only", action="store_true", help="render the report from the parts kept")
    parser.add_argument("--turn-blocks", type=int, default=6)
    args = parser.parse_args()
    be_nice()
    if not args.report_only:
        for name in args.only or PARTS:
            run_part(name, args)
    render(args)


if __name__ == "__main__":
    main()
