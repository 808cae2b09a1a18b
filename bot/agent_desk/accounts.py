"""Agents, their sessions, and integration tokens (SQL, through bot.storage)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.agent_desk.security import hash_password, new_token, token_hash, verify_password
from bot.delivery import utcnow
from bot.handoff.desk import ROLES, Actor
from bot.handoff.records import from_db, to_db
from bot.handoff.store import SqlStore
from bot.storage.schema import agent, agent_session, api_token

logger = logging.getLogger(__name__)

SCOPES = ("handoffs:read", "handoffs:claim", "handoffs:reply", "handoffs:transfer", "handoffs:close")
SESSION_LIFETIME = timedelta(hours=12)
_DISABLED = "!"


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
        """Create an integration token (shown once) and the desk identity it acts as."""
        unknown = set(scopes) - set(SCOPES)
        if unknown:
            raise ValueError(f"unknown scope(s): {', '.join(sorted(unknown))}")
        account = self._create_agent(email=f"integration+{name}@majlis.invalid", display_name=name,
                                     password_hash=_DISABLED, role="agent", languages=languages, queues=queues)
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

    def list_agents(self) -> List[Account]:
        with self.engine.connect() as conn:
            return [Account.from_row(r) for r in conn.execute(sa.select(agent).order_by(agent.c.id))]

    # -- async, for the web app -------------------------------------------

    async def authenticate(self, email: str, password: str) -> Optional[Account]:
        """The account if the password matches (scrypt runs in the thread pool)."""
        def run() -> Optional[Account]:
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(agent).where(agent.c.email == email.strip().lower())).first()
            if row is None or not row.active or not verify_password(password, row.password_hash):
                return None
            return Account.from_row(row)
        return await self._run(run)

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
