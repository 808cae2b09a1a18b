"""Shared plumbing: the backend guard, the silent re-ask, tracker helpers, and logging hygiene."""
import logging

import pytest

from actions.billing import ActionCheckBill
from actions.bundles import ActionAskBundleSize, ActionBuyBundle
from actions.common import as_text, rejected_this_turn, user_messages
from actions.compensation import ActionRecordCompensation, ActionRecordComplaint
from actions.handoff import ActionRequestHuman
from actions.network import ActionCheckOutage
from actions.orders import ActionOrderStatus
from actions.roaming import ActionRoamingInfo
from actions.stores import ActionFindStores
from tests.actions.conftest import entity, make_tracker, responses, slot, user
from tests.logs import printed

BACKEND_ACTIONS = [ActionCheckBill, ActionBuyBundle, ActionAskBundleSize, ActionRecordCompensation,
                   ActionRecordComplaint, ActionRequestHuman, ActionCheckOutage, ActionOrderStatus,
                   ActionRoamingInfo, ActionFindStores]


@pytest.mark.parametrize("action", BACKEND_ACTIONS, ids=lambda a: a.__name__)
async def test_a_failing_backend_gets_an_apology_not_silence(dispatcher, domain, monkeypatch, action, caplog):
    monkeypatch.setenv("MAJLIS_CARE_BACKEND", "tests.actions.backends:FailingBackend")
    tracker = make_tracker([user("roaming in London", "roaming", [entity("area", "London")])], slots={
        "area": "Dubai", "order_number": "4821937", "bundle_size": "10GB", "bundle_confirmed": True,
        "complaint_details": "no internet for days", "amount": "50"})
    with caplog.at_level(logging.ERROR):
        assert await action().run(dispatcher, tracker, domain) == []
    assert responses(dispatcher) == ["utter_something_went_wrong"]
    assert "the care backend failed" in caplog.text


def test_rejected_this_turn():
    before = [user("where is my order", "order_status"), slot("requested_slot", "order_number")]
    assert rejected_this_turn(make_tracker(before + [user("abc"), slot("order_number", "abc"),
                                                     slot("order_number", None)]), "order_number")
    # Accepted this turn.
    assert not rejected_this_turn(make_tracker(before + [user("4821937"), slot("order_number", "4821937")]),
                                  "order_number")
    # Reset in an earlier turn, nothing offered this turn.
    assert not rejected_this_turn(make_tracker([user("abc"), slot("order_number", "abc"), slot("order_number", None),
                                                user("hmm")]), "order_number")
    # A reset without an offer (e.g. a submit action clearing the slot) is not a rejection.
    assert not rejected_this_turn(make_tracker([user("x"), slot("order_number", None)]), "order_number")
    assert not rejected_this_turn(make_tracker([]), "order_number")


def test_as_text():
    assert as_text("45") == "45"
    assert as_text(45) == "45"
    assert as_text(45.5) == "45.5"
    assert as_text(True) is None
    assert as_text(None) is None
    assert as_text(["45"]) is None


def test_user_messages_filters_by_intent():
    tracker = make_tracker([user("hi", "greet"), user("wrong charge", "dispute_charge"), user("45")])
    assert [e["text"] for e in user_messages(tracker)] == ["hi", "wrong charge", "45"]
    assert [e["text"] for e in user_messages(tracker, ["dispute_charge"])] == ["wrong charge"]


async def test_no_customer_data_is_logged_at_info(dispatcher, domain, caplog):
    """Phone numbers, message text, amounts and details only ever appear below INFO."""
    secret_text = "my neighbour Fatima's internet 0501234567 is down"
    tracker = make_tracker([user(secret_text, "complain", language="en")], sender_id="whatsapp_cloud:971501112233",
                           slots={"complaint_details": secret_text, "amount": "77.77", "bundle_size": "10GB",
                                  "bundle_confirmed": True, "area": "Dubai"})
    with caplog.at_level(logging.INFO):
        for action in (ActionRecordComplaint, ActionRecordCompensation, ActionBuyBundle, ActionRequestHuman,
                       ActionCheckOutage):
            await action().run(dispatcher, tracker, domain)
    logged = printed(caplog.records)  # tracebacks included
    assert logged, "expected some INFO logging (case ids) to check"
    for secret in ("971501112233", "Fatima", "0501234567", "77.77", secret_text):
        assert secret not in logged


async def test_validators_degrade_gracefully_when_lookups_fail(dispatcher, domain, monkeypatch):
    from rasa_sdk.events import SlotSet

    from actions.billing import ValidateDisputeForm
    from actions.network import ValidateOutageForm
    from actions.orders import ValidateOrderStatusForm

    monkeypatch.setenv("MAJLIS_CARE_BACKEND", "tests.actions.backends:FailingBackend")

    def answered(slot_name, text, entities=()):
        return make_tracker([user(text, "inform", entities), slot(slot_name, text)])

    # The number is well formed: accepted unchecked (the status action apologises later if needed).
    assert await ValidateOrderStatusForm().run(dispatcher, answered("order_number", "4821937"), domain) == [
        SlotSet("order_number", "4821937")]
    # Without the bill to compare with, a positive amount goes to the billing team.
    assert await ValidateDisputeForm().run(dispatcher, answered("amount", "45"), domain) == [SlotSet("amount", "45")]
    # An area the NLU recognised is kept; free text cannot be checked and is asked again.
    assert await ValidateOutageForm().run(dispatcher, answered("area", "Sharjah", [entity("area", "Sharjah")]),
                                          domain) == [SlotSet("area", "Sharjah")]
    assert await ValidateOutageForm().run(dispatcher, answered("area", "somewhere"), domain) == [SlotSet("area", None)]
    assert responses(dispatcher) == ["utter_invalid_area"]
