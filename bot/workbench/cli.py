"""``./majlis nlu``: the workbench from the command line, for people who live in git.

- ``./majlis nlu inbox --export [--reason fallback] [--form arabizi] [--limit 200]``: index
  new messages from the tracker store, print the inbox's groups as JSON lines (text
  masked; ``training_text`` with synthetic values, ready for ``data/nlu``);
- ``./majlis nlu coverage``: examples per intent × language/form, weak cells marked ``*``.

Labelled examples are ordinary edits of ``data/nlu/{ar,en,arabizi}/*.yml`` (ruamel keeps
their comments); ``./majlis train`` trains on them as on any other change.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional

from bot.workbench import inbox
from bot.workbench.collect import Collector
from bot.workbench.coverage import COLUMNS, WEAK_BELOW, Coverage
from bot.workbench.models import REPO
from bot.workbench.nlu_files import NluData
from bot.workbench.service import tracker_engine


def _tracker(endpoints: str):
    """The tracker store's engine, from ``endpoints.yml``'s ``tracker_store`` (only that section's
    ${VARS} are needed: the CLI does not talk to the action server)."""
    import yaml
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import EndpointConfig

    section = (yaml.safe_load(open(endpoints, encoding="utf-8")) or {}).get("tracker_store") or {}
    expanded = yaml.safe_load(os.path.expandvars(yaml.safe_dump(section)))
    store = TrackerStore.create(EndpointConfig.from_dict(expanded))
    return tracker_engine(type("Agent", (), {"tracker_store": store})())


def export_inbox(args: argparse.Namespace) -> int:
    from bot.storage import get_engine, migrate

    engine = get_engine()
    migrate(engine)
    coverage = Coverage(NluData(REPO))
    tracker = _tracker(args.endpoints)
    Collector(engine, lambda: tracker, weak=coverage.weak).collect()
    filters = inbox.Filters.parse({k: v for k, v in vars(args).items() if k in (
        "language", "form", "channel", "reason", "intent", "since", "until") and v})
    offset = 0
    while offset < args.limit:
        page = inbox.groups(engine, filters, offset=offset, limit=min(inbox.MAX_PAGE, args.limit - offset))
        for group in page["groups"]:
            print(json.dumps(group, ensure_ascii=False))
        offset += len(page["groups"])
        if not page["groups"] or offset >= page["total"]:
            break
    return 0


def print_coverage(_args: argparse.Namespace) -> int:
    table = Coverage(NluData(REPO)).table()
    print("intent".ljust(26) + "".join(c.rjust(13) for c in COLUMNS))
    for row in table["rows"]:
        cells = "".join((str(row["counts"][c]) + ("*" if c in row["weak"] else " ")).rjust(13) for c in COLUMNS)
        print(str(row["intent"]).ljust(26) + cells)
    print(f"* fewer than {WEAK_BELOW} examples")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="./majlis nlu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    box = sub.add_parser("inbox", help="index new messages and print the inbox")
    box.add_argument("--export", action="store_true", help="JSON lines, one group each (the default output)")
    box.add_argument("--endpoints", default=os.environ.get("MAJLIS_ENDPOINTS", "endpoints.yml"))
    box.add_argument("--limit", type=int, default=500)
    for name in ("language", "form", "channel", "reason", "intent", "since", "until"):
        box.add_argument(f"--{name}")
    box.set_defaults(run=export_inbox)
    sub.add_parser("coverage", help="examples per intent and language/form").set_defaults(run=print_coverage)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except inbox.BadFilter as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
