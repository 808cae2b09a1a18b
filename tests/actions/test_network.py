"""Outages: the area (validated in any script) and the answer."""
import pytest
from rasa_sdk.events import SlotSet

from actions.network import ActionAskOutageFormArea, ActionCheckOutage, ValidateOutageForm, hours_until
from tests.actions.conftest import assert_fills, entity, make_tracker, responses, slot, user


def area_tracker(text, value, form="outage_form"):
    return make_tracker([
        user("no signal", "report_network_outage"),
        slot("requested_slot", "area"),
        user(text, "inform", [entity("area", value)] if value else []),
        slot("area", value if value is not None else text),
    ], active_loop=form)


@pytest.mark.parametrize("text, value, expected", [
    ("Sharjah", "Sharjah", "Sharjah"),
    ("in dxb", "Dubai", "Dubai"),                  # the synonym mapper already made it canonical
    ("بالشارقة", None, "Sharjah"),                  # no entity: the raw text, matched by alias
    ("انا في العين", None, "Al Ain"),
    ("Khor Fakkan", "Khor Fakkan", "Khor Fakkan"),  # recognised as an area but unknown: kept as said
])
async def test_areas(dispatcher, domain, text, value, expected):
    events = await ValidateOutageForm().run(dispatcher, area_tracker(text, value), domain)
    assert events == [SlotSet("area", expected)]
    assert dispatcher.messages == []


@pytest.mark.parametrize("text", ["", "somewhere", "١٢٣", "الحين"])
async def test_not_an_area(dispatcher, domain, text):
    events = await ValidateOutageForm().run(dispatcher, area_tracker(text, None), domain)
    assert events == [SlotSet("area", None)]
    assert responses(dispatcher) == ["utter_invalid_area"]


async def test_ask_for_the_area(dispatcher, domain):
    await ActionAskOutageFormArea().run(dispatcher, make_tracker([user("no signal", "report_network_outage")]), domain)
    assert responses(dispatcher) == ["utter_ask_outage_form_area"]


async def test_known_outage(dispatcher, domain):
    tracker = make_tracker([user("Sharjah", "inform", [entity("area", "Sharjah")])], slots={"area": "Sharjah"})
    events = await ActionCheckOutage().run(dispatcher, tracker, domain)
    assert events == [SlotSet("area", None)]
    assert responses(dispatcher) == ["utter_outage_known"]
    message = dispatcher.messages[0]
    assert (message["area_en"], message["area_ar"]) == ("Sharjah", "الشارقة")
    assert (message["service_en"], message["service_ar"]) == ("mobile data", "بيانات الجوال")
    assert message["eta_en"] == "3 hours"
    assert message["eta_ar"] == "3 ساعات"
    assert_fills(domain, message)


async def test_no_known_outage_records_a_network_case(dispatcher, domain, backend):
    tracker = make_tracker([user("النت فاصل عندي في دبي", "report_network_outage", [entity("area", "Dubai")],
                                 language="ar")], slots={"area": "Dubai"})
    events = await ActionCheckOutage().run(dispatcher, tracker, domain)
    assert events == [SlotSet("case_id", "MJ-000001"), SlotSet("area", None)]
    assert responses(dispatcher) == ["utter_no_outage_found"]
    assert dispatcher.messages[0]["area_ar"] == "دبي"
    assert_fills(domain, dispatcher.messages[0])
    case = await backend.get_case("MJ-000001")
    assert case.kind == "network"
    assert "النت فاصل عندي في دبي" in case.details


async def test_unknown_area_name_is_isolated_in_arabic(dispatcher, domain):
    tracker = make_tracker(slots={"area": "Khor Fakkan"})
    await ActionCheckOutage().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["area_ar"] == "\u2068Khor Fakkan\u2069"


def test_hours_until_rounds_up():
    from datetime import datetime, timedelta

    now = datetime(2025, 1, 1)
    assert hours_until(now + timedelta(hours=2, minutes=1), now) == 3
    assert hours_until(now + timedelta(minutes=5), now) == 1
    assert hours_until(now - timedelta(hours=1), now) == 1
