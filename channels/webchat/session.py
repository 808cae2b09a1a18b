"""Web chat sessions and abuse limits: server-issued session tokens, operator JWTs, Origin, rates.

- A session is issued by the server: a random id and a token
  ``<id>.<HMAC-SHA256(secret, id)>`` the page keeps (localStorage) and presents on
  every reconnect.  The secret is ``MAJLIS_WEBCHAT_SECRET`` or, when unset, generated
  once per data dir (``<MAJLIS_DATA_DIR>/webchat.secret``).  No table: the token is
  its own proof, and a browser-chosen id has no valid token.
- The operator's site may vouch for a signed-in customer with a JWT
  (``MAJLIS_WEBCHAT_JWT_KEY``: the HS256 secret or the RS256 public key;
  ``MAJLIS_WEBCHAT_JWT_ALGORITHM``, default HS256): ``sub`` is the customer id, ``exp``
  is required.
- Socket.io connections must come from the page's own origin or one listed in
  ``MAJLIS_WEBCHAT_ORIGINS`` (comma-separated ``https://shop.example.com``).
- Sliding one-minute limits: messages per socket and per IP, connections per IP
  (``MAJLIS_WEBCHAT_MESSAGES_PER_MINUTE``, ``MAJLIS_WEBCHAT_IP_MESSAGES_PER_MINUTE``,
  ``MAJLIS_WEBCHAT_CONNECTIONS_PER_MINUTE``).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Deque, Dict, FrozenSet, Mapping, Optional, Tuple
from urllib.parse import urlsplit

import jwt

from bot.config import Config, Secret, config
from bot.identity import server_secret

logger = logging.getLogger(__name__)

SECRET_ENV = "MAJLIS_WEBCHAT_SECRET"
SECRET_FILE = "webchat.secret"
JWT_ALGORITHMS = ("HS256", "RS256")
#: Session ids: 24 URL-safe characters (144 random bits).
SESSION_ID_BYTES = 18
MAX_TOKEN_CHARS = 200


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-minute budgets of the web chat."""

    messages_per_socket: int = 20
    messages_per_ip: int = 60
    connections_per_ip: int = 30

    @classmethod
    def from_config(cls, cfg: Config = config) -> "Limits":
        default = cls()
        return cls(
            messages_per_socket=cfg("MAJLIS_WEBCHAT_MESSAGES_PER_MINUTE", cast=int,
                                    default=default.messages_per_socket),
            messages_per_ip=cfg("MAJLIS_WEBCHAT_IP_MESSAGES_PER_MINUTE", cast=int, default=default.messages_per_ip),
            connections_per_ip=cfg("MAJLIS_WEBCHAT_CONNECTIONS_PER_MINUTE", cast=int,
                                   default=default.connections_per_ip),
        )


class SessionTokens:
    """Issues session ids and checks the tokens that prove them (constant-time compare)."""

    def __init__(self, secret: Secret) -> None:
        if not secret:
            raise ValueError("the web chat session secret is empty")
        self._key = secret.reveal().encode("utf-8")

    @classmethod
    def from_config(cls, cfg: Config = config) -> "SessionTokens":
        return cls(server_secret(SECRET_ENV, SECRET_FILE, cfg))

    def _mac(self, session_id: str) -> str:
        return hmac.new(self._key, f"webchat-session:{session_id}".encode("ascii"), hashlib.sha256).hexdigest()

    def issue(self) -> Tuple[str, str]:
        """A new ``(session id, token)``."""
        session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
        return session_id, f"{session_id}.{self._mac(session_id)}"

    def session_of(self, token: object) -> Optional[str]:
        """The session a token proves, or None for anything else."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
            return None
        session_id, mac = token.split(".")
        if not session_id.isascii() or not mac.isascii():
            return None
        return session_id if session_id and hmac.compare_digest(mac, self._mac(session_id)) else None


class OperatorJWT:
    """Checks the operator site's JWT; ``customer_of`` is its ``sub`` when valid."""

    def __init__(self, key: Optional[str], algorithm: str = "HS256") -> None:
        if algorithm not in JWT_ALGORITHMS:
            raise ValueError(f"MAJLIS_WEBCHAT_JWT_ALGORITHM must be one of {', '.join(JWT_ALGORITHMS)}")
        self._key = key
        self._algorithm = algorithm

    @classmethod
    def from_config(cls, cfg: Config = config) -> "OperatorJWT":
        return cls(cfg("MAJLIS_WEBCHAT_JWT_KEY", default="") or None,
                   cfg("MAJLIS_WEBCHAT_JWT_ALGORITHM", default="HS256"))

    @property
    def enabled(self) -> bool:
        return bool(self._key)

    def customer_of(self, token: object) -> Optional[str]:
        """The customer id the token vouches for, or None (no key, bad signature, expired, no sub)."""
        if not self._key or not isinstance(token, str) or not token or len(token) > 8192:
            return None
        try:
            claims = jwt.decode(token, self._key, algorithms=[self._algorithm],
                                options={"require": ["exp", "sub"]})
        except jwt.PyJWTError as exc:
            logger.info("Web chat identity token refused: %s", type(exc).__name__)
            return None
        subject = claims.get("sub")
        return subject if isinstance(subject, str) and subject.strip() else None


def allowed_origins(cfg: Config = config) -> FrozenSet[str]:
    """``MAJLIS_WEBCHAT_ORIGINS`` as normalised origins (scheme://host[:port])."""
    raw = cfg("MAJLIS_WEBCHAT_ORIGINS", default="")
    return frozenset(origin.strip().rstrip("/").lower() for origin in raw.split(",") if origin.strip())


def origin_allowed(origin: Optional[str], host: Optional[str], allowed: FrozenSet[str]) -> bool:
    """Same origin as the page (the Origin's host:port is the Host the socket reached), or allow-listed.

    A missing Origin is refused: every browser sends one on a WebSocket or XHR.
    """
    if not origin:
        return False
    normalised = origin.strip().rstrip("/").lower()
    if normalised in allowed:
        return True
    parts = urlsplit(normalised)
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc == str(host).strip().lower()


class SlidingWindow:
    """At most ``limit`` events per key in any ``window`` seconds (in memory, per process)."""

    def __init__(self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.limit, self.window, self._clock, self._max_keys = limit, window, clock, max_keys
        self._events: Dict[str, Deque[float]] = {}

    def allow(self, key: str) -> bool:
        """Count an event for ``key``; False (and not counted) when the budget is spent."""
        if self.limit <= 0:
            return True
        now = self._clock()
        events = self._events.get(key)
        if events is None:
            if len(self._events) >= self._max_keys:
                self._prune(now)
            events = self._events[key] = deque()
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True

    def retry_after(self, key: str) -> int:
        """Whole seconds until ``key`` may send again."""
        events = self._events.get(key)
        if not events:
            return 0
        return max(1, int(events[0] + self.window - self._clock() + 0.999))

    def forget(self, key: str) -> None:
        self._events.pop(key, None)

    def _prune(self, now: float) -> None:
        for key in [k for k, events in self._events.items() if not events or events[-1] <= now - self.window]:
            del self._events[key]


def client_ip(environ: Mapping[str, object]) -> str:
    """The peer address as Sanic sees it (proxy headers only when Sanic is configured to trust them)."""
    request = environ.get("sanic.request")
    address = getattr(request, "remote_addr", "") or getattr(request, "ip", "") if request is not None else ""
    return str(address or environ.get("REMOTE_ADDR") or "unknown")


__all__ = ["Limits", "OperatorJWT", "SessionTokens", "SlidingWindow", "allowed_origins", "client_ip",
           "origin_allowed"]
