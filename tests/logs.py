"""What log records would print, in full: message, traceback (``exc_info``) and stack.

No-personal-data tests read this, not ``record.getMessage()``: a phone number or message
text can hide in an exception's text (an SQL error lists its parameters) that only the
formatted traceback shows.
"""
from __future__ import annotations

import logging
from typing import Iterable

_FORMATTER = logging.Formatter("%(levelname)s %(name)s: %(message)s")


def printed(records: Iterable[logging.LogRecord], level: int = logging.INFO) -> str:
    """Every record at ``level`` or above as a handler would write it, tracebacks included."""
    return "\n".join(_FORMATTER.format(record) for record in records if record.levelno >= level)


__all__ = ["printed"]
