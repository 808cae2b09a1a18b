"""Complaints and compensation: acknowledge, record a case, say what happens next.

In the Gulf a complaint is often a request for a concrete remedy, so asking for
compensation is an ordinary path: collect what happened and how much, record a
case, and promise a review within 48 hours.  Amounts above
``MAJLIS_COMPENSATION_AUTO_LIMIT`` (AED, default 100) go to a specialist, and the
customer is told so.
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Dict, List, Text

from rasa_sdk.events import SlotSet
from rasa_sdk.forms import FormValidationAction

from actions import formatting
from actions.api.care_backend import CareBackend
from actions.common import AskForSlot, CareAction, account_of, as_text, latest_text
from actions.parsing import is_valid_amount, parse_amount, to_western_digits
from bot.identity import CustomerIdentity
from bot.config import Config, config

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict

DEFAULT_AUTO_LIMIT = Decimal("100")
MIN_DETAIL_WORDS = 3
MIN_DETAIL_CHARS = 15


def auto_limit(cfg: Config = config) -> Decimal:
    """Compensation up to this amount (AED) is reviewed by the care team; above it, by a specialist."""
    return cfg("MAJLIS_COMPENSATION_AUTO_LIMIT", cast=Decimal, default=DEFAULT_AUTO_LIMIT)


def is_enough_detail(text: str) -> bool:
    """A sentence, not "ok" or a number: at least 3 words or 15 letters and digits."""
    stripped = text.strip()
    if not any(ch.isalpha() for ch in stripped):
        return False
    meaningful = sum(ch.isalnum() for ch in to_western_digits(stripped))
    return len(stripped.split()) >= MIN_DETAIL_WORDS or meaningful >= MIN_DETAIL_CHARS


class ValidateCompensationForm(FormValidationAction):
    """What happened (a sentence or more) and how much (a positive amount)."""

    def name(self) -> Text:
        return "validate_compensation_form"

    async def validate_complaint_details(self, value: Any, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                                         domain: "DomainDict") -> Dict[Text, Any]:
        text = value.strip() if isinstance(value, str) else ""
        if not is_enough_detail(text):
            dispatcher.utter_message(response="utter_invalid_complaint_details")
            return {"complaint_details": None}
        return {"complaint_details": text}

    async def validate_amount(self, value: Any, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                              domain: "DomainDict") -> Dict[Text, Any]:
        amount = parse_amount(as_text(value))
        if not is_valid_amount(amount):
            dispatcher.utter_message(response="utter_invalid_compensation_amount")
            return {"amount": None}
        return {"amount": str(amount)}


class ActionAskComplaintDetails(AskForSlot):
    slot = "complaint_details"
    response = "utter_ask_complaint_details"

    def name(self) -> Text:
        return "action_ask_complaint_details"


class ActionAskCompensationFormAmount(AskForSlot):
    slot = "amount"
    response = "utter_ask_compensation_form_amount"

    def name(self) -> Text:
        return "action_ask_compensation_form_amount"


class ActionRecordCompensation(CareAction):
    """Records the compensation request and explains the review (and the specialist above the limit)."""

    account_action = True

    def name(self) -> Text:
        return "action_record_compensation"

    async def act(self, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                  backend: CareBackend, identity: CustomerIdentity) -> List[Dict[Text, Any]]:
        details = str(tracker.get_slot("complaint_details") or "")
        amount = parse_amount(as_text(tracker.get_slot("amount")))
        case_id = await backend.record_case(account_of(identity), "compensation", details, amount)
        limit = auto_limit()
        values = {
            "case_id": formatting.isolate(case_id),
            "amount": formatting.amount(amount) if amount is not None else "",
            "limit": formatting.amount(limit),
        }
        over_limit = amount is not None and amount > limit
        dispatcher.utter_message(
            response="utter_compensation_specialist" if over_limit else "utter_compensation_recorded", **values
        )
        return [SlotSet("case_id", case_id), SlotSet("complaint_details", None), SlotSet("amount", None)]


class ActionRecordComplaint(CareAction):
    """Records a general complaint (the customer's own words) and offers the next steps."""

    def name(self) -> Text:
        return "action_record_complaint"

    async def act(self, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                  backend: CareBackend, identity: CustomerIdentity) -> List[Dict[Text, Any]]:
        case_id = await backend.record_case(identity.verified_customer_id, "complaint", latest_text(tracker), None)
        dispatcher.utter_message(response="utter_complaint_recorded", case_id=formatting.isolate(case_id))
        return [SlotSet("case_id", case_id)]
