"""The network: known outages, and reports where there is none."""
from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Dict, List, Text

from rasa_sdk.events import SlotSet
from rasa_sdk.forms import FormValidationAction

from actions import formatting
from actions.api.care_backend import CareBackend, get_backend
from actions.media import AreaFromPin
from actions.common import AskForSlot, CareAction, area_names, user_messages, validate_area
from bot.identity import CustomerIdentity

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict


def hours_until(moment: datetime, now: datetime) -> int:
    """Whole hours until ``moment``, rounded up, at least 1."""
    return max(1, math.ceil((moment - now).total_seconds() / 3600))


class ValidateOutageForm(AreaFromPin, FormValidationAction):
    """The area with the problem: any known place, in any script, or a location pin."""

    def name(self) -> Text:
        return "validate_outage_form"

    async def validate_area(self, value: Any, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                            domain: "DomainDict") -> Dict[Text, Any]:
        return {"area": await validate_area(value, dispatcher, tracker, get_backend())}


class ActionAskOutageFormArea(AskForSlot):
    slot = "area"
    response = "utter_ask_outage_form_area"

    def name(self) -> Text:
        return "action_ask_outage_form_area"


class ActionCheckOutage(CareAction):
    """Known outage: say so and when it is fixed.  None known: tips, and a case for the network team."""

    def name(self) -> Text:
        return "action_check_outage"

    async def act(self, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                  backend: CareBackend, identity: CustomerIdentity) -> List[Dict[Text, Any]]:
        area = str(tracker.get_slot("area") or "")
        area_en, area_ar = await area_names(area, backend)
        outages = await backend.outages_in(area)
        if outages:
            outage = min(outages, key=lambda o: o.expected_fix)
            hours = hours_until(outage.expected_fix, datetime.now(timezone.utc))
            dispatcher.utter_message(response="utter_outage_known", area_en=area_en, area_ar=area_ar,
                                     service_en=outage.service_en, service_ar=outage.service_ar,
                                     eta_en=formatting.hours_en(hours), eta_ar=formatting.hours_ar(hours))
            return [SlotSet("area", None)]
        details = [f"No known outage; customer reports a problem in {area}."]
        reports = user_messages(tracker, intents=["report_network_outage"])
        if reports:
            details.append(f"Customer wrote: {reports[-1].get('text') or ''}")
        case_id = await backend.record_case(identity.verified_customer_id, "network", "\n".join(details), None)
        dispatcher.utter_message(response="utter_no_outage_found", area_en=area_en, area_ar=area_ar,
                                 case_id=formatting.isolate(case_id))
        return [SlotSet("case_id", case_id), SlotSet("area", None)]
