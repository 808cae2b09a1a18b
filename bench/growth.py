"""Growth: does a turn get slower as one conversation grows to 300 messages?

One conversation per system, 300 messages (the fixed script, English, Gulf Arabic and
Arabizi, over and over; all within one Rasa session), sent one at a time.  The three
systems of bench/turns.py take turns message by message, so changes in machine load
hit them alike.  Reported: p50 turn latency and server CPU per turn of messages
1–50 and 251–300, and their ratio (the target is ≤ 1.3 for Majlis).

Usage::

    python bench/growth.py            # 300 messages per conversation
    python bench/growth.py --quick    # 60 messages (windows of 10)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import shutil
import sys
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    RESULTS, TMP, be_nice, default_model, fmt_ms, load_line, machine_line, majlis_model, median, pyplot, table,
    write_report,
)
from loadgen import RecordingGraph, RestSystem, WhatsAppSystem, calibrate, new_customer, new_session, settle_and_verify  # noqa: E402
from script import long_conversation  # noqa: E402
from stack import DEFAULT_ENDPOINTS, Stack, StackSpec, start_all  # noqa: E402
from tests.fakes.fake_graph import start as start_graph  # noqa: E402

SYSTEMS = ["majlis-whatsapp", "majlis-rest", "rasa-default-rest"]


async def run(args: argparse.Namespace) -> Dict[str, object]:
    graph = RecordingGraph()
    runner = await start_graph(graph)
    work = TMP / "growth"
    shutil.rmtree(work, ignore_errors=True)
    chosen = args.systems
    models = {"majlis": majlis_model()}
    if "rasa-default-rest" in chosen:
        models["default"] = default_model(args.allow_stale_baseline)
    args.model_names = {k: v.name for k, v in models.items()}
    specs = [spec for spec in [
        StackSpec("majlis-whatsapp", models["majlis"], "whatsapp", graph_url=graph.url),
        StackSpec("majlis-rest", models["majlis"], "rest"),
        StackSpec("rasa-default-rest", models.get("default", models["majlis"]), "rest", endpoints=DEFAULT_ENDPOINTS),
    ] if spec.name in chosen]
    stacks = {}
    for spec in specs:
        (work / spec.name).mkdir(parents=True)
        stacks[spec.name] = Stack(spec, work / spec.name)
    print(f"[growth] starting {len(specs)} stack(s)", file=sys.stderr)
    await asyncio.get_running_loop().run_in_executor(None, start_all, list(stacks.values()))
    systems = {name: WhatsAppSystem(stack, graph) if stack.spec.channel == "whatsapp" else RestSystem(stack)
               for name, stack in stacks.items()}
    texts = long_conversation(args.messages)
    series: Dict[str, List[Dict[str, float]]] = {name: [] for name in chosen}
    problems: List[str] = []
    try:
        async with new_session() as session:
            # Unmeasured: the same long conversation once on WhatsApp, to learn how many replies each
            # message produces there (it also warms the stack up, as the REST warm-up below does).
            counts = [0] * len(texts)
            if "majlis-whatsapp" in systems:
                print(f"[growth] calibrating the {args.messages}-message conversation on WhatsApp", file=sys.stderr)
                counts = await calibrate(systems["majlis-whatsapp"], session, texts)
            for name in ("majlis-rest", "rasa-default-rest"):
                for text in texts[:15] if name in systems else []:
                    await systems[name].turn(session, new_customer("9717"), 0, text)
            customers = {name: new_customer("9715") for name in chosen}
            records = {name: [] for name in chosen}
            for index, text in enumerate(texts):
                shift = index % len(chosen)
                for name in chosen[shift:] + chosen[:shift]:
                    stack = stacks[name]
                    cpu0 = stack.cpu_seconds()
                    record = await systems[name].turn(session, customers[name], index, text, counts[index])
                    cpu = stack.cpu_seconds() - cpu0
                    records[name].append(record)
                    series[name].append({"latency_ms": record.latency_ms, "cpu_ms": 1000 * cpu})
                if (index + 1) % 50 == 0:
                    print(f"[growth] {index + 1} messages: " + ", ".join(
                        f"{n} {series[n][-1]['latency_ms'] or float('nan'):.0f} ms" for n in chosen), file=sys.stderr)
            if "majlis-whatsapp" in systems:
                wa = systems["majlis-whatsapp"]
                check = await settle_and_verify(wa, records["majlis-whatsapp"],
                                                {r.message_id: counts[r.index] for r in records["majlis-whatsapp"]})
                if not check.ok:
                    problems.append(f"WhatsApp verification: {check.summary()}")
                for record, point in zip(records["majlis-whatsapp"], series["majlis-whatsapp"]):
                    if record.message_id in check.last_reply_at:
                        point["latency_ms"] = 1000 * (check.last_reply_at[record.message_id] - record.start)
            for name in chosen:
                missing = sum(1 for p in series[name] if p["latency_ms"] is None)
                if missing:
                    problems.append(f"{name}: {missing} message(s) without a complete answer")
    finally:
        for stack in stacks.values():
            stack.stop()
        await runner.cleanup()
    return {"series": series, "problems": problems}


def report(result: Dict[str, object], args: argparse.Namespace, machine: str) -> None:
    n = args.messages
    window = max(1, n // 6)
    first, last = slice(0, window), slice(n - window, n)
    title = "# Growth: one conversation of %d messages" % n
    if args.quick:
        title += " (QUICK SMOKE RUN: not a result)"
    rows, summary = [], {}
    for name in result["series"]:
        points = result["series"][name]
        lat = [p["latency_ms"] for p in points]
        cpu = [p["cpu_ms"] for p in points]
        a, b = median([x for x in lat[first] if x is not None]), median([x for x in lat[last] if x is not None])
        ca, cb = median(cpu[first]), median(cpu[last])
        summary[name] = {"p50_first": a, "p50_last": b, "ratio": b / a, "cpu_first": ca, "cpu_last": cb,
                         "cpu_ratio": cb / ca if ca else float("nan")}
        rows.append([name, fmt_ms(a), fmt_ms(b), f"{b / a:.2f}", f"{ca:.0f}", f"{cb:.0f}",
                     f"{cb / ca:.2f}" if ca else "n/a", "met" if b / a <= 1.3 else "MISSED"])
    lines = [title, "", machine, "",
             f"Protocol: one conversation per system, {n} messages (bench/script.py's three scripts in rotation), one "
             "Rasa session; the systems alternate message by message. p50 of messages "
             f"1–{window} vs {n - window + 1}–{n}; CPU = server + action server CPU during the turn (10 ms ticks, "
             f"so single turns are coarse; medians over {window}). Models: {args.model_names['majlis']} (Majlis), "
             f"{args.model_names.get('default', '(not run)')} (Rasa default config).", ""]
    lines += table(["system", f"p50 ms, msgs 1–{window}", f"p50 ms, msgs {n - window + 1}–{n}", "latency ratio",
                    "CPU ms/turn (first)", "CPU ms/turn (last)", "CPU ratio", "target ≤ 1.3"], rows)
    if result["problems"]:
        lines += ["", "Problems seen during the run:", ""] + [f"- {p}" for p in result["problems"]]
    lines += ["", load_line(), "", f"Command: `{' '.join(['python bench/growth.py', *sys.argv[1:]])}`"]
    name = "growth-quick" if args.quick else "growth"
    write_report(name, lines)
    (RESULTS / f"{name}.json").write_text(json.dumps({"summary": summary, "series": result["series"]}),
                                          encoding="utf-8")
    plot(name, result["series"], title.lstrip("# "))


def plot(name: str, series: Dict[str, List[Dict[str, float]]], title: str) -> None:
    plt = pyplot()
    colors = {"majlis-whatsapp": "#2a7f62", "majlis-rest": "#7fb8a4", "rasa-default-rest": "#999999"}
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    for system, points in series.items():
        xs = list(range(1, len(points) + 1))
        lat = [p["latency_ms"] if p["latency_ms"] is not None else float("nan") for p in points]
        cpu = [p["cpu_ms"] for p in points]
        top.plot(xs, lat, ".", color=colors[system], alpha=0.25, markersize=3)
        top.plot(xs, _rolling_median(lat, 15), "-", color=colors[system], label=f"{system} (rolling median of 15)")
        bottom.plot(xs, _rolling_median(cpu, 15), "-", color=colors[system], label=system)
    top.set_yscale("log")
    top.set_ylabel("turn latency (ms)")
    top.legend(fontsize=7)
    bottom.set_ylabel("server CPU ms per turn\n(rolling median of 15)")
    bottom.set_xlabel("message number in the conversation")
    bottom.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{name}.png", dpi=110)
    plt.close(fig)


def _rolling_median(values: List[float], width: int) -> List[float]:
    out = []
    for i in range(len(values)):
        window = [v for v in values[max(0, i - width + 1):i + 1] if v == v]
        out.append(median(window) if window else float("nan"))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 60 messages")
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--allow-stale-baseline", action="store_true",
                        help="use the cached Rasa-default model even if domain/data changed since it was trained")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report of the last run")
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help="comma-separated subset of: " + ", ".join(SYSTEMS))
    args = parser.parse_args()
    args.systems = [name for name in SYSTEMS if name in args.systems.split(",")]
    if args.quick:
        args.messages = 60
    be_nice()
    raw = TMP / f"{'growth-quick' if args.quick else 'growth'}.raw.pickle"
    if args.report_only:  # re-render the last run's report (e.g. after changing the report code)
        machine, result, args.__dict__ = pickle.loads(raw.read_bytes())
    else:
        machine = machine_line()
        result = asyncio.run(run(args))
        raw.write_bytes(pickle.dumps((machine, result, vars(args))))
    report(result, args, machine)
    return 0 if not result["problems"] else 1


if __name__ == "__main__":
    sys.exit(main())
