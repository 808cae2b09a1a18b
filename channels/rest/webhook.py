"""The REST channel's check of a request: the bearer token, compared in constant time."""
from __future__ import annotations

import hmac
from typing import Optional

from bot.config import Secret
from channels.webhook_errors import Refusal

_BEARER = "bearer "
#: The answer without the right token (a bearer token, not a provider signature: the route
#: adds ``WWW-Authenticate: Bearer``); shaped as every webhook refusal (channels/webhook_errors.py).
WRONG_TOKEN = Refusal(401, "missing or wrong bearer token")


def token_matches(header: Optional[str], token: Secret) -> bool:
    """Whether an ``Authorization`` header carries ``token`` (constant-time compare)."""
    if not header or header[: len(_BEARER)].lower() != _BEARER:
        return False
    offered = header[len(_BEARER):].strip().encode("utf-8", "surrogatepass")
    return hmac.compare_digest(offered, token.reveal().encode("utf-8"))
