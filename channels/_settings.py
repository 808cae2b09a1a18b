"""Reading a channel's settings in ``from_credentials``, the same way for every channel."""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, TypeVar

from rasa.shared.exceptions import RasaException

from bot.config import ConfigError

S = TypeVar("S")


def settings_from_credentials(channel: Any, read: Callable[[Optional[Mapping[str, Any]]], S],
                              credentials: Optional[Mapping[str, Any]]) -> S:
    """``read(credentials)``; with no credentials at all Rasa's own "missing credentials" error,
    otherwise a RasaException naming the channel and the setting that is missing or unreadable."""
    try:
        return read(credentials)
    except ConfigError as exc:
        if not credentials:
            channel.raise_missing_credentials_exception()
        raise RasaException(f"{channel.name()} channel: {exc}") from None
