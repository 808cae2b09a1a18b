"""Which language to answer in, decided from the conversation so far.

The most recent language signal wins: either a customer message whose language
is clear (an explicit switch of script or language is followed at once) or an
explicit request (``action_change_language`` sets the ``language`` slot).  A
message with no language evidence ("ok", "👍", an order number) keeps the
language the conversation already has.  The same function serves the Rasa
server (NLG) and the action server, which see events as objects or dicts.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, Sequence

from bot.config import Config, config

LANGUAGE_SLOT = "language"
SUPPORTED = ("ar", "en")


def default_language(cfg: Config = config) -> str:
    """The language for a conversation that has given no evidence yet (MAJLIS_DEFAULT_LANGUAGE)."""
    value = cfg("MAJLIS_DEFAULT_LANGUAGE", default="ar")
    return value if value in SUPPORTED else "ar"


def _signal(event: Any) -> Optional[str]:
    """The language an event asserts, if any (works on Rasa Event objects and their dicts)."""
    if isinstance(event, Mapping):
        kind = event.get("event")
        if kind == "slot" and event.get("name") == LANGUAGE_SLOT:
            value = event.get("value")
            return value if value in SUPPORTED else None
        if kind == "user":
            return _language_of_parse_data(event.get("parse_data") or {})
        return None
    kind = getattr(event, "type_name", None)
    if kind == "slot" and getattr(event, "key", None) == LANGUAGE_SLOT:
        value = getattr(event, "value", None)
        return value if value in SUPPORTED else None
    if kind == "user":
        return _language_of_parse_data(getattr(event, "parse_data", None) or {})
    return None


def _language_of_parse_data(parse_data: Mapping[str, Any]) -> Optional[str]:
    tag = parse_data.get("language")
    if isinstance(tag, Mapping) and tag.get("clear") and tag.get("code") in SUPPORTED:
        return str(tag["code"])
    return None


def reply_language(events: Iterable[Any], default: Optional[str] = None) -> str:
    """The language to answer in after ``events`` (oldest first)."""
    ordered: Sequence[Any] = events if isinstance(events, Sequence) else list(events)
    for event in reversed(ordered):
        found = _signal(event)
        if found:
            return found
    return default or default_language()
