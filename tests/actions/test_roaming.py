"""Roaming: the pass for the destination in the message."""
import pytest
from rasa_sdk.events import SlotSet

from actions.roaming import ActionRoamingInfo
from tests.actions.conftest import assert_fills, entity, make_tracker, responses, user


def roaming_tracker(text, area=None, language="en"):
    entities = [entity("area", area)] if area else []
    slots = {"area": area} if area else {}
    return make_tracker([user(text, "roaming", entities, language=language)], slots=slots)


async def test_offer_for_a_destination(dispatcher, domain):
    events = await ActionRoamingInfo().run(dispatcher, roaming_tracker("roaming in London", "London"), domain)
    assert events == [SlotSet("area", None)]   # the destination must not pre-fill a later form
    assert responses(dispatcher) == ["utter_roaming_offer"]
    message = dispatcher.messages[0]
    assert_fills(domain, message)
    assert (message["destination_en"], message["destination_ar"]) == ("London", "لندن")
    assert (message["price"], message["data_ar"], message["validity_ar"]) == ("99", "3 جيجا", "7 أيام")


async def test_gulf_destinations_use_the_gcc_pass(dispatcher, domain):
    await ActionRoamingInfo().run(dispatcher, roaming_tracker("تجوال الرياض", "الرياض", "ar"), domain)
    assert dispatcher.messages[0]["destination_en"] == "Riyadh"
    assert dispatcher.messages[0]["price"] == "49"


async def test_home_network(dispatcher, domain):
    await ActionRoamingInfo().run(dispatcher, roaming_tracker("roaming in Dubai", "Dubai"), domain)
    assert responses(dispatcher) == ["utter_roaming_home"]
    assert_fills(domain, dispatcher.messages[0])


@pytest.mark.parametrize("area", ["Tokyo", "Cairo"])
async def test_no_pass_for_the_destination(dispatcher, domain, area):
    await ActionRoamingInfo().run(dispatcher, roaming_tracker(f"roaming in {area}", area), domain)
    expected = "utter_roaming_offer" if area == "Cairo" else "utter_roaming_no_offer"
    assert responses(dispatcher) == [expected]
    assert_fills(domain, dispatcher.messages[0])


async def test_unknown_destination_is_isolated(dispatcher, domain):
    await ActionRoamingInfo().run(dispatcher, roaming_tracker("roaming in Tokyo", "Tokyo"), domain)
    assert dispatcher.messages[0]["destination_ar"] == "\u2068Tokyo\u2069"


async def test_no_destination(dispatcher, domain):
    events = await ActionRoamingInfo().run(dispatcher, roaming_tracker("how does roaming work"), domain)
    assert events == []
    assert responses(dispatcher) == ["utter_roaming_general"]
