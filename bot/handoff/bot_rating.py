"""Asking a customer the bot served alone for a 1–5 rating, and taking the answer.

A hand-back already asks (``after_close.ask_rating``); without this, CSAT for bot-only
conversations has no data.  The bot asks when a conversation it settled ends:

- the customer thanks or says goodbye (``ENDINGS``),
- after an answer the bot served in this session (a customer message with a business
  intent, answered by the bot: not small talk, not a fallback),
- no handoff in this session (a hand-back asks on its own), and
- not asked before in this session (a Rasa session is one conversation).

The question and its 1–5 buttons go in the customer's language (``rating_request`` in
handoff.yml); channels without buttons show them as numbered lines.  The next message, if
it is a rating ("4", "٤", "4/5", "⭐⭐⭐⭐", or a tapped button), is answered with
``rating_thanks`` and stored as the rating record (:mod:`bot.rating`, ``bot-only``);
anything else is answered by the bot as usual and the question is not repeated.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from bot.handoff.tracker import HANDOFF_METADATA_KEY
from bot.rating import BOT_ONLY, marker, parse_rating, request_utterance, thanks_utterance

if TYPE_CHECKING:
    from rasa.core.channels.channel import OutputChannel
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.handoff.service import HandoffService

logger = logging.getLogger(__name__)

ENDINGS = frozenset({"thanks", "goodbye"})
#: Intents whose answer is not "the bot served the customer": small talk, fallbacks, media
#: the bot cannot read, asking for a person, and form answers (their question counts).
NOT_SERVED = frozenset({"greet", "goodbye", "thanks", "affirm", "deny", "bot_challenge", "out_of_scope",
                        "change_language", "talk_to_human", "complain", "inform", "nlu_fallback", "send_media",
                        "voice_note", "share_location", "get_started"})
BUTTONS = [{"title": "⭐" * n, "payload": str(n)} for n in range(5, 0, -1)]


def session_events(tracker: "DialogueStateTracker") -> Tuple[List[Dict[str, Any]], bool]:
    """The current session's events as dicts (after its ``session_started``), and whether that
    is the whole session: the windowed tracker store (bot/storage/tracker_store.py) hands Rasa
    only the last few turns of a long one."""
    events: List[Dict[str, Any]] = []
    for event in reversed(tracker.events):
        data = event.as_dict()
        if data.get("event") == "session_started":
            events.reverse()
            return events, True
        events.append(data)
    events.reverse()
    return events, False


def _intent(event: Dict[str, Any]) -> Optional[str]:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name")


def _served(event: Dict[str, Any]) -> bool:
    intent = _intent(event) or ""
    return intent not in NOT_SERVED and not intent.startswith("chitchat_")


def handed_off(events: List[Dict[str, Any]]) -> bool:
    """Whether a person was involved in this session (paused, or a handoff's own messages)."""
    return any(e.get("event") == "pause" or (e.get("event") == "bot" and HANDOFF_METADATA_KEY in (e.get("metadata") or {}))
               for e in events)


def should_ask(events: List[Dict[str, Any]], earlier: Sequence[Dict[str, Any]] = ()) -> bool:
    """Whether the turn just run ended a conversation the bot settled alone (see the module).

    ``earlier``: the session's stored events when ``events`` is only its last turns.
    """
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    if not users or _intent(events[users[-1]]) not in ENDINGS:
        return False
    session = [*earlier, *events]
    if handed_off(session) or any(marker(e) is not None for e in session):
        return False
    for start, end in zip(users[:-1], users[1:]):
        if _served(events[start]) and any(e.get("event") == "bot" for e in events[start:end]):
            return True
    return False


def asked_just_before(events: List[Dict[str, Any]]) -> bool:
    """Whether the bot's last words before the latest customer message asked for a bot-only rating."""
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    if not users:
        return False
    before = events[users[-2] + 1 if len(users) > 1 else 0:users[-1]]
    return any((marker(e) or {}).get("requested") and (marker(e) or {}).get("handled_by") == BOT_ONLY
               for e in before)


class BotRating:
    """The bot-only rating, for the handoff gate.

    Args:
        service: the handoff service (settings, texts, the customer's language).
    """

    def __init__(self, service: "HandoffService") -> None:
        self.service = service

    @property
    def enabled(self) -> bool:
        return self.service.settings.ask_bot_rating

    async def ask(self, tracker: "DialogueStateTracker", output: "OutputChannel", store: "TrackerStore") -> bool:
        """After the bot's turn: ask for a rating when the conversation it settled ends.

        ``store``: the tracker store, read (rarely: a long session ending) for the part of the
        session the tracker does not hold, where an earlier question or a handoff may be.
        """
        if not self.enabled:
            return False
        events, whole = session_events(tracker)
        if not should_ask(events):
            return False
        if not whole:
            stored = await store.retrieve_full_tracker(tracker.sender_id)
            if stored is not None and not should_ask(events, session_events(stored)[0]):
                return False
        text = self.service.settings.messages["rating_request"].get(self.service.language_of(events))
        await output.send_text_with_buttons(tracker.sender_id, text, BUTTONS)
        tracker.update(request_utterance(text, BOT_ONLY))
        logger.info("Asked for a rating of a bot-only conversation")
        return True

    async def take(self, tracker: "DialogueStateTracker", output: "OutputChannel") -> bool:
        """The answer to that question; True when the message was a rating (the bot says nothing more)."""
        events, _whole = session_events(tracker)
        if not asked_just_before(events):
            return False
        rating = parse_rating(str((tracker.latest_message.text if tracker.latest_message else "") or ""))
        if rating is None:
            return False
        text = self.service.settings.messages["rating_thanks"].get(self.service.language_of(events))
        await output.send_text_message(tracker.sender_id, text)
        tracker.update(thanks_utterance(text, rating, BOT_ONLY))
        logger.info("Bot-only conversation rated %d", rating)
        return True
