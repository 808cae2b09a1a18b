"""One request-size limit for every Sanic server Majlis runs (1 MiB, 413 beyond).

Sanic's default ``REQUEST_MAX_SIZE`` is 100 MB, and a non-streaming route buffers the
whole body before any handler or check runs: one 90 MB POST to any route of the Rasa
server cost +174 MiB of RSS.  With the limit, Sanic 21.12 refuses a body whose
``Content-Length`` is over it on the first read, before reading any of it, and a
chunked body as soon as the chunks received pass it; the answer is 413 and the
connection is closed.

No Majlis route needs more: webhooks are a few kB (each channel keeps its own lower
limit), socket.io packets are capped at 64 kB (channels/webchat/channel.py), action calls
are compressed above it (bot/action_server.py inflates up to 16 MiB).  Applied to the
Rasa server by :mod:`bot.rasa_fixes` and to the action server by
:mod:`bot.action_server`; the WhatsApp receiver (aiohttp) has its own
``client_max_size``.
"""
from __future__ import annotations

from typing import Any

#: Largest request body any Majlis Sanic server reads.
MAX_REQUEST_BYTES = 1024 * 1024


def limit_requests(app: Any, max_bytes: int = MAX_REQUEST_BYTES) -> Any:
    """Set Sanic's request size limit on ``app`` (before it starts serving); returns it."""
    app.config.REQUEST_MAX_SIZE = max_bytes
    return app
