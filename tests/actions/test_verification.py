"""Account actions run only for a proven customer; anonymous conversations verify with a one-time code.

The code is read where the demo backend "sends" it: its recorded SMS outbox.
"""
from __future__ import annotations

import re
import time

import pytest
from rasa_sdk.events import FollowupAction, SlotSet

from actions.billing import ActionCheckBill
from actions.bundles import ActionBuyBundle
from actions.identity import PENDING_SLOT, PROOF_METADATA_KEY, PROOF_SLOT, resolve_identity
from actions.orders import ActionOrderStatus, ValidateOrderStatusForm
from actions.verification import ActionAfterVerification, ValidateVerificationForm, find_code, find_line
from bot.identity import IdentityProof
from tests.actions.conftest import entity, make_tracker, responses, user

WEBCHAT = "webchat:5f0c3a9e1b2d4c6f8a7e9d1c3b5a7f90"


def webchat_tracker(events=(), slots=None, sender=WEBCHAT, active_loop=None):
    return make_tracker([user("hi", "greet", input_channel="webchat"), *events], slots=slots, sender_id=sender,
                        active_loop=active_loop)


def latest_code(backend, line: str) -> str:
    sent_at, text = backend.verification.sent_messages(line)[0]
    return re.search(r"\b(\d{6})\b", text).group(1)


def slots_of(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_an_anonymous_web_chat_asking_for_the_bill_is_asked_to_verify(dispatcher, domain):
    tracker = webchat_tracker([user("how much is my bill", "check_bill", language="en", input_channel="webchat")])
    events = await ActionCheckBill().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_verify_first"]
    assert not any("amount" in message for message in dispatcher.messages)  # no bill
    assert SlotSet(PENDING_SLOT, "action_check_bill") in events
    assert FollowupAction("verification_form") in events


async def test_after_the_code_from_the_sms_the_bill_comes(dispatcher, domain, backend):
    tracker = webchat_tracker([user("my bill", "check_bill", input_channel="webchat")],
                              slots={PENDING_SLOT: "action_check_bill"})
    form = ValidateVerificationForm()
    set_line = slots_of(await form.run(dispatcher, make_tracker(
        [*tracker.events, user("my number is 050 123 4567", input_channel="webchat"),
         SlotSet("requested_slot", "verification_line"), SlotSet("verification_line", "my number is 050 123 4567")],
        sender_id=WEBCHAT, active_loop="verification_form"), domain))
    assert set_line["verification_line"] == "971501234567"
    code = latest_code(backend, "971501234567")

    set_code = slots_of(await form.run(dispatcher, make_tracker(
        [*tracker.events, SlotSet("verification_line", "971501234567"), user(f"the code is {code}",
                                                                           input_channel="webchat"),
         SlotSet("requested_slot", "verification_code"), SlotSet("verification_code", f"the code is {code}")],
        sender_id=WEBCHAT, active_loop="verification_form"), domain))
    assert set_code["verification_code"] == "verified"
    proof = set_code[PROOF_SLOT]
    assert code not in proof

    verified = webchat_tracker([user(code, input_channel="webchat")],
                               slots={PENDING_SLOT: "action_check_bill", PROOF_SLOT: proof})
    after = ActionAfterVerification()
    dispatcher.messages.clear()
    events = await after.run(dispatcher, verified, domain)
    assert responses(dispatcher) == ["utter_verified", "utter_bill_summary"]
    assert dispatcher.messages[1]["amount"] == "318.50"  # 0501234567 is not in the seed: the demo account
    assert SlotSet(PENDING_SLOT, None) in events


async def test_a_wrong_code_is_re_asked_and_five_lock_the_code(dispatcher, domain, backend):
    await backend.send_verification_code("971501234567")
    code = latest_code(backend, "971501234567")
    wrong = "000000" if code != "000000" else "111111"
    outcomes = [(await backend.check_verification_code("971501234567", wrong)).outcome for _ in range(5)]
    assert outcomes == ["wrong", "wrong", "wrong", "wrong", "locked"]
    assert (await backend.check_verification_code("971501234567", code)).outcome == "locked"


async def test_a_code_works_once_and_is_stored_hashed(backend, data_dir):
    await backend.send_verification_code("971500000001")
    code = latest_code(backend, "971500000001")
    import sqlite3

    rows = sqlite3.connect(data_dir / "care_demo.sqlite").execute("SELECT * FROM verification_codes").fetchall()
    assert rows and all(code not in str(value) for row in rows for value in row)
    result = await backend.check_verification_code("971500000001", code)
    assert (result.outcome, result.customer_id) == ("verified", "971500000001")
    assert (await backend.check_verification_code("971500000001", code)).outcome == "expired"


async def test_codes_per_line_are_limited(backend):
    assert [await backend.send_verification_code("971501234568") for _ in range(4)] == [True, True, True, False]


async def test_a_whatsapp_customer_gets_their_own_bill_without_a_step(dispatcher, domain):
    tracker = make_tracker([user("my bill", "check_bill")], sender_id="whatsapp_cloud:971500000001")
    await ActionCheckBill().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_bill_paid"]
    assert dispatcher.messages[0]["amount"] == "149"  # 971500000001's own bill, not the demo account's 318.50


@pytest.mark.parametrize("sender, channel", [
    ("whatsapp_cloud:971500000001", "rest"),     # a namespace the messages did not come in on
    ("whatsapp_cloud:971500000001", "webchat"),
    ("971500000001", "whatsapp_cloud"),          # a bare (legacy) id proves nothing
    ("instagram:1784000111", "instagram"),        # an IGSID the backend links to nobody
])
async def test_a_sender_id_alone_proves_nothing(dispatcher, domain, sender, channel):
    tracker = make_tracker([user("my bill", "check_bill", input_channel=channel)], sender_id=sender)
    await ActionCheckBill().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_verify_first"]


@pytest.mark.parametrize("forge", ["for another sender", "bad mac", "expired", "plain customer id"])
async def test_a_forged_proof_proves_nothing(dispatcher, domain, backend, forge):
    proof = {
        "for another sender": IdentityProof.issue("webchat:someone-else", "971500000001", "sms_code").seal(),
        "bad mac": IdentityProof.issue(WEBCHAT, "971500000001", "sms_code").seal()[:-4] + "AAAA",
        "expired": IdentityProof.issue(WEBCHAT, "971500000001", "sms_code", now=time.time() - 10 ** 6).seal(),
        "plain customer id": "971500000001",
    }[forge]
    tracker = make_tracker([user("my bill", "check_bill", input_channel="webchat",
                                 metadata={PROOF_METADATA_KEY: proof})],
                           slots={PROOF_SLOT: proof}, sender_id=WEBCHAT)
    assert (await resolve_identity(tracker, backend)).verified_customer_id is None
    await ActionCheckBill().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_verify_first"]


async def test_a_proof_in_the_message_metadata_verifies_the_web_chat(dispatcher, domain):
    proof = IdentityProof.issue(WEBCHAT, "971500000001", "operator_jwt").seal()
    tracker = make_tracker([user("my bill", "check_bill", input_channel="webchat",
                                 metadata={PROOF_METADATA_KEY: proof})], sender_id=WEBCHAT)
    await ActionCheckBill().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_bill_paid"]


async def test_another_customers_order_is_not_found(dispatcher, domain):
    """Order 4821937 is the demo account's; 2094417 is 971500000001's."""
    theirs = make_tracker([user("4821937", "inform", [entity("order_number", "4821937")])],
                          slots={"order_number": "4821937"}, sender_id="whatsapp_cloud:971500000001")
    await ActionOrderStatus().run(dispatcher, theirs, domain)
    own = make_tracker([user("2094417", "inform", [entity("order_number", "2094417")])],
                       slots={"order_number": "2094417"}, sender_id="whatsapp_cloud:971500000001")
    await ActionOrderStatus().run(dispatcher, own, domain)
    assert responses(dispatcher) == ["utter_order_not_found", "utter_order_shipped"]
    events = await ValidateOrderStatusForm().run(dispatcher, make_tracker(
        [user("4821937", "inform", [entity("order_number", "4821937")]), SlotSet("requested_slot", "order_number"),
         SlotSet("order_number", "4821937")], sender_id="whatsapp_cloud:971500000001",
        active_loop="order_status_form"), domain)
    assert SlotSet("order_number", None) in events


async def test_a_bundle_is_not_bought_for_an_anonymous_chat(dispatcher, domain, data_dir):
    import sqlite3

    tracker = webchat_tracker(slots={"bundle_size": "10GB", "bundle_confirmed": True})
    events = await ActionBuyBundle().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_verify_first"] and FollowupAction("verification_form") in events
    database = data_dir / "care_demo.sqlite"
    if database.exists():
        assert sqlite3.connect(database).execute("SELECT COUNT(*) FROM purchases").fetchone() == (0,)


@pytest.mark.parametrize("text, line", [
    ("0501234567", "971501234567"), ("+971 50 123 4567", "971501234567"), ("رقمي ٠٥٠١٢٣٤٥٦٧", "971501234567"),
    ("00971-55-1234567", "971551234567"), ("482913", None), ("call me", None),
])
def test_find_line(text, line):
    assert find_line(text) == line


@pytest.mark.parametrize("text, code", [
    ("482913", "482913"), ("the code is 482 913", "482913"), ("الرمز ٧٣٥١٠٢", "735102"), ("0501234567", None),
    ("12345", None),
])
def test_find_code(text, code):
    assert find_code(text) == code


async def test_the_demo_shows_the_recorded_sms(backend, capsys):
    from actions.api.demo_verification import main

    assert main(["050", "765", "4300"]) == 1  # nothing sent yet
    await backend.send_verification_code("971507654300")
    assert main(["050", "765", "4300"]) == 0
    printed = capsys.readouterr().out
    assert latest_code(backend, "971507654300") in printed and "رمز التحقق" in printed
    assert main(["not-a-number"]) == 2
