"""Plumbing shared by the actions: the backend guard, tracker helpers, slot questions.

Every action that calls the backend subclasses :class:`CareAction`: if the
backend cannot answer, the customer is told so (``utter_something_went_wrong``,
with a way to reach a person) instead of getting silence.

How a wrong answer in a form is handled, everywhere:

1. the slot mapping hands the validator the customer's answer (the entity, or
   the raw text for slots that also map ``from_text``);
2. ``validate_<form>`` either returns the canonical value, or returns ``None``
   and dispatches a *specific* re-ask (``utter_invalid_order_number``: what was
   wrong and an example of what is expected);
3. the form then runs ``action_ask_<slot>`` (an :class:`AskForSlot`), which stays
   silent when the validator has just re-asked, so the customer gets one clear
   message per turn instead of an error followed by the generic question.
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Text, Tuple

from rasa_sdk import Action

from actions.api.care_backend import BackendError, CareBackend, get_backend
from actions.formatting import isolate
from actions.identity import resolve_identity, start_verification
from bot.identity import CustomerIdentity

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict


logger = logging.getLogger(__name__)


class CareAction(Action, ABC):
    """An action that uses the care backend; a backend failure becomes an apology, not silence.

    Subclasses that read or change a customer's account set :attr:`account_action`:
    they run only for a verified customer (``identity.verified_customer_id`` is then
    set); otherwise the customer is asked to verify first, and the action runs after
    the code is accepted (``action_after_verification``).
    """

    #: True for actions that read or change an account (bill, bundle, order, dispute, compensation).
    account_action: bool = False
    #: Account actions by name, for ``action_after_verification``.
    registry: Dict[str, "CareAction"] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.account_action and not getattr(cls, "__abstractmethods__", None):
            action = cls()
            CareAction.registry[action.name()] = action

    @abstractmethod
    def name(self) -> Text:
        """The action's name in domain.yml."""

    @abstractmethod
    async def act(self, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                  backend: CareBackend, identity: CustomerIdentity) -> List[Dict[Text, Any]]:
        """Do the work; return the events."""

    async def run(self, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                  domain: "DomainDict") -> List[Dict[Text, Any]]:
        try:
            backend = get_backend()
            identity = await resolve_identity(tracker, backend)
            if self.account_action and not identity.is_verified:
                return start_verification(dispatcher, self.name())
            return await self.act(dispatcher, tracker, backend, identity)
        except BackendError:
            logger.exception("%s: the care backend failed.", self.name())
            dispatcher.utter_message(response="utter_something_went_wrong")
            return []


def account_of(identity: CustomerIdentity) -> str:
    """The verified customer id of an account action (``CareAction.run`` checked it)."""
    if not identity.verified_customer_id:
        raise BackendError("an account action ran without a verified customer")
    return identity.verified_customer_id


def as_text(value: Any) -> Optional[str]:
    """A slot value as text for the parsers: strings and numbers; anything else is ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (str, int, float, Decimal)):
        return str(value)
    return None


def latest_text(tracker: "Tracker") -> str:
    """The text of the latest customer message ("" if there is none)."""
    return str((tracker.latest_message or {}).get("text") or "")


def _events_since_latest_user_message(tracker: "Tracker") -> List[Dict[Text, Any]]:
    events = list(tracker.events)
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "user":
            return events[index + 1:]
    return events


def user_messages(tracker: "Tracker", intents: Optional[Iterable[str]] = None) -> List[Dict[Text, Any]]:
    """The customer's messages (``user`` events), oldest first, optionally only those with ``intents``."""
    wanted = set(intents) if intents is not None else None
    found = []
    for event in tracker.events:
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if wanted is None or intent in wanted:
            found.append(event)
    return found


def rejected_this_turn(tracker: "Tracker", slot: str) -> bool:
    """True if, since the customer's latest message, ``slot`` got a value that was then reset.

    That is what validation does with a bad answer (``SlotSet(slot, value)`` from
    the mapping, then ``SlotSet(slot, None)`` from ``validate_<form>``), and the
    validator has already sent the specific re-ask.
    """
    offered = False
    for event in _events_since_latest_user_message(tracker):
        if event.get("event") != "slot" or event.get("name") != slot:
            continue
        if event.get("value") is not None:
            offered = True
        elif offered:
            return True
    return False


class AskForSlot(CareAction, ABC):
    """``action_ask_<slot>``: ask the slot's question unless the validator just re-asked.

    Subclasses set :attr:`slot` and :attr:`response`, name themselves
    ``action_ask_<slot>`` (or ``action_ask_<form>_<slot>``), and may override
    :meth:`values` to fill variables in the question.
    """

    slot: str = ""
    response: str = ""

    async def values(self, tracker: "Tracker", backend: CareBackend) -> Dict[str, Any]:
        """Variables for the question's template."""
        return {}

    async def act(self, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                  backend: CareBackend, identity: CustomerIdentity) -> List[Dict[Text, Any]]:
        if rejected_this_turn(tracker, self.slot):
            return []
        dispatcher.utter_message(response=self.response, **await self.values(tracker, backend))
        return []


async def area_names(area: str, backend: CareBackend) -> Tuple[str, str]:
    """How to write a canonical area in an English and in an Arabic reply."""
    known = await backend.find_area(area)
    if known is not None:
        return known.name, known.name_ar
    return area, isolate(area)


async def validate_area(value: Any, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                        backend: CareBackend) -> Optional[str]:
    """The canonical area for an answer, or ``None`` after sending ``utter_invalid_area``.

    A known place (any alias, any script) becomes its canonical name.  A place the
    NLU recognised as an area but the backend does not know ("Khor Fakkan") is kept
    as written: the lookups will simply find nothing there.
    """
    text = value.strip() if isinstance(value, str) else ""
    if text:
        try:
            known = await backend.find_area(text)
        except BackendError:
            logger.warning("Area lookup failed during validation; only NLU-recognised areas are accepted.")
            known = None
        if known is not None:
            return known.name
        entity_values = [v for v in tracker.get_latest_entity_values("area") if isinstance(v, str)]
        if text in entity_values and any(ch.isalpha() for ch in text) and len(text) <= 60:
            return text
    dispatcher.utter_message(response="utter_invalid_area")
    return None
