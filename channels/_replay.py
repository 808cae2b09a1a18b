"""Refusing signed webhooks replayed after their dedupe record is gone.

Every channel deduplicates inbound messages on the provider's id, and keeps those
records for ``DELIVERY_RETENTION_DAYS`` (7: Meta retries a failed delivery for up to
7 days).  A signature proves who built a body, not when: someone who captured a
signed webhook could post it again after its id was pruned and have it processed
twice.  So a message whose provider timestamp is older than the retention is not
processed (WhatsApp Cloud ``messages[].timestamp``, Instagram ``messaging[].timestamp``).

Twilio's webhooks carry no timestamp (neither in the form nor in the signed URL), so
this check cannot apply to them; there, a replay is refused only while its
``MessageSid`` is still in the inbox (docs/channels/twilio.md).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional


def too_old(sent_at: Optional[datetime], now: datetime, retention: timedelta) -> bool:
    """True when a message sent at ``sent_at`` predates the dedupe retention (unknown: not too old)."""
    return sent_at is not None and sent_at < now - retention
