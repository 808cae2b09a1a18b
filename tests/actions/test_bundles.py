"""Data bundles: size from the catalogue, confirmation, purchase."""
import pytest
from rasa_sdk.events import SlotSet

from actions.bundles import ActionAskBundleConfirmed, ActionAskBundleSize, ActionBuyBundle, ValidateDataBundleForm
from tests.actions.conftest import assert_fills, entity, make_tracker, responses, slot, user


def size_tracker(text, value):
    return make_tracker([
        user("I want a data bundle", "buy_data_bundle"), slot("requested_slot", "bundle_size"),
        user(text, "inform", [entity("bundle_size", value)] if value else []),
        slot("bundle_size", value if value is not None else text),
    ], active_loop="data_bundle_form")


@pytest.mark.parametrize("text, value, expected", [
    ("10GB", "10GB", "10GB"), ("10 جيجا", "10 جيجا", "10GB"), ("٥ جيجا", "٥ جيجا", "5GB"),
    ("5 giga", "5 giga", "5GB"), ("20", None, "20GB"), ("unlimited", "unlimited", "unlimited"),
    ("غير محدود", None, "unlimited"),
])
async def test_sizes_in_the_catalogue(dispatcher, domain, text, value, expected):
    events = await ValidateDataBundleForm().run(dispatcher, size_tracker(text, value), domain)
    assert events == [SlotSet("bundle_size", expected)]
    assert dispatcher.messages == []


@pytest.mark.parametrize("text", ["7GB", "500MB", "big", ""])
async def test_sizes_not_in_the_catalogue(dispatcher, domain, text):
    events = await ValidateDataBundleForm().run(dispatcher, size_tracker(text, None), domain)
    assert events == [SlotSet("bundle_size", None)]
    assert responses(dispatcher) == ["utter_invalid_bundle_size"]
    assert "10GB: AED 40, 30 days" in dispatcher.messages[0]["catalogue_en"]
    assert "10 جيجا: 40 درهم، 30 يوم" in dispatcher.messages[0]["catalogue_ar"]
    assert_fills(domain, dispatcher.messages[0])


@pytest.mark.parametrize("value", [True, False])
async def test_confirmation(dispatcher, domain, value):
    tracker = make_tracker([
        user("10GB", "inform"), slot("bundle_size", "10GB"), slot("requested_slot", "bundle_confirmed"),
        user("yes" if value else "no", "affirm" if value else "deny"), slot("bundle_confirmed", value),
    ], active_loop="data_bundle_form")
    assert await ValidateDataBundleForm().run(dispatcher, tracker, domain) == [SlotSet("bundle_confirmed", value)]


async def test_ask_size_lists_the_catalogue(dispatcher, domain):
    await ActionAskBundleSize().run(dispatcher, make_tracker([user("data bundle", "buy_data_bundle")]), domain)
    assert responses(dispatcher) == ["utter_ask_bundle_size"]
    assert dispatcher.messages[0]["catalogue_en"].startswith("• 1GB: AED 10, 7 days")
    assert_fills(domain, dispatcher.messages[0])


async def test_ask_size_is_silent_after_a_reask(dispatcher, domain):
    tracker = make_tracker([user("7GB", "inform"), slot("bundle_size", "7GB"), slot("bundle_size", None)])
    assert await ActionAskBundleSize().run(dispatcher, tracker, domain) == []
    assert dispatcher.messages == []


async def test_ask_confirmation_states_price_and_validity(dispatcher, domain):
    tracker = make_tracker([user("unlimited", "inform"), slot("bundle_size", "unlimited")])
    await ActionAskBundleConfirmed().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_ask_bundle_confirmed"]
    message = dispatcher.messages[0]
    assert (message["bundle_ar"], message["price"], message["validity_ar"]) == ("إنترنت بلا حدود", "99", "7 أيام")
    assert_fills(domain, message)


async def test_buy_when_confirmed(dispatcher, domain, data_dir):
    tracker = make_tracker(slots={"bundle_size": "10GB", "bundle_confirmed": True})
    events = await ActionBuyBundle().run(dispatcher, tracker, domain)
    assert events == [SlotSet("bundle_size", None), SlotSet("bundle_confirmed", None)]
    assert responses(dispatcher) == ["utter_bundle_added"]
    assert dispatcher.messages[0]["reference"] == "\u2068BN-000001\u2069"
    assert_fills(domain, dispatcher.messages[0])


@pytest.mark.parametrize("slots", [{"bundle_size": "10GB", "bundle_confirmed": False}, {"bundle_confirmed": True}])
async def test_nothing_bought_without_a_yes_and_a_size(dispatcher, domain, slots):
    events = await ActionBuyBundle().run(dispatcher, make_tracker(slots=slots), domain)
    assert events == [SlotSet("bundle_size", None), SlotSet("bundle_confirmed", None)]
    assert responses(dispatcher) == ["utter_bundle_cancelled"]
