"""Stores: the area and the list."""
from rasa_sdk.events import SlotSet

from actions.stores import ActionAskStoreFormArea, ActionFindStores, ValidateStoreForm
from tests.actions.conftest import assert_fills, entity, make_tracker, responses, slot, user


async def test_area_is_validated_like_the_outage_area(dispatcher, domain):
    tracker = make_tracker([
        user("nearest shop", "store_locator"), slot("requested_slot", "area"),
        user("ابوظبي", "inform", [entity("area", "Abu Dhabi")]), slot("area", "Abu Dhabi"),
    ], active_loop="store_form")
    assert await ValidateStoreForm().run(dispatcher, tracker, domain) == [SlotSet("area", "Abu Dhabi")]


async def test_invalid_area(dispatcher, domain):
    tracker = make_tracker([
        user("nearest shop", "store_locator"), slot("requested_slot", "area"),
        user("idk", "inform"), slot("area", "idk"),
    ], active_loop="store_form")
    assert await ValidateStoreForm().run(dispatcher, tracker, domain) == [SlotSet("area", None)]
    assert responses(dispatcher) == ["utter_invalid_area"]


async def test_ask_for_the_area(dispatcher, domain):
    await ActionAskStoreFormArea().run(dispatcher, make_tracker([user("nearest shop", "store_locator")]), domain)
    assert responses(dispatcher) == ["utter_ask_store_form_area"]


async def test_stores_in_the_area(dispatcher, domain):
    events = await ActionFindStores().run(dispatcher, make_tracker(slots={"area": "Dubai"}), domain)
    assert events == [SlotSet("area", None)]
    assert responses(dispatcher) == ["utter_stores_in_area"]
    message = dispatcher.messages[0]
    assert_fills(domain, message)
    assert message["area_ar"] == "دبي"
    assert message["stores_en"].count("•") == 2
    assert "The Dubai Mall" in message["stores_en"]
    assert "دبي مول" in message["stores_ar"]


async def test_no_store_lists_where_there_are(dispatcher, domain):
    await ActionFindStores().run(dispatcher, make_tracker(slots={"area": "Ajman"}), domain)
    assert responses(dispatcher) == ["utter_no_store_in_area"]
    message = dispatcher.messages[0]
    assert_fills(domain, message)
    assert "Dubai" in message["store_areas_en"]
    assert "دبي" in message["store_areas_ar"] and "، " in message["store_areas_ar"]
