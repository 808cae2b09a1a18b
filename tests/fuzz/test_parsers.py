"""Fuzzing the parsers directly, without HTTP: thousands of shapes per second.

Each parser either returns its result or raises its own documented error (which the
route turns into a 4xx); anything else would be a 500 or a lost message.
"""
from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from channels.instagram.parse import parse_event as parse_instagram_event
from channels.instagram.parse import raw_events
from channels.twilio.parse import MalformedWebhook, parse_event as parse_twilio_event
from channels.whatsapp_cloud.parse import parse_webhook
from channels.rest.parse import read_request
from channels.webchat.parse import read_message
from tests.channels import test_instagram_harness as instagram
from tests.channels import whatsapp_harness as whatsapp
from tests.fuzz.harness import FUZZ, encode, json_values, mutated
from tests.fuzz.test_meta_webhooks import recorded_bodies

MANY = settings(FUZZ, max_examples=150)


@MANY
@given(body=st.one_of(json_values, mutated(recorded_bodies(whatsapp.FIXTURES))))
def test_whatsapp_parse_webhook(body: Any) -> None:
    batch = parse_webhook(body)
    for message in batch.messages:
        message.to_stored()
        message.metadata()


@MANY
@given(body=st.one_of(json_values, mutated(recorded_bodies(instagram.FIXTURES))))
def test_instagram_events(body: Any) -> None:
    if not isinstance(body, dict):
        return  # the route refuses non-objects before this (decode_body)
    for raw in raw_events(body):
        parse_instagram_event(raw)


@MANY
# (decode_form gives every name at least one value, as parse_qs does.)
@given(fields=st.dictionaries(st.text(max_size=20), st.lists(st.text(max_size=40), min_size=1, max_size=3), max_size=10))
def test_twilio_parse_event(fields: dict) -> None:
    try:
        parse_twilio_event(fields)
    except MalformedWebhook:
        pass


@MANY
@given(data=json_values)
def test_webchat_read_message(data: Any) -> None:
    read_message(data)
    read_message({"message": "مرحبا", "metadata": data})


@MANY
@given(raw=st.one_of(st.binary(max_size=300), json_values.map(encode)))
def test_rest_read_request(raw: bytes) -> None:
    parsed, reason = read_request(raw)
    assert (parsed is None) != (reason is None)
