"""One-time codes for the demo backend: hashed, expiring, limited; "sent" to a recorded SMS outbox.

A real operator sends the code through its SMS gateway.  The demo has none, so
:meth:`DemoVerification.send` writes the text message it would have sent to the
``sms_outbox`` table of the demo database (``<MAJLIS_DATA_DIR>/care_demo.sqlite``),
where tests read it and a person trying the demo sees it with::

    .venv/bin/python -m actions.api.demo_verification 0501234567     # the latest SMS to that line

The code itself is stored only as a salted SHA-256 hash; it expires after
:data:`CODE_TTL`, allows :data:`MAX_ATTEMPTS` wrong tries, and a line gets at most
:data:`MAX_SENDS` codes per :data:`SEND_WINDOW`.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import secrets
import sqlite3
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from actions.api.care_backend import CodeCheck

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
MAX_SENDS = 3
SEND_WINDOW = timedelta(minutes=15)

SCHEMA = """
CREATE TABLE IF NOT EXISTS verification_codes (
    line TEXT PRIMARY KEY,
    salt TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS verification_sends (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    line TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sms_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    line TEXT NOT NULL,
    text TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
"""

SMS_TEXT = "رمز التحقق من Majlis: {code} (صالح 10 دقائق) · Your Majlis verification code: {code} (valid 10 minutes)"


def _hash(salt: str, line: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{line}:{code}".encode("utf-8")).hexdigest()


class DemoVerification:
    """The demo's one-time codes, in the demo backend's SQLite file.

    Args:
        connect: opens a connection to the demo database (schema created by the caller).
        now: the clock (aware UTC).
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection], now: Callable[[], datetime]) -> None:
        self._connect = connect
        self._now = now

    def _send(self, line: str) -> bool:
        now = self._now()
        connection = self._connect()
        try:
            with connection:
                recent = connection.execute(
                    "SELECT COUNT(*) FROM verification_sends WHERE line = ? AND sent_at > ?",
                    (line, (now - SEND_WINDOW).isoformat())).fetchone()[0]
                if recent >= MAX_SENDS:
                    return False
                code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
                salt = secrets.token_hex(16)
                connection.execute(
                    "INSERT INTO verification_codes (line, salt, code_hash, expires_at, attempts) "
                    "VALUES (?, ?, ?, ?, 0) ON CONFLICT(line) DO UPDATE SET salt = excluded.salt, "
                    "code_hash = excluded.code_hash, expires_at = excluded.expires_at, attempts = 0",
                    (line, salt, _hash(salt, line, code), (now + CODE_TTL).isoformat()))
                connection.execute("INSERT INTO verification_sends (line, sent_at) VALUES (?, ?)",
                                   (line, now.isoformat()))
                connection.execute("INSERT INTO sms_outbox (line, text, sent_at) VALUES (?, ?, ?)",
                                   (line, SMS_TEXT.format(code=code), now.isoformat()))
            return True
        finally:
            connection.close()

    def _check(self, line: str, code: str) -> str:
        now = self._now()
        connection = self._connect()
        try:
            with connection:
                row = connection.execute(
                    "SELECT salt, code_hash, expires_at, attempts FROM verification_codes WHERE line = ?",
                    (line,)).fetchone()
                if row is None or datetime.fromisoformat(row[2]) <= now:
                    return "expired"
                salt, code_hash, _expires, attempts = row
                if attempts >= MAX_ATTEMPTS:
                    return "locked"
                if hmac.compare_digest(code_hash, _hash(salt, line, code)):
                    connection.execute("DELETE FROM verification_codes WHERE line = ?", (line,))
                    return "verified"
                connection.execute("UPDATE verification_codes SET attempts = attempts + 1 WHERE line = ?", (line,))
                return "locked" if attempts + 1 >= MAX_ATTEMPTS else "wrong"
        finally:
            connection.close()

    async def send(self, line: str) -> bool:
        """Record a new code for ``line`` in the SMS outbox; False when the send limit is reached."""
        return await asyncio.to_thread(self._send, line)

    async def check(self, line: str, code: str, customer_id: Optional[str]) -> CodeCheck:
        """Check ``code`` for ``line``; ``customer_id`` is who the line belongs to."""
        outcome = await asyncio.to_thread(self._check, line, code)
        if outcome == "verified" and customer_id:
            return CodeCheck(outcome="verified", customer_id=customer_id)
        return CodeCheck(outcome="expired" if outcome == "verified" else outcome)

    def sent_messages(self, line: str) -> List[Tuple[str, str]]:
        """``(sent_at, text)`` of every SMS recorded for ``line``, newest first (tests, demo)."""
        connection = self._connect()
        try:
            return [tuple(row) for row in connection.execute(
                "SELECT sent_at, text FROM sms_outbox WHERE line = ? ORDER BY id DESC", (line,))]
        finally:
            connection.close()


def main(argv: Optional[List[str]] = None) -> int:
    """Print the latest SMS the demo backend "sent" to a line (where a demo user reads the code)."""
    from actions.api.demo_backend import DemoCareBackend
    from bot.identity import normalise_line

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("line", nargs="+", help="the mobile number given to the assistant, e.g. 0501234567")
    parser.add_argument("--all", action="store_true", help="every SMS to the line, newest first")
    args = parser.parse_args(argv)
    written = " ".join(args.line)
    line = normalise_line(written)
    if line is None:
        print(f"not a mobile number: {written}", file=sys.stderr)
        return 2
    messages = DemoCareBackend.from_config().verification.sent_messages(line)
    if not messages:
        print(f"no SMS recorded for {line} in {Path(DemoCareBackend.from_config().database)}", file=sys.stderr)
        return 1
    for sent_at, text in messages if args.all else messages[:1]:
        print(f"{sent_at}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
