"""Passwords, tokens and CSRF checks for the agent desk.

Passwords are hashed with scrypt (``hashlib.scrypt``, memory-hard, in the standard
library: no extra package).  An unknown email is checked against :func:`dummy_hash`
(same cost), so a wrong email and a wrong password take the same work.  Session and API tokens are random 256-bit values; only
their SHA-256 is stored, so a database dump does not let anyone sign in.  Every
comparison of secrets is constant-time.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Optional

#: scrypt cost: N=2**14, r=8, p=1 (the parameters OWASP lists for scrypt), 64-byte key.
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN = 2**14, 8, 1, 64
SCHEME = "scrypt"
MIN_PASSWORD = 10
MAX_PASSWORD = 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    """The one scrypt call (tests count calls to it)."""
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=128 * n * r * 2, dklen=dklen)


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    """``scrypt$n$r$p$salt$hash`` for storage.

    Raises:
        ValueError: the password is shorter than :data:`MIN_PASSWORD` characters.
    """
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValueError(f"passwords need {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    salt = secrets.token_bytes(16)
    digest = _derive(password, salt, n, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN)
    return f"{SCHEME}${n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored`` (False for malformed or disabled hashes)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != SCHEME:
            return False
        expected = base64.b64decode(digest)
        actual = _derive(password, base64.b64decode(salt), int(n), int(r), int(p), len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


_dummy: Optional[str] = None


def dummy_hash() -> str:
    """A hash of a random password with the real cost: checked when there is no account."""
    global _dummy
    if _dummy is None:
        _dummy = hash_password(secrets.token_urlsafe(24))
    return _dummy


def is_password_hash(stored: str) -> bool:
    """False for the disabled marker of integration identities (no password sign-in)."""
    return stored.startswith(SCHEME + "$")


def new_token(prefix: str = "") -> str:
    """A random, URL-safe 256-bit token."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored for a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same(a: Optional[str], b: Optional[str]) -> bool:
    """Constant-time equality of two secrets; False when either is missing."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def sign_body(secret: str, body: bytes, *, at: Optional[int] = None) -> str:
    """``t=<unix>,v1=<hex>``: HMAC-SHA256 of ``"<t>.<body>"`` (a receiver refuses old ``t``: no replay)."""
    stamp = int(time.time()) if at is None else at
    signed = str(stamp).encode("ascii") + b"." + body
    return f"t={stamp},v1=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
