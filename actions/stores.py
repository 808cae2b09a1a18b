"""Stores: the nearest shop in an area."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Text

from rasa_sdk.events import SlotSet
from rasa_sdk.forms import FormValidationAction

from actions import formatting
from actions.api.care_backend import CareBackend, get_backend
from actions.common import AskForSlot, CareAction, area_names, validate_area
from actions.media import AreaFromPin
from bot.identity import CustomerIdentity

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict


class ValidateStoreForm(AreaFromPin, FormValidationAction):
    """The area to look in: any known place, in any script, or a location pin."""

    def name(self) -> Text:
        return "validate_store_form"

    async def validate_area(self, value: Any, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                            domain: "DomainDict") -> Dict[Text, Any]:
        return {"area": await validate_area(value, dispatcher, tracker, get_backend())}


class ActionAskStoreFormArea(AskForSlot):
    slot = "area"
    response = "utter_ask_store_form_area"

    def name(self) -> Text:
        return "action_ask_store_form_area"


class ActionFindStores(CareAction):
    """Lists the stores in the area, or the areas that have stores."""

    def name(self) -> Text:
        return "action_find_stores"

    async def act(self, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                  backend: CareBackend, identity: CustomerIdentity) -> List[Dict[Text, Any]]:
        area = str(tracker.get_slot("area") or "")
        area_en, area_ar = await area_names(area, backend)
        stores = await backend.stores_in(area)
        if stores:
            dispatcher.utter_message(
                response="utter_stores_in_area", area_en=area_en, area_ar=area_ar,
                stores_en=formatting.bullets(f"{s.name_en}: {s.address_en} ({s.hours_en})" for s in stores),
                stores_ar=formatting.bullets(f"{s.name_ar}: {s.address_ar} ({s.hours_ar})" for s in stores),
            )
        else:
            places = await backend.store_areas()
            dispatcher.utter_message(
                response="utter_no_store_in_area", area_en=area_en, area_ar=area_ar,
                store_areas_en=", ".join(place.name for place in places),
                store_areas_ar="، ".join(place.name_ar for place in places),
            )
        return [SlotSet("area", None)]
