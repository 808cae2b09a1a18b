"""Roaming: the price of the roaming pass where the customer is going."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Text

from rasa_sdk.events import SlotSet

from actions import formatting
from actions.api.care_backend import Area, CareBackend
from actions.common import CareAction
from bot.identity import CustomerIdentity

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher


async def _destination(tracker: "Tracker", backend: CareBackend) -> Optional[Area | str]:
    """The place named in this message: a known Area, or the name as the NLU found it."""
    for value in reversed(list(tracker.get_latest_entity_values("area"))):
        if isinstance(value, str) and value.strip():
            return await backend.find_area(value) or value.strip()
    return None


class ActionRoamingInfo(CareAction):
    """The roaming pass for the destination in the message, or how roaming works."""

    def name(self) -> Text:
        return "action_roaming_info"

    async def act(self, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                  backend: CareBackend, identity: CustomerIdentity) -> List[Dict[Text, Any]]:
        # The destination is not a form slot; clear it so that it does not pre-fill
        # the area of a later outage or store question.
        events: List[Dict[Text, Any]] = [SlotSet("area", None)] if tracker.get_slot("area") else []
        destination = await _destination(tracker, backend)
        if destination is None:
            dispatcher.utter_message(response="utter_roaming_general")
            return events
        if isinstance(destination, str):
            dispatcher.utter_message(response="utter_roaming_no_offer", destination_en=destination,
                                     destination_ar=formatting.isolate(destination))
            return events
        names = {"destination_en": destination.name, "destination_ar": destination.name_ar}
        if await backend.is_home_area(destination.name):
            dispatcher.utter_message(response="utter_roaming_home", **names)
            return events
        offer = await backend.roaming_offer(destination.name)
        if offer is None:
            dispatcher.utter_message(response="utter_roaming_no_offer", **names)
            return events
        dispatcher.utter_message(
            response="utter_roaming_offer", price=formatting.amount(offer.price),
            data_en=offer.data_en, data_ar=offer.data_ar,
            validity_en=formatting.days_en(offer.validity_days), validity_ar=formatting.days_ar(offer.validity_days),
            **names,
        )
        return events
