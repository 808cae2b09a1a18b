"""CPU priority of the model processes relative to the WhatsApp webhook receiver.

Acknowledging a webhook is a millisecond of work that must not wait (Meta retries slow
webhooks, and the customer's message is only safe once it is on disk); answering it is
hundreds of milliseconds of model inference that can.  On a saturated machine the
scheduler shares the cores evenly, so the receiver's 200 waited behind Rasa's turns:
p99 68 ms at 2x capacity with equal priority (bench/results/ack*.md).  Starting the Rasa
server and the action server a few nice levels below the receiver lets the receiver run
first; the model keeps every cycle the receiver does not use.  Positive nice increments
need no privileges.
"""
from __future__ import annotations

import os
from typing import Callable, Mapping

MODEL_NICE_ENV = "MAJLIS_MODEL_NICE"
DEFAULT_MODEL_NICE = 5


def model_nice(environ: Mapping[str, str]) -> int:
    """How many nice levels below the receiver the model processes run (0 = same)."""
    try:
        return max(0, min(19, int(environ.get(MODEL_NICE_ENV, DEFAULT_MODEL_NICE))))
    except ValueError:
        return DEFAULT_MODEL_NICE


def lower_priority(increment: int) -> Callable[[], None]:
    """A ``preexec_fn`` for ``subprocess.Popen`` that lowers the child's priority."""
    def _lower() -> None:
        if increment:
            os.nice(increment)
    return _lower
