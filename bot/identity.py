"""Who a conversation belongs to: namespaced sender ids and sealed proofs of a verified customer.

Every customer channel gives Rasa the sender id ``<channel>:<provider id>``
(``whatsapp_cloud:971501234567``, ``twilio_whatsapp:+971501234567``,
``instagram:<IGSID>``, ``webchat:<server-issued session id>``), formed on the server
from what the provider's signature (or our own session token) proves.  Nothing a
client sends chooses the namespace, so no channel can pose as another.

The delivery layer, entry sources and provider APIs keep the bare provider id
(``(channel, account, customer)`` rows); :func:`provider_id` is the one place that
turns a sender id back into a provider address.

A sender id is not a customer id.  The care backend learns whose account a
conversation may touch only from a :class:`IdentityProof` sealed with a server
secret (HMAC-SHA256): written by the action that checked a one-time code, or by the
web chat after checking the operator's signed JWT.  A proof is bound to one sender
id and expires, so copying it into another conversation, or into a slot through
the NLU, proves nothing.

Older versions stored bare sender ids (``971501234567``).  Handoff rows are
prefixed by migration 0002 (bot/storage/alembic/versions); :func:`provider_id` reads a
bare id as a provider id of the channel asking (the same channel only: a
prefix naming another channel is refused).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from bot.config import Config, Secret, config, data_dir

#: Channels whose sender ids are namespaced (the customer channels).
NAMESPACED_CHANNELS = frozenset({"whatsapp_cloud", "twilio_whatsapp", "instagram", "webchat"})
#: Channels whose provider id is a phone number proven by the provider's signature.
PHONE_CHANNELS = frozenset({"whatsapp_cloud", "twilio_whatsapp"})
SEPARATOR = ":"
IDENTITY_SECRET_ENV = "MAJLIS_IDENTITY_SECRET"
IDENTITY_SECRET_FILE = "identity.secret"
#: Key of a sealed proof in a message's metadata (written by the web chat server, never by the page).
PROOF_METADATA_KEY = "identity_proof"
#: How long a verification holds (seconds): a working day; a new conversation verifies again.
PROOF_TTL_S = 12 * 3600
_PROOF_VERSION = "v1"
_LINE_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_LINE_NOISE = re.compile(r"[\s\-().]")
_CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class IdentityError(ValueError):
    """A sender id that does not belong to the channel asking."""


@dataclass(frozen=True, slots=True)
class CustomerIdentity:
    """One conversation's identity: the channel, the provider's id, and the customer if proven."""

    channel: str
    provider_id: str
    verified_customer_id: Optional[str] = None

    @property
    def sender_id(self) -> str:
        return sender_id(self.channel, self.provider_id)

    @property
    def is_verified(self) -> bool:
        return bool(self.verified_customer_id)


def sender_id(channel: str, provider: str) -> str:
    """Rasa's sender id for a provider id on ``channel`` (namespaced for customer channels)."""
    if not _CHANNEL_NAME.match(channel) or not provider:
        raise IdentityError("a sender id needs a channel name and a provider id")
    if channel not in NAMESPACED_CHANNELS or provider.startswith(channel + SEPARATOR):
        return provider
    return f"{channel}{SEPARATOR}{provider}"


def channel_of(sender: str) -> Optional[str]:
    """The customer channel a namespaced sender id names, or None (legacy or non-customer id)."""
    prefix, sep, rest = sender.partition(SEPARATOR)
    return prefix if sep and rest and prefix in NAMESPACED_CHANNELS else None


def provider_id(channel: str, sender: str) -> str:
    """The provider address (phone number, IGSID, session id) in ``sender`` for ``channel``.

    Accepts ``<channel>:<id>`` and a bare legacy id; refuses an id namespaced for
    another channel (an Instagram id is never a WhatsApp recipient).

    Raises:
        IdentityError: ``sender`` names another customer channel, or is empty.
    """
    named = channel_of(sender)
    if named is None:
        if not sender:
            raise IdentityError("empty sender id")
        return sender
    if named != channel:
        raise IdentityError(f"a {named} sender id is not a {channel} recipient")
    return sender[len(channel) + 1:]


def parse(sender: str, channel: Optional[str] = None) -> CustomerIdentity:
    """The identity a sender id names (not yet verified).

    ``channel`` is the input channel the conversation's messages came from; a bare
    (legacy) id is read in that channel only.
    """
    named = channel_of(sender)
    if named is None:
        return CustomerIdentity(channel=channel or "", provider_id=sender)
    if channel and named != channel:
        raise IdentityError(f"a {named} sender id arrived on {channel}")
    return CustomerIdentity(channel=named, provider_id=sender[len(named) + 1:])


def normalise_line(text: Optional[str], country_code: str = "971") -> Optional[str]:
    """A mobile line as international digits (``971501234567``), or None if it is not one.

    Accepts ``+971 50 123 4567``, ``00971501234567``, ``0501234567`` (national, the
    ``country_code`` is added), ``whatsapp:+9715…`` and Arabic-Indic digits.
    """
    if not isinstance(text, str):
        return None
    value = _LINE_NOISE.sub("", text.strip().translate(_LINE_DIGITS))
    value = value.split(SEPARATOR, 1)[-1] if value.lower().startswith("whatsapp:") else value
    if value.startswith("+"):
        value = value[1:]
    elif value.startswith("00"):
        value = value[2:]
    elif value.startswith("0"):
        value = country_code + value[1:]
    # Gulf mobile numbers are 11-12 digits with the country code; 10 is the shortest accepted.
    return value if value.isdigit() and 10 <= len(value) <= 15 else None


# -- sealed proofs ---------------------------------------------------------------

def server_secret(env: str, filename: str, cfg: Config = config) -> Secret:
    """A server secret: from the environment, else generated once per data dir (mode 0600).

    Processes sharing ``MAJLIS_DATA_DIR`` (the Rasa server and the action server of
    ``./majlis start``) share the generated value; separate hosts set ``env``.
    """
    value = cfg(env, default="")
    if value:
        return Secret(value)
    path = Path(data_dir(cfg)) / filename
    if not path.exists():
        # Written aside then linked into place, so a concurrent reader never sees a half file.
        scratch = path.with_name(f".{filename}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(32))
        try:
            os.link(scratch, path)
        except FileExistsError:
            pass  # another process won the race; its value is the one
        finally:
            scratch.unlink()
    return Secret(path.read_text(encoding="utf-8").strip())


def identity_secret(cfg: Config = config) -> Secret:
    """The key of identity proofs (``MAJLIS_IDENTITY_SECRET`` or ``<data dir>/identity.secret``)."""
    return server_secret(IDENTITY_SECRET_ENV, IDENTITY_SECRET_FILE, cfg)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: Secret, body: str) -> str:
    return _b64(hmac.new(secret.reveal().encode("utf-8"), body.encode("ascii"), hashlib.sha256).digest())


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityProof:
    """"Sender ``sender_id`` is customer ``customer_id`` until ``expires_at``", proven by ``method``."""

    sender_id: str
    customer_id: str
    method: str
    expires_at: float

    def seal(self, secret: Optional[Secret] = None) -> str:
        """``v1.<payload>.<hmac>``: what a slot or a message's metadata may carry."""
        payload = {"s": self.sender_id, "c": self.customer_id, "m": self.method, "e": int(self.expires_at)}
        body = f"{_PROOF_VERSION}.{_b64(json.dumps(payload, separators=(',', ':')).encode('utf-8'))}"
        return f"{body}.{_mac(secret or identity_secret(), body)}"

    @classmethod
    def issue(cls, sender: str, customer_id: str, method: str, now: Optional[float] = None,
              ttl: float = PROOF_TTL_S) -> "IdentityProof":
        return cls(sender_id=sender, customer_id=customer_id, method=method,
                   expires_at=(time.time() if now is None else now) + ttl)


def unseal(value: object, sender: str, *, secret: Optional[Secret] = None,
           now: Optional[float] = None) -> Optional[IdentityProof]:
    """The proof in ``value`` if it is ours, unexpired and for ``sender``; else None."""
    if not isinstance(value, str) or value.count(".") != 2 or len(value) > 2048:
        return None
    version, payload, mac = value.split(".")
    if version != _PROOF_VERSION:
        return None
    if not hmac.compare_digest(mac, _mac(secret or identity_secret(), f"{version}.{payload}")):
        return None
    try:
        data = json.loads(_unb64(payload))
        proof = IdentityProof(sender_id=str(data["s"]), customer_id=str(data["c"]), method=str(data["m"]),
                              expires_at=float(data["e"]))
    except (ValueError, KeyError, TypeError):
        return None
    if proof.sender_id != sender or proof.expires_at <= (time.time() if now is None else now):
        return None
    return proof if proof.customer_id else None


__all__ = ["CustomerIdentity", "IdentityError", "IdentityProof", "NAMESPACED_CHANNELS", "PHONE_CHANNELS",
           "PROOF_METADATA_KEY",
           "channel_of", "identity_secret", "normalise_line", "parse", "provider_id", "sender_id",
           "server_secret", "unseal"]
