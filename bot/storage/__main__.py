"""``python -m bot.storage upgrade | current | revision -m "..."``: Majlis' schema migrations by hand.

Start-up migrates by itself (:func:`bot.storage.migrate`); this is for operators
(upgrade before a deploy) and developers (write a revision after editing
``bot/storage/schema.py``).  The database is ``MAJLIS_DATABASE_URL`` (default SQLite).
"""
from __future__ import annotations

import argparse
from typing import Optional, Sequence

from alembic import command

from bot.storage.engine import get_engine
from bot.storage.migrations import alembic_config, applied_versions, head, migrate


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``upgrade`` the configured database, show the ``current`` revision, or write a new ``revision``."""
    parser = argparse.ArgumentParser(prog="python -m bot.storage", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("upgrade", help="apply the missing revisions (what start-up does)")
    commands.add_parser("current", help="print the applied revision")
    new = commands.add_parser("revision", help="write a new revision from the schema differences")
    new.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)
    engine = get_engine()
    if args.command == "upgrade":
        print(" ".join(migrate(engine)) or "already current")
    elif args.command == "current":
        print(" ".join(applied_versions(engine)[-1:]) or "none")
    else:
        with engine.begin() as conn:
            command.revision(alembic_config(conn), message=args.message, autogenerate=True,
                             rev_id=f"{int(head()) + 1:04d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
