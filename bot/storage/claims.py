"""Claims shared by several instances: who works on a row, and until when.

A row of the inbox or the outbox is *claimed* by writing the claiming instance's id
(``claimed_by``) and a lease (``lease_until``).  Another instance leaves a claimed row
alone until its lease has passed; then the row is free again (its claimer crashed or
hung), so no work is stranded by a dead process.  Leases are compared with the
instances' own clocks (keep them in sync, e.g. NTP).

On PostgreSQL the row is selected ``FOR UPDATE SKIP LOCKED`` before it is claimed, so
two instances claiming at the same moment never wait for each other and never take
the same row; on SQLite the whole claim is one ``BEGIN IMMEDIATE`` transaction (one
writer at a time), which gives the same guarantee.
"""
from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any, Dict, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

#: Environment variable naming this instance (stable across its restarts: ``rasa-1``).
INSTANCE_ENV = "MAJLIS_INSTANCE_ID"
#: How long a claim holds without being finished (a turn or a send takes seconds).
DEFAULT_LEASE = timedelta(minutes=5)
#: Environment variable overriding :data:`DEFAULT_LEASE`, in seconds.
LEASE_ENV = "MAJLIS_CLAIM_LEASE_S"
#: The instance id of the embedded default: one Rasa process per SQLite database.
EMBEDDED = "embedded"


def instance_id(engine: Engine) -> str:
    """This process' claimer id.

    ``MAJLIS_INSTANCE_ID`` when set: an instance restarted under the same id takes its
    own unfinished claims back at once (:meth:`recover`), without waiting for the lease.
    Otherwise one fixed id on SQLite (the embedded default runs one Rasa process per
    database), and a unique one per process on PostgreSQL (claims of a crashed process
    are then taken over once their lease has passed).
    """
    configured = os.environ.get(INSTANCE_ENV, "").strip()
    if configured:
        return configured[:64]
    if engine.dialect.name == "sqlite":
        return EMBEDDED
    return f"{socket.gethostname()[:32]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def configured_lease() -> timedelta:
    """``MAJLIS_CLAIM_LEASE_S`` seconds, or :data:`DEFAULT_LEASE`: how soon a crashed claimer's work moves on."""
    value = os.environ.get(LEASE_ENV, "").strip()
    if not value:
        return DEFAULT_LEASE
    seconds = float(value)
    if seconds <= 0:
        raise ValueError(f"{LEASE_ENV} must be a positive number of seconds, not {value!r}")
    return timedelta(seconds=seconds)


def lease_live(row: Any, now: datetime) -> bool:
    """Whether ``row``'s claim still holds at (naive UTC) ``now``."""
    return row.claimed_by is not None and row.lease_until is not None and row.lease_until >= now


def claimable_by(table: sa.Table, owner: str, now: datetime) -> Any:
    """SQL: the row is unclaimed, claimed by ``owner``, or its lease has passed (naive UTC ``now``)."""
    return sa.or_(table.c.claimed_by.is_(None), table.c.claimed_by == owner,
                  table.c.lease_until.is_(None), table.c.lease_until < now)


def claim_values(owner: str, now: datetime, lease: timedelta) -> Dict[str, Any]:
    """The columns of a fresh claim by ``owner`` at (naive UTC) ``now``."""
    return {"claimed_by": owner, "lease_until": now + lease}


RELEASED: Dict[str, Optional[Any]] = {"claimed_by": None, "lease_until": None}
"""The columns of a row nobody claims."""


def pg_lock(conn: Any, name: str, *, wait: bool = True) -> bool:
    """A PostgreSQL advisory lock held until the transaction ends (always True elsewhere).

    Args:
        name: what is locked (hashed to the lock key), e.g. ``"recover whatsapp_cloud"``.
        wait: wait for it (True), or return False at once when another holds it.
    """
    if conn.dialect.name != "postgresql":
        return True
    fn = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    value = conn.execute(sa.text(f"SELECT {fn}(hashtext(:name))"), {"name": f"majlis {name}"}).scalar()
    return True if wait else bool(value)


def renew_claims(conn: Any, table: sa.Table, owner: str, now: datetime, lease: timedelta, *where: Any) -> int:
    """Push the lease of ``owner``'s claims on ``table`` (narrowed by ``where``) to ``now + lease``.

    A claim is renewed only while ``owner`` still holds it: a row another instance took
    over (the lease had passed) or that was finished (claim released) is left alone.
    Returns how many rows were renewed.
    """
    return conn.execute(sa.update(table).where(table.c.claimed_by == owner, *where)
                        .values(lease_until=now + lease)).rowcount


def renewal_interval(lease: timedelta) -> float:
    """Seconds between two renewals of a claim: a third of the lease, so two renewals can
    fail (a slow database) before it passes."""
    return max(lease.total_seconds() / 3, 0.05)
