"""Sends in doubt: a provider request that may have gone out while its process died.

Neither the Graph API nor Twilio takes an idempotency key, so a send cannot simply be
repeated after a crash: the first request may have reached the provider.  Instead:

1. Before the HTTP request, the outbox row is durably marked ``sending_since = T``
   (stored that way for a reply sent the moment it is stored; one small update
   otherwise).  The attempt's outcome clears it.
2. The request carries the row's key where the provider echoes it back in its status
   webhooks (WhatsApp Cloud ``biz_opaque_callback_data``; Twilio: the
   ``StatusCallback`` URL).  A status carrying a key of a row still pending settles
   the row as sent, with the provider's message id, whoever died before recording it.
3. A row found marked by a process that is gone (after ``recover``, or a lease taken
   over) is *in doubt*: it is not sent again before ``T + window``.  If a status with
   its key arrives meanwhile it is sent; otherwise it is sent once more at the end
   of the window (the remaining at-least-once case: the provider really never got
   it, or got it and its status webhooks never reached us within the window).

``MAJLIS_SEND_IN_DOUBT_SECONDS`` sets the window (default 60 s): long enough for
Meta's "sent" status (usually within a second or two of the request) to come back
through the webhook, short enough that a reply lost with a crash still goes out
within about a minute.  Later replies of the same conversation wait behind an
in-doubt one (order), so the window is also the worst delay a crash adds to them.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any, Optional

#: Environment variable: seconds an in-doubt send waits for its status before it is sent again.
ENV = "MAJLIS_SEND_IN_DOUBT_SECONDS"
DEFAULT_WINDOW = timedelta(seconds=60)


def configured_window() -> timedelta:
    """``MAJLIS_SEND_IN_DOUBT_SECONDS`` seconds (0 allowed: re-send at once), else :data:`DEFAULT_WINDOW`."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return DEFAULT_WINDOW
    seconds = float(value)
    if seconds < 0:
        raise ValueError(f"{ENV} must be a number of seconds ≥ 0, not {value!r}")
    return timedelta(seconds=seconds)


def in_doubt(row: Any, owner: str, live: bool) -> bool:
    """Whether an outbox row's last attempt may have reached the provider without being recorded.

    Args:
        row: the outbox row (``sending_since``, ``claimed_by``).
        owner: the instance claiming it now.
        live: whether the row's claim still holds.  A row this instance claims under a
            live lease is its own attempt in progress (or about to start), never in doubt.
    """
    if row.sending_since is None:
        return False
    return not (row.claimed_by == owner and live)


def not_before(row: Any, window: timedelta) -> Optional[datetime]:
    """When an in-doubt row may be sent again: the later of its own retry time and the window's end."""
    end = row.sending_since + window
    return end if row.next_attempt_at is None or row.next_attempt_at < end else row.next_attempt_at
