"""bot/identity.py: namespaced sender ids, provider addresses, lines and sealed proofs."""
from __future__ import annotations

import time

import pytest

from bot.config import Config, Secret
from bot.identity import (
    CustomerIdentity,
    IdentityError,
    IdentityProof,
    normalise_line,
    parse,
    provider_id,
    sender_id,
    server_secret,
    unseal,
)

SECRET = Secret("k" * 32)


@pytest.mark.parametrize("channel, provider, expected", [
    ("whatsapp_cloud", "971501234567", "whatsapp_cloud:971501234567"),
    ("twilio_whatsapp", "+971501234567", "twilio_whatsapp:+971501234567"),
    ("instagram", "1784000111", "instagram:1784000111"),
    ("webchat", "webchat:abc", "webchat:abc"),  # already namespaced: unchanged
    ("rest", "me", "me"),                         # not a customer channel
])
def test_sender_ids_are_namespaced_per_channel(channel, provider, expected):
    assert sender_id(channel, provider) == expected
    assert provider_id(channel, expected) == provider.split(":", 1)[-1] if channel == "webchat" else provider


def test_a_sender_id_of_another_channel_is_never_a_recipient():
    with pytest.raises(IdentityError):
        provider_id("whatsapp_cloud", "instagram:1784000111")
    with pytest.raises(IdentityError):
        parse("instagram:1784000111", "whatsapp_cloud")
    assert provider_id("whatsapp_cloud", "971501234567") == "971501234567"  # a legacy bare id, same channel
    assert parse("whatsapp_cloud:9715", None) == CustomerIdentity("whatsapp_cloud", "9715")
    assert parse("9715", "webchat") == CustomerIdentity("webchat", "9715")


@pytest.mark.parametrize("text, line", [
    ("+971 50 123 4567", "971501234567"), ("00971501234567", "971501234567"), ("0501234567", "971501234567"),
    ("whatsapp:+31612345678", "31612345678"), ("٠٥٠١٢٣٤٥٦٧", "971501234567"), ("050-123", None), ("abc", None),
    (None, None),
])
def test_normalise_line(text, line):
    assert normalise_line(text) == line


def test_a_proof_is_bound_to_its_sender_and_expires():
    proof = IdentityProof.issue("webchat:s1", "971500000001", "sms_code", now=1000.0, ttl=60)
    sealed = proof.seal(SECRET)
    assert unseal(sealed, "webchat:s1", secret=SECRET, now=1030.0) == proof
    assert unseal(sealed, "webchat:s2", secret=SECRET, now=1030.0) is None
    assert unseal(sealed, "webchat:s1", secret=SECRET, now=1060.0) is None
    assert unseal(sealed, "webchat:s1", secret=Secret("other" * 8), now=1030.0) is None
    tampered = sealed.split(".")
    tampered[1] = tampered[1][:-2] + ("AA" if not tampered[1].endswith("AA") else "BB")
    assert unseal(".".join(tampered), "webchat:s1", secret=SECRET, now=1030.0) is None
    for junk in (None, "", "971500000001", "v2.a.b", {"c": "1"}, "v1." + "x" * 3000 + ".y"):
        assert unseal(junk, "webchat:s1", secret=SECRET, now=time.time()) is None


def test_the_server_secret_comes_from_the_environment_or_once_per_data_dir(tmp_path):
    from_env = server_secret("X_SECRET", "x.secret", Config({"X_SECRET": "from-env", "MAJLIS_DATA_DIR": str(tmp_path)}))
    assert from_env.reveal() == "from-env"
    cfg = Config({"MAJLIS_DATA_DIR": str(tmp_path)})
    first, second = server_secret("X_SECRET", "x.secret", cfg), server_secret("X_SECRET", "x.secret", cfg)
    assert first.reveal() == second.reveal() and len(first.reveal()) >= 40
    assert (tmp_path / "x.secret").stat().st_mode & 0o777 == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".x.secret")]
