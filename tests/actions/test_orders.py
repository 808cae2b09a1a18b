"""Order status: validation of the order number, the ask action, and the answer per status."""
import pytest
from rasa_sdk.events import SlotSet

from actions import formatting
from actions.orders import ActionAskOrderNumber, ActionOrderStatus, ValidateOrderStatusForm
from tests.actions.conftest import assert_fills, entity, make_tracker, responses, slot, user


def form_tracker(text, value, intent="inform"):
    """The tracker validate_order_status_form sees after the customer answered."""
    return make_tracker([
        user("وين طلبي", "order_status", language="ar"),
        slot("requested_slot", "order_number"),
        user(text, intent, [entity("order_number", value)] if value else []),
        slot("order_number", value if value is not None else text),
    ], active_loop="order_status_form")


@pytest.mark.parametrize("text, value", [
    ("4821937", "4821937"),
    ("my order is #4821937", "#4821937"),
    ("ORD-4821937", "ORD-4821937"),
    ("رقم الطلب ٤٨٢١٩٣٧", "٤٨٢١٩٣٧"),     # Arabic-Indic digits from the entity
    ("۴۸۲۱۹۳۷", None),                     # Persian digits, no entity: the raw text (from_text)
])
async def test_valid_order_numbers_are_normalised(dispatcher, domain, text, value):
    events = await ValidateOrderStatusForm().run(dispatcher, form_tracker(text, value), domain)
    assert events == [SlotSet("order_number", "4821937")]
    assert dispatcher.messages == []


@pytest.mark.parametrize("text", ["abc", "", "123", "0501234567", "4821937 or 7301846", "ما أدري"])
async def test_invalid_order_numbers_get_the_specific_reask(dispatcher, domain, text):
    events = await ValidateOrderStatusForm().run(dispatcher, form_tracker(text, None), domain)
    assert events == [SlotSet("order_number", None)]
    assert responses(dispatcher) == ["utter_invalid_order_number"]


async def test_unknown_order_is_reasked_with_the_number(dispatcher, domain):
    events = await ValidateOrderStatusForm().run(dispatcher, form_tracker("1111111", "1111111"), domain)
    assert events == [SlotSet("order_number", None)]
    assert responses(dispatcher) == ["utter_order_not_found"]
    assert dispatcher.messages[0]["order_number"] == formatting.isolate("1111111")
    assert_fills(domain, dispatcher.messages[0])


async def test_ask_action_asks(dispatcher, domain):
    tracker = make_tracker([user("where is my order", "order_status", language="en")])
    assert await ActionAskOrderNumber().run(dispatcher, tracker, domain) == []
    assert responses(dispatcher) == ["utter_ask_order_number"]


async def test_ask_action_is_silent_after_a_reask(dispatcher, domain):
    # The validator has already said what was wrong and asked again: one message per turn.
    tracker = make_tracker([
        user("where is my order", "order_status"),
        slot("requested_slot", "order_number"),
        user("abc", "inform"),
        slot("order_number", "abc"),
        slot("order_number", None),
    ], active_loop="order_status_form")
    assert await ActionAskOrderNumber().run(dispatcher, tracker, domain) == []
    assert dispatcher.messages == []


@pytest.mark.parametrize("number, response", [
    ("4821937", "utter_order_shipped"),
    ("7301846", "utter_order_out_for_delivery"),
    ("5512340", "utter_order_delivered"),
    ("6624018", "utter_order_delayed"),
])
async def test_status_answer(dispatcher, domain, backend, number, response):
    tracker = make_tracker([user(number, "inform", [entity("order_number", number)])], slots={"order_number": number})
    events = await ActionOrderStatus().run(dispatcher, tracker, domain)
    assert events == [SlotSet("order_number", None)]
    assert responses(dispatcher) == [response]
    message = dispatcher.messages[0]
    assert_fills(domain, message)
    order = await backend.find_order("demo", number)
    assert message["order_number"] == "\u2068" + number + "\u2069"
    assert message["item_en"] == order.item_en
    if order.eta:
        assert message["eta_en"] == formatting.day_month_en(order.eta)
        assert message["eta_ar"] == formatting.day_month_ar(order.eta)
    else:
        assert message["delivered_ar"] == formatting.day_month_ar(order.delivered_on)


async def test_status_for_a_vanished_order(dispatcher, domain):
    tracker = make_tracker(slots={"order_number": "1111111"})
    assert await ActionOrderStatus().run(dispatcher, tracker, domain) == [SlotSet("order_number", None)]
    assert responses(dispatcher) == ["utter_order_not_found"]
