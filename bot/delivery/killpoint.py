"""Deterministic crash points for kill tests (test-only; inert unless the variable is set).

A crash test needs the process to die at an exact step of a turn, not "some time after
the webhook was acknowledged".  With ``MAJLIS_TEST_CRASH_AT=<point>`` (or
``<point>:<n>`` for the n-th time the point is reached, default the first) the process
ends with ``os._exit(CRASH_EXIT_CODE)`` there: no ``finally``, no shutdown hook, no
flush, like a SIGKILL.  Unset (always, outside tests) a point costs one dictionary look-up.

Points:

``after_reply_stored``
    :meth:`bot.delivery.Outbox.add` stored a reply, before it is handed to the sender
    (mid-turn: the tracker is not saved yet).
``after_provider_accepted``
    The provider answered a send attempt with success (it has the message), before
    the outbox row is marked sent (:mod:`bot.delivery.in_doubt`).
``after_tracker_saved``
    The channel's handler returned (Rasa saved the tracker) and the turn's replies were
    handed to the provider or wait for a retry, before the inbox row is finished.
"""
from __future__ import annotations

import logging
import os
from typing import Dict

logger = logging.getLogger(__name__)

ENV = "MAJLIS_TEST_CRASH_AT"
#: The exit status of a crash at a point (tests tell it from other deaths).
CRASH_EXIT_CODE = 86
POINTS = ("after_reply_stored", "after_provider_accepted", "after_tracker_saved")

_reached: Dict[str, int] = {}


def due(point: str) -> bool:
    """Count one passage through ``point``; True when the process must die here now."""
    spec = os.environ.get(ENV)
    if not spec:
        return False
    name, _, nth = spec.partition(":")
    if name != point:
        return False
    _reached[point] = _reached.get(point, 0) + 1
    return _reached[point] == int(nth or 1)


def crash(point: str) -> None:
    """End the process at once, as a SIGKILL would (nothing is flushed or closed)."""
    logger.warning("Test crash point %s reached: exiting with status %d", point, CRASH_EXIT_CODE)
    os._exit(CRASH_EXIT_CODE)


__all__ = ["CRASH_EXIT_CODE", "ENV", "POINTS", "crash", "due"]
