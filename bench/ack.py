"""Webhook acknowledgement under saturation, and proof that nothing is lost or sent twice.

Majlis' WhatsApp Cloud stack as ``./majlis start`` runs it (webhook receiver process
in front of the Rasa server, action server, fake Graph API on 127.0.0.1; webhooks go
to the receiver, which journals them, answers, then records them and notifies Rasa) is first measured for its capacity: the closed-loop throughput with 32
conversations at a time.  Then a fake customer population offers **twice that rate**
(Poisson arrivals, fixed seed) for a bounded time: 32 conversations at a time, each
sending the fixed 5-turn script (a conversation's next message is posted only once
its previous one was acknowledged, as Meta delivers a chat in order).  For each
webhook we time the 200; afterwards we wait for every reply and check, from the
stack's delivery database and the fake Graph API:

- every inbound message was processed exactly once (its inbox row is ``done``);
- every reply was stored once (one outbox row per idempotency key), sent once and
  arrived once at the Graph API (provider message ids matched one to one);
- every message got exactly the replies it gets when the bot is idle (calibration).

Usage::

    python bench/ack.py            # 60 s at 2x capacity (bounded at 1,500 messages)
    python bench/ack.py --quick    # 10 s
    python bench/ack.py --in-rasa  # webhooks to rasa run's own route (no receiver), for comparison
"""
from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    RESULTS, TMP, be_nice, fmt_ms, load_line, machine_line, majlis_model, percentile, pyplot, table, write_report,
)
from loadgen import (  # noqa: E402
    RecordingGraph, TurnRecord, WhatsAppSystem, calibrate, closed_loop, new_customer, new_session, settle_and_verify,
)
from script import CONVERSATIONS, conversation  # noqa: E402
from stack import MemoryWatch, Stack, StackSpec  # noqa: E402
from tests.fakes.fake_graph import start as start_graph  # noqa: E402


async def offered_load(system: WhatsAppSystem, session, rate: float, duration: float, max_messages: int,
                       active: int, seed: int) -> List[TurnRecord]:
    """Post messages at Poisson times of mean ``rate``/s until ``duration`` or ``max_messages``."""
    rng = random.Random(seed)
    times: List[float] = []
    t = 0.0
    while len(times) < max_messages:
        t += rng.expovariate(rate)
        if t > duration:
            break
        times.append(t)
    next_conversation = 0
    pool: List[Dict[str, object]] = []
    records: List[TurnRecord] = []
    tasks: List[asyncio.Task] = []

    def new_conversation() -> Dict[str, object]:
        nonlocal next_conversation
        kind, texts = conversation(next_conversation)
        next_conversation += 1
        return {"customer": new_customer("9718"), "kind": kind, "texts": texts, "next": 0, "last": None}

    async def send(record: TurnRecord, previous: Optional[asyncio.Task]) -> None:
        if previous is not None:
            await previous  # in order within a conversation
        await system.post(session, record)

    start = time.perf_counter()
    for offset in times:
        while len(pool) < active:
            pool.append(new_conversation())
        conv = pool[rng.randrange(len(pool))]
        index = int(conv["next"])
        text = conv["texts"][index]  # type: ignore[index]
        record = TurnRecord(system.name, str(conv["customer"]), index, text, 0.0)
        record.kind = conv["kind"]  # type: ignore[attr-defined]
        records.append(record)
        delay = start + offset - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(send(record, conv["last"]))  # type: ignore[arg-type]
        tasks.append(task)
        conv["last"] = task
        conv["next"] = index + 1
        if index + 1 == len(conv["texts"]):  # type: ignore[arg-type]
            pool.remove(conv)
    await asyncio.gather(*tasks)
    return records


async def run(args: argparse.Namespace) -> Dict[str, object]:
    graph = RecordingGraph()
    runner = await start_graph(graph)
    work = TMP / "ack"
    shutil.rmtree(work, ignore_errors=True)
    model = majlis_model()
    args.model_name = model.name
    stack = Stack(StackSpec("majlis-whatsapp", model, "whatsapp", graph_url=graph.url, receiver=not args.in_rasa),
                  work)
    (work).mkdir(parents=True)
    print("[ack] starting the Majlis WhatsApp stack", file=sys.stderr)
    await asyncio.get_running_loop().run_in_executor(None, stack.start)
    system = WhatsAppSystem(stack, graph)
    result: Dict[str, object] = {}
    try:
        async with new_session() as session:
            calibration_turns: List[TurnRecord] = []
            expected = {}
            for kind, texts in CONVERSATIONS.items():
                expected[kind] = await calibrate(system, session, texts)
            # Idle acknowledgement, for reference: one conversation at a time.
            idle = await closed_loop(system, session, [conversation(i) for i in range(3)], 1, expected)
            calibration_turns += idle
            # Capacity: closed loop, 32 conversations at a time.
            cpu0, t0 = stack.cpu_seconds(), time.perf_counter()
            saturated = await closed_loop(system, session, [conversation(i) for i in range(args.capacity_conversations)],
                                          32, expected)
            wall = time.perf_counter() - t0
            capacity = len(saturated) / wall
            cpu_per_turn = 1000 * (stack.cpu_seconds() - cpu0) / len(saturated)
            rate = args.load_factor * capacity
            print(f"[ack] capacity {capacity:.1f} msgs/s; offering {rate:.1f} msgs/s for {args.duration:.0f} s",
                  file=sys.stderr)
            with MemoryWatch([stack]) as watch:
                t_start = time.perf_counter()
                records = await offered_load(system, session, rate, args.duration, args.max_messages, 32, args.seed)
                send_wall = time.perf_counter() - t_start
                want = {}
                for record in records:
                    want[record.customer] = want.get(record.customer, 0) + expected[record.kind][record.index]  # type: ignore[attr-defined]
                deadline = time.perf_counter() + len(records) / capacity * 3 + 120
                for customer, count in want.items():
                    await graph.wait_count(customer, count, max(1.0, deadline - time.perf_counter()))
                drained = time.perf_counter() - t_start
                await asyncio.sleep(2)  # anything sent twice would arrive now
            by_id = {r.message_id: expected[r.kind][r.index] for r in records}  # type: ignore[attr-defined]
            check = await settle_and_verify(system, records, by_id)
            answered = [1000 * (check.last_reply_at[r.message_id] - r.start)
                        for r in records if r.message_id in check.last_reply_at]
            result = {
                "capacity": capacity, "cpu_ms_per_turn": cpu_per_turn, "rate": rate, "send_wall": send_wall,
                "drain_wall": drained, "records": records, "check": check, "answered_ms": answered,
                "idle_acks": [r.ack_ms for r in idle], "saturated_acks": [r.ack_ms for r in saturated],
                "expected_replies": sum(want.values()), "peak_rss": watch.peaks[stack.name], "t_start": t_start,
            }
    finally:
        stack.stop()
        await runner.cleanup()
    return result


def report(result: Dict[str, object], args: argparse.Namespace, machine: str) -> None:
    records: List[TurnRecord] = result["records"]  # type: ignore[assignment]
    check = result["check"]
    acks = [r.ack_ms for r in records if r.ack_ms is not None]
    statuses = {}
    for r in records:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    p99 = percentile(acks, 99)
    title = "# Webhook acknowledgement at %.0f× capacity" % args.load_factor
    if args.quick:
        title += " (QUICK SMOKE RUN: not a result)"
    lines = [title, "", machine, "",
             f"Protocol: Majlis WhatsApp stack ({args.model_name}) "
             + ("with webhooks to `rasa run`'s own route (`--in-rasa`: no receiver process); "
                if getattr(args, "in_rasa", False) else
                "as `./majlis start` runs it: webhooks go to the receiver process (`channels/whatsapp_receiver.py`: "
                "verify, append to its private journal, 200; then record in the delivery database and notify Rasa); ")
             + f"capacity = closed-loop throughput with 32 "
             f"conversations at a time ({args.capacity_conversations} conversations of 5 turns); then Poisson "
             f"arrivals at {args.load_factor:.0f}× that rate for {args.duration:.0f} s (at most {args.max_messages} "
             f"messages, seed {args.seed}), 32 conversations open at a time, each message signed like Meta's. "
             "Time to 200 = POST sent → response received. Time to answer = POST sent → its last reply at the "
             "fake Graph API.", ""]
    lines += table(["measure", "value"], [
        ["capacity (closed loop, c=32)", f"{result['capacity']:.1f} msgs/s ({result['cpu_ms_per_turn']:.0f} ms CPU/turn)"],
        ["offered load", f"{result['rate']:.1f} msgs/s; {len(records)} messages sent in {result['send_wall']:.1f} s"],
        ["HTTP statuses", ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))],
        ["time to 200, p50 / p99 / max", f"{fmt_ms(percentile(acks, 50))} / {fmt_ms(p99)} / {fmt_ms(max(acks))} ms"],
        ["time to 200 with the bot idle, p50 / p99",
         f"{fmt_ms(percentile(result['idle_acks'], 50))} / {fmt_ms(percentile(result['idle_acks'], 99))} ms"],
        ["time to 200 at capacity (closed loop, c=32), p50 / p99",
         f"{fmt_ms(percentile(result['saturated_acks'], 50))} / {fmt_ms(percentile(result['saturated_acks'], 99))} ms"],
        ["time to answer under the offered load, p50 / p99",
         f"{fmt_ms(percentile(result['answered_ms'], 50))} / {fmt_ms(percentile(result['answered_ms'], 99))} ms"],
        ["all replies received after", f"{result['drain_wall']:.1f} s"],
        ["peak RSS of the stack", f"{result['peak_rss'] / 1e6:.0f} MB"],
    ])
    lines += ["", "Nothing lost, nothing twice (delivery database + fake Graph API):", ""]
    lines += table(["check", "value"], [
        ["inbound messages posted", check.inbound],
        ["processed exactly once (inbox row done)", check.processed_once],
        ["not processed / failed", check.not_done],
        ["replies expected (calibration)", result["expected_replies"]],
        ["outbox rows (one per idempotency key) / sent", f"{check.outbox_rows} / {check.outbox_sent}"],
        ["replies received at the fake Graph API", check.graph_messages],
        ["received twice (same provider id in two outbox rows)", check.duplicates_at_graph],
        ["received without an outbox row", check.unmatched_at_graph],
        ["messages whose reply count differs from calibration", check.count_mismatches],
        ["verdict", "every message answered, once" if check.ok and check.graph_messages == result["expected_replies"]
         else "PROBLEM: see the rows above"],
    ])
    lines += ["", "Target: time to 200 p99 < 25 ms at 2× capacity with nothing lost: "
              + ("met" if p99 < 25 and check.ok else f"MISSED (p99 {fmt_ms(p99)} ms"
                 + (", delivery check failed" if not check.ok else "") + ")") + ".", "", load_line(), "",
              f"Command: `{' '.join(['python bench/ack.py', *sys.argv[1:]])}`"]
    name = report_name(args)
    write_report(name, lines)
    (RESULTS / f"{name}.json").write_text(json.dumps({
        "capacity": result["capacity"], "rate": result["rate"], "acks_ms": acks, "answered_ms": result["answered_ms"],
        "check": {k: v for k, v in vars(check).items() if k != "last_reply_at"}}), encoding="utf-8")
    plot(name, result, title.lstrip("# "))


def plot(name: str, result: Dict[str, object], title: str) -> None:
    plt = pyplot()
    records: List[TurnRecord] = result["records"]  # type: ignore[assignment]
    check = result["check"]
    t0 = result["t_start"]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    xs = [r.start - t0 for r in records if r.ack_ms is not None]
    ax.plot(xs, [r.ack_ms for r in records if r.ack_ms is not None], ".", color="#2a7f62", markersize=3,
            label="time to 200 (webhook acknowledged)")
    answered = [(r.start - t0, 1000 * (check.last_reply_at[r.message_id] - r.start))
                for r in records if r.message_id in check.last_reply_at]
    ax.plot([a for a, _ in answered], [b for _, b in answered], ".", color="#999999", markersize=3,
            label="time to answer (last reply at the Graph API)")
    ax.axhline(25, color="#c0392b", linestyle="--", linewidth=1, label="25 ms")
    ax.set_yscale("log")
    ax.set_xlabel("seconds since the offered load started")
    ax.set_ylabel("ms")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{name}.png", dpi=110)
    plt.close(fig)


def report_name(args: argparse.Namespace) -> str:
    return ("ack-quick" if args.quick else "ack") + ("-in-rasa" if getattr(args, "in_rasa", False) else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 s of offered load")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of offered load")
    parser.add_argument("--max-messages", type=int, default=1500)
    parser.add_argument("--load-factor", type=float, default=2.0, help="offered load ÷ measured capacity")
    parser.add_argument("--capacity-conversations", type=int, default=32)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--in-rasa", action="store_true",
                        help="post webhooks to rasa run's own route instead of the receiver process (comparison)")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report of the last run")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.capacity_conversations = 10.0, 16
    be_nice()
    raw = TMP / f"{report_name(args)}.raw.pickle"
    if args.report_only:  # re-render the last run's report (e.g. after changing the report code)
        machine, result, args.__dict__ = pickle.loads(raw.read_bytes())
    else:
        machine = machine_line()
        result = asyncio.run(run(args))
        raw.write_bytes(pickle.dumps((machine, result, vars(args))))
    report(result, args, machine)
    check = result["check"]
    return 0 if check.ok else 1


if __name__ == "__main__":
    sys.exit(main())
