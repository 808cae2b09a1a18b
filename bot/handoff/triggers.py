"""When the bot hands off: pure functions over the tracker's events and handoff.yml.

:func:`evaluate` is called for every customer message the bot still owns, after NLU
and before the bot answers.  It looks only at the current session (events after the
last ``session_started``) and returns a :class:`Decision` or None.  Rules come from
:class:`bot.handoff.config.HandoffSettings`; nothing here is specific to an intent.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from bot.handoff.config import DistressRule, HandoffSettings, IntentRule, Route

FALLBACK_INTENT = "nlu_fallback"
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_ARABIC_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ـ": None})
_NON_WORD = re.compile(r"[^\w\s]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """Hand off: where to, why, how urgently, and which signals led there."""

    route: Route
    priority: int
    signals: Tuple[str, ...] = ()


def session_events(events: Sequence[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    """The events of the current session (after the last ``session_started``)."""
    start = 0
    for index, event in enumerate(events):
        if event.get("event") == "session_started":
            start = index + 1
    return list(events[start:])


def user_turns(events: Sequence[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    """The ``user`` events among ``events``, oldest first."""
    return [event for event in events if event.get("event") == "user"]


def intent_of(turn: Mapping[str, Any]) -> Tuple[Optional[str], float]:
    """The recognised intent name and confidence of a ``user`` event."""
    intent = (turn.get("parse_data") or {}).get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def fold(text: str) -> str:
    """Lower case, Arabic letter variants folded, diacritics and punctuation removed."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_ARABIC_FOLD).translate(_DIGITS)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return " ".join(_NON_WORD.sub(" ", text).split())


def parse_amount(value: Any) -> Optional[float]:
    """150 from "150 AED", "١٥٠ ريال", "200 dirham", 50; None when there is no number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    match = _NUMBER.search(value.translate(_DIGITS).replace("٫", "."))
    return float(match.group().replace(",", ".")) if match else None


def distress_signals(text: str, rule: DistressRule) -> Tuple[str, ...]:
    """Which distress signals ``text`` shows: urgency words, "!!!", ALL CAPS, leaving."""
    signals: List[str] = []
    folded = f" {fold(text)} "
    if any(f" {fold(word)} " in folded for word in rule.urgency):
        signals.append("urgency")
    if any(f" {fold(word)} " in folded for word in rule.leaving):
        signals.append("threatens_to_leave")
    if rule.exclamations > 0 and re.search("[!！]{%d,}" % rule.exclamations, text.replace(" ", "")):
        signals.append("exclamations")
    letters = [ch for ch in text if "a" <= ch.lower() <= "z"]
    if len(letters) >= rule.caps_min_letters:
        upper = sum(1 for ch in letters if ch.isupper())
        if upper / len(letters) >= rule.caps_ratio:
            signals.append("all_caps")
    return tuple(signals)


def _amount(turn: Mapping[str, Any]) -> Optional[float]:
    for entity in (turn.get("parse_data") or {}).get("entities") or ():
        if entity.get("entity") == "amount":
            amount = parse_amount(entity.get("value"))
            if amount is not None:
                return amount
    return None


#: How many earlier customer messages an ``after_intent`` condition looks back.
AFTER_INTENT_WINDOW = 4


def _recent_intents(turns: Sequence[Mapping[str, Any]]) -> List[Optional[str]]:
    return [intent_of(turn)[0] for turn in turns[-AFTER_INTENT_WINDOW - 1:-1]]


def _matches(rule: IntentRule, turns: Sequence[Mapping[str, Any]], settings: HandoffSettings,
             distress: Tuple[str, ...]) -> bool:
    latest = turns[-1]
    name, _ = intent_of(latest)
    if name != rule.intent:
        return False
    if rule.after_intent and rule.after_intent not in _recent_intents(turns):
        return False
    if rule.when == "distress":
        return len(distress) >= settings.distress.threshold
    if rule.when == "amount_above_limit":
        amount = _amount(latest)
        return amount is not None and amount > settings.compensation_limit
    return True


def _not_understood(turn: Mapping[str, Any], min_confidence: float) -> bool:
    name, confidence = intent_of(turn)
    return name in (None, FALLBACK_INTENT) or confidence < min_confidence


def _priority(settings: HandoffSettings, route: Route, distress: Tuple[str, ...]) -> int:
    level = settings.level(route.priority)
    if len(distress) > settings.distress.threshold:
        level += 1
    return min(level, max(settings.priority_levels.values()))


def evaluate(events: Sequence[Mapping[str, Any]], settings: HandoffSettings) -> Optional[Decision]:
    """Whether the latest customer message should go to a person.

    Args:
        events: the tracker's events as dicts (``tracker.events`` ``as_dict()``), the
            latest customer message included.
        settings: the handoff configuration.

    Returns:
        The decision, or None when the bot keeps the conversation.
    """
    turns = user_turns(session_events(events))
    if not turns:
        return None
    latest = turns[-1]
    distress = distress_signals(str(latest.get("text") or ""), settings.distress)
    for rule in settings.rules:
        if _matches(rule, turns, settings, distress):
            signals = (f"intent:{rule.intent}", *distress) if rule.when != "always" else (f"intent:{rule.intent}",)
            return Decision(route=rule.route, priority=_priority(settings, rule.route, distress), signals=signals)
    fallback = settings.fallback
    recent = turns[-fallback.consecutive:] if fallback.consecutive > 0 else []
    if len(recent) == fallback.consecutive and all(_not_understood(t, fallback.min_confidence) for t in recent):
        return Decision(route=fallback.route, priority=_priority(settings, fallback.route, distress),
                        signals=(f"not_understood:{fallback.consecutive}", *distress))
    repeat = settings.repeat
    name, _ = intent_of(latest)
    if name and name not in repeat.ignore_intents and repeat.times > 1:
        seen = sum(1 for turn in turns[-repeat.within:] if intent_of(turn)[0] == name)
        if seen >= repeat.times:
            return Decision(route=repeat.route, priority=_priority(settings, repeat.route, distress),
                            signals=(f"repeated:{name}:{seen}", *distress))
    return None


def slot_values(events: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """The slots as the events leave them (``slot`` events in order; reset on restart)."""
    slots: Dict[str, Any] = {}
    for event in events:
        kind = event.get("event")
        if kind == "slot":
            slots[str(event.get("name"))] = event.get("value")
        elif kind == "restart":
            slots.clear()
    return slots
