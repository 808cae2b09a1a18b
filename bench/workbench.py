"""The trainer's workbench: inbox query time over 100,000 stored messages; train → active; the switch's turn latency.

Part 1 (no model, ``--messages``): writes a tracker store ``events`` table with that many
customer messages (NLU examples of every language with spelling noise, a realistic
share misunderstood, bot turns, fallbacks and handoffs between them), indexes it with
the workbench collector (first full pass, then an increment of 100), and times the
inbox query (the first page of groups, unfiltered and filtered), median of ``--rounds``.

Part 2 (``--switch``): loads the shipped model into a Rasa agent, trains a candidate
from a copy of the shipped data with the workbench's model manager (``rasa train`` in
the background, then the comparison), activates it in-process, and measures turn
latency (``Agent.handle_message`` of a greeting from a new customer, in a loop) before
training, while training, while the candidate is switched in, and after.

Usage::

    python bench/workbench.py [--messages 100000] [--rounds 20] [--switch]
    python bench/workbench.py --messages 0 --switch     # only the switch (bench/results/workbench-switch.md)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "scripts"))

from common import RESULTS, fmt_ms, load_line, machine_line, median, percentile, table, write_report  # noqa: E402

FORMS = {"en": ("en", "english"), "ar": ("ar", "arabic"), "arabizi": ("ar", "arabizi")}
INTENTS_NEAR = 0.2  # share of messages where two intents are close


def noisy(text: str, rng: random.Random) -> str:
    """A customer's spelling of an example: a repeated letter, a dropped one, an emoji."""
    if len(text) > 4 and rng.random() < 0.5:
        i = rng.randrange(1, len(text) - 1)
        text = text[:i] + text[i] * rng.randint(1, 3) + text[i:]
    if rng.random() < 0.2:
        text += rng.choice(["؟", "!!", " 🙏", " pls", " لو سمحت"])
    return text


def write_tracker(path: Path, count: int, seed: int = 15) -> None:
    import sqlalchemy as sa

    from bot.workbench.nlu_files import NluData, plain
    from tests.bot.workbench.trackers import EVENTS, action, bot, pause, tracker_engine, user

    rng = random.Random(seed)
    examples = NluData(ROOT).examples()
    engine = tracker_engine(f"sqlite:///{path}")
    intents = sorted({ex.intent for ex in examples})
    now, rows = time.time() - count * 3, []
    for i in range(count):
        ex = rng.choice(examples)
        code, form = FORMS[ex.folder]
        sender = f"whatsapp_cloud:9715{rng.randrange(10**8):08d}" if rng.random() < 0.8 else f"webchat:{rng.randrange(10**6)}"
        at = now + i * 3
        roll = rng.random()
        if roll < 0.08:
            ranking = [("nlu_fallback", 0.5), (rng.choice(intents), 0.3), (ex.intent, 0.2)]
        elif roll < 0.08 + INTENTS_NEAR:
            ranking = [(ex.intent, 0.52), (rng.choice(intents), 0.45)]
        else:
            ranking = [(ex.intent, 0.97), (rng.choice(intents), 0.02)]
        rows.append(user(sender, noisy(plain(ex.text), rng), at, ranking, form=form, code=code,
                         channel=sender.split(":")[0]))
        if ranking[0][0] == "nlu_fallback":
            rows.append(action(sender, "utter_default", at + 0.5))
            if rng.random() < 0.3:
                rows.append(pause(sender, at + 0.6))
        rows.append(bot(sender, "…", at + 0.7))
        if len(rows) >= 20_000:
            with engine.begin() as conn:
                conn.execute(EVENTS.insert(), rows)
            rows = []
    if rows:
        with engine.begin() as conn:
            conn.execute(EVENTS.insert(), rows)
    with engine.connect() as conn:
        print(f"tracker: {conn.execute(sa.text('SELECT count(*) FROM events')).scalar()} events", file=sys.stderr)
    engine.dispose()


def inbox_part(messages: int, rounds: int) -> Dict[str, Any]:
    from bot.storage import create_engine, migrate
    from bot.workbench import inbox
    from bot.workbench.collect import Collector
    from bot.workbench.coverage import Coverage
    from bot.workbench.nlu_files import NluData
    from tests.bot.workbench.trackers import tracker_engine, user, write

    work = Path(tempfile.mkdtemp(prefix="majlis-bench-workbench-"))
    try:
        started = time.perf_counter()
        write_tracker(work / "tracker.sqlite", messages)
        generate = time.perf_counter() - started
        engine = create_engine(f"sqlite:///{work / 'majlis.sqlite'}")
        migrate(engine)
        tracker = tracker_engine(f"sqlite:///{work / 'tracker.sqlite'}")
        coverage = Coverage(NluData(ROOT))
        collector = Collector(engine, lambda: tracker, weak=coverage.weak)
        started = time.perf_counter()
        indexed = collector.collect()
        first = time.perf_counter() - started
        now = time.time()
        write(tracker, [user(f"whatsapp_cloud:97150{i:07d}", "الباقة خلصت قبل وقتها", now + i,
                             [("nlu_fallback", 0.5), ("buy_data_bundle", 0.3)]) for i in range(100)])
        started = time.perf_counter()
        collector.collect()
        increment = time.perf_counter() - started
        started = time.perf_counter()
        collector.collect()
        nothing_new = time.perf_counter() - started
        queries = {"unfiltered": inbox.Filters(), "arabizi": inbox.Filters(form="arabizi"),
                   "reason=handoff": inbox.Filters(reason="handoff"),
                   "whatsapp, last day": inbox.Filters(channel="whatsapp_cloud",
                                                       since=inbox.Filters.parse({"since": time.strftime(
                                                           "%Y-%m-%d", time.gmtime(now - 86400))}).since)}
        timings: Dict[str, List[float]] = {}
        for name, filters in queries.items():
            runs = []
            for _ in range(rounds):
                started = time.perf_counter()
                page = inbox.groups(engine, filters)
                runs.append((time.perf_counter() - started) * 1000)
            timings[name] = runs
            print(f"{name}: {page['total']} groups, median {median(runs):.1f} ms", file=sys.stderr)
        full = inbox.groups(engine, inbox.Filters())
        from sqlalchemy import text as sql
        with engine.connect() as conn:
            flagged = conn.execute(sql("SELECT count(*) FROM majlis_nlu_message WHERE reasons != 0")).scalar()
            group_count = conn.execute(sql("SELECT count(*) FROM majlis_nlu_group")).scalar()
        return {"messages": indexed, "flagged": flagged, "groups": group_count, "inbox_groups": full["total"],
                "largest_group": full["groups"][0]["count"], "generate_s": round(generate, 1),
                "first_index_s": round(first, 1), "increment_100_ms": round(increment * 1000, 1),
                "nothing_new_ms": round(nothing_new * 1000, 1),
                "query_ms": {k: {"median": round(median(v), 1), "p95": round(percentile(v, 95), 1)}
                             for k, v in timings.items()}}
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def switch_part() -> Dict[str, Any]:
    import os

    from rasa.core.agent import Agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.tracker_store import TrackerStore
    from rasa.core.utils import AvailableEndpoints

    from bot.rasa_fixes import apply
    from bot.workbench.models import BUSY, ModelManager
    from ensure_model import model_path
    from tests.bot.workbench.conftest import project_copy

    apply()
    work = Path(tempfile.mkdtemp(prefix="majlis-bench-switch-"))
    try:
        project = project_copy(work)
        os.environ["MAJLIS_TRACKER_DB"] = str(work / "tracker.db")
        # endpoints.yml names the action server; the greeting turns measured here never call it.
        os.environ.setdefault("MAJLIS_ACTION_ENDPOINT", "http://127.0.0.1:9/webhook")
        os.environ.setdefault("MAJLIS_ACTION_SECRET", "unused-by-greetings")
        endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
        agent = Agent.load(model_path(), generator=endpoints.nlg,
                           tracker_store=TrackerStore.create(endpoints.tracker_store))
        manager = ModelManager(root=project, models=work / "models", agent=lambda: agent,
                               cases=lambda: {"labelled": [{"text": "مرحبا", "intent": "greet", "form": "arabic"}]},
                               record=lambda *a: None)
        phase = {"name": "before"}
        latencies: Dict[str, List[float]] = {}
        answered: Dict[str, int] = {}
        stop = asyncio.Event()

        async def turns() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                out = CollectingOutputChannel()
                name = phase["name"]
                started = time.perf_counter()
                await agent.handle_message(UserMessage("مرحبا", out, sender_id=f"bench-{n}"))
                latencies.setdefault(name, []).append((time.perf_counter() - started) * 1000)
                answered[name] = answered.get(name, 0) + bool(out.messages)
                await asyncio.sleep(0.05)

        task = asyncio.create_task(turns())
        await asyncio.sleep(10)
        phase["name"] = "training"
        started = time.perf_counter()
        run = manager.start_training("bench")
        while run.state in BUSY:  # validating (the data checks), training, comparing
            await asyncio.sleep(0.5)
            if run.state == "comparing" and "trained_s" not in phase:
                phase["trained_s"] = time.perf_counter() - started
                phase["name"] = "loading candidate"  # built in a worker thread while turns go on
        if run.state != "ready":
            raise SystemExit(f"training failed: {run.error}")
        ready = time.perf_counter() - started
        phase["name"] = "switch"
        switch_started = time.perf_counter()
        await manager.activate(f"{run.name}.tar.gz", "bench")
        switch = time.perf_counter() - switch_started
        phase["name"] = "after"
        await asyncio.sleep(10)
        stop.set()
        await task
        return {"train_s": round(phase.get("trained_s", ready), 1), "train_and_compare_s": round(ready, 1),
                "switch_ms": round(switch * 1000, 1), "train_to_active_s": round(ready + switch, 1),
                "latency_ms": {k: {"n": len(v), "answered": answered.get(k, 0), "median": round(median(v), 1),
                                   "p95": round(percentile(v, 95), 1), "max": round(max(v), 1)}
                               for k, v in latencies.items()}}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--switch", action="store_true", help="also train a candidate and switch to it (minutes)")
    args = parser.parse_args()
    header = machine_line()
    results: Dict[str, Any] = {"inbox": inbox_part(args.messages, args.rounds)} if args.messages else {}
    if args.switch:
        # Rasa installs uvloop's event loop policy on import; the loop must be made after that,
        # or the policy in force cannot watch the `rasa train` child process.
        import rasa.core.agent  # noqa: F401

        results["switch"] = asyncio.run(switch_part())
    lines = ["# Trainer's workbench", "", header, "", "Command: `python bench/workbench.py"
             + (" --switch" if args.switch else "") + f" --messages {args.messages}`", "",
             ]
    i = results.get("inbox")
    if i:
        lines += ["## Inbox over the tracker store", ""]
        lines += [f"{i['messages']:,} customer messages indexed ({i['flagged']:,} deserve a look, in "
                  f"{i['inbox_groups']:,} inbox groups; largest group {i['largest_group']}). First full indexing "
                  f"{i['first_index_s']} s (once; then incremental): 100 new messages {i['increment_100_ms']} ms, "
                  f"nothing new {i['nothing_new_ms']} ms.", ""]
        lines += table(["inbox query (first page of 50 groups)", "median ms", "p95 ms"],
                       [(k, fmt_ms(v["median"]), fmt_ms(v["p95"])) for k, v in i["query_ms"].items()])
    if "switch" in results:
        s = results["switch"]
        lines += ["", "## Train → active, and the switch's effect on turns", "",
                  f"`rasa train` of the shipped data {s['train_s']} s; with the comparison (loading the candidate, "
                  f"parsing the comparison sets with both models) {s['train_and_compare_s']} s; the switch itself "
                  f"{s['switch_ms']} ms. Train → active: **{s['train_to_active_s']} s**.", ""]
        lines += table(["phase", "turns", "answered", "median ms", "p95 ms", "max ms"],
                       [(k, v["n"], v["answered"], fmt_ms(v["median"]), fmt_ms(v["p95"]), fmt_ms(v["max"]))
                        for k, v in s["latency_ms"].items()])
    lines += ["", load_line()]
    name = "workbench" if i else "workbench-switch"
    write_report(name, lines)
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
