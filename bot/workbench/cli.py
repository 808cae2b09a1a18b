"""``./majlis nlu``: the workbench from the command line, for people who live in git.

- ``./majlis nlu inbox --export [--reason fallback] [--form arabizi] [--limit 200]``: index
  new messages from the tracker store, print the inbox's groups as JSON lines (text
  masked; ``training_text`` with synthetic values, ready for ``data/nlu``);
- ``./majlis nlu coverage``: examples per intent × language/form, weak cells marked ``*``;
- ``./majlis nlu check [--answers-only]``: the checks a candidate must pass before training
  (every answer has an owner and a review date; ``rasa data validate``); exit 1 on a failure;
- ``./majlis nlu answers [--state overdue|due|current|all]``: answers due or overdue for review;
- ``./majlis nlu activate <model> [--author NAME]``: every running instance switches to
  ``models/<model>`` within a poll (it writes the ``activate`` row they follow:
  :mod:`bot.workbench.follow`); activating an earlier model is the rollback.

Labelled examples are ordinary edits of ``data/nlu/{ar,en,arabizi}/*.yml`` (ruamel keeps
their comments); ``./majlis train`` trains on them as on any other change.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
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


def run_checks(args: argparse.Namespace) -> int:
    import asyncio

    from bot.answers.book import project_root
    from bot.workbench.checks import majlis_checks, validate

    root = project_root()
    report = majlis_checks(root) if args.answers_only else asyncio.run(validate(root, REPO))
    for warning in report.warnings:
        print(f"warning: {warning}")
    for error in report.errors:
        print(f"error: {error}")
    print("checks passed" if report.ok else f"{len(report.errors)} checks failed: a candidate would not be trained")
    return 0 if report.ok else 1


def print_answers(args: argparse.Namespace) -> int:
    from datetime import date

    from bot.answers.book import ANSWERS_FILE, load, project_root
    from bot.workbench.answers import SHOWN

    today = date.today()
    shown = SHOWN[args.state]
    for answer in sorted(load(project_root() / ANSWERS_FILE).answers.values(), key=lambda a: (a.review_by, a.name)):
        if answer.state(today) in shown:
            print(f"{answer.state(today):8} {answer.review_by.isoformat()}  {answer.name:36} {answer.owner}")
    return 0


def activate_model(args: argparse.Namespace) -> int:
    """Record the activation every running instance follows (no process of this CLI serves a model)."""
    from datetime import datetime, timezone

    from bot.storage import get_engine, migrate
    from bot.workbench.schema import nlu_audit

    name = Path(args.model).name
    if not name.endswith(".tar.gz") or not (REPO / "models" / name).is_file():
        print(f"error: no model {name} in models/", file=sys.stderr)
        return 2
    engine = get_engine()
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(nlu_audit.insert().values(author=args.author[:120], action="activate", path=f"models/{name}",
                                               detail=json.dumps({"model": name, "via": "cli"}),
                                               at=datetime.now(timezone.utc).replace(tzinfo=None)))
    print(f"activated {name}: running instances switch within a poll (MAJLIS_MODEL_POLL_S)")
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
    check = sub.add_parser("check", help="the checks before training (answer owners and dates, rasa data validate)")
    check.add_argument("--answers-only", action="store_true", help="only Majlis' own checks (no Rasa, a second)")
    check.set_defaults(run=run_checks)
    answers = sub.add_parser("answers", help="answers due or overdue for review")
    answers.add_argument("--state", choices=["overdue", "due", "current", "all"])
    answers.set_defaults(run=print_answers)
    activate = sub.add_parser("activate", help="switch every running instance to models/<model>")
    activate.add_argument("model")
    activate.add_argument("--author", default=os.environ.get("USER") or "cli")
    activate.set_defaults(run=activate_model)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except inbox.BadFilter as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
