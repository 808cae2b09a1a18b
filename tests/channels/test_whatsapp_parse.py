"""channels/whatsapp_cloud/parse.py: pure parsing of webhook bodies.

Fixtures: tests/fixtures/whatsapp (pywa ``tests/data/updates``, MIT).
"""
from __future__ import annotations

import copy

import pytest

from channels.whatsapp_cloud.parse import InboundMessage, parse_timestamp, parse_webhook
from tests.channels.whatsapp_harness import fixture_json, fixture_names


@pytest.mark.parametrize("name", fixture_names())
def test_every_fixture_parses_and_survives_a_restart(name):
    """Source: tests/fixtures/whatsapp/<name>. Stored form parses back to the same message."""
    batch = parse_webhook(fixture_json(name))
    for message in batch.messages:
        assert InboundMessage.from_stored(message.to_stored()) == message


def test_every_entry_change_and_message_of_a_batch_is_read():
    """Source: message__text.json and message_status__read.json (pywa), combined into one body."""
    text = fixture_json("message__text.json")
    status = fixture_json("message_status__read.json")
    body = copy.deepcopy(text)
    value = body["entry"][0]["changes"][0]["value"]
    second = copy.deepcopy(value["messages"][0])
    second["id"] = "wamid.second"
    value["messages"].append(second)
    body["entry"][0]["changes"].append(status["entry"][0]["changes"][0])
    body["entry"].append(copy.deepcopy(text["entry"][0]))
    body["entry"][1]["changes"][0]["value"]["messages"][0]["id"] = "wamid.third"
    batch = parse_webhook(body)
    assert [m.id for m in batch.messages] == ["wamid.xyzxyz", "wamid.second", "wamid.third"]
    assert [s.status for s in batch.statuses] == ["read"]


def test_customer_without_from_is_keyed_on_the_business_scoped_id():
    body = fixture_json("message__text.json")
    value = body["entry"][0]["changes"][0]["value"]
    del value["messages"][0]["from"]
    value["messages"][0]["from_user_id"] = "US.13491208655302741918"
    del value["contacts"][0]["wa_id"]
    [message] = parse_webhook(body).messages
    assert message.customer.id == "US.13491208655302741918"
    assert message.customer.wa_id is None and message.customer.name == "Test Name"


def test_wa_id_wins_over_the_business_scoped_id():
    [message] = parse_webhook(fixture_json("message__text.json")).messages
    assert message.customer.id == "972987654321"
    assert message.customer.user_id == "US.13491208655302741918"


@pytest.mark.parametrize("mutation", [
    lambda v: v["messages"][0].pop("id"),
    lambda v: (v["messages"][0].pop("from"), v.pop("contacts")),
    lambda v: v.pop("metadata"),
])
def test_messages_without_id_sender_or_number_are_skipped(mutation):
    body = fixture_json("message__text.json")
    mutation(body["entry"][0]["changes"][0]["value"])
    batch = parse_webhook(body)
    assert batch.messages == () and batch.ignored


@pytest.mark.parametrize("body", [
    None, [], "x", {"object": "page"}, {"object": "whatsapp_business_account"},
    {"object": "whatsapp_business_account", "entry": "x"},
    {"object": "whatsapp_business_account", "entry": [{"changes": [None, 1, {"field": "messages", "value": "x"}]}]},
    {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {
        "metadata": {"phone_number_id": "1"}, "messages": [{"id": "w", "from": "1", "type": {"no": "pe"}}]}}]}]},
])
def test_junk_never_raises(body):
    parse_webhook(body)


def test_unknown_type_is_unsupported_not_an_error():
    body = fixture_json("message__text.json")
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message["type"] = "hologram"
    [parsed] = parse_webhook(body).messages
    assert parsed.payload == "/out_of_scope" and parsed.details == {"unsupported": {"type": "hologram"}}


def test_nfm_reply_with_non_object_json_is_kept_as_is():
    body = fixture_json("flow_completion__completion.json")
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message["interactive"]["nfm_reply"]["response_json"] = "not json"
    [parsed] = parse_webhook(body).messages
    assert parsed.details["interactive"]["response"] == "not json"


def test_button_payload_only_when_it_looks_like_a_rasa_payload():
    body = fixture_json("callback_button__button.json")
    reply = body["entry"][0]["changes"][0]["value"]["messages"][0]["interactive"]["button_reply"]
    assert parse_webhook(body).messages[0].payload is None
    reply["id"] = "/affirm"
    assert parse_webhook(body).messages[0].payload == "/affirm"


def test_reactions_are_silent_and_do_not_open_the_window():
    [reaction] = parse_webhook(fixture_json("message__reaction.json")).messages
    assert reaction.silent and not reaction.opens_window
    assert reaction.details["reaction"] == {"message_id": "wamid.yzxyzx=", "emoji": "😮", "removed": False}
    [removed] = parse_webhook(fixture_json("message__unreaction_no_emoji.json")).messages
    assert removed.details["reaction"]["removed"] is True


def test_status_error_and_group_recipient():
    [failed] = parse_webhook(fixture_json("message_status__failed.json")).statuses
    assert failed.error_code == 130472 and failed.error_title == "User's number is part of an experiment"
    [group] = parse_webhook(fixture_json("message_status__group.json")).statuses
    assert group.status == "read" and group.recipient_id == "fowefinoewcnw"


@pytest.mark.parametrize("raw,expected", [("1697043223", 1697043223), (1697043223, 1697043223),
                                          ("asdf", None), (None, None), ("", None), ("9" * 30, None)])
def test_timestamps_are_parsed_leniently(raw, expected):
    parsed = parse_timestamp(raw)
    assert (parsed.timestamp() if parsed else None) == expected
