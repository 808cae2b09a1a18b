"""Agents, their sessions, and integration tokens (SQL, through bot.storage).

Password checks run on their own small thread pool (:data:`HASH_WORKERS` threads),
never on the store's database thread: a burst of wrong sign-ins waits for scrypt
there while signed-in agents' session checks go straight through.  At most
:data:`HASH_QUEUE` checks may wait; beyond that a sign-in is refused as busy.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.agent_desk.security import (
    dummy_hash,
    hash_password,
    is_password_hash,
    new_token,
    token_hash,
    verify_password,
)
from bot.delivery import utcnow
from bot.handoff.desk import ROLES, Actor
from bot.handoff.records import from_db, to_db
from bot.handoff.store import SqlStore
from bot.storage.schema import agent, agent_session, api_token

logger = logging.getLogger(__name__)

SCOPES = ("handoffs:read", "handoffs:claim", "handoffs:reply", "handoffs:transfer", "handoffs:close",
          "customers:link")  # customers:link: the operator's backend (bot/agent_desk/links_api.py)
SESSION_LIFETIME = timedelta(hours=12)
_DISABLED = "!"
HASH_WORKERS = 2
HASH_QUEUE = 64


class Busy(Exception):
    """Too many password checks are waiting already."""


def _split(value: str) -> frozenset:
    return frozenset(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """A desk user (a person, or the identity an integration acts as)."""

    id: int
    email: str
    display_name: str
    role: str
    languages: frozenset
    queues: frozenset
    active: bool = True

    def actor(self) -> Actor:
        return Actor(id=self.id, name=self.display_name, role=self.role, languages=self.languages,
                     queues=self.queues)

    @classmethod
    def from_row(cls, row: sa.engine.Row) -> "Account":
        return cls(id=row.id, email=row.email, display_name=row.display_name, role=row.role,
                   languages=_split(row.languages), queues=_split(row.queues), active=bool(row.active))


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    account: Account
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Integration:
    """An API token's holder: its scopes and the desk identity it acts as."""

    name: str
    scopes: frozenset
    account: Account


class AccountStore(SqlStore):
    """Agents, sessions and API tokens."""

    def __init__(self, engine: sa.engine.Engine) -> None:
        super().__init__(engine)
        self._hashing = ThreadPoolExecutor(max_workers=HASH_WORKERS, thread_name_prefix="majlis-password")
        self._hash_slots = threading.BoundedSemaphore(HASH_QUEUE)

    def shutdown(self) -> None:
        super().shutdown()
        self._hashing.shutdown(wait=False)

    async def _check_password(self, password: str, stored: Optional[str]) -> bool:
        """scrypt on the password pool (admission bounded by :data:`HASH_QUEUE`); None: the dummy hash."""
        if not self._hash_slots.acquire(blocking=False):
            raise Busy()
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._hashing, lambda: verify_password(password, stored or dummy_hash()))
        finally:
            self._hash_slots.release()

    def _create_agent(self, *, email: str, display_name: str, password_hash: str, role: str,
                      languages: Sequence[str], queues: Sequence[str]) -> Account:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        with self.engine.begin() as conn:
            new_id = conn.execute(agent.insert().values(
                email=email.strip().lower(), display_name=display_name, password_hash=password_hash, role=role,
                languages=",".join(languages), queues=",".join(queues), active=True,
                created_at=to_db(utcnow()))).inserted_primary_key[0]
            return Account.from_row(conn.execute(sa.select(agent).where(agent.c.id == new_id)).one())

    def create_agent(self, *, email: str, password: str, role: str, languages: Sequence[str],
                     queues: Sequence[str] = ("*",), display_name: Optional[str] = None) -> Account:
        """Create a desk user (synchronous: used by the CLI and tests).

        Raises:
            ValueError: bad role, short password, or the email exists already.
        """
        try:
            return self._create_agent(email=email, display_name=display_name or email.split("@")[0],
                                      password_hash=hash_password(password), role=role, languages=languages,
                                      queues=queues)
        except IntegrityError:
            raise ValueError("an account with this email exists already") from None

    def create_token(self, *, name: str, scopes: Sequence[str], queues: Sequence[str] = ("*",),
                     languages: Sequence[str] = ("*",)) -> str:
        """Create an integration token (shown once) and the desk identity it acts as.

        After :meth:`revoke_token` the same name can be issued again: the identity is
        reused (with the new queues and languages), so its past replies keep their author.

        Raises:
            ValueError: unknown scope, or the integration still has a live token.
        """
        unknown = set(scopes) - set(SCOPES)
        if unknown:
            raise ValueError(f"unknown scope(s): {', '.join(sorted(unknown))}")
        email = f"integration+{name}@majlis.invalid"
        with self.engine.connect() as conn:
            live = conn.execute(sa.select(sa.func.count()).select_from(api_token).where(
                api_token.c.name == name, api_token.c.revoked_at.is_(None))).scalar()
            existing = conn.execute(sa.select(agent).where(agent.c.email == email)).first()
        if live:
            raise ValueError(f"integration {name!r} has a live token; revoke it first")
        if existing is None:
            account = self._create_agent(email=email, display_name=name, password_hash=_DISABLED, role="agent",
                                         languages=languages, queues=queues)
        else:
            with self.engine.begin() as conn:
                conn.execute(sa.update(agent).where(agent.c.id == existing.id).values(
                    languages=",".join(languages), queues=",".join(queues), active=True))
            account = Account.from_row(existing)
        token = new_token("mjl_")
        with self.engine.begin() as conn:
            conn.execute(api_token.insert().values(name=name, token_hash=token_hash(token), scopes=",".join(scopes),
                                                   queues=",".join(queues), agent_id=account.id,
                                                   created_at=to_db(utcnow())))
        return token

    def revoke_token(self, name: str) -> int:
        """Revoke every live token of integration ``name``; returns how many."""
        with self.engine.begin() as conn:
            return conn.execute(sa.update(api_token).where(api_token.c.name == name, api_token.c.revoked_at.is_(None))
                                .values(revoked_at=to_db(utcnow()))).rowcount

    def _by_email(self, conn: sa.engine.Connection, email: str) -> sa.engine.Row:
        row = conn.execute(sa.select(agent).where(agent.c.email == email.strip().lower())).first()
        if row is None:
            raise ValueError(f"no account {email.strip().lower()!r}")
        return row

    def account_by_email(self, email: str) -> Account:
        """Raises:
            ValueError: no such account.
        """
        with self.engine.connect() as conn:
            return Account.from_row(self._by_email(conn, email))

    def set_active(self, email: str, active: bool) -> Account:
        """Disable (or enable again) an account; disabling ends its sessions at once.

        Raises:
            ValueError: no such account.
        """
        with self.engine.begin() as conn:
            row = self._by_email(conn, email)
            conn.execute(sa.update(agent).where(agent.c.id == row.id).values(active=active))
            if not active:
                conn.execute(agent_session.delete().where(agent_session.c.agent_id == row.id))
            return Account.from_row(conn.execute(sa.select(agent).where(agent.c.id == row.id)).one())

    def set_password(self, email: str, password: str) -> int:
        """A new password; every session of the account ends.  Returns how many ended.

        Raises:
            ValueError: no such account, an integration identity, or a short password.
        """
        new_hash = hash_password(password)
        with self.engine.begin() as conn:
            row = self._by_email(conn, email)
            if not is_password_hash(row.password_hash):
                raise ValueError("integration identities have no password")
            conn.execute(sa.update(agent).where(agent.c.id == row.id).values(password_hash=new_hash))
            return conn.execute(agent_session.delete().where(agent_session.c.agent_id == row.id)).rowcount

    def sessions(self, email: str, *, end: bool = False) -> int:
        """How many live sessions an account has (``end``: end them all and say how many).

        Raises:
            ValueError: no such account.
        """
        with self.engine.begin() as conn:
            row = self._by_email(conn, email)
            mine = agent_session.c.agent_id == row.id
            if end:
                return conn.execute(agent_session.delete().where(mine)).rowcount
            return int(conn.execute(sa.select(sa.func.count()).select_from(agent_session).where(
                mine, agent_session.c.expires_at > to_db(utcnow()))).scalar() or 0)

    def list_agents(self) -> List[Account]:
        with self.engine.connect() as conn:
            return [Account.from_row(r) for r in conn.execute(sa.select(agent).order_by(agent.c.id))]

    # -- async, for the web app -------------------------------------------

    async def authenticate(self, email: str, password: str) -> Optional[Account]:
        """The account if the password matches.

        Unknown, disabled and integration accounts are checked against a dummy hash of the
        same cost, so the answer takes as long as for a real account.

        Raises:
            Busy: too many password checks are waiting.
        """
        def find() -> Optional[sa.engine.Row]:
            with self.engine.connect() as conn:
                return conn.execute(sa.select(agent).where(agent.c.email == email.strip().lower())).first()
        row = await self._run(find)
        usable = row is not None and row.active and is_password_hash(row.password_hash)
        matches = await self._check_password(password, row.password_hash if usable else None)
        return Account.from_row(row) if usable and matches else None

    async def start_session(self, account: Account) -> Tuple[str, Session]:
        """A new session: (cookie token, session)."""
        token, csrf, expires = new_token(), new_token(), utcnow() + SESSION_LIFETIME

        def run() -> None:
            with self.engine.begin() as conn:
                conn.execute(agent_session.delete().where(agent_session.c.expires_at < to_db(utcnow())))
                conn.execute(agent_session.insert().values(token_hash=token_hash(token), agent_id=account.id,
                                                           csrf_token=csrf, created_at=to_db(utcnow()),
                                                           expires_at=to_db(expires)))
        await self._run(run)
        return token, Session(account=account, csrf_token=csrf, expires_at=expires)

    async def session(self, token: Optional[str]) -> Optional[Session]:
        """The live session of a cookie token, or None."""
        if not token:
            return None

        def run() -> Optional[Session]:
            query = sa.select(agent, agent_session.c.csrf_token, agent_session.c.expires_at).join(
                agent_session, agent_session.c.agent_id == agent.c.id).where(
                agent_session.c.token_hash == token_hash(token))
            with self.engine.connect() as conn:
                row = conn.execute(query).first()
            if row is None or not row.active or from_db(row.expires_at) <= utcnow():
                return None
            return Session(account=Account.from_row(row), csrf_token=row.csrf_token,
                           expires_at=from_db(row.expires_at))
        return await self._run(run)

    async def end_session(self, token: str) -> None:
        def run() -> None:
            with self.engine.begin() as conn:
                conn.execute(agent_session.delete().where(agent_session.c.token_hash == token_hash(token)))
        await self._run(run)

    async def integration(self, token: Optional[str]) -> Optional[Integration]:
        """The integration holding a bearer token, or None (unknown or revoked)."""
        if not token:
            return None

        def run() -> Optional[Integration]:
            query = sa.select(api_token.c.name, api_token.c.scopes, api_token.c.revoked_at, agent).join(
                agent, agent.c.id == api_token.c.agent_id).where(api_token.c.token_hash == token_hash(token))
            with self.engine.connect() as conn:
                row = conn.execute(query).first()
            if row is None or row.revoked_at is not None:
                return None
            return Integration(name=row.name, scopes=_split(row.scopes), account=Account.from_row(row))
        return await self._run(run)

    async def account(self, agent_id: int) -> Optional[Account]:
        """An account by id (None when there is none)."""
        def run() -> Optional[Account]:
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(agent).where(agent.c.id == agent_id)).first()
            return Account.from_row(row) if row else None
        return await self._run(run)

    async def actor(self, agent_id: int) -> Optional[Actor]:
        """The desk identity of an active account (None: no such account, or disabled)."""
        account = await self.account(agent_id)
        return account.actor() if account is not None and account.active else None

    async def names(self, ids: Sequence[int]) -> Mapping[int, str]:
        """Display names of agents by id."""
        if not ids:
            return {}

        def run() -> Dict[int, str]:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(agent.c.id, agent.c.display_name).where(agent.c.id.in_(list(ids))))
                return {row.id: row.display_name for row in rows}
        return await self._run(run)

    async def agents(self) -> List[Account]:
        return await self._run(self.list_agents)
