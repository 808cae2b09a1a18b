"""The Twilio WhatsApp channel through its real HTTP routes.

Each test serves the channel with Rasa's ``configure_app`` on a real Sanic server,
signs requests as Twilio does, and sends replies to the fake Twilio API
(tests/fakes/fake_twilio.py) through the real delivery layer on in-memory SQLite.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Dict
from urllib.parse import urlsplit

import pytest

from bot.delivery import OutboxState
from channels.twilio.payloads import callback_key_of, with_callback_key
from channels.twilio.signature import SIGNATURE_HEADER, compute_signature
from channels.twilio.webhook import TWIML_EMPTY
from tests.channels.test_twilio_whatsapp_harness import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CUSTOMER,
    STATUS_PATH,
    RecordingAgent,
    form_fields,
    inbound_body,
    load_fixture,
    make_channel,
    running_channel,
    settings,
)
from tests.fakes.fake_twilio import FakeTwilio, fake_twilio  # noqa: F401  (fixture)
from tests.logs import printed

CHANNEL = "twilio_whatsapp"
FORM = "application/x-www-form-urlencoded"
TEMPLATE_SID = "HX" + "0" * 32


@pytest.fixture
def fake(fake_twilio: FakeTwilio) -> FakeTwilio:  # noqa: F811
    fake_twilio.account_sid, fake_twilio.auth_token = ACCOUNT_SID, AUTH_TOKEN
    return fake_twilio


# -- every fixture through the route ----------------------------------------------

FIXTURE_MESSAGES: Dict[str, Dict[str, Any]] = {
    "bbc_inbound_text.json": {
        "text": "test", "message_id": "SM892512e202b34d4109b10a3893fa9640", "media": [], "location": None,
        "intent": None},
    "bbc_inbound_image.json": {
        "text": "", "message_id": "MM21151abfaadc1fb79b782f8460862a52",
        "media": [{"url": "https://api.twilio.com/2010-04-01/Accounts/AC1a03647d811fab342c0ad608e382fab2/Messages/"
                          "MM21151abfaadc1fb79b782f8460862a52/Media/ME5f0afa2336bd0f73ca553fb5a2e3150bc",
                   "content_type": "image/jpeg"}],
        "location": None, "intent": ("send_media", {"media_kind": "image"})},
    "bbc_inbound_location.json": {
        "text": "Microsoft Evert van de Beekstraat 354, Schiphol, North Holland 1118 CZ",
        "message_id": "SM9c871cd9649aa3829298e153ae6a8123", "media": [],
        "location": {"latitude": 52.303897857666016, "longitude": 4.750025749206543,
                     "address": "Evert van de Beekstraat 354, Schiphol, North Holland 1118 CZ", "label": "Microsoft"},
        "intent": ("share_location", {"latitude": 52.303897857666016, "longitude": 4.750025749206543})},
}

FIXTURE_STATUSES = {
    "bbc_status_sent.json": ("SM0cec4ed334e74bcbb64eb8b6684e9654", "sent"),
    "bbc_status_delivered.json": ("SMdf55df64a2ff4920bb0748193cfbb640", "delivered"),
}


@pytest.mark.parametrize("name", sorted(FIXTURE_MESSAGES))
async def test_inbound_fixtures_become_user_messages(name: str) -> None:
    """tests/fixtures/twilio/bbc_inbound_*.json, signed over the test URL, give these UserMessages."""
    expected = FIXTURE_MESSAGES[name]
    agent = RecordingAgent()
    channel = make_channel(settings())
    async with running_channel(channel, agent) as served:
        fixture = load_fixture(name)
        status, text, content_type = await served.post_signed(fixture["raw_body"])
        await channel.delivery.drain()
    assert (status, text, content_type) == (200, TWIML_EMPTY, "text/xml")
    [message] = agent.messages
    assert message.text == expected["text"]
    if expected["intent"] is None:
        assert message.parse_data is None  # NLU reads the text
    else:  # no text: the channel says what arrived (channels._structured)
        intent, entities = expected["intent"]
        assert message.parse_data["intent"]["name"] == intent
        assert {e["entity"]: e["value"] for e in message.parse_data["entities"]} == entities
    assert message.sender_id == "twilio_whatsapp:+31612345678"  # namespaced (bot/identity.py)
    assert message.message_id == expected["message_id"]
    assert message.input_channel == CHANNEL
    assert message.metadata["media"] == expected["media"]
    assert message.metadata.get("location") == expected["location"]
    assert message.metadata["twilio"]["to"] == "whatsapp:+14123456789"
    assert message.metadata["customer"]["address"] == "whatsapp:+31612345678"


@pytest.mark.parametrize("name", sorted(FIXTURE_STATUSES))
async def test_status_fixtures_are_recorded(name: str) -> None:
    """tests/fixtures/twilio/bbc_status_*.json are recorded against their MessageSid."""
    sid, expected = FIXTURE_STATUSES[name]
    agent = RecordingAgent()
    channel = make_channel(settings())
    async with running_channel(channel, agent) as served:
        answer = await served.post_signed(load_fixture(name)["raw_body"], path=STATUS_PATH)
        record = await channel.delivery.store.current_status(CHANNEL, sid)
    assert answer == (200, TWIML_EMPTY, "text/xml")
    assert record is not None and record.status == expected
    assert agent.messages == []


async def test_status_callbacks_on_the_webhook_path_and_out_of_order() -> None:
    """``read`` before ``delivered`` stays ``read``; statuses posted to /webhook are accepted too."""
    channel = make_channel(settings())
    async with running_channel(channel, RecordingAgent()) as served:
        raw = load_fixture("bbc_status_delivered.json")["raw_body"]
        read = raw.replace("MessageStatus=delivered", "MessageStatus=read").replace("EventType=DELIVERED", "EventType=READ")
        assert (await served.post_signed(read))[0] == 200
        assert (await served.post_signed(raw))[0] == 200
        record = await channel.delivery.store.current_status(CHANNEL, "SMdf55df64a2ff4920bb0748193cfbb640")
    assert record.status == "read"


async def test_duplicate_message_sid_is_processed_once() -> None:
    agent = RecordingAgent()
    channel = make_channel(settings())
    async with running_channel(channel, agent) as served:
        raw = load_fixture("bbc_inbound_text.json")["raw_body"]
        answers = [await served.post_signed(raw) for _ in range(3)]
        await channel.delivery.drain()
    assert [a[0] for a in answers] == [200, 200, 200]
    assert len(agent.messages) == 1


async def test_button_tap_triggers_the_payload_and_shows_the_text() -> None:
    agent = RecordingAgent()
    channel = make_channel(settings())
    async with running_channel(channel, agent) as served:
        body = inbound_body(body="My bill", ButtonPayload="/check_bill", ButtonText="My bill", MessageType="button")
        assert (await served.post_signed(body))[0] == 200
        await channel.delivery.drain()
    [message] = agent.messages
    assert message.text == "My bill"  # the transcript shows the label
    assert message.parse_data["intent"]["name"] == "check_bill"  # the payload picks the intent
    assert message.metadata["button"] == {"payload": "/check_bill", "text": "My bill"}
    assert message.sender_id == "twilio_whatsapp:" + CUSTOMER


# -- signatures and proxies --------------------------------------------------------


async def test_bad_and_missing_signatures_are_401_and_logged_without_body(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    agent = RecordingAgent()
    channel = make_channel(settings())
    body = inbound_body(body="سري جدا")
    async with running_channel(channel, agent) as served:
        missing = await served.post("/webhooks/twilio_whatsapp/webhook", body.encode(), {"Content-Type": FORM})
        wrong_token = await served.post_signed(body, token="not-the-token")
        wrong_url = await served.post_signed(body, url="https://elsewhere.example.com/webhooks/twilio_whatsapp/webhook")
        await channel.delivery.drain()
    assert [missing[0], wrong_token[0], wrong_url[0]] == [401, 401, 401]
    assert json.loads(missing[1]) == json.loads(wrong_token[1]) == {"error": "invalid signature"}
    assert agent.messages == []
    logged = caplog.text
    assert "rejected: no X-Twilio-Signature" in logged and "signature does not match" in logged
    for secret in ("سري جدا", CUSTOMER[1:], "سارة"):
        assert secret not in logged


async def test_public_url_setting_behind_a_proxy() -> None:
    """Twilio signs the public https URL; the app sees http://127.0.0.1."""
    public = "https://majlis.example.com"
    agent = RecordingAgent()
    channel = make_channel(settings(TWILIO_PUBLIC_URL=public))
    async with running_channel(channel, agent) as served:
        body = inbound_body()
        signed_public = await served.post_signed(body, url=f"{public}/webhooks/twilio_whatsapp/webhook")
        signed_local = await served.post_signed(inbound_body(sid="SM" + "2" * 32))
        await channel.delivery.drain()
    assert (signed_public[0], signed_local[0]) == (200, 401)
    assert len(agent.messages) == 1


async def test_forwarded_headers_rebuild_the_public_url_only_behind_a_trusted_proxy() -> None:
    """Issue 11: X-Forwarded-* come from the client unless our own proxy sets them."""
    url = "https://majlis.example.com/webhooks/twilio_whatsapp/webhook"
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "majlis.example.com"}
    answers = []
    for env in ({"MAJLIS_TRUST_PROXY": "1"}, {}):
        agent = RecordingAgent()
        channel = make_channel(settings(**env))
        async with running_channel(channel, agent) as served:
            answers.append((await served.post_signed(inbound_body(), url=url, headers=headers))[0])
            await channel.delivery.drain()
        answers.append(len(agent.messages))
    # Trusted: the signature over the public URL matches.  Not trusted: the request's own
    # URL (http://127.0.0.1:<port>) is checked, so a signature for another URL is refused.
    assert answers == [200, 1, 401, 0]


# -- bad input ---------------------------------------------------------------------


async def test_bad_input_gets_a_clear_status_never_500() -> None:
    agent = RecordingAgent()
    channel = make_channel(settings(TWILIO_MAX_BODY_BYTES="2048"))
    async with running_channel(channel, agent) as served:
        path = "/webhooks/twilio_whatsapp/webhook"
        sig = {SIGNATURE_HEADER: "anything"}
        json_body = await served.post(path, b'{"Body": "hi"}', {"Content-Type": "application/json", **sig})
        oversized = await served.post(path, b"Body=" + b"a" * 4096, {"Content-Type": FORM, **sig})
        not_utf8 = await served.post(path, b"Body=\xff\xfe", {"Content-Type": FORM, **sig})
        not_form = await served.post(path, b"just some text", {"Content-Type": FORM, **sig})
        empty = await served.post(path, b"", {"Content-Type": FORM, **sig})
        no_from = "MessageSid=SM1&AccountSid=AC1&To=whatsapp%3A%2B1&Body=hi"
        missing_field = await served.post_signed(no_from)
        bad_status = await served.post_signed("MessageSid=SM1&AccountSid=AC1&MessageStatus=in_orbit", path=STATUS_PATH)
        async with served.session.get(served.url(path)) as get:
            get_status = get.status
        async with served.session.get(served.url("/webhooks/twilio_whatsapp/")) as health:
            health_status = health.status
        await channel.delivery.drain()
    assert json_body[0] == 415
    assert oversized[0] == 413
    assert (not_utf8[0], not_form[0], empty[0]) == (400, 400, 400)
    assert (missing_field[0], json.loads(missing_field[1])) == (400, {"error": "malformed webhook: missing field From"})
    assert (bad_status[0], json.loads(bad_status[1])) == (400, {"error": "malformed webhook: unknown MessageStatus"})
    assert (get_status, health_status) == (405, 200)
    assert agent.messages == []


# -- sending -----------------------------------------------------------------------


async def test_reply_reaches_twilio_once_despite_two_transient_failures(fake: FakeTwilio) -> None:
    fake.fail_next("429", "500")
    agent = RecordingAgent(reply="طلبك في الطريق 🚚")
    channel = make_channel(settings(TWILIO_API_URL=fake.base_url))
    async with running_channel(channel, agent) as served:
        assert (await served.post_signed(inbound_body()))[0] == 200
        [created] = await fake.wait_for_created(1)
        await channel.delivery.drain()
        [record] = await channel.delivery.outbox_records()
    assert [r.outcome for r in fake.requests] == ["429", "500", "created"]
    assert created.form == {"To": (f"whatsapp:{CUSTOMER}",), "From": ("whatsapp:+14155238886",),
                            "Body": ("طلبك في الطريق 🚚",)}
    assert created.auth == (ACCOUNT_SID, AUTH_TOKEN)
    assert (record.state, record.message.attempts, record.provider_message_id) == (OutboxState.SENT, 3, created.sid)


async def test_timeout_is_retried(fake: FakeTwilio) -> None:
    fake.hang_seconds = 1.0  # longer than TWILIO_TIMEOUT=0.5
    fake.fail_next("timeout")
    channel = make_channel(settings(TWILIO_API_URL=fake.base_url))
    async with running_channel(channel, RecordingAgent(reply="ok")) as served:
        await served.post_signed(inbound_body())
        await fake.wait_for_created(1)
        await channel.delivery.drain()
        [record] = await channel.delivery.outbox_records()
    assert record.state is OutboxState.SENT and record.message.attempts == 2


async def test_permanent_error_is_recorded_not_retried(fake: FakeTwilio) -> None:
    fake.fail_next("21211")
    channel = make_channel(settings(TWILIO_API_URL=fake.base_url))
    async with running_channel(channel, RecordingAgent(reply="ok")) as served:
        await served.post_signed(inbound_body())
        await channel.delivery.drain()
        [record] = await channel.delivery.outbox_records()
    assert [r.outcome for r in fake.requests] == ["21211"]
    assert (record.state, record.error_code, record.error_message) == (OutboxState.FAILED, 21211, "invalid To number")


async def test_long_reply_is_split_in_order(fake: FakeTwilio) -> None:
    reply = " ".join(f"كلمة{i}" for i in range(400))  # ~2,400 characters
    channel = make_channel(settings(TWILIO_API_URL=fake.base_url))
    async with running_channel(channel, RecordingAgent(reply=reply)) as served:
        await served.post_signed(inbound_body())
        created = await fake.wait_for_created(2)
        await channel.delivery.drain()
    bodies = [request.field("Body") for request in created]
    assert len(bodies) == 2 and all(len(body) <= 1600 for body in bodies)
    assert " ".join(bodies) == reply


async def test_63016_on_send_switches_to_the_template(fake: FakeTwilio) -> None:
    fake.fail_next("63016")
    channel = make_channel(settings(TWILIO_API_URL=fake.base_url, TWILIO_TEMPLATE_CONTENT_SID=TEMPLATE_SID))
    async with running_channel(channel, RecordingAgent(reply="hello")) as served:
        await served.post_signed(inbound_body())
        [template] = await fake.wait_for_created(1)
        await channel.delivery.drain()
        records = await channel.delivery.outbox_records()
    assert template.form == {"To": (f"whatsapp:{CUSTOMER}",), "From": ("whatsapp:+14155238886",),
                             "ContentSid": (TEMPLATE_SID,)}
    assert [(r.message.kind, r.state, r.error_code) for r in records] == [
        ("text", OutboxState.SKIPPED, 63016), ("template", OutboxState.SENT, None)]


async def test_status_callback_from_twilio_is_recorded_and_63016_sends_the_template(fake: FakeTwilio) -> None:
    """The fake posts signed callbacks, as Twilio posts them to StatusCallback."""
    callback = "https://majlis.example.com/webhooks/twilio_whatsapp/status"
    channel = make_channel(settings(TWILIO_API_URL=fake.base_url, TWILIO_TEMPLATE_CONTENT_SID=TEMPLATE_SID,
                                    TWILIO_STATUS_CALLBACK_URL=callback))
    async with running_channel(channel, RecordingAgent(reply="hello")) as served:
        await served.post_signed(inbound_body())
        [reply] = await fake.wait_for_created(1)
        await channel.delivery.drain()
        # Twilio would call the public URL; the test server is reached on its local one (with the
        # query Twilio got: our outbox key, covered by the signature).
        local = served.url(STATUS_PATH) + "?" + urlsplit(reply.field("StatusCallback")).query
        assert await fake.send_status(reply.sid, "sent", url=local) == 200
        assert await fake.send_status(reply.sid, "undelivered", error_code=63016, url=local) == 200
        created = await fake.wait_for_created(2)
        await channel.delivery.drain()
        status = await channel.delivery.store.current_status(CHANNEL, reply.sid)
        records = await channel.delivery.outbox_records()
    # Each send carries its own outbox key on the callback URL (bot/delivery/in_doubt.py).
    assert reply.field("StatusCallback") == with_callback_key(callback, records[0].message.idempotency_key)
    assert created[1].field("StatusCallback") == with_callback_key(callback, records[1].message.idempotency_key)
    assert callback_key_of(reply.field("StatusCallback")) == records[0].message.idempotency_key
    assert (status.status, status.error_code) == ("undelivered", 63016)
    assert created[1].field("ContentSid") == TEMPLATE_SID
    assert [(r.message.kind, r.state) for r in records] == [("text", OutboxState.FAILED), ("template", OutboxState.SENT)]


async def test_proactive_message_outside_the_window_goes_out_as_template(fake: FakeTwilio) -> None:
    channel = make_channel(settings(TWILIO_API_URL=fake.base_url, TWILIO_TEMPLATE_CONTENT_SID=TEMPLATE_SID))
    async with running_channel(channel, RecordingAgent()):
        output = channel.get_output_channel()
        await output.send_text_message(CUSTOMER, "Your order shipped")
        [sent] = await fake.wait_for_created(1)
        await channel.delivery.drain()
    assert sent.field("ContentSid") == TEMPLATE_SID and sent.field("Body") is None


# -- personal data -----------------------------------------------------------------


async def test_pii_absent_at_info(fake: FakeTwilio, caplog) -> None:
    """No phone number, profile name or message text in any log record at INFO or above."""
    caplog.set_level(logging.INFO)
    fake.fail_next("429", "21211")
    text, name = "رقمي القديم ما يشتغل", "سارة الكعبي"
    channel = make_channel(settings(TWILIO_API_URL=fake.base_url))
    async with running_channel(channel, RecordingAgent(reply="تم استلام طلبك يا سارة")) as served:
        await served.post_signed(inbound_body(body=text))
        await served.post_signed(inbound_body(sid="SM" + "3" * 32, body=text), token="wrong")
        await served.post_signed(inbound_body(sid="SM" + "4" * 32, body=text))
        await served.post_signed(inbound_body(sid="SM" + "4" * 32, body=text))  # duplicate
        await served.post("/webhooks/twilio_whatsapp/webhook", inbound_body(body=text).encode(),
                          {"Content-Type": "application/json", SIGNATURE_HEADER: "x"})
        await channel.delivery.drain()
    records = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert records, "expected some INFO+ logging to check"
    for record in records:
        message = printed([record])  # its traceback included
        for secret in (CUSTOMER, CUSTOMER[1:], "14155238886", name, "سارة", text, "تم استلام"):
            assert secret not in message, (record.name, message)


def test_signature_helper_matches_twilio_for_the_fixture_url() -> None:
    """Guard for the harness: the fixture's parsed fields sign like its raw body."""
    fixture = load_fixture("bbc_inbound_image.json")
    url = "http://127.0.0.1:5005/webhooks/twilio_whatsapp/webhook"
    parsed = {name: [value] for name, value in fixture["parsed"].items()}
    assert compute_signature(AUTH_TOKEN, url, form_fields(fixture["raw_body"])) == compute_signature(AUTH_TOKEN, url, parsed)


ODD_BODIES = {
    "blank From": (inbound_body().replace("From=whatsapp%3A%2B971501234567", "From="), 400),
    "negative NumMedia": (inbound_body().replace("NumMedia=0", "NumMedia=-1"), 400),
    "infinite latitude": (inbound_body() + "&Latitude=1e999&Longitude=2", 400),
    "repeated Body": (inbound_body() + "&Body=again", 400),
    "media url missing": (inbound_body().replace("NumMedia=0", "NumMedia=1"), 400),
    "NUL and RTL marks in Body": (inbound_body(body="\u200f\x00مرحبا\u202e"), 200),
    "blank MessageStatus is an inbound message": (inbound_body() + "&MessageStatus=", 200),
    "status without MessageSid": ("MessageStatus=read&AccountSid=AC1", 400),
    "unknown fields only": ("Foo=bar&Baz=", 400),
    "blank status ErrorCode": ("MessageSid=SM5&AccountSid=AC1&MessageStatus=failed&ErrorCode=", 200),
}


@pytest.mark.parametrize("name", sorted(ODD_BODIES))
async def test_odd_signed_bodies_never_cause_500(name: str) -> None:
    body, expected = ODD_BODIES[name]
    channel = make_channel(settings())
    async with running_channel(channel, RecordingAgent()) as served:
        status, _, _ = await served.post_signed(body)
        await channel.delivery.drain()
    assert status == expected
