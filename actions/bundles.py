"""Data bundles: choose a size from the catalogue, confirm, add it to the line."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Text

from rasa_sdk.events import SlotSet
from rasa_sdk.forms import FormValidationAction

from actions import formatting
from actions.api.care_backend import Bundle, CareBackend, get_backend
from actions.common import AskForSlot, CareAction, account_of, as_text
from actions.parsing import parse_bundle_size
from bot.identity import CustomerIdentity

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict


def catalogue_values(bundles: Sequence[Bundle]) -> Dict[str, str]:
    """The catalogue as reply lines: ``• 10GB: AED 40, 30 days`` / ``• 10 جيجا: 40 درهم، 30 يوم``."""
    return {
        "catalogue_en": formatting.bullets(
            f"{b.name_en}: AED {formatting.amount(b.price)}, {formatting.days_en(b.validity_days)}" for b in bundles
        ),
        "catalogue_ar": formatting.bullets(
            f"{b.name_ar}: {formatting.amount(b.price)} درهم، {formatting.days_ar(b.validity_days)}" for b in bundles
        ),
    }


def bundle_values(bundle: Bundle) -> Dict[str, str]:
    return {
        "bundle_en": bundle.name_en,
        "bundle_ar": bundle.name_ar,
        "price": formatting.amount(bundle.price),
        "validity_en": formatting.days_en(bundle.validity_days),
        "validity_ar": formatting.days_ar(bundle.validity_days),
    }


def find_bundle(bundles: Sequence[Bundle], code: Optional[str]) -> Optional[Bundle]:
    if not code:
        return None
    return next((b for b in bundles if b.code.lower() == code.lower()), None)


class ValidateDataBundleForm(FormValidationAction):
    """The bundle size must be in the catalogue; the confirmation is a yes or a no."""

    def name(self) -> Text:
        return "validate_data_bundle_form"

    async def validate_bundle_size(self, value: Any, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                                   domain: "DomainDict") -> Dict[Text, Any]:
        bundles = await get_backend().bundles()
        bundle = find_bundle(bundles, parse_bundle_size(as_text(value)))
        if bundle is None:
            dispatcher.utter_message(response="utter_invalid_bundle_size", **catalogue_values(bundles))
            return {"bundle_size": None}
        return {"bundle_size": bundle.code}

    async def validate_bundle_confirmed(self, value: Any, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                                        domain: "DomainDict") -> Dict[Text, Any]:
        return {"bundle_confirmed": value if isinstance(value, bool) else None}


class ActionAskBundleSize(AskForSlot):
    """Asks which bundle, listing the catalogue with prices."""

    slot = "bundle_size"
    response = "utter_ask_bundle_size"

    def name(self) -> Text:
        return "action_ask_bundle_size"

    async def values(self, tracker: "Tracker", backend: CareBackend) -> Dict[str, Any]:
        return catalogue_values(await backend.bundles())


class ActionAskBundleConfirmed(AskForSlot):
    """Asks to confirm the chosen bundle, with its price and validity."""

    slot = "bundle_confirmed"
    response = "utter_ask_bundle_confirmed"

    def name(self) -> Text:
        return "action_ask_bundle_confirmed"

    async def values(self, tracker: "Tracker", backend: CareBackend) -> Dict[str, Any]:
        bundle = find_bundle(await backend.bundles(), as_text(tracker.get_slot("bundle_size")))
        if bundle is None:  # pragma: no cover - the form only asks after a valid size
            return {"bundle_en": "", "bundle_ar": "", "price": "", "validity_en": "", "validity_ar": ""}
        return bundle_values(bundle)


class ActionBuyBundle(CareAction):
    """Adds the confirmed bundle, or confirms that nothing was added."""

    account_action = True

    def name(self) -> Text:
        return "action_buy_bundle"

    async def act(self, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                  backend: CareBackend, identity: CustomerIdentity) -> List[Dict[Text, Any]]:
        reset = [SlotSet("bundle_size", None), SlotSet("bundle_confirmed", None)]
        size = as_text(tracker.get_slot("bundle_size"))
        if tracker.get_slot("bundle_confirmed") is not True or not size:
            dispatcher.utter_message(response="utter_bundle_cancelled")
            return reset
        purchase = await backend.buy_bundle(account_of(identity), size)
        dispatcher.utter_message(response="utter_bundle_added", reference=formatting.isolate(purchase.reference),
                                 **bundle_values(purchase.bundle))
        return reset
