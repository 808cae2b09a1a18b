"""Complaints and compensation."""
import pytest
from rasa_sdk.events import SlotSet

from actions.compensation import (
    ActionAskCompensationFormAmount,
    ActionAskComplaintDetails,
    ActionRecordComplaint,
    ActionRecordCompensation,
    ValidateCompensationForm,
    is_enough_detail,
)
from tests.actions.conftest import assert_fills, entity, make_tracker, responses, slot, user


def details_tracker(text):
    return make_tracker([
        user("I want compensation", "request_compensation"), slot("requested_slot", "complaint_details"),
        user(text, "report_network_outage"), slot("complaint_details", text),
    ], active_loop="compensation_form")


@pytest.mark.parametrize("text", [
    "No internet at home for three days last week",
    "النت فاصل عندي من يوم الخميس وما قدرت أشتغل",
    "el net msh shaghal men 3 ayam",
    "Outage since Monday!!",
])
async def test_details_in_a_sentence(dispatcher, domain, text):
    events = await ValidateCompensationForm().run(dispatcher, details_tracker(text), domain)
    assert events == [SlotSet("complaint_details", text)]
    assert dispatcher.messages == []


@pytest.mark.parametrize("text", ["", "ok", "bad", "النت", "12345 678", "😡😡😡"])
async def test_too_little_detail(dispatcher, domain, text):
    events = await ValidateCompensationForm().run(dispatcher, details_tracker(text), domain)
    assert events == [SlotSet("complaint_details", None)]
    assert responses(dispatcher) == ["utter_invalid_complaint_details"]


def test_is_enough_detail():
    assert is_enough_detail("the network was down")
    assert not is_enough_detail("ok")


def amount_tracker(text, value):
    return make_tracker([
        user("no internet for 3 days", "report_network_outage"), slot("complaint_details", "no internet for 3 days"),
        slot("requested_slot", "amount"),
        user(text, "inform", [entity("amount", value)] if value else []), slot("amount", value or text),
    ], active_loop="compensation_form")


@pytest.mark.parametrize("text, value, expected", [
    ("50", "50", "50"), ("200 AED", "200 AED", "200"), ("١٥٠ درهم", "١٥٠ درهم", "150"), ("75.5", None, "75.5"),
])
async def test_requested_amounts(dispatcher, domain, text, value, expected):
    events = await ValidateCompensationForm().run(dispatcher, amount_tracker(text, value), domain)
    assert events == [SlotSet("amount", expected)]


@pytest.mark.parametrize("text", ["", "whatever is fair", "0", "-10"])
async def test_invalid_requested_amounts(dispatcher, domain, text):
    events = await ValidateCompensationForm().run(dispatcher, amount_tracker(text, None), domain)
    assert events == [SlotSet("amount", None)]
    assert responses(dispatcher) == ["utter_invalid_compensation_amount"]


async def test_ask_actions(dispatcher, domain):
    tracker = make_tracker([user("أبي تعويض", "request_compensation", language="ar")])
    await ActionAskComplaintDetails().run(dispatcher, tracker, domain)
    await ActionAskCompensationFormAmount().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_ask_complaint_details", "utter_ask_compensation_form_amount"]


async def test_details_reask_silences_the_question(dispatcher, domain):
    tracker = make_tracker([user("ok", "affirm"), slot("complaint_details", "ok"), slot("complaint_details", None)])
    assert await ActionAskComplaintDetails().run(dispatcher, tracker, domain) == []
    assert dispatcher.messages == []


async def test_record_within_the_limit(dispatcher, domain, backend):
    tracker = make_tracker(slots={"complaint_details": "No internet for 3 days", "amount": "50"})
    events = await ActionRecordCompensation().run(dispatcher, tracker, domain)
    assert events == [SlotSet("case_id", "MJ-000001"), SlotSet("complaint_details", None), SlotSet("amount", None)]
    assert responses(dispatcher) == ["utter_compensation_recorded"]
    assert_fills(domain, dispatcher.messages[0])
    case = await backend.get_case("MJ-000001")
    assert (case.kind, case.details, str(case.amount)) == ("compensation", "No internet for 3 days", "50")


async def test_above_the_limit_goes_to_a_specialist(dispatcher, domain):
    tracker = make_tracker(slots={"complaint_details": "No internet for 3 days", "amount": "150"})
    await ActionRecordCompensation().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_compensation_specialist"]
    assert (dispatcher.messages[0]["amount"], dispatcher.messages[0]["limit"]) == ("150", "100")
    assert_fills(domain, dispatcher.messages[0])


async def test_the_limit_is_configurable(dispatcher, domain, monkeypatch):
    monkeypatch.setenv("MAJLIS_COMPENSATION_AUTO_LIMIT", "200")
    await ActionRecordCompensation().run(dispatcher, make_tracker(slots={"complaint_details": "x y z",
                                                                         "amount": "150"}), domain)
    assert responses(dispatcher) == ["utter_compensation_recorded"]


async def test_exactly_the_limit_is_not_above_it(dispatcher, domain):
    await ActionRecordCompensation().run(dispatcher, make_tracker(slots={"complaint_details": "x y z",
                                                                         "amount": "100"}), domain)
    assert responses(dispatcher) == ["utter_compensation_recorded"]


async def test_complaint_is_recorded_in_the_customers_words(dispatcher, domain, backend):
    tracker = make_tracker([user("موظف الفرع كان وقح معي", "complain", language="ar")])
    events = await ActionRecordComplaint().run(dispatcher, tracker, domain)
    assert events == [SlotSet("case_id", "MJ-000001")]
    assert responses(dispatcher) == ["utter_complaint_recorded"]
    assert_fills(domain, dispatcher.messages[0])
    assert (await backend.get_case("MJ-000001")).details == "موظف الفرع كان وقح معي"
