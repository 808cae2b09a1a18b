"""Messages without text: a photo, sticker, document or video, and a location pin.

The channels turn such messages into intents with entities (``send_media`` with
``media_kind``, ``share_location`` with ``latitude``/``longitude``; voice notes are
``voice_note``, answered by a plain response).  These actions answer them in the
customer's language, and a pin sent while the store or outage form asks for the area
is the form's answer (:class:`AreaFromPin`).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Text, Tuple

from rasa_sdk.events import SlotSet

from actions.api.care_backend import Area, BackendError, CareBackend, get_backend
from actions.common import CareAction
from bot.identity import CustomerIdentity

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict

logger = logging.getLogger(__name__)

SHARE_LOCATION = "share_location"

#: media_kind → "I got your …" in English and in Arabic (the verb agrees with the noun's gender).
MEDIA_WORDS: Mapping[str, Tuple[str, str]] = {
    "image": ("I got your photo", "وصلتني الصورة"),
    "sticker": ("I got your sticker", "وصلني الملصق"),
    "document": ("I got your document", "وصلني الملف"),
    "video": ("I got your video", "وصلني الفيديو"),
}
#: A typed "did you get my picture?" names no kind: the attachment, whatever it was.
ANY_MEDIA = ("I got your attachment", "وصلني المرفق")


def _entity_value(tracker: "Tracker", entity: str) -> Any:
    return next(tracker.get_latest_entity_values(entity), None)


def pin_of(tracker: "Tracker") -> Optional[Tuple[float, float]]:
    """(latitude, longitude) of the latest message, if it carried a readable pin."""
    try:
        latitude, longitude = float(_entity_value(tracker, "latitude")), float(_entity_value(tracker, "longitude"))
    except (TypeError, ValueError):
        return None
    return latitude, longitude


async def area_of_pin(tracker: "Tracker", backend: CareBackend) -> Optional[Area]:
    """The area of the latest message's pin; None without a pin or when the backend cannot place it.

    ``area_at(latitude, longitude)`` is an optional backend method (the demo backend has it):
    a backend without it simply never places a pin, and the customer is asked for the area.
    """
    pin = pin_of(tracker)
    area_at = getattr(backend, "area_at", None)
    if pin is None or area_at is None:
        return None
    try:
        return await area_at(*pin)
    except BackendError:
        logger.warning("Placing a location pin failed in the care backend.")
        return None


class ActionMediaReceived(CareAction):
    """Acknowledges a photo, sticker, document or video, and offers the next step."""

    def name(self) -> Text:
        return "action_media_received"

    async def act(self, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                  backend: CareBackend, identity: CustomerIdentity) -> List[Dict[Text, Any]]:
        kind = _entity_value(tracker, "media_kind")
        received_en, received_ar = MEDIA_WORDS.get(str(kind), ANY_MEDIA)
        dispatcher.utter_message(response="utter_media_received", received_en=received_en, received_ar=received_ar)
        return [SlotSet("media_kind", None)]


class ActionLocationReceived(CareAction):
    """A pin outside a form: where it is, and the store or outage check offered for that area."""

    def name(self) -> Text:
        return "action_location_received"

    async def act(self, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                  backend: CareBackend, identity: CustomerIdentity) -> List[Dict[Text, Any]]:
        area = await area_of_pin(tracker, backend)
        if area is None:
            dispatcher.utter_message(response="utter_location_unplaced")
            return []
        dispatcher.utter_message(response="utter_location_received", area_en=area.name, area_ar=area.name_ar)
        # The store and outage forms start with the area already known.
        return [SlotSet("area", area.name)]


class AreaFromPin:
    """Mixin for the forms that ask for an area: a location pin answers the question.

    A pin the backend cannot place sets the area to None, so the form's validator says
    it does not know that place and the form asks again (rather than the pin being lost).
    """

    async def extract_area(self, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                           domain: "DomainDict") -> Dict[Text, Any]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent != SHARE_LOCATION or tracker.get_slot("requested_slot") != "area":
            return {}
        area = await area_of_pin(tracker, get_backend())
        return {"area": area.name if area else None}
