"""Turn cost and latency: Majlis on WhatsApp, the same model on plain Rasa REST, and plain Rasa's default config.

Three stacks run side by side, each a Rasa server plus its own action server with
this repo's actions and a SQLite tracker store:

- ``majlis-whatsapp``: Majlis' model (config.yml) behind the WhatsApp Cloud channel.
  A fake customer signs each webhook as Meta does; the turn ends when its last reply
  reaches the local fake Graph API.
- ``majlis-rest``: the same model behind plain Rasa's REST channel.
- ``rasa-default-rest``: the same domain and data trained with Rasa's default config
  (bench/config.rasa-default.yml, what ``rasa init`` writes, with TED and
  UnexpecTED), behind the REST channel, answering with Rasa's own NLG.

Each phase sends the fixed script (bench/script.py: English, Gulf Arabic, Arabizi;
greet, bill, order status with its number, outage with its area, thanks) in fresh
conversations, ``c`` conversations at a time (closed loop).  Phases are interleaved:
for each concurrency, each round runs the three systems in a rotating order, so
load from elsewhere on the machine hits all three alike.  CPU time per turn is the
stack's (server + action server, from /proc) over the phase divided by its turns;
memory is the peak summed RSS of the stack, sampled every 250 ms.

Usage::

    python bench/turns.py            # 3 rounds at concurrency 1, 8, 32
    python bench/turns.py --quick    # 1 round at concurrency 1 and 8, smaller phases
    python bench/turns.py --systems majlis-whatsapp,majlis-rest --concurrency 1,8 --rounds 2
                                     # only some stacks (e.g. while the baseline model trains)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    TMP, RESULTS, be_nice, default_model, fmt_ms, load_line, machine_line, majlis_model, percentile, pyplot, table,
    write_report,
)
from loadgen import (  # noqa: E402
    RecordingGraph, RestSystem, TurnRecord, WhatsAppSystem, calibrate, closed_loop, new_session, settle_and_verify,
)
from script import CONVERSATIONS, conversation  # noqa: E402
from stack import DEFAULT_ENDPOINTS, MemoryWatch, Stack, StackSpec, start_all  # noqa: E402
from tests.fakes.fake_graph import start as start_graph  # noqa: E402

MB = 1e6
SYSTEMS = ["majlis-whatsapp", "majlis-rest", "rasa-default-rest"]


def conversations_per_phase(concurrency: int, quick: bool) -> int:
    if quick:
        return max(3, concurrency)
    return {1: 6, 8: 16}.get(concurrency, concurrency)


async def run(args: argparse.Namespace) -> Dict[str, object]:
    graph = RecordingGraph()
    runner = await start_graph(graph)
    work = TMP / "turns"
    shutil.rmtree(work, ignore_errors=True)
    selected = args.systems
    # Only the models of the selected systems: the baseline takes half an hour to train.
    models = {"majlis": majlis_model() if any(s.startswith("majlis-") for s in selected) else None,
              "default": default_model(args.allow_stale_baseline) if "rasa-default-rest" in selected else None}
    args.model_names = {k: v.name if v else "not run" for k, v in models.items()}
    specs = [spec for spec in (
        StackSpec("majlis-whatsapp", models["majlis"], "whatsapp", graph_url=graph.url),
        StackSpec("majlis-rest", models["majlis"], "rest"),
        StackSpec("rasa-default-rest", models["default"], "rest", endpoints=DEFAULT_ENDPOINTS),
    ) if spec.name in selected]
    stacks = []
    for spec in specs:
        (work / spec.name).mkdir(parents=True)
        stacks.append(Stack(spec, work / spec.name))
    print(f"[turns] starting {len(stacks)} stack(s) (model loading takes minutes on a busy machine)", file=sys.stderr)
    await asyncio.get_running_loop().run_in_executor(None, start_all, stacks)
    by_name = {s.name: s for s in stacks}
    systems = {name: WhatsAppSystem(stack, graph) if name == "majlis-whatsapp" else RestSystem(stack)
               for name, stack in by_name.items()}
    idle_rss = {s.name: s.rss_by_role() for s in stacks}
    phases: List[Dict[str, object]] = []
    records: Dict[tuple, List[TurnRecord]] = defaultdict(list)
    problems: List[str] = []
    expected: Dict[str, List[int]] = {}
    try:
        async with new_session() as session:
            # Unmeasured: learn how many WhatsApp messages each turn produces, and warm every stack up.
            if "majlis-whatsapp" in systems:
                expected = {kind: await calibrate(systems["majlis-whatsapp"], session, texts)
                            for kind, texts in CONVERSATIONS.items()}
            for name in systems:
                if name != "majlis-whatsapp":
                    await closed_loop(systems[name], session, list(CONVERSATIONS.items()), 1)
            with MemoryWatch(stacks) as watch:
                for ci, concurrency in enumerate(args.concurrency):
                    for round_no in range(args.rounds):
                        shift = (ci * args.rounds + round_no) % len(selected)
                        for name in selected[shift:] + selected[:shift]:
                            stack, system = by_name[name], systems[name]
                            convs = [conversation(i) for i in range(conversations_per_phase(concurrency, args.quick))]
                            watch.peaks[name] = 0
                            cpu0, t0 = stack.cpu_seconds(), time.perf_counter()
                            phase = await closed_loop(system, session, convs, concurrency,
                                                      expected if name == "majlis-whatsapp" else None)
                            wall, cpu = time.perf_counter() - t0, stack.cpu_seconds() - cpu0
                            peak = max(watch.peaks[name], stack.rss_bytes())
                            if name == "majlis-whatsapp":
                                by_id = _expected_by_wamid(phase, expected)
                                check = await settle_and_verify(system, phase, by_id)
                                if not check.ok:
                                    problems.append(f"c={concurrency} round {round_no}: {check.summary()}")
                                for record in phase:  # exact: the last reply of *this* message, from the outbox
                                    if record.message_id in check.last_reply_at:
                                        record.done = check.last_reply_at[record.message_id]
                            failed = [r for r in phase if r.done is None or r.status != 200]
                            if failed:
                                problems.append(f"{name} c={concurrency} round {round_no}: {len(failed)} turn(s) "
                                                f"without a complete answer")
                            records[(name, concurrency)] += phase
                            phases.append({"system": name, "concurrency": concurrency, "round": round_no,
                                           "turns": len(phase), "wall_s": wall, "cpu_s": cpu, "peak_rss": peak})
                            print(f"[turns] {name:18s} c={concurrency:<3d} round {round_no}: {len(phase)} turns "
                                  f"in {wall:.1f}s, CPU {1000 * cpu / len(phase):.0f} ms/turn", file=sys.stderr)
    finally:
        for stack in stacks:
            stack.stop()
        await runner.cleanup()
    return {"phases": phases, "records": records, "idle_rss": idle_rss, "problems": problems,
            "expected": expected}


def _expected_by_wamid(phase: List[TurnRecord], expected: Dict[str, List[int]]) -> Dict[str, int]:
    texts_to_kind = {tuple(texts): kind for kind, texts in CONVERSATIONS.items()}
    by_customer: Dict[str, List[TurnRecord]] = defaultdict(list)
    for record in phase:
        by_customer[record.customer].append(record)
    result: Dict[str, int] = {}
    for turns in by_customer.values():
        turns.sort(key=lambda r: r.index)
        kind = texts_to_kind[tuple(r.text for r in turns)]
        for record in turns:
            result[record.message_id or ""] = expected[kind][record.index]
    return result


def summarise(result: Dict[str, object], args: argparse.Namespace) -> List[Dict[str, object]]:
    rows = []
    for name in SYSTEMS:
        for concurrency in args.concurrency:
            phases = [p for p in result["phases"] if p["system"] == name and p["concurrency"] == concurrency]
            recs = [r for r in result["records"][(name, concurrency)] if r.latency_ms is not None]
            if not phases:
                continue
            turns = sum(p["turns"] for p in phases)
            latencies = [r.latency_ms for r in recs]
            acks = [r.ack_ms for r in recs] if name == "majlis-whatsapp" else []
            rows.append({
                "system": name, "concurrency": concurrency, "turns": turns,
                "p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "p99": percentile(latencies, 99),
                "msgs_per_s": turns / sum(p["wall_s"] for p in phases),
                "cpu_ms_per_turn": 1000 * sum(p["cpu_s"] for p in phases) / turns,
                "peak_rss_mb": max(p["peak_rss"] for p in phases) / MB,
                "ack_p50": percentile(acks, 50) if acks else None, "ack_p99": percentile(acks, 99) if acks else None,
            })
    return rows


def report(result: Dict[str, object], rows: List[Dict[str, object]], args: argparse.Namespace, machine: str) -> None:
    title = "# Turn cost and latency"
    if args.quick:
        title += " (QUICK SMOKE RUN: not a result)"
    lines = [title, "", machine, "",
             f"Protocol: {args.rounds} interleaved round(s) per concurrency; each phase = fresh conversations of the "
             "fixed 5-turn script (English, Gulf Arabic, Arabizi in rotation); conversations per phase: "
             + ", ".join(f"{conversations_per_phase(c, args.quick)} at c={c}" for c in args.concurrency)
             + ". Latency = request sent → last reply received (WhatsApp: at the fake Graph API; REST: the HTTP "
             "answer). CPU = server + action server, user + system, per turn. RSS = peak of the whole stack "
             "(server + action server) in the phase. Models: "
             f"{args.model_names['majlis']} (Majlis), {args.model_names['default']} (Rasa default config).", ""]
    lines += table(["system", "concurrency", "turns", "p50 ms", "p95 ms", "p99 ms", "msgs/s", "CPU ms/turn",
                    "peak RSS MB", "webhook 200 p50/p99 ms"],
                   [[r["system"], r["concurrency"], r["turns"], fmt_ms(r["p50"]), fmt_ms(r["p95"]), fmt_ms(r["p99"]),
                     f"{r['msgs_per_s']:.1f}", f"{r['cpu_ms_per_turn']:.0f}", f"{r['peak_rss_mb']:.0f}",
                     f"{fmt_ms(r['ack_p50'])} / {fmt_ms(r['ack_p99'])}" if r["ack_p50"] is not None else "–"]
                    for r in rows])
    idle = result["idle_rss"]
    lines += ["", "Idle RSS after loading: " + "; ".join(
        f"{k} {sum(v.values()) / MB:.0f} MB (Rasa server {v['server'] / MB:.0f}, action server {v['actions'] / MB:.0f})"
        for k, v in idle.items()) + ".", ""]
    lines += ["Targets (measured, not asserted):", ""]
    target_rows = []
    get = {(r["system"], r["concurrency"]): r for r in rows}
    for concurrency in args.concurrency:
        wa, rest, default = (get.get((s, concurrency)) for s in SYSTEMS)
        for name, row in (("majlis-whatsapp", wa), ("majlis-rest", rest)):
            if not (row and default):
                continue
            ratio = row["cpu_ms_per_turn"] / default["cpu_ms_per_turn"]
            target_rows.append([f"CPU/turn {name} ÷ rasa-default (c={concurrency})", "≤ 0.67", f"{ratio:.2f}",
                                "met" if ratio <= 2 / 3 else "MISSED"])
        if not (wa and rest):
            continue
        ratio = wa["p50"] / rest["p50"]
        target_rows.append([f"p50 WhatsApp ÷ REST, same model (c={concurrency})", "≤ 1.10", f"{ratio:.2f}",
                            "met" if ratio <= 1.10 else "MISSED"])
        # Not a target, but what the WhatsApp channel itself costs: the same model, CPU per turn.
        ratio = wa["cpu_ms_per_turn"] / rest["cpu_ms_per_turn"]
        target_rows.append([f"CPU/turn WhatsApp ÷ REST, same model (c={concurrency})", "–", f"{ratio:.2f}", ""])
    peak_wa = max((r["peak_rss_mb"] for r in rows if r["system"] == "majlis-whatsapp"), default=float("nan"))
    if "majlis-whatsapp" in args.systems:
        target_rows.append(["peak RSS of the Majlis WhatsApp stack under load", "< 1500 MB", f"{peak_wa:.0f} MB",
                            "met" if peak_wa < 1500 else "MISSED"])
    lines += table(["target", "goal", "measured", ""], target_rows)
    if result["problems"]:
        lines += ["", "Problems seen during the run:", ""] + [f"- {p}" for p in result["problems"]]
    lines += ["", "Replies per turn on WhatsApp (calibrated): " + "; ".join(
        f"{k} {v}" for k, v in result["expected"].items()) + ".", "", load_line(), "",
        f"Command: `{' '.join(['python bench/turns.py', *sys.argv[1:]])}`"]
    name = report_name(args)
    write_report(name, lines)
    (RESULTS / f"{name}.json").write_text(json.dumps({"rows": rows, "phases": result["phases"]}, indent=1),
                                          encoding="utf-8")
    plot(name, rows, args, title.lstrip("# "))


def plot(name: str, rows: List[Dict[str, object]], args: argparse.Namespace, title: str) -> None:
    plt = pyplot()
    colors = {"majlis-whatsapp": "#2a7f62", "majlis-rest": "#7fb8a4", "rasa-default-rest": "#999999"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for system in SYSTEMS:
        mine = [r for r in rows if r["system"] == system]
        if not mine:
            continue
        xs = [r["concurrency"] for r in mine]
        left.plot(xs, [r["p50"] for r in mine], "o-", color=colors[system], label=f"{system} p50")
        left.plot(xs, [r["p95"] for r in mine], "x--", color=colors[system], label=f"{system} p95")
    left.set_xscale("log", base=2)
    left.set_yscale("log")
    left.set_xticks(args.concurrency)
    left.set_xticklabels([str(c) for c in args.concurrency])
    left.set_xlabel("concurrent conversations")
    left.set_ylabel("turn latency (ms)")
    left.legend(fontsize=7)
    width = 0.27
    for i, system in enumerate(SYSTEMS):
        mine = {r["concurrency"]: r for r in rows if r["system"] == system}
        if not mine:
            continue
        xs = [j + (i - 1) * width for j in range(len(args.concurrency))]
        bars = right.bar(xs, [mine[c]["cpu_ms_per_turn"] if c in mine else 0 for c in args.concurrency], width,
                         color=colors[system], label=system)
        right.bar_label(bars, fmt="%.0f", fontsize=7)
    right.set_xticks(range(len(args.concurrency)))
    right.set_xticklabels([f"c={c}" for c in args.concurrency])
    right.set_ylabel("server CPU ms per turn")
    right.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{name}.png", dpi=110)
    plt.close(fig)


def report_name(args: argparse.Namespace) -> str:
    """Where a run's report goes: a subset of systems never overwrites the full report."""
    if args.out:
        return args.out
    if args.quick:
        return "turns-quick"
    return "turns" if len(args.systems) == len(SYSTEMS) else "turns-partial"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round at concurrency 1 and 8")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated")
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help=f"comma-separated subset of {', '.join(SYSTEMS)} (default: all)")
    parser.add_argument("--out", default=None,
                        help="report name in bench/results (default: turns, turns-quick, or turns-partial "
                             "when --systems is a subset)")
    parser.add_argument("--allow-stale-baseline", action="store_true",
                        help="use the cached Rasa-default model even if domain/data changed since it was trained")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report of the last run")
    args = parser.parse_args()
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    chosen = {s.strip() for s in args.systems.split(",") if s.strip()}
    unknown = chosen - set(SYSTEMS)
    if unknown or not chosen:
        parser.error(f"--systems: unknown {', '.join(sorted(unknown))}" if unknown else "--systems: none given")
    args.systems = [s for s in SYSTEMS if s in chosen]  # the canonical order, so rotations are comparable
    if args.quick:
        args.rounds, args.concurrency = 1, [c for c in args.concurrency if c <= 8] or [1]
    be_nice()
    raw = TMP / f"{report_name(args)}.raw.pickle"
    if args.report_only:  # re-render the last run's report (e.g. after changing the report code)
        machine, result, saved = pickle.loads(raw.read_bytes())
        args.__dict__.update({"systems": list(SYSTEMS), "out": args.out, **saved})  # older runs: all systems
    else:
        machine = machine_line()
        result = asyncio.run(run(args))
        raw.write_bytes(pickle.dumps((machine, result, vars(args))))
    rows = summarise(result, args)
    report(result, rows, args, machine)
    return 0 if not result["problems"] else 1


if __name__ == "__main__":
    sys.exit(main())
