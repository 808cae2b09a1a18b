"""Create desk accounts and integration tokens from the command line.

::

    python -m bot.agent_desk.users create --email sara@example.com --role agent --languages ar,en \\
        [--queues general,billing] [--name "Sara"]          # password: prompt, or MAJLIS_NEW_PASSWORD
    python -m bot.agent_desk.users token --name crm --scopes handoffs:read,handoffs:reply [--queues general]
    python -m bot.agent_desk.users revoke --name crm        # then `token --name crm` issues a new one
    python -m bot.agent_desk.users disable sara@example.com  # signs her out everywhere, at once
    python -m bot.agent_desk.users enable sara@example.com
    python -m bot.agent_desk.users password sara@example.com # new password; ends her sessions
    python -m bot.agent_desk.users sessions [--end] sara@example.com
    python -m bot.agent_desk.users capacity sara@example.com 4   # concurrent conversations ("default": handoff.yml)
    python -m bot.agent_desk.users list

The database is ``MAJLIS_DATABASE_URL`` (default: SQLite under ``MAJLIS_DATA_DIR``).
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import List, Optional

from bot.agent_desk.accounts import SCOPES, AccountStore
from bot.delivery import utcnow
from bot.handoff.assignment_store import AssignmentStore
from bot.handoff.desk import ROLES
from bot.storage import get_engine, migrate


def _csv(value: str) -> List[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _capacity(raw: str) -> int:
    if not raw.isdigit():
        raise ValueError("capacity is a whole number (0 or more) or \"default\"")
    return int(raw)


def _password() -> str:
    from_env = os.environ.get("MAJLIS_NEW_PASSWORD")
    if from_env:
        return from_env
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise SystemExit("passwords differ")
    return first


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.agent_desk.users", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a desk account")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--languages", required=True, type=_csv, help="e.g. ar,en")
    create.add_argument("--queues", default=["*"], type=_csv, help="queues served (default: all)")
    create.add_argument("--name", help="display name (default: the part of the email before @)")
    token = commands.add_parser("token", help="create an integration token (printed once)")
    token.add_argument("--name", required=True)
    token.add_argument("--scopes", required=True, type=_csv, help=f"any of {', '.join(SCOPES)}")
    token.add_argument("--queues", default=["*"], type=_csv)
    revoke = commands.add_parser("revoke", help="revoke an integration's tokens")
    revoke.add_argument("--name", required=True)
    for name, text in (("disable", "disable an account and end its sessions"), ("enable", "enable an account"),
                       ("password", "set a new password (ends the account's sessions)")):
        commands.add_parser(name, help=text).add_argument("email")
    sessions = commands.add_parser("sessions", help="count an account's live sessions (--end: end them)")
    sessions.add_argument("--end", action="store_true")
    sessions.add_argument("email")
    capacity = commands.add_parser("capacity", help="how many conversations an agent is offered at once")
    capacity.add_argument("email")
    capacity.add_argument("capacity", help='a whole number, or "default" (handoff.yml assignment.default_capacity)')
    commands.add_parser("list", help="list accounts")
    args = parser.parse_args(argv)

    engine = get_engine()
    migrate(engine)
    store = AccountStore(engine)
    assignment = AssignmentStore(engine)
    out = sys.stdout
    try:
        if args.command == "create":
            account = store.create_agent(email=args.email, password=_password(), role=args.role,
                                         languages=args.languages, queues=args.queues, display_name=args.name)
            out.write(f"created {account.role} #{account.id} {account.email}\n")
        elif args.command == "token":
            out.write(store.create_token(name=args.name, scopes=args.scopes, queues=args.queues) + "\n")
        elif args.command == "revoke":
            out.write(f"revoked {store.revoke_token(args.name)} token(s)\n")
        elif args.command in ("disable", "enable"):
            account = store.set_active(args.email, args.command == "enable")
            out.write(f"{args.command}d {account.role} #{account.id} {account.email}\n")
        elif args.command == "password":
            ended = store.set_password(args.email, _password())
            out.write(f"password changed; ended {ended} session(s)\n")
        elif args.command == "sessions":
            count = store.sessions(args.email, end=args.end)
            out.write(f"ended {count} session(s)\n" if args.end else f"{count} live session(s)\n")
        elif args.command == "capacity":
            account = store.account_by_email(args.email)
            value = None if args.capacity == "default" else _capacity(args.capacity)
            assignment.set_capacity_now(account.id, value, utcnow())
            out.write(f"capacity of #{account.id} {account.email}: {args.capacity}\n")
        else:
            presences = assignment.presences_now()
            for account in store.list_agents():
                found = presences.get(account.id)
                capacity = found.capacity if found is not None and found.capacity is not None else "default"
                out.write(f"#{account.id}\t{account.role}\t{account.email}\t{','.join(sorted(account.languages))}"
                          f"\t{','.join(sorted(account.queues))}\t{'active' if account.active else 'disabled'}"
                          f"\tcapacity {capacity}\n")
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    finally:
        store.shutdown()
        assignment.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
