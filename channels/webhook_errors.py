"""One error-to-HTTP mapping for every webhook (WhatsApp Cloud, its receiver, Instagram, Twilio; REST too).

Every refusal answers ``{"error": "<reason>"}`` as ``application/json`` with:

- 413 the body is larger than the channel's limit (checked first: nothing is hashed);
- 401 the signature (``X-Hub-Signature-256``, ``X-Twilio-Signature``) is missing,
  malformed or wrong: one status for all three, so a caller learns nothing about
  which check failed.  Meta and Twilio only need a non-2xx to count a delivery as
  failed, and neither reads the status further (docs/security.md#webhook-errors);
- 415 the content type is not the provider's (JSON for Meta, a form for Twilio);
- 400 the body cannot be read (malformed JSON, not an object, required fields missing);
- 503 our database is unavailable: the provider retries later.

Reasons are fixed words or a parser's reason, never the body, a number or a secret.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Dict, Tuple

from bot.errors import PayloadError, SignatureError

JSON_CONTENT_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A webhook refused: the status and the reason the JSON body names."""

    status: int
    error: str

    @property
    def body(self) -> Dict[str, str]:
        return {"error": self.error}

    def answer(self) -> Tuple[str, int, str]:
        """``(body text, status, content type)`` for routes that answer raw text."""
        return json.dumps(self.body), self.status, JSON_CONTENT_TYPE


TOO_LARGE = Refusal(413, "body too large")
BAD_SIGNATURE = Refusal(401, "invalid signature")
UNAVAILABLE = Refusal(503, "temporarily unavailable")


def unsupported_type(expected: str) -> Refusal:
    return Refusal(415, f"content type must be {expected}")


def malformed(reason: str) -> Refusal:
    """400 with the parser's reason (cut to 200 characters)."""
    return Refusal(400, reason[:200])


def refusal_for(error: SignatureError | PayloadError) -> Refusal:
    """The answer to a signature or body error raised by a connector's checks."""
    if isinstance(error, SignatureError):
        return BAD_SIGNATURE
    return Refusal(error.status, error.reason[:200])
