"""A REST request body to ``(sender, text)``, or the reason it is unusable (a 400/413 answer)."""
from __future__ import annotations

import json
from typing import Optional, Tuple

MAX_BODY_BYTES = 64 * 1024
MAX_SENDER_CHARS = 128
MAX_MESSAGE_CHARS = 4096


def read_request(raw: bytes) -> Tuple[Optional[Tuple[str, str]], Optional[str]]:
    """``((sender, text), None)`` from a request body, or ``(None, reason)`` when unusable."""
    if len(raw) > MAX_BODY_BYTES:
        return None, f"body larger than {MAX_BODY_BYTES} bytes"
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None, "body is not JSON"
    if not isinstance(body, dict):
        return None, 'body must be a JSON object {"sender": ..., "message": ...}'
    sender, text = body.get("sender"), body.get("message")
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
        return None, f'"sender" must be a non-empty string of at most {MAX_SENDER_CHARS} characters'
    if not sender.isprintable():
        return None, '"sender" must not contain control characters'
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_MESSAGE_CHARS:
        return None, f'"message" must be a non-empty string of at most {MAX_MESSAGE_CHARS} characters'
    return (sender.strip(), text), None
