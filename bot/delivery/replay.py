"""A message Rasa already holds is not fed to it again when it is re-processed after a crash.

Processing is at least once: a crash after Rasa saved the tracker but before the inbox
row was finished leaves the row ``processing``, and the next start processes it again.
Re-running the turn would append the customer's message to the tracker a second time and
predict on a tracker that already holds the first run (a form that already advanced), so
it could produce other replies than the first run, under positional outbox keys that
the first run did not use: something the customer was never meant to see.

So while :class:`bot.delivery.Delivery` re-processes an item (``attempts > 1``) it marks
the item's provider message id in a context variable; Rasa's
``MessageProcessor._handle_message_with_tracker`` (the one step both Rasa's own
``handle_message`` and the handoff gate use to log a customer message) raises
:class:`TurnAlreadyRecorded` when the tracker already holds a user event with that
message id, before anything is parsed, logged or saved.  The delivery layer then
finishes the item: the first run's replies are already in the outbox (stored before
the tracker is saved) and its sender sends those still pending — the recorded replies
are replayed, nothing is predicted again.

A first processing never checks (no extra tracker read on the hot path), and a turn
interrupted before the tracker was saved is run again (its tracker does not hold it).
"""
from __future__ import annotations

import contextvars
import logging
import sys
from contextlib import contextmanager
from typing import Any, Iterator, Optional

logger = logging.getLogger(__name__)

#: The provider message id of the item being re-processed in this task (None: first run).
_replaying: "contextvars.ContextVar[Optional[str]]" = contextvars.ContextVar("majlis_replaying", default=None)
_installed = False


class TurnAlreadyRecorded(Exception):
    """The re-processed message is already in its tracker: its turn finished before the crash."""


@contextmanager
def reprocessing(message_id: Optional[str]) -> Iterator[None]:
    """Mark ``message_id`` as re-processed for the Rasa turn run inside this block."""
    token = _replaying.set(message_id)
    try:
        yield
    finally:
        _replaying.reset(token)


def already_recorded(tracker: Any, message_id: Optional[str]) -> bool:
    """Whether ``tracker`` holds a customer message with provider id ``message_id``."""
    from rasa.shared.core.events import UserUttered

    if not message_id:
        return False
    return any(isinstance(event, UserUttered) and event.message_id == message_id
               for event in reversed(tracker.events))


def install() -> None:
    """Make Rasa refuse to log a re-processed message twice (idempotent).

    Only in a process that runs Rasa's processor (``rasa run`` has imported it before
    any channel starts): a process without Rasa (the webhook receiver, unit tests of
    the delivery layer) does not pay the seconds of importing it.
    """
    global _installed
    if _installed or "rasa.core.processor" not in sys.modules:
        return
    from rasa.core.processor import MessageProcessor

    original = MessageProcessor._handle_message_with_tracker

    async def _handle_message_with_tracker(self: Any, message: Any, tracker: Any) -> None:
        replaying = _replaying.get()
        if replaying is not None and replaying == message.message_id and already_recorded(tracker, replaying):
            raise TurnAlreadyRecorded(replaying)
        await original(self, message, tracker)

    MessageProcessor._handle_message_with_tracker = _handle_message_with_tracker  # type: ignore[method-assign]
    _installed = True
    logger.debug("Re-processed messages already in their tracker are not logged again")


__all__ = ["TurnAlreadyRecorded", "already_recorded", "install", "reprocessing"]
