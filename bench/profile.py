"""Where a turn's CPU goes: py-spy samples of a stack's Rasa server under the script's load.

Starts one stack (``--system majlis-whatsapp | majlis-rest | rasa-default-rest``),
warms it up, then drives the fixed script with ``--concurrency`` conversations at a
time while py-spy samples the Rasa server (all threads, 100 Hz, non-blocking) for
``--seconds``.  Writes the collapsed stacks (flame-graph input) and a summary:
the share of CPU samples whose stack passes through each part (TensorFlow, Rasa's
policies, NLU, tracker store, Majlis' delivery layer, SQLAlchemy, HTTP servers and
clients, logging), and the 15 hottest leaf functions.

``--long N`` first grows one conversation to N messages and then samples while it
continues (what makes long conversations slower).

Usage::

    python bench/profile.py --system majlis-whatsapp
    python bench/profile.py --system majlis-rest --long 250 --concurrency 1
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import gzip
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, TMP, be_nice, default_model, machine_line, majlis_model, table, write_report  # noqa: E402
from loadgen import (  # noqa: E402
    RecordingGraph, RestSystem, WhatsAppSystem, calibrate, closed_loop, new_customer, new_session,
)
from script import CONVERSATIONS, conversation, long_conversation  # noqa: E402
from stack import DEFAULT_ENDPOINTS, Stack, StackSpec  # noqa: E402
from tests.fakes.fake_graph import start as start_graph  # noqa: E402

#: (label, substrings of a frame, any of which puts a sample in the category)
PARTS: List[Tuple[str, Tuple[str, ...]]] = [
    ("TensorFlow / Keras", ("tensorflow", "keras")),
    ("Rasa policies (prediction)", ("rasa/core/policies", "rasa/core/featurizers")),
    ("Rasa NLU components", ("rasa/nlu/",)),
    ("Majlis NLU components (bot/nlu, bot/language)", ("(bot/nlu/", "(bot/language/")),
    ("Rasa tracker store (SQL)", ("rasa/core/tracker_store",)),
    ("tracker events (de)serialisation", ("rasa/shared/core/events", "rasa/shared/core/trackers")),
    ("Majlis delivery layer (bot/delivery, bot/storage)", ("(bot/delivery/", "(bot/storage/")),
    ("SQLAlchemy / sqlite3", ("sqlalchemy", "sqlite3")),
    ("Majlis WhatsApp channel (channels/)", ("(channels/",)),
    ("NLG (bot/nlg.py, Rasa's response NLG)", ("(bot/nlg.py", "rasa/core/nlg")),
    ("action server calls (rasa/core/actions)", ("rasa/core/actions",)),
    ("HTTP server (sanic; inclusive: every request handler runs under it)", ("sanic",)),
    ("HTTP client (aiohttp)", ("aiohttp",)),
    ("logging", ("logging/__init__",)),
]


#: Parts that *own* a sample: the deepest of these on a stack gets the sample (exclusive split).
OWNERS: List[Tuple[str, Tuple[str, ...]]] = [
    ("Rasa policies (prediction, featurising the tracker)", ("rasa/core/policies", "rasa/core/featurizers")),
    ("Rasa NLU pipeline (incl. its TensorFlow)", ("rasa/nlu/",)),
    ("Majlis NLU components", ("(bot/nlu/", "(bot/language/")),
    ("Rasa tracker store (incl. its SQL)", ("rasa/core/tracker_store",)),
    ("tracker events (de)serialisation, replay", ("rasa/shared/core/events", "rasa/shared/core/trackers")),
    ("calling the action server (HTTP, JSON schema check)", ("rasa/core/actions",)),
    ("NLG", ("(bot/nlg.py", "rasa/core/nlg")),
    ("Rasa message processing, other", ("rasa/core/processor", "rasa/core/agent", "rasa/engine")),
    ("Majlis delivery layer (inbox/outbox SQL, Graph sends)", ("(bot/delivery/", "(bot/storage/")),
    ("Majlis WhatsApp channel (verify, parse, build payloads)", ("(channels/",)),
    ("Rasa REST channel", ("rasa/core/channels",)),
    ("HTTP server (sanic) itself", ("sanic",)),
]


def summarise(raw: Path) -> Tuple[int, Dict[str, int], Dict[str, int], List[Tuple[str, int]]]:
    """(samples, inclusive share per part, exclusive share per owner, hottest leaves)."""
    total = 0
    parts: Dict[str, int] = collections.Counter()
    owners: Dict[str, int] = collections.Counter()
    leaves: Dict[str, int] = collections.Counter()
    with gzip.open(raw, "rt", encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        for label, needles in PARTS:
            if any(needle in stack for needle in needles):
                parts[label] += count
        owner = "other (event loop, thread pools, libraries)"
        for frame in reversed(stack.split(";")):
            match = next((label for label, needles in OWNERS if any(n in frame for n in needles)), None)
            if match:
                owner = match
                break
        owners[owner] += count
        leaves[stack.split(";")[-1]] += count
    return total, parts, owners, leaves.most_common(15)


async def drive(args: argparse.Namespace, stack: Stack, graph: RecordingGraph) -> None:
    system = WhatsAppSystem(stack, graph) if args.system == "majlis-whatsapp" else RestSystem(stack)
    async with new_session() as session:
        expected = None
        if args.system == "majlis-whatsapp":
            expected = {kind: await calibrate(system, session, texts) for kind, texts in CONVERSATIONS.items()}
        else:
            await closed_loop(system, session, list(CONVERSATIONS.items()), 1)
        long_texts = long_conversation(args.long + 400) if args.long else []
        customer = new_customer("9719")
        for index in range(args.long):
            await system.turn(session, customer, index, long_texts[index])
        print(f"[profile] sampling {stack.server.pid} for {args.seconds} s", file=sys.stderr)
        spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(stack.server.pid),
                                "--duration", str(args.seconds), "--rate", "100", "--format", "raw", "--nonblocking",
                                "--output", str(args.raw.with_suffix("")), *(["--gil"] if args.gil else [])],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if args.long:
            index = args.long
            while spy.poll() is None and index < len(long_texts):
                await system.turn(session, customer, index, long_texts[index])
                index += 1
        else:
            next_conv = 0
            while spy.poll() is None:
                convs = [conversation(next_conv + i) for i in range(args.concurrency)]
                next_conv += args.concurrency
                await closed_loop(system, session, convs, args.concurrency, expected)
        await asyncio.get_running_loop().run_in_executor(None, spy.wait)
    plain = args.raw.with_suffix("")  # py-spy writes text; keep it gzipped (several MB per run)
    with open(plain, "rb") as source, gzip.open(args.raw, "wb") as target:
        shutil.copyfileobj(source, target)
    plain.unlink()


async def run(args: argparse.Namespace) -> None:
    graph = RecordingGraph()
    runner = await start_graph(graph)
    work = TMP / f"profile-{args.system}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if args.system == "rasa-default-rest":
        spec = StackSpec(args.system, default_model(args.allow_stale_baseline), "rest", endpoints=DEFAULT_ENDPOINTS)
    else:
        spec = StackSpec(args.system, majlis_model(), "whatsapp" if args.system == "majlis-whatsapp" else "rest",
                         graph_url=graph.url)
    stack = Stack(spec, work)
    await asyncio.get_running_loop().run_in_executor(None, stack.start)
    try:
        await drive(args, stack, graph)
    finally:
        stack.stop()
        await runner.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--system", default="majlis-whatsapp",
                        choices=["majlis-whatsapp", "majlis-rest", "rasa-default-rest"])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--long", type=int, default=0, help="grow one conversation to N messages first")
    parser.add_argument("--gil", action="store_true",
                        help="sample only the thread holding the GIL (Python CPU; misses TensorFlow's own threads)")
    parser.add_argument("--allow-stale-baseline", action="store_true")
    parser.add_argument("--from-collapsed", action="store_true",
                        help="re-render the report from the collapsed stacks of the last run with these options")
    args = parser.parse_args()
    if args.long and args.system == "majlis-whatsapp":
        parser.error("--long needs a REST system (the WhatsApp driver needs per-message reply counts)")
    be_nice()
    machine = machine_line()
    name = (f"profile-{args.system}" + (f"-long{args.long}" if args.long else f"-c{args.concurrency}")
            + ("-gil" if args.gil else ""))
    args.raw = RESULTS / f"{name}.collapsed.txt.gz"
    md = RESULTS / f"{name}.md"
    if args.from_collapsed:  # re-render an earlier run's report from its samples
        old = md.read_text(encoding="utf-8").splitlines() if md.exists() else []
        machine = next((l for l in old if l.startswith("Machine:")), machine)
        command = next((l for l in old if l.startswith("Command:")), None)
    else:
        asyncio.run(run(args))
        command = None
    total, parts, owners, leaves = summarise(args.raw)
    lines = [f"# Profile: {args.system}" + (f", one conversation past message {args.long}" if args.long
                                              else f", {args.concurrency} conversations at a time"), "", machine, "",
             f"py-spy, 100 Hz, {args.seconds} s, {total} samples of "
             + ("the thread holding the GIL (Python CPU time; TensorFlow's own threads not seen)" if args.gil else
                "every non-idle thread of the Rasa server (wall time: a thread blocked in a SQLite commit or a "
                "socket counts)")
             + f". Collapsed stacks: `bench/results/{args.raw.name}` (flame graph: speedscope or inferno).", "",
             "Exclusive split: each sample goes to the deepest of these parts on its stack (so SQL run by the "
             "tracker store counts for the tracker store, TensorFlow run by DIET for the NLU pipeline):", ""]
    lines += table(["part", "share of samples"],
                   [[label, f"{100 * n / total:.1f}%"] for label, n in sorted(owners.items(), key=lambda kv: -kv[1])]
                   if total else [])
    lines += ["", "Inclusive: share of samples whose stack passes through each part (shares overlap):", ""]
    lines += table(["part of the server", "share of samples"],
                   [[label, f"{100 * parts[label] / total:.1f}%"] for label, _ in PARTS if total])
    lines += ["", "Hottest leaf functions:", ""]
    lines += table(["function", "share"], [[leaf.replace("|", "/"), f"{100 * n / total:.1f}%"] for leaf, n in leaves])
    lines += ["", command or f"Command: `{' '.join(['python bench/profile.py', *sys.argv[1:]])}`"]
    write_report(name, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
