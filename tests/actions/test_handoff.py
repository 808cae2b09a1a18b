"""Asking for a person."""
from rasa_sdk.events import SlotSet

from actions.handoff import ActionRequestHuman
from tests.actions.conftest import assert_fills, make_tracker, responses, user


async def test_records_the_request_with_the_recent_messages(dispatcher, domain, backend):
    tracker = make_tracker([
        user("مرحبا", "greet", language="ar"),
        user("النت فاصل من أمس", "report_network_outage", language="ar"),
        user("أبي أكلم موظف", "talk_to_human", language="ar"),
    ])
    events = await ActionRequestHuman().run(dispatcher, tracker, domain)
    assert events == [SlotSet("requested_human", True), SlotSet("case_id", "MJ-000001")]
    assert responses(dispatcher) == ["utter_handoff"]
    assert dispatcher.messages[0]["case_id"] == "\u2068MJ-000001\u2069"
    assert_fills(domain, dispatcher.messages[0])
    case = await backend.get_case("MJ-000001")
    assert case.kind == "handoff"
    assert "Reply language: ar" in case.details
    assert "[report_network_outage] النت فاصل من أمس" in case.details


async def test_keeps_only_the_latest_messages(dispatcher, domain, backend):
    tracker = make_tracker([user(f"message {i}", "inform", language="en") for i in range(8)])
    await ActionRequestHuman().run(dispatcher, tracker, domain)
    details = (await backend.get_case("MJ-000001")).details
    assert "message 2" not in details and "message 3" in details and "message 7" in details


async def test_a_second_request_does_not_open_a_second_case(dispatcher, domain, backend):
    tracker = make_tracker([user("agent!!", "talk_to_human", language="en")], slots={"requested_human": True})
    assert await ActionRequestHuman().run(dispatcher, tracker, domain) == []
    assert responses(dispatcher) == ["utter_handoff_already"]
    assert await backend.get_case("MJ-000001") is None
