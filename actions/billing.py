"""Bills: what the customer owes, and disputing a charge on the latest bill."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Text

from rasa_sdk.events import SlotSet
from rasa_sdk.forms import FormValidationAction

from actions import formatting
from actions.api.care_backend import BackendError, CareBackend, get_backend
from actions.common import AskForSlot, CareAction, account_of, as_text, user_messages
from actions.identity import verified_customer
from actions.parsing import is_valid_amount, parse_amount
from bot.identity import CustomerIdentity

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict

logger = logging.getLogger(__name__)


class ActionCheckBill(CareAction):
    """Tells the customer their latest bill: amount, period and due date (or that it is paid)."""

    account_action = True

    def name(self) -> Text:
        return "action_check_bill"

    async def act(self, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                  backend: CareBackend, identity: CustomerIdentity) -> List[Dict[Text, Any]]:
        bill = await backend.get_bill(account_of(identity))
        if bill is None:
            dispatcher.utter_message(response="utter_no_bill")
            return []
        values = {
            "amount": formatting.amount(bill.amount),
            "period_en": formatting.month_year_en(bill.period),
            "period_ar": formatting.month_year_ar(bill.period),
        }
        if bill.paid:
            dispatcher.utter_message(response="utter_bill_paid", **values)
        else:
            dispatcher.utter_message(response="utter_bill_summary", due_en=formatting.day_month_en(bill.due_date),
                                     due_ar=formatting.day_month_ar(bill.due_date), **values)
        return []


class ValidateDisputeForm(FormValidationAction):
    """The disputed amount: a positive number, not more than the latest bill."""

    def name(self) -> Text:
        return "validate_dispute_form"

    async def validate_amount(self, value: Any, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                              domain: "DomainDict") -> Dict[Text, Any]:
        amount = parse_amount(as_text(value))
        if not is_valid_amount(amount):
            dispatcher.utter_message(response="utter_invalid_dispute_amount")
            return {"amount": None}
        try:
            backend = get_backend()
            customer = await verified_customer(tracker, backend)
            # Not verified yet: nothing to compare with (action_record_dispute verifies first).
            bill = await backend.get_bill(customer) if customer else None
        except BackendError:
            logger.warning("Bill lookup failed during validation; accepting the amount unchecked.")
            bill = None
        # Without a bill there is nothing to compare with; the billing team checks by hand.
        if bill is not None and amount > bill.amount:
            dispatcher.utter_message(response="utter_dispute_amount_above_bill",
                                     bill_amount=formatting.amount(bill.amount))
            return {"amount": None}
        return {"amount": str(amount)}


class ActionAskDisputeFormAmount(AskForSlot):
    slot = "amount"
    response = "utter_ask_dispute_form_amount"

    def name(self) -> Text:
        return "action_ask_dispute_form_amount"


class ActionRecordDispute(CareAction):
    """Records the dispute as a case and tells the customer what happens next."""

    account_action = True

    def name(self) -> Text:
        return "action_record_dispute"

    async def act(self, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                  backend: CareBackend, identity: CustomerIdentity) -> List[Dict[Text, Any]]:
        amount = parse_amount(as_text(tracker.get_slot("amount")))
        if amount is None:
            logger.warning("%s ran without a validated amount.", self.name())
            dispatcher.utter_message(response="utter_something_went_wrong")
            return []
        details = [f"Disputed amount: AED {formatting.amount(amount)}"]
        reports = user_messages(tracker, intents=["dispute_charge"])
        if reports:
            latest = reports[-1]
            dates = [e.get("value") for e in (latest.get("parse_data") or {}).get("entities", [])
                     if e.get("entity") == "date"]
            if dates:
                details.append(f"When: {dates[-1]}")
            details.append(f"Customer wrote: {latest.get('text') or ''}")
        case_id = await backend.record_case(account_of(identity), "dispute", "\n".join(details), amount)
        dispatcher.utter_message(response="utter_dispute_recorded", amount=formatting.amount(amount),
                                 case_id=formatting.isolate(case_id))
        return [SlotSet("case_id", case_id), SlotSet("amount", None)]
