"""The 1–5 rating record, shared by the two places that ask (after an agent's hand-back, and
after a conversation the bot settled alone) and the three that read it.

A rating lives in the conversation's tracker, on the bot turn that thanks the customer::

    BotUttered("Thanks for your rating!", metadata={"majlis_rating": {"rating": 4, "handled_by": "bot-only"}})

so the report builder (Rasa's ``events`` table), the Prometheus observer and the event export
(the published tracker events) all read the same record.  The request is marked alike
(``{"requested": True, "handled_by": ...}``) so the bot knows it asked in this session.
An agent-handled rating is also kept on its handoff row (``majlis_handoff.rating``).
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Optional, Tuple

from rasa.shared.core.events import BotUttered

RATING_METADATA_KEY = "majlis_rating"
BOT_ONLY, AGENT = "bot-only", "agent"
HANDLED_BY = (BOT_ONLY, AGENT)

_RATING = re.compile(r"^\s*([1-5])\s*(?:/\s*5)?\s*[.!]?\s*$")
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_STARS = ("⭐", "★")


def parse_rating(text: str) -> Optional[int]:
    """1–5 from "4", "٤", "4/5", "⭐⭐⭐⭐"; None for anything else."""
    text = (text or "").translate(_DIGITS).replace("\ufe0f", "").strip()  # U+FE0F: emoji presentation of ⭐
    stars = sum(text.count(star) for star in _STARS)
    if stars and not "".join(text.split()).strip("".join(_STARS)):
        return stars if 1 <= stars <= 5 else None
    match = _RATING.match(text)
    return int(match.group(1)) if match else None


def request_utterance(text: str, handled_by: str, **metadata: Any) -> BotUttered:
    """The bot turn that asks for a rating."""
    return BotUttered(text=text, metadata={**metadata, RATING_METADATA_KEY: {"requested": True,
                                                                             "handled_by": handled_by}})


def thanks_utterance(text: str, rating: int, handled_by: str, **metadata: Any) -> BotUttered:
    """The bot turn that thanks for a rating: the rating record itself."""
    return BotUttered(text=text, metadata={**metadata, RATING_METADATA_KEY: {"rating": rating,
                                                                             "handled_by": handled_by}})


def marker(event: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    """The rating mark of a bot event dict (request or record), if any."""
    if event.get("event") != "bot":
        return None
    mark = (event.get("metadata") or {}).get(RATING_METADATA_KEY)
    return mark if isinstance(mark, Mapping) else None


def rating_of(event: Mapping[str, Any]) -> Optional[Tuple[int, str]]:
    """(rating, handled_by) when ``event`` (a tracker event dict) records a rating."""
    mark = marker(event)
    if mark is None:
        return None
    rating, handled_by = mark.get("rating"), mark.get("handled_by")
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5 or handled_by not in HANDLED_BY:
        return None
    return rating, str(handled_by)
