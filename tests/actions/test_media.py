"""Messages without text: acknowledging media, placing a location pin, a pin answering the area question."""
from rasa_sdk.events import SlotSet

from actions.api.geo import Centre, distance_km, nearest_area
from actions.media import ActionLocationReceived, ActionMediaReceived
from actions.network import ValidateOutageForm
from actions.stores import ValidateStoreForm
from tests.actions.conftest import assert_fills, entity, make_tracker, responses, slot, user

DUBAI_MALL = [entity("latitude", 25.1972), entity("longitude", 55.2796)]
ARABIAN_SEA = [entity("latitude", 12.25089), entity("longitude", 43.90539)]


def test_a_pin_is_placed_in_the_nearest_area_within_its_radius():
    centres = [Centre(area="Dubai", latitude=25.2048, longitude=55.2708, radius_km=35),
               Centre(area="Sharjah", latitude=25.3463, longitude=55.4209, radius_km=15)]
    assert 1.0 < distance_km((25.1972, 55.2796), (25.2048, 55.2708)) < 1.5
    assert nearest_area(25.1972, 55.2796, centres) == "Dubai"
    assert nearest_area(25.33, 55.41, centres) == "Sharjah"  # inside both radii: the nearer centre
    assert nearest_area(12.25, 43.9, centres) is None
    assert nearest_area(float("nan"), 55.0, centres) is None and nearest_area(95.0, 55.0, centres) is None


async def test_each_media_kind_is_named_in_both_languages(dispatcher, domain):
    for kind, english, arabic in (("image", "I got your photo", "وصلتني الصورة"),
                                  ("sticker", "I got your sticker", "وصلني الملصق"),
                                  ("document", "I got your document", "وصلني الملف"),
                                  ("video", "I got your video", "وصلني الفيديو"),
                                  (None, "I got your attachment", "وصلني المرفق")):
        dispatcher.messages.clear()
        entities = [entity("media_kind", kind)] if kind else []
        events = await ActionMediaReceived().run(dispatcher, make_tracker([user("", "send_media", entities)]), domain)
        assert events == [SlotSet("media_kind", None)]
        [message] = dispatcher.messages
        assert message["response"] == "utter_media_received"
        assert (message["received_en"], message["received_ar"]) == (english, arabic)
        assert_fills(domain, message)


async def test_a_pin_outside_a_form_offers_the_area_checks(dispatcher, domain):
    tracker = make_tracker([user("", "share_location", DUBAI_MALL)])
    assert await ActionLocationReceived().run(dispatcher, tracker, domain) == [SlotSet("area", "Dubai")]
    [message] = dispatcher.messages
    assert message["response"] == "utter_location_received" and message["area_ar"] == "دبي"
    assert_fills(domain, message)


async def test_a_pin_nowhere_known_asks_for_the_area(dispatcher, domain):
    tracker = make_tracker([user("", "share_location", ARABIAN_SEA)])
    assert await ActionLocationReceived().run(dispatcher, tracker, domain) == []
    assert responses(dispatcher) == ["utter_location_unplaced"]


async def test_a_pin_answers_the_store_and_outage_forms(dispatcher, domain):
    for form, validator in (("store_form", ValidateStoreForm()), ("outage_form", ValidateOutageForm())):
        tracker = make_tracker([user("where", "store_locator"), slot("requested_slot", "area"),
                                user("", "share_location", DUBAI_MALL)], active_loop=form)
        assert await validator.run(dispatcher, tracker, domain) == [SlotSet("area", "Dubai")], form


async def test_a_pin_the_backend_cannot_place_is_refused_and_asked_again(dispatcher, domain):
    tracker = make_tracker([user("where", "store_locator"), slot("requested_slot", "area"),
                            user("", "share_location", ARABIAN_SEA)], active_loop="store_form")
    assert await ValidateStoreForm().run(dispatcher, tracker, domain) == [SlotSet("area", None)]
    assert responses(dispatcher) == ["utter_invalid_area"]
