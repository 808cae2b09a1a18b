"""channels/whatsapp_cloud/channel.py, inbound: every recorded webhook through the real HTTP route.

Payloads: tests/fixtures/whatsapp (david-lev/pywa ``tests/data/updates``, MIT,
see tests/fixtures/SOURCES.md), posted byte for byte with a valid signature to
a Sanic app built by ``rasa.core.run.configure_app([channel])``.  Handshake cases:
``verification_requests.json`` (Meta's docs).  Signature vectors:
tests/fixtures/signatures/meta_x_hub_signature_256_vectors.json (pywa,
whatsapp-api-js).
"""
from __future__ import annotations

import json
import logging
from typing import Any, Dict, Optional

import pytest

from bot.delivery import InboxState
from channels.meta.graph import SIGNATURE_HEADER
from tests.channels.whatsapp_harness import (
    FIXTURES,
    SIGNATURE_VECTORS,
    RecordingAgent,
    fixture_bytes,
    fixture_names,
    make_channel,
    running_channel,
    settings,
)
from tests.fakes.fake_graph import fake_graph  # noqa: F401 - fixture
from tests.logs import printed

CUSTOMER = "972987654321"
BSUID = "US.13491208655302741918"


def msg(text: str, message_id: str = "wamid.xyzxyz", sender: str = CUSTOMER, *,
        intent: Optional[str] = None, **meta: Any) -> Dict[str, Any]:
    """Expected UserMessage: text, sender, id, intent from a payload, metadata paths."""
    return {"text": text, "sender": sender, "message_id": message_id, "intent": intent, "meta": meta}


#: fixture → the UserMessage the bot must receive (metadata given as dotted paths).
MESSAGES: Dict[str, Dict[str, Any]] = {
    "callback_button__button.json": msg(
        "title", **{"whatsapp.interactive.id": "callback_data", "whatsapp.interactive.type": "button_reply",
                    "reply_to": "wamid.xyzxyz", "message_type": "interactive"}),
    "callback_button__quick_reply.json": msg(
        "title", "wamid.xsidjw", **{"whatsapp.button.payload": "callback_data", "reply_to": "wamid.xyzxyz=="}),
    "callback_button__quick_reply_without_context.json": msg(
        "title", "wamid.xsidjx", **{"whatsapp.button.payload": "callback_data", "whatsapp.user_id": BSUID,
                                    "reply_to": None}),
    "callback_selection__callback.json": msg(
        "title", "wamid.zyzxyz", **{"whatsapp.interactive.type": "list_reply", "whatsapp.interactive.id": "callback_data"}),
    "callback_selection__description.json": msg(
        "title", "wamid.zyzxyz", **{"whatsapp.interactive.description": "description"}),
    "flow_completion__completion.json": msg(
        "Sent", "wamid.wegrchytvwcggt==", **{"whatsapp.interactive.type": "nfm_reply",
                                            "whatsapp.interactive.response.flow_token": "AQAAAAACS5FpgQ_cAAAAAD0QI3s."}),
    "flow_completion__without_flow_token.json": msg(
        "Sent", "wamid.wegrchytvwcggt==", **{"whatsapp.interactive.response.delivery_rating": "4"}),
    "message__animated_sticker.json": msg(
        "", intent="send_media", **{"whatsapp.media.kind": "sticker", "whatsapp.media.animated": True,
               "whatsapp.media.id": "1234567890987654321", "whatsapp.media.mime_type": "image/webp"}),
    "message__audio.json": msg(
        "", intent="voice_note", **{"whatsapp.media.kind": "audio", "whatsapp.media.voice": False,
               "whatsapp.media.mime_type": "audio/ogg; codecs=opus", "whatsapp.context.forwarded": True}),
    "message__chosen_location.json": msg(
        "Facebook HQ 1 Hacker Way, Menlo Park, CA 94025", intent="share_location",
        **{"whatsapp.location.latitude": 37.4611978, "whatsapp.location.longitude": -122.2164385}),
    "message__contacts.json": msg("", **{"whatsapp.contacts.0.name.formatted_name": "Chandler Bing"}),
    "message__current_location.json": msg("", intent="share_location", **{"whatsapp.location.latitude": 12.25089}),
    "message__document.json": msg(
        "caption", **{"whatsapp.media.kind": "document", "whatsapp.media.filename": "filename.pdf",
                      "whatsapp.media.mime_type": "application/pdf"}),
    "message__forwarded.json": msg("forwarded text", **{"whatsapp.context.forwarded": True}),
    "message__forwarded_many_times.json": msg("text forwarded many times", **{"whatsapp.context.frequently_forwarded": True}),
    "message__image.json": msg("", intent="send_media", **{"whatsapp.media.id": "65463453", "whatsapp.media.mime_type": "image/jpeg",
                                      "whatsapp.media.sha256": "4654+8g="}),
    "message__interactive_message_with_err.json": msg(
        "", "wamid.wegrchytvwcggt=", intent="out_of_scope", **{"whatsapp.unsupported.type": "interactive:None"}),
    "message__media_with_url.json": msg(
        "", intent="send_media", **{"whatsapp.media.url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=65463453&source=webhook&ext=487r9re&hash=heiwchueowbcew-dnedcw"}),
    "message__order.json": msg(
        "", **{"whatsapp.order.catalog_id": "354160437058781", "whatsapp.order.product_items.0.product_retailer_id": "HAMBURGER"}),
    "message__referral.json": msg(
        "BODY", "wamid.ID", **{"referral.ctwa_clid": "CTWA_CLID", "referral.source_type": "ad or post",
                               "referral.headline": "AD_TITLE"}),
    "message__reply.json": msg("replied text", **{"reply_to": "wamid.xyzxyz==", "whatsapp.context.from": "972123456789"}),
    "message__static_sticker.json": msg("", intent="send_media", **{"whatsapp.media.animated": False}),
    "message__text.json": msg(
        "Body Text", **{"whatsapp.profile_name": "Test Name", "whatsapp.wa_id": CUSTOMER, "whatsapp.user_id": BSUID,
                        "whatsapp.parent_user_id": "US.ENT.11815799212886844830", "whatsapp.phone_number_id": "1122334455667",
                        "whatsapp.timestamp": "1697043223", "sent_at": "2023-10-11T16:53:43+00:00", "account": "1122334455667",
                        "channel": "whatsapp_cloud"}),
    "message__unsupported.json": msg(
        "", intent="out_of_scope", **{"whatsapp.errors.0.code": 131051, "whatsapp.unsupported.type": "unsupported"}),
    "message__unsupported_with_type.json": msg("", intent="out_of_scope", **{"whatsapp.unsupported.type": "pool"}),
    "message__video.json": msg("caption", **{"whatsapp.media.kind": "video", "whatsapp.media.id": "765756756"}),
    "message__voice.json": msg("", intent="voice_note", **{"whatsapp.media.voice": True}),
}

#: fixture → inbound message recorded without waking the bot.
SILENT = {
    "deleted_message__revoke.json": "<WHATSAPP_MESSAGE_ID>",
    "edited_message__image.json": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
    "message__reaction.json": "wamid.xyzxyz",
    "message__unreaction_empty.json": "wamid.xyzxyz",
    "message__unreaction_no_emoji.json": "wamid.xyzxyz",
    "system__identity_change.json": "wamid.xyzxyz",
    "system__phone_number_change.json": "wamid.xyzxyz==",
}

#: fixture → (message id, status, error code) recorded.
STATUSES = {
    "message_status__delivered.json": ("wamid.xyzxyz", "delivered", None),
    "message_status__failed.json": ("wamid.xyzxyz", "failed", 130472),
    "message_status__group.json": ("<WHATSAPP_MESSAGE_ID>", "read", None),
    "message_status__played.json": ("wamid.xyzxyz", "played", None),
    "message_status__read.json": ("wamid.xyzxyz", "read", None),
    "message_status__sent.json": ("wamid.xyzxyz", "sent", None),
    "message_status__with_tracker.json": ("wamid.xyzxyz", "sent", None),
}

#: fixtures of other webhook fields: answered 200, nothing recorded.
IGNORED = {"user_marketing_preferences__resume.json", "user_marketing_preferences__signup.json"}

#: smb_message_echoes (a person answering from the WhatsApp Business app) → the customer taken over.
ECHOES = {
    "outgoing_message__delete.json": "972987654321",
    "outgoing_message__edit.json": "972987654321",
    "outgoing_message__text.json": "972987654321",
}

#: Personal data in the fixtures that must never reach a log line at INFO or above.
PERSONAL = ["972987654321", "16505551234", "972912345678", "Test Name", "User A", "Body Text", "caption",
            "replied text", "forwarded text", "BODY", "Facebook HQ", "Hacker Way", "Chandler", "Monica",
            "+1 555-555-5555", "title", "Comment Text", "US.13491208655302741918"]


def dig(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, list):
            data = data[int(part)]
        elif isinstance(data, dict):
            data = data.get(part)
        else:
            return None
    return data


def test_every_fixture_has_an_expectation():
    assert set(fixture_names()) == set(MESSAGES) | set(SILENT) | set(STATUSES) | IGNORED | set(ECHOES)


@pytest.fixture
async def served(fake_graph):
    channel = make_channel(settings(fake_graph.url))
    agent = RecordingAgent()
    async with running_channel(channel, agent) as running:
        yield running, agent


@pytest.mark.parametrize("name", sorted(MESSAGES))
async def test_message_fixture_becomes_the_expected_user_message(served, name):
    """Source: tests/fixtures/whatsapp/<name> (pywa tests/data/updates)."""
    running, agent = served
    status, body = await running.post_signed(fixture_bytes(name))
    assert status == 200, body
    await running.channel.delivery.drain()
    expected = MESSAGES[name]
    [message] = agent.messages
    assert message.text == expected["text"]
    assert message.sender_id == "whatsapp_cloud:" + expected["sender"]  # namespaced (bot/identity.py)
    assert message.message_id == expected["message_id"]
    assert message.input_channel == "whatsapp_cloud"
    intent = (message.parse_data or {}).get("intent", {}).get("name")
    assert intent == expected["intent"]
    for path, value in expected["meta"].items():
        assert dig(message.metadata, path) == value, path


@pytest.mark.parametrize("name", sorted(SILENT))
async def test_silent_fixture_is_recorded_without_waking_the_bot(served, name):
    """Source: tests/fixtures/whatsapp/<name> (pywa): reactions, system notices, edits, revokes."""
    running, agent = served
    status, _ = await running.post_signed(fixture_bytes(name))
    assert status == 200
    await running.channel.delivery.drain()
    assert agent.messages == []
    stored = await running.channel.delivery.store.inbound("whatsapp_cloud", SILENT[name])
    assert stored is not None and stored[1] is InboxState.DONE


@pytest.mark.parametrize("name", sorted(STATUSES))
async def test_status_fixture_is_recorded(served, name):
    """Source: tests/fixtures/whatsapp/<name> (pywa message_status__*)."""
    running, agent = served
    status, body = await running.post_signed(fixture_bytes(name))
    assert status == 200 and json.loads(body)["statuses"] == 1
    message_id, expected_status, code = STATUSES[name]
    record = await running.channel.delivery.store.current_status("whatsapp_cloud", message_id)
    assert record.status == expected_status and record.error_code == code
    assert agent.messages == []


@pytest.mark.parametrize("name", sorted(ECHOES))
async def test_echo_fixture_takes_the_conversation_over_without_waking_the_bot(served, name):
    """Source: tests/fixtures/whatsapp/<name> (pywa: smb_message_echoes)."""
    running, agent = served
    status, body = await running.post_signed(fixture_bytes(name))
    assert status == 200 and json.loads(body)["accepted"] == 1, body
    await running.channel.delivery.drain()
    assert agent.messages == []
    record = await running.channel.takeover.store.get("whatsapp_cloud", "1122334455667", ECHOES[name])
    assert record is not None and record.active


@pytest.mark.parametrize("name", sorted(IGNORED))
async def test_other_fields_are_acknowledged_and_ignored(served, name):
    """Source: tests/fixtures/whatsapp/<name> (pywa: user_preferences)."""
    running, agent = served
    status, body = await running.post_signed(fixture_bytes(name))
    assert status == 200 and json.loads(body) == {"status": "ok", "accepted": 0, "statuses": 0}
    await running.channel.delivery.drain()
    assert agent.messages == []


async def test_no_personal_data_logged_at_info_while_processing_every_fixture(served, caplog):
    """Every fixture of tests/fixtures/whatsapp; log lines at INFO+ carry no PII."""
    running, _ = served
    with caplog.at_level(logging.INFO):
        for name in fixture_names():
            assert (await running.post_signed(fixture_bytes(name)))[0] == 200
            await running.channel.delivery.drain()
    lines = printed(caplog.records).splitlines()  # tracebacks included
    assert lines, "expected some INFO logging"
    for line in lines:
        for secret in PERSONAL:
            assert secret not in line, f"{secret!r} logged: {line}"


# -- handshake and signatures --------------------------------------------------


def verification_cases():
    data = json.loads((FIXTURES / "verification_requests.json").read_text())
    return [(case, case.get("configured_verify_token_override", data["configured_verify_token"]))
            for case in data["cases"]]


@pytest.mark.parametrize("case,token", verification_cases(), ids=lambda v: v["name"] if isinstance(v, dict) else "")
async def test_verification_handshake(fake_graph, case, token):
    """Source: tests/fixtures/whatsapp/verification_requests.json (Meta webhook docs)."""
    channel = make_channel(settings(fake_graph.url, WHATSAPP_VERIFY_TOKEN=token))
    async with running_channel(channel, RecordingAgent()) as running:
        status, body = await running.get(f"/webhooks/whatsapp_cloud/webhook?{case['query']}")
    assert status == case["expect_status"]
    if status == 200:
        assert body == case["expect_body"]


async def test_health(served):
    running, _ = served
    assert await running.get("/webhooks/whatsapp_cloud/") == (200, '{"status":"ok"}')


def signature_cases():
    data = json.loads(SIGNATURE_VECTORS.read_text())
    return {case["name"]: case for case in data["cases"]}


@pytest.mark.parametrize("name", [n for n, c in signature_cases().items() if "expect_valid" in c])
async def test_signature_vectors(fake_graph, name, caplog):
    """Source: tests/fixtures/signatures/meta_x_hub_signature_256_vectors.json (pywa test_server.py)."""
    case = signature_cases()[name]
    channel = make_channel(settings(fake_graph.url, WHATSAPP_APP_SECRET=case["app_secret"]))
    raw = case["raw_body"].encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if case["x_hub_signature_256"] is not None:
        headers[SIGNATURE_HEADER] = case["x_hub_signature_256"]
    async with running_channel(channel, RecordingAgent()) as running:
        with caplog.at_level(logging.DEBUG):
            status, _ = await running.post(raw, headers)
    if case["expect_valid"]:
        assert status == 200
    else:
        assert status == 401
        assert "Hey there" not in caplog.text  # refused bodies are never logged


async def test_signature_is_over_the_escaped_bytes_as_sent(fake_graph):
    """Source: whatsapp_api_js_unicode_escape_rule in the signature vectors (escaped unicode)."""
    case = signature_cases()["whatsapp_api_js_unicode_escape_rule"]
    channel = make_channel(settings(fake_graph.url, WHATSAPP_APP_SECRET=case["app_secret"]))
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: case["x_hub_signature_256"]}
    async with running_channel(channel, RecordingAgent()) as running:
        escaped, _ = await running.post(case["escaped_text_that_was_signed"].encode("ascii"), headers)
        decoded, _ = await running.post(case["decoded_text"].encode("utf-8"), headers)
        redecoded_sig = {**headers, SIGNATURE_HEADER: case["hmac_over_utf8_decoded_text_would_be"]}
        other, _ = await running.post(case["decoded_text"].encode("utf-8"), redecoded_sig)
    assert escaped == 400  # signature accepted; the vector's body is not JSON
    assert decoded == 401
    assert other == 400  # the raw bytes are what is hashed, whatever they are


@pytest.mark.parametrize("header", ["", "sha1=" + "0" * 40, "sha256=" + "0" * 63, "sha256=" + "z" * 64, "sha256="])
async def test_malformed_signature_headers_are_refused(served, header):
    running, agent = served
    raw = fixture_bytes("message__text.json")
    status, _ = await running.post(raw, {"Content-Type": "application/json", SIGNATURE_HEADER: header})
    assert status == 401
    assert agent.messages == []
