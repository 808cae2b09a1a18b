"""A short brief for the agent, in Arabic and English, built from intents and slots.

Template-based on purpose: no free text from the customer is paraphrased, so the
brief never invents facts.  Key facts are slot values and entities (order number,
amount, area, ...), which the agent can check against the transcript.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from bot.handoff.config import HandoffSettings
from bot.handoff.context import Summary
from bot.handoff.triggers import FALLBACK_INTENT, intent_of, user_turns

REASONS = {
    "customer_request": ("asked for a person", "طلب التحدث مع موظف"),
    "distress": ("urgent or upset complaint", "شكوى عاجلة أو العميل منزعج"),
    "compensation_above_limit": ("compensation above what the bot may grant", "تعويض أكبر من صلاحية المساعد"),
    "not_understood": ("the bot did not understand repeatedly", "المساعد ما فهم أكثر من مرة"),
    "repeated_request": ("asked for the same thing repeatedly", "كرر نفس الطلب أكثر من مرة"),
    "bot_requested": ("the assistant handed over", "المساعد حوّل المحادثة"),
    "instagram_inbox_echo": ("a person answered from the Instagram inbox", "موظف رد من صندوق رسائل إنستغرام"),
    "whatsapp_phone_echo": ("a person answered from the WhatsApp Business app", "موظف رد من تطبيق واتساب للأعمال"),
}
#: Slots and entities worth a line in the brief, with their labels (en, ar).
FACTS = {
    "order_number": ("order number", "رقم الطلب"),
    "amount": ("amount", "المبلغ"),
    "area": ("area", "المنطقة"),
    "bundle_size": ("bundle", "الباقة"),
    "date": ("date", "التاريخ"),
    "case_id": ("case", "رقم الحالة"),
    "complaint_details": ("complaint", "تفاصيل الشكوى"),
}
_SKIP_ACTIONS = {"action_listen", "action_session_start", "action_extract_slots", "action_default_fallback",
                 "action_handoff", "action_restart", "action_unlikely_intent", "action_back"}
#: A form's own questions (``action_ask_<slot>``) are part of the form the brief already names.
_FORM_QUESTION_PREFIX = "action_ask_"
# Unicode isolates (FSI ... PDI): a value of the other script or with digits and punctuation
# (an order number "ORD-4821937" in an Arabic line, an Arabic complaint in an English line)
# keeps its own reading order instead of being reordered with the words around it.
_FSI, _PDI = "\u2068", "\u2069"
_MAX_FACT = 80


def facts_from(events: Sequence[Mapping[str, Any]], slots: Mapping[str, Any]) -> Dict[str, str]:
    """Key facts: filled slots, else the latest entity of the same name."""
    found: Dict[str, str] = {}
    for turn in user_turns(events):
        for entity in (turn.get("parse_data") or {}).get("entities") or ():
            if entity.get("entity") in FACTS and entity.get("value") not in (None, ""):
                found[entity["entity"]] = str(entity["value"])
    for name in FACTS:
        value = slots.get(name)
        if value not in (None, "", [], False):
            found[name] = str(value)
    return {name: (value if len(value) <= _MAX_FACT else value[: _MAX_FACT - 1] + "…") for name, value in found.items()}


def main_intent(events: Sequence[Mapping[str, Any]], ignore: frozenset) -> Optional[str]:
    """The latest intent that names a task (not small talk, not "talk to a person")."""
    for turn in reversed(user_turns(events)):
        name, _ = intent_of(turn)
        if name and name not in ignore and name != FALLBACK_INTENT:
            return name
    return None


def tried_from(events: Sequence[Mapping[str, Any]]) -> Tuple[Tuple[str, int], ...]:
    """What happened before the handoff: (what, how many) pairs."""
    answers = sum(1 for e in events if e.get("event") == "bot")
    not_understood = sum(1 for t in user_turns(events) if intent_of(t)[0] in (None, FALLBACK_INTENT))
    forms = {str(e.get("name")) for e in events if e.get("event") == "active_loop" and e.get("name")}
    actions = {str(e.get("name")) for e in events if e.get("event") == "action"
               and str(e.get("name")).startswith("action_") and e.get("name") not in _SKIP_ACTIONS
               and not str(e.get("name")).startswith(_FORM_QUESTION_PREFIX)}
    tried: List[Tuple[str, int]] = []
    if answers:
        tried.append(("bot_answers", answers))
    if not_understood:
        tried.append(("not_understood", not_understood))
    tried.extend(("form:" + name, 1) for name in sorted(forms))
    tried.extend(("action:" + name, 1) for name in sorted(actions - forms))
    return tuple(tried)


def isolated(text: str) -> str:
    """``text`` as a bidi isolate, so mixed Arabic/English lines keep their reading order."""
    return f"{_FSI}{text}{_PDI}"


def _tried_text(item: Tuple[str, int], language: str, settings: HandoffSettings) -> str:
    what, count = item
    if what == "bot_answers":
        return f"ردّ المساعد {count} مرة" if language == "ar" else f"the bot answered {count} time(s)"
    if what == "not_understood":
        return f"{count} رسالة غير مفهومة" if language == "ar" else f"{count} message(s) not understood"
    kind, _, name = what.partition(":")
    return isolated(settings.label_of(kind, name, language))


def summarise(events: Sequence[Mapping[str, Any]], slots: Mapping[str, Any], reason: str,
              settings: HandoffSettings) -> Summary:
    """The brief for a handoff of the conversation whose events are ``events``.

    Args:
        events: the tracker's events as dicts (current session or all).
        slots: the current slot values.
        reason: the handoff reason code.
        settings: for intent labels and which intents are small talk.

    Returns:
        The summary; ``ar`` and ``en`` hold the same content.
    """
    ignore = settings.repeat.ignore_intents | {"talk_to_human"}
    wants = main_intent(events, ignore) or ("talk_to_human" if reason == "customer_request" else None)
    tried = tried_from(events)
    facts = facts_from(events, slots)
    texts = {}
    for index, language in enumerate(("en", "ar")):
        why = REASONS.get(reason, (reason.replace("_", " "), reason.replace("_", " ")))[index]
        parts = []
        if wants:
            parts.append(("يريد: " if language == "ar" else "Wants: ") + isolated(settings.label(wants, language)))
        parts.append(("سبب التحويل: " if language == "ar" else "Handed over because: ") + why)
        if tried:
            joined = ("؛ " if language == "ar" else "; ").join(_tried_text(item, language, settings) for item in tried)
            parts.append(("ما تمت تجربته: " if language == "ar" else "Tried: ") + joined)
        if facts:
            joined = ("، " if language == "ar" else ", ").join(
                f"{FACTS[name][index]} {isolated(value)}" for name, value in facts.items())
            parts.append(("معلومات مهمة: " if language == "ar" else "Key facts: ") + joined)
        texts[language] = ". ".join(parts) + "."
    return Summary(ar=texts["ar"], en=texts["en"], wants=wants,
                   wants_label={"en": settings.label(wants, "en"), "ar": settings.label(wants, "ar")} if wants else None,
                   tried=tuple(_tried_text(item, "en", settings) for item in tried), facts=facts)
