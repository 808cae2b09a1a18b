"""Bills and disputes."""
import pytest
from rasa_sdk.events import SlotSet

from actions import formatting
from actions.billing import ActionAskDisputeFormAmount, ActionCheckBill, ActionRecordDispute, ValidateDisputeForm
from tests.actions.conftest import assert_fills, entity, make_tracker, responses, slot, user


async def test_unpaid_bill(dispatcher, domain, backend):
    tracker = make_tracker([user("how much is my bill", "check_bill", language="en")])
    assert await ActionCheckBill().run(dispatcher, tracker, domain) == []
    assert responses(dispatcher) == ["utter_bill_summary"]
    message = dispatcher.messages[0]
    bill = await backend.get_bill("demo")
    assert message["amount"] == "318.50"
    assert message["due_en"] == formatting.day_month_en(bill.due_date)
    assert message["due_ar"] == formatting.day_month_ar(bill.due_date)
    assert message["period_ar"] == formatting.month_year_ar(bill.period)
    assert_fills(domain, message)


async def test_paid_bill(dispatcher, domain):
    tracker = make_tracker([user("كم فاتورتي", "check_bill", language="ar")], sender_id="whatsapp_cloud:971500000001")
    await ActionCheckBill().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_bill_paid"]
    assert dispatcher.messages[0]["amount"] == "149"
    assert_fills(domain, dispatcher.messages[0])


async def test_no_bill_yet(dispatcher, domain):
    await ActionCheckBill().run(dispatcher, make_tracker(sender_id="whatsapp_cloud:971500000002"), domain)
    assert responses(dispatcher) == ["utter_no_bill"]


def dispute_tracker(text, value, sender_id="whatsapp_cloud:971509999999"):
    return make_tracker([
        user("there's a wrong charge on my bill", "dispute_charge"),
        slot("requested_slot", "amount"),
        user(text, "inform", [entity("amount", value)] if value else []),
        slot("amount", value if value is not None else text),
    ], active_loop="dispute_form", sender_id=sender_id)


@pytest.mark.parametrize("text, value, expected", [
    ("45", "45", "45"),
    ("150 AED", "150 AED", "150"),
    ("١٥٠ درهم", "١٥٠ درهم", "150"),
    ("٤٥٫٥٠", None, "45.50"),
    ("318.50", "318.50", "318.50"),   # the whole bill is allowed
])
async def test_valid_disputed_amounts(dispatcher, domain, text, value, expected):
    events = await ValidateDisputeForm().run(dispatcher, dispute_tracker(text, value), domain)
    assert events == [SlotSet("amount", expected)]
    assert dispatcher.messages == []


@pytest.mark.parametrize("text", ["", "a lot", "0", "-20", "مدري", "50 or 60"])
async def test_unreadable_or_non_positive_amounts(dispatcher, domain, text):
    events = await ValidateDisputeForm().run(dispatcher, dispute_tracker(text, None), domain)
    assert events == [SlotSet("amount", None)]
    assert responses(dispatcher) == ["utter_invalid_dispute_amount"]


async def test_amount_above_the_latest_bill(dispatcher, domain):
    events = await ValidateDisputeForm().run(dispatcher, dispute_tracker("500", "500"), domain)
    assert events == [SlotSet("amount", None)]
    assert responses(dispatcher) == ["utter_dispute_amount_above_bill"]
    assert dispatcher.messages[0]["bill_amount"] == "318.50"
    assert_fills(domain, dispatcher.messages[0])


async def test_without_a_bill_any_positive_amount_goes_to_the_billing_team(dispatcher, domain):
    events = await ValidateDisputeForm().run(dispatcher, dispute_tracker("500", "500", "971500000002"), domain)
    assert events == [SlotSet("amount", "500")]


async def test_ask_for_the_disputed_amount(dispatcher, domain):
    await ActionAskDisputeFormAmount().run(dispatcher, make_tracker([user("wrong charge", "dispute_charge")]), domain)
    assert responses(dispatcher) == ["utter_ask_dispute_form_amount"]


async def test_record_dispute(dispatcher, domain, backend):
    tracker = make_tracker([
        user("you charged me wrongly last month", "dispute_charge", [entity("date", "last month")]),
        user("45", "inform", [entity("amount", "45")]),
    ], slots={"amount": "45"})
    events = await ActionRecordDispute().run(dispatcher, tracker, domain)
    assert events == [SlotSet("case_id", "MJ-000001"), SlotSet("amount", None)]
    assert responses(dispatcher) == ["utter_dispute_recorded"]
    assert dispatcher.messages[0]["case_id"] == "\u2068MJ-000001\u2069"
    assert dispatcher.messages[0]["amount"] == "45"
    assert_fills(domain, dispatcher.messages[0])
    case = await backend.get_case("MJ-000001")
    assert case.kind == "dispute"
    assert "When: last month" in case.details
    assert "you charged me wrongly last month" in case.details


async def test_record_dispute_without_an_amount_apologises(dispatcher, domain):
    assert await ActionRecordDispute().run(dispatcher, make_tracker(), domain) == []
    assert responses(dispatcher) == ["utter_something_went_wrong"]
