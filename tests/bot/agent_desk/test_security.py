"""bot/agent_desk/security.py: password hashes, tokens, constant-time comparison, webhook signatures.

Known-answer vectors where a standard defines one (SHA-256 of "abc", RFC 4231-style
HMAC-SHA256), and scrypt digests recomputed independently from what is stored.
"""
from __future__ import annotations

import base64
import hashlib

import pytest

from bot.agent_desk.security import (
    MIN_PASSWORD,
    hash_password,
    new_token,
    same,
    sign_body,
    token_hash,
    verify_password,
)

PASSWORD = "correct horse battery"


def test_a_password_hash_is_scrypt_with_the_stated_parameters_and_a_fresh_salt() -> None:
    stored = hash_password(PASSWORD)
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    salt_bytes, digest_bytes = base64.b64decode(salt), base64.b64decode(digest)
    assert len(salt_bytes) == 16 and len(digest_bytes) == 64
    expected = hashlib.scrypt(PASSWORD.encode("utf-8"), salt=salt_bytes, n=16384, r=8, p=1, maxmem=2**26, dklen=64)
    assert digest_bytes == expected
    assert hash_password(PASSWORD) != stored  # a new salt each time


def test_the_cost_parameter_is_used() -> None:
    stored = hash_password(PASSWORD, n=2**10)
    assert stored.split("$")[1] == "1024"
    _s, _n, _r, _p, salt, digest = stored.split("$")
    assert base64.b64decode(digest) == hashlib.scrypt(PASSWORD.encode(), salt=base64.b64decode(salt), n=1024,
                                                      r=8, p=1, dklen=64)
    assert verify_password(PASSWORD, stored)


def test_verify_accepts_only_the_right_password() -> None:
    stored = hash_password(PASSWORD, n=2**10)
    assert verify_password(PASSWORD, stored) is True
    assert verify_password(PASSWORD + " ", stored) is False
    assert verify_password("كلمة سر خاطئة تماما", stored) is False


@pytest.mark.parametrize("stored", [
    "!",                                               # a disabled account (integration identities)
    "",
    "bcrypt$1024$8$1$c2FsdA==$ZGlnZXN0",               # another scheme
    "scrypt$1024$8$1$c2FsdA==",                        # a part missing
    "scrypt$many$8$1$c2FsdA==$ZGlnZXN0",               # not a number
    "scrypt$1024$8$1$not base64!$ZGlnZXN0",            # not base64
])
def test_malformed_or_disabled_hashes_never_match(stored: str) -> None:
    assert verify_password(PASSWORD, stored) is False


def test_a_hash_of_another_scheme_with_the_right_digest_is_refused() -> None:
    stored = hash_password(PASSWORD, n=2**10)
    assert verify_password(PASSWORD, "bcrypt" + stored[len("scrypt"):]) is False


def test_short_passwords_are_refused() -> None:
    with pytest.raises(ValueError, match="^passwords need 10 to 1024 characters$"):
        hash_password("x" * (MIN_PASSWORD - 1), n=2**10)
    assert verify_password("x" * MIN_PASSWORD, hash_password("x" * MIN_PASSWORD, n=2**10))
    assert MIN_PASSWORD == 10


def test_tokens_are_random_256_bit_and_prefixed() -> None:
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50 and all(len(t) == 43 for t in tokens)  # 32 bytes, URL-safe base64
    assert len(base64.urlsafe_b64decode(next(iter(tokens)) + "=")) == 32
    prefixed = new_token("mjl_")
    assert prefixed.startswith("mjl_") and len(prefixed) == 47


def test_token_hash_is_sha256_hex() -> None:
    assert token_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert token_hash("مفتاح") == hashlib.sha256("مفتاح".encode("utf-8")).hexdigest()


@pytest.mark.parametrize("a, b, equal", [
    ("s3cret", "s3cret", True),
    ("s3cret", "s3creT", False),
    ("s3cret", "s3cret-longer", False),
    ("رمز", "رمز", True),
    (None, None, False),       # a missing secret never matches, not even another missing one
    ("", "", False),
    ("s3cret", None, False),
    (None, "s3cret", False),
    ("", "s3cret", False),
])
def test_same_is_plain_equality_of_present_secrets(a, b, equal) -> None:
    assert same(a, b) is equal


EXPECTED_V1 = "2f658d6aef4f246e91cd741bbcded7479e9605f9d41c9e248122a117e0e1765b"


def test_webhook_signature_is_hmac_sha256_of_the_body() -> None:
    body = b"The quick brown fox jumps over the lazy dog"
    # t=<unix>,v1=HMAC-SHA256("<t>.<body>"): the value below was computed independently.
    assert sign_body("key", body, at=1700000000) == f"t=1700000000,v1={EXPECTED_V1}"
    assert sign_body("مفتاح", "نص".encode(), at=1) == sign_body("مفتاح", "نص".encode(), at=1)
    assert sign_body("key", body + b" ", at=1) != sign_body("key", body, at=1)
    assert sign_body("key", body, at=2) != sign_body("key", body, at=1)  # the time is signed too
