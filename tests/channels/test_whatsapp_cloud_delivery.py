"""channels/whatsapp_cloud/channel.py with delivery: replies reach the fake Graph API once.

Real HTTP both ways: signed webhooks into the Sanic app built by Rasa's
``configure_app``, replies out to tests/fakes/fake_graph.py.  Bodies are built by
tests/fakes/fake_customer.py like Meta's (non-ASCII ``\\u``-escaped).
"""
from __future__ import annotations

import json
import logging

import pytest

from bot.delivery import OutboxState
from tests.channels.whatsapp_harness import (
    NUMBERS,
    PHONE_NUMBER_ID,
    RecordingAgent,
    make_channel,
    running_channel,
    settings,
)
from tests.fakes.fake_customer import button_reply, encode, envelope, new_wamid, text_message
from tests.fakes.fake_graph import fake_graph  # noqa: F401 - fixture

CUSTOMER = "971500000001"


async def eventually_sent(fake_graph, count: int = 1, timeout: float = 15.0):
    return await fake_graph.wait_for(count, timeout=timeout)


@pytest.fixture
def agent():
    return RecordingAgent(reply="أهلاً! كيف أقدر أساعدك؟")


@pytest.fixture
async def served(fake_graph, agent):
    channel = make_channel(settings(fake_graph.url))
    async with running_channel(channel, agent) as running:
        yield running


async def post(running, *messages, phone_number_id=PHONE_NUMBER_ID):
    return await running.post_signed(encode(envelope(list(messages), phone_number_id=phone_number_id)))


async def test_arabic_reply_reaches_the_customer_with_the_number_token(served, fake_graph, agent):
    status, _ = await post(served, text_message("مرحبا، أبي أعرف فاتورتي", sender=CUSTOMER))
    assert status == 200
    [sent] = await eventually_sent(fake_graph)
    assert agent.messages[0].text == "مرحبا، أبي أعرف فاتورتي"
    assert sent.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
    assert sent.headers["Authorization"] == "Bearer token-brand-a"
    assert sent.json == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
        "type": "text", "text": {"body": "أهلاً! كيف أقدر أساعدك؟", "preview_url": False},
    }
    # the reply's outbox key, echoed by Meta's status webhooks (bot/delivery/in_doubt.py)
    assert sent.callback_data == f"{agent.messages[0].message_id}:0"
    [receipt] = fake_graph.receipts()
    assert receipt.json["message_id"] == agent.messages[0].message_id
    assert receipt.json["typing_indicator"] == {"type": "text"}


async def test_each_number_answers_with_its_own_token(served, fake_graph):
    await post(served, text_message("hi", sender=CUSTOMER), phone_number_id="106540352242922")
    [sent] = await eventually_sent(fake_graph)
    assert sent.path == "/v21.0/106540352242922/messages"
    assert sent.headers["Authorization"] == f"Bearer {NUMBERS['106540352242922']['token']}"


async def test_one_batch_for_two_numbers_is_routed_per_number(served, fake_graph, agent):
    body = envelope([text_message("a", sender="971500000011")], phone_number_id=PHONE_NUMBER_ID)
    other = envelope([text_message("b", sender="971500000012")], phone_number_id="106540352242922")
    body["entry"].extend(other["entry"])
    status, answer = await served.post_signed(encode(body))
    assert status == 200 and json.loads(answer)["accepted"] == 2
    sent = await eventually_sent(fake_graph, 2)
    assert {(s.path, s.json["to"]) for s in sent} == {
        (f"/v21.0/{PHONE_NUMBER_ID}/messages", "971500000011"),
        ("/v21.0/106540352242922/messages", "971500000012"),
    }


async def test_unconfigured_number_is_ignored_not_failed(served, fake_graph, agent, caplog):
    with caplog.at_level(logging.WARNING):
        status, answer = await post(served, text_message("hi", sender=CUSTOMER), phone_number_id="999")
    assert status == 200 and json.loads(answer)["accepted"] == 0
    assert "unconfigured phone_number_id 999" in caplog.text


@pytest.mark.parametrize("failures", [["500", "130429"], ["429", "131056"], ["timeout"]])
async def test_transient_failures_are_retried_and_the_reply_arrives_once(served, fake_graph, failures):
    fake_graph.fail(*failures)
    await post(served, text_message("hi", sender=CUSTOMER))
    [sent] = await eventually_sent(fake_graph, timeout=20)
    await served.channel.delivery.drain()
    attempts = fake_graph.messages(outcome=None)
    assert [a.outcome for a in attempts] == [f"failed:{f}" for f in failures] + ["ok"]
    [record] = await served.channel.delivery.outbox_records()
    assert record.state is OutboxState.SENT and record.provider_message_id == sent.message_id
    assert record.message.attempts == len(failures) + 1


async def test_undeliverable_is_recorded_and_not_retried(served, fake_graph, caplog):
    fake_graph.fail("131026")
    with caplog.at_level(logging.WARNING):
        await post(served, text_message("hi", sender=CUSTOMER))
        await served.channel.delivery.drain()
    assert [a.outcome for a in fake_graph.messages(outcome=None)] == ["failed:131026"]
    [record] = await served.channel.delivery.outbox_records()
    assert record.state is OutboxState.FAILED and record.error_code == 131026
    assert "131026" in caplog.text and CUSTOMER not in caplog.text


async def test_window_error_from_meta_sends_the_configured_template(served, fake_graph):
    fake_graph.fail("131047")
    await post(served, text_message("hi", sender=CUSTOMER))
    [template] = await eventually_sent(fake_graph)
    assert template.json["type"] == "template"
    assert template.json["template"] == {"name": "reengage", "language": {"code": "ar", "policy": "deterministic"}}
    assert template.json["to"] == CUSTOMER


async def test_outside_the_window_free_form_is_not_attempted(served, fake_graph):
    stale = text_message("hi", sender=CUSTOMER, timestamp=1_600_000_000)
    await post(served, stale)
    [template] = await eventually_sent(fake_graph)
    await served.channel.delivery.drain()
    assert [m.json["type"] for m in fake_graph.messages(outcome=None)] == ["template"]


async def test_status_reports_update_what_the_customer_has_seen(served, fake_graph):
    await post(served, text_message("hi", sender=CUSTOMER))
    [sent] = await eventually_sent(fake_graph)
    wamid = sent.message_id

    def status(name, **extra):
        return {"id": wamid, "status": name, "timestamp": "1700000000", "recipient_id": CUSTOMER, **extra}

    for batch in (["read"], ["delivered", "sent"], ["read"]):
        body = envelope(phone_number_id=PHONE_NUMBER_ID, statuses=[status(s) for s in batch])
        assert (await served.post_signed(encode(body)))[0] == 200
    record = await served.channel.delivery.store.current_status("whatsapp_cloud", wamid)
    assert record.status == "read"


async def test_window_failure_status_switches_to_the_template(served, fake_graph):
    await post(served, text_message("hi", sender=CUSTOMER))
    [sent] = await eventually_sent(fake_graph)
    failed = {"id": sent.message_id, "status": "failed", "timestamp": "1700000000", "recipient_id": CUSTOMER,
              "errors": [{"code": 131047, "title": "Re-engagement message"}]}
    await served.post_signed(encode(envelope(phone_number_id=PHONE_NUMBER_ID, statuses=[failed])))
    sent_all = await eventually_sent(fake_graph, 2)
    assert sent_all[1].json["type"] == "template"
    records = await served.channel.delivery.outbox_records()
    assert records[0].state is OutboxState.FAILED and records[0].error_code == 131047


async def test_duplicates_in_a_batch_and_across_deliveries_are_processed_once(served, fake_graph, agent):
    message = text_message("hi", sender=CUSTOMER)
    status, answer = await post(served, message, message)
    assert status == 200 and json.loads(answer)["accepted"] == 1
    status, answer = await post(served, message)
    assert status == 200 and json.loads(answer)["accepted"] == 0
    await eventually_sent(fake_graph)
    await served.channel.delivery.drain()
    assert len(agent.messages) == 1 and len(fake_graph.messages()) == 1


async def test_a_thousand_messages_in_one_batch(fake_graph):
    agent = RecordingAgent()
    channel = make_channel(settings(fake_graph.url, WHATSAPP_MARK_READ="false"))
    messages = [text_message(f"m{n}", sender=f"9715000{n % 100:05d}") for n in range(1000)]
    raw = encode(envelope(messages, phone_number_id=PHONE_NUMBER_ID))
    assert len(raw) < 1024 * 1024
    async with running_channel(channel, agent) as running:
        status, answer = await running.post_signed(raw)
        assert status == 200 and json.loads(answer)["accepted"] == 1000
        await channel.delivery.drain(timeout=300)
    assert len(agent.messages) == 1000
    per_customer = {}
    for message in agent.messages:
        per_customer.setdefault(message.sender_id, []).append(int(message.text[1:]))
    assert all(texts == sorted(texts) for texts in per_customer.values())  # arrival order kept


async def test_customer_known_only_by_business_scoped_id(served, fake_graph, agent):
    message = {"from_user_id": "US.13491208655302741918", "id": new_wamid(), "timestamp": "1900000000",
               "type": "text", "text": {"body": "hello"}}
    body = envelope([], phone_number_id=PHONE_NUMBER_ID)
    body["entry"][0]["changes"][0]["value"].update(
        contacts=[{"profile": {"name": "x"}, "user_id": "US.13491208655302741918"}], messages=[message])
    assert (await served.post_signed(encode(body)))[0] == 200
    [sent] = await eventually_sent(fake_graph)
    assert agent.messages[0].sender_id == "whatsapp_cloud:US.13491208655302741918"
    # A BSUID goes in "recipient", never in "to" (see tests/channels/test_whatsapp_bsuid.py).
    assert sent.json["recipient"] == "US.13491208655302741918" and "to" not in sent.json


@pytest.mark.parametrize("text", ["", "   ", "😀👍🏽👨‍👩‍👧", "a\x00b\x07c\u202e", "<script>alert(1)</script><b>hi</b>"])
async def test_odd_texts_pass_through_safely(served, agent, text):
    status, _ = await post(served, text_message(text, sender=CUSTOMER))
    assert status == 200
    await served.channel.delivery.drain()
    assert agent.messages[0].text == text.strip()


async def test_button_tap_with_a_rasa_payload_triggers_the_intent(served, agent):
    await post(served, button_reply('/inform{"area": "Dubai"}', "دبي", sender=CUSTOMER))
    await served.channel.delivery.drain()
    [message] = agent.messages
    assert message.text == "دبي"
    assert message.parse_data["intent"]["name"] == "inform"
    assert message.parse_data["entities"][0]["value"] == "Dubai"


@pytest.mark.parametrize("buttons,kind", [(2, "button"), (5, "list"), (12, "text")])
async def test_rasa_buttons_become_interactive_messages(fake_graph, buttons, kind):
    response = {"text": "اختر", "buttons": [{"title": f"خيار {n}", "payload": f"/choose{{\"n\": {n}}}"} for n in range(buttons)]}
    channel = make_channel(settings(fake_graph.url))
    async with running_channel(channel, RecordingAgent(reply=response)) as running:
        await post(running, text_message("hi", sender=CUSTOMER))
        [sent] = await fake_graph.wait_for(1)
    assert sent.json.get("interactive", {}).get("type", "text") == kind


async def test_image_and_document_and_custom_json(fake_graph):
    replies = [
        {"image": "https://example.com/bill.png"},
        {"attachment": "https://example.com/bill.pdf"},
        {"custom": {"type": "location", "location": {"latitude": 25.2, "longitude": 55.27, "name": "Store"}}},
    ]
    channel = make_channel(settings(fake_graph.url))
    async with running_channel(channel, RecordingAgent(reply=replies)) as running:
        await post(running, text_message("hi", sender=CUSTOMER))
        sent = await fake_graph.wait_for(3)
    assert [s.json["type"] for s in sent] == ["image", "document", "location"]
    assert sent[0].json["image"] == {"link": "https://example.com/bill.png"}
    assert sent[2].json["to"] == CUSTOMER


# -- bad input -------------------------------------------------------------------


async def test_bad_requests_get_clear_status_codes(served, agent, caplog):
    good = encode(envelope([text_message("secret words", sender=CUSTOMER)], phone_number_id=PHONE_NUMBER_ID))
    with caplog.at_level(logging.DEBUG):
        assert (await served.post_signed(b"{not json"))[0] == 400
        assert (await served.post_signed(b"[1, 2]"))[0] == 400
        assert (await served.post_signed(good, content_type="text/plain"))[0] == 415
        assert (await served.post(good, {"Content-Type": "application/json"}))[0] == 401
        assert (await served.post(good, {"Content-Type": "application/json",
                                         "X-Hub-Signature-256": "sha256=" + "0" * 64}))[0] == 401
        assert (await served.post_signed(json.dumps({"object": "page", "entry": []}).encode()))[0] == 200
        unknown_field = {"object": "whatsapp_business_account",
                         "entry": [{"id": "1", "changes": [{"field": "calls", "value": {}}]}]}
        assert (await served.post_signed(json.dumps(unknown_field).encode()))[0] == 200
    await served.channel.delivery.drain()
    assert agent.messages == []
    assert "secret words" not in caplog.text


async def test_body_over_the_limit_is_refused(fake_graph):
    channel = make_channel(settings(fake_graph.url, WHATSAPP_MAX_BODY_BYTES="2048"))
    big = encode(envelope([text_message("x" * 3000, sender=CUSTOMER)], phone_number_id=PHONE_NUMBER_ID))
    async with running_channel(channel, RecordingAgent()) as running:
        assert (await running.post_signed(big))[0] == 413


async def test_database_down_answers_503_so_meta_retries(fake_graph):
    from sqlalchemy.exc import OperationalError

    channel = make_channel(settings(fake_graph.url))
    async with running_channel(channel, RecordingAgent()) as running:
        async def broken(*_args, **_kwargs):
            raise OperationalError("INSERT", {}, Exception("database is locked"))

        channel.delivery.store.accept = broken
        status, _ = await post(running, text_message("hi", sender=CUSTOMER))
    assert status == 503


async def test_media_can_be_fetched_from_the_metadata(served, fake_graph, agent):
    fake_graph.media["65463453"] = b"\x89PNG..."
    message = {"from": CUSTOMER, "id": new_wamid(), "timestamp": "1900000000", "type": "image",
               "image": {"id": "65463453", "mime_type": "image/png", "sha256": "x", "caption": "my bill"}}
    await post(served, message)
    await served.channel.delivery.drain()
    [user_message] = agent.messages
    assert user_message.text == "my bill"
    assert user_message.metadata["whatsapp"]["media"]["fetch_url"] == f"{fake_graph.url}/65463453"
    assert await served.channel.fetch_inbound_media(user_message.metadata) == b"\x89PNG..."


async def test_proactive_messages_go_out_from_the_number_the_customer_used(served, fake_graph):
    await post(served, text_message("hi", sender=CUSTOMER), phone_number_id="106540352242922")
    await eventually_sent(fake_graph)
    output = served.channel.get_output_channel()
    await output.send_response(CUSTOMER, {"text": "تذكير: فاتورتك مستحقة غداً"})
    await output.send_response("971599999999", {"text": "never wrote"})
    sent = await eventually_sent(fake_graph, 2)
    await served.channel.delivery.drain()
    assert sent[1].path == "/v21.0/106540352242922/messages"
    assert sent[1].json["text"]["body"] == "تذكير: فاتورتك مستحقة غداً"
    # a customer who never wrote: no open window, no free-form message (the template instead)
    last = fake_graph.messages()[-1]
    assert last.json["to"] == "971599999999" and last.json["type"] == "template"
    assert last.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
