"""Device orders: where is my order."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Text

from rasa_sdk.events import SlotSet
from rasa_sdk.forms import FormValidationAction

from actions import formatting
from actions.api.care_backend import BackendError, CareBackend, Order, get_backend
from actions.common import AskForSlot, CareAction, account_of, as_text
from actions.identity import verified_customer
from actions.parsing import parse_order_number
from bot.identity import CustomerIdentity

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict

logger = logging.getLogger(__name__)

STATUS_RESPONSES = {
    "shipped": "utter_order_shipped",
    "out_for_delivery": "utter_order_out_for_delivery",
    "delivered": "utter_order_delivered",
    "delayed": "utter_order_delayed",
}


def order_values(order: Order) -> Dict[str, str]:
    """Every variable the order responses use, in both languages."""
    eta = order.eta
    delivered = order.delivered_on
    return {
        "order_number": formatting.isolate(order.order_number),
        "item_en": order.item_en,
        "item_ar": formatting.isolate(order.item_ar),
        "eta_en": formatting.day_month_en(eta) if eta else "",
        "eta_ar": formatting.day_month_ar(eta) if eta else "",
        "delivered_en": formatting.day_month_en(delivered) if delivered else "",
        "delivered_ar": formatting.day_month_ar(delivered) if delivered else "",
    }


class ValidateOrderStatusForm(FormValidationAction):
    """The order number: 7 digits in any script, and an order that exists."""

    def name(self) -> Text:
        return "validate_order_status_form"

    async def validate_order_number(self, value: Any, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                                    domain: "DomainDict") -> Dict[Text, Any]:
        number = parse_order_number(as_text(value))
        if number is None:
            dispatcher.utter_message(response="utter_invalid_order_number")
            return {"order_number": None}
        try:
            backend = get_backend()
            customer = await verified_customer(tracker, backend)
            # Not verified yet: the number is checked after verification (action_order_status).
            found = customer is None or await backend.find_order(customer, number) is not None
        except BackendError:
            # Cannot check now: take the number; action_order_status apologises if the lookup still fails.
            logger.warning("Order lookup failed during validation; accepting the number unchecked.")
            found = True
        if not found:
            dispatcher.utter_message(response="utter_order_not_found", order_number=formatting.isolate(number))
            return {"order_number": None}
        return {"order_number": number}


class ActionAskOrderNumber(AskForSlot):
    slot = "order_number"
    response = "utter_ask_order_number"

    def name(self) -> Text:
        return "action_ask_order_number"


class ActionOrderStatus(CareAction):
    """Tells the customer where their order is, one response per status; another customer's order is "not found"."""

    account_action = True

    def name(self) -> Text:
        return "action_order_status"

    async def act(self, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                  backend: CareBackend, identity: CustomerIdentity) -> List[Dict[Text, Any]]:
        number = parse_order_number(as_text(tracker.get_slot("order_number")))
        order = await backend.find_order(account_of(identity), number) if number else None
        if order is None:
            dispatcher.utter_message(response="utter_order_not_found",
                                     order_number=formatting.isolate(number or "?"))
        else:
            dispatcher.utter_message(response=STATUS_RESPONSES.get(order.status, "utter_order_shipped"),
                                     **order_values(order))
        return [SlotSet("order_number", None)]
