"""Unit tests of the Twilio WhatsApp channel's pure parts: parsing, signatures,
payload builders, the 1,600-character split, settings and error classification."""
from __future__ import annotations

import json

import pytest
import regex
from twilio.base.exceptions import TwilioRestException

from bot.config import Config, ConfigError, Secret
from bot.delivery import OutboundMessage
from bot.errors import ProviderAPIError, WindowClosedError
from channels.twilio.http_client import rebase_url
from channels.twilio.parse import (
    Location,
    Media,
    MalformedWebhook,
    TwilioInbound,
    TwilioStatus,
    decode_form,
    parse_event,
)
from channels.twilio.payloads import (
    MAX_BODY_CHARS,
    body_length,
    build_media,
    build_template,
    build_text,
    create_kwargs,
    split_body,
    whatsapp_address,
)
from channels.twilio.sender import TemplateSettings, TwilioSender, is_transient, provider_error
from channels.twilio.settings import TwilioSettings
from channels.twilio.signature import UrlPolicy, compute_signature, is_valid_signature, public_request_url
from channels.twilio.webhook import metadata_for, status_update
from tests.channels.test_twilio_whatsapp_harness import SIGNATURE_VECTORS, load_fixture

# -- parsing -------------------------------------------------------------------


def parse_fixture(name: str):
    return parse_event(decode_form(load_fixture(name)["raw_body"].encode("utf-8")))


def test_fixture_raw_bodies_decode_to_their_parsed_fields() -> None:
    """tests/fixtures/twilio/*.json: our decoder agrees with the recorded ``parsed``."""
    for name in ("bbc_inbound_text.json", "bbc_inbound_image.json", "bbc_inbound_location.json",
                 "bbc_status_sent.json", "bbc_status_delivered.json"):
        fixture = load_fixture(name)
        decoded = decode_form(fixture["raw_body"].encode("utf-8"))
        assert {k: v[0] for k, v in decoded.items()} == fixture["parsed"], name


def test_text_message_fixture() -> None:
    """tests/fixtures/twilio/bbc_inbound_text.json"""
    assert parse_fixture("bbc_inbound_text.json") == TwilioInbound(
        message_sid="SM892512e202b34d4109b10a3893fa9640",
        account_sid="AC1a03647d811fab342c0ad608e382fab2",
        sender="whatsapp:+31612345678",
        recipient="whatsapp:+14123456789",
        body="test",
    )


def test_image_fixture_keeps_blank_body_and_media() -> None:
    """tests/fixtures/twilio/bbc_inbound_image.json"""
    message = parse_fixture("bbc_inbound_image.json")
    assert message.body == ""
    assert message.media == (
        Media(
            url="https://api.twilio.com/2010-04-01/Accounts/AC1a03647d811fab342c0ad608e382fab2/Messages/"
            "MM21151abfaadc1fb79b782f8460862a52/Media/ME5f0afa2336bd0f73ca553fb5a2e3150bc",
            content_type="image/jpeg",
        ),
    )


def test_location_fixture() -> None:
    """tests/fixtures/twilio/bbc_inbound_location.json: label and address are the text."""
    message = parse_fixture("bbc_inbound_location.json")
    assert message.text == "Microsoft Evert van de Beekstraat 354, Schiphol, North Holland 1118 CZ"
    assert message.location == Location(
        latitude=52.303897857666016,
        longitude=4.750025749206543,
        address="Evert van de Beekstraat 354, Schiphol, North Holland 1118 CZ",
        label="Microsoft",
    )


def test_status_fixtures() -> None:
    """tests/fixtures/twilio/bbc_status_sent.json and bbc_status_delivered.json"""
    assert parse_fixture("bbc_status_sent.json") == TwilioStatus(
        message_sid="SM0cec4ed334e74bcbb64eb8b6684e9654",
        status="sent",
        account_sid="AC1a03647d811fab342c0ad608e382fab2",
        recipient="whatsapp:+31612345678",
    )
    assert parse_fixture("bbc_status_delivered.json").status == "delivered"


BASE = {
    "MessageSid": ["SM1"], "AccountSid": ["AC1"], "From": ["whatsapp:+971501234567"],
    "To": ["whatsapp:+14155238886"], "Body": [""], "NumMedia": ["0"],
}


def test_button_payload_triggers_and_button_text_is_displayed() -> None:
    fields = {**BASE, "ButtonPayload": ["/check_bill"], "ButtonText": ["فاتورتي"],
              "ProfileName": ["سارة"], "WaId": ["971501234567"], "MessageType": ["button"]}
    message = parse_event(fields)
    assert isinstance(message, TwilioInbound)
    assert message.payload == "/check_bill"
    assert message.text == "فاتورتي"
    metadata = metadata_for(message)
    assert metadata["button"] == {"payload": "/check_bill", "text": "فاتورتي"}
    assert metadata["customer"]["profile_name"] == "سارة"
    assert metadata["customer"]["wa_id"] == "971501234567"


def test_several_media_items_in_order() -> None:
    fields = {**BASE, "NumMedia": ["2"], "MediaUrl0": ["https://a/0"], "MediaContentType0": ["image/png"],
              "MediaUrl1": ["https://a/1"], "MediaContentType1": ["audio/ogg"], "Body": ["caption"]}
    message = parse_event(fields)
    assert [m.url for m in message.media] == ["https://a/0", "https://a/1"]
    assert metadata_for(message)["media"][1] == {"url": "https://a/1", "content_type": "audio/ogg"}
    assert message.text == "caption"


def test_status_with_error_code_63016_closes_the_window() -> None:
    fields = {"MessageSid": ["SM9"], "AccountSid": ["AC1"], "MessageStatus": ["undelivered"],
              "ErrorCode": ["63016"], "To": ["whatsapp:+1"]}
    status = parse_event(fields)
    update = status_update("twilio_whatsapp", status)
    assert (update.status, update.error_code, update.window_closed) == ("undelivered", 63016, True)
    assert update.error_title == "outside the customer-service window"


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({k: v for k, v in BASE.items() if k != "From"}, "missing field From"),
        ({k: v for k, v in BASE.items() if k != "MessageSid"}, "missing field MessageSid"),
        ({**BASE, "NumMedia": ["x"]}, "NumMedia is not a number"),
        ({**BASE, "NumMedia": ["11"]}, "NumMedia out of range"),
        ({**BASE, "NumMedia": ["1"]}, "missing field MediaUrl0"),
        ({**BASE, "Latitude": ["1.0"]}, "Latitude and Longitude must come together"),
        ({**BASE, "Latitude": ["north"], "Longitude": ["1"]}, "Latitude/Longitude are not numbers"),
        ({**BASE, "Latitude": ["nan"], "Longitude": ["1"]}, "Latitude/Longitude are not finite"),
        ({**BASE, "Latitude": ["91"], "Longitude": ["1"]}, "Latitude/Longitude out of range"),
        ({**BASE, "From": ["whatsapp:+1", "whatsapp:+2"]}, "repeated fields: From"),
        ({"MessageSid": ["SM1"], "AccountSid": ["AC1"], "MessageStatus": ["in_orbit"]}, "unknown MessageStatus"),
        ({"MessageSid": ["SM1"], "AccountSid": ["AC1"], "MessageStatus": ["failed"], "ErrorCode": ["x"]},
         "ErrorCode is not a number"),
    ],
)
def test_malformed_fields_are_rejected(fields, reason) -> None:
    with pytest.raises(MalformedWebhook) as caught:
        parse_event(fields)
    assert caught.value.reason == reason


@pytest.mark.parametrize("body", [b"", b"\xff\xfe", b"no-equals-sign", b"a=%ZZ&&"])
def test_undecodable_bodies_are_rejected(body) -> None:
    with pytest.raises(MalformedWebhook):
        decode_form(body)


# -- signatures ----------------------------------------------------------------


def signature_cases():
    vectors = json.loads(SIGNATURE_VECTORS.read_text(encoding="utf-8"))
    base = None
    for case in vectors["cases"]:
        if "params_multi" in case:
            params = {}
            for name, value in case["params_multi"]:
                params.setdefault(name, []).append(value)
        elif "raw_body" in case:
            params = case["raw_body"]
        elif case["params"] == "same as form_params":
            params = {name: [value] for name, value in base.items()}
        else:
            base = case["params"]
            params = {name: [value] for name, value in base.items()}
        yield pytest.param(vectors["auth_token"], case, params, id=case["name"])


@pytest.mark.parametrize("token, case, params", list(signature_cases()))
def test_signature_vectors(token, case, params) -> None:
    """tests/fixtures/signatures/twilio_request_validator_vectors.json (from twilio-python):
    every vector validates as labelled, and any tampering makes it fail."""
    expected = case.get("expect_valid", True)
    assert is_valid_signature(token, case["url"], params, case["expected_signature"]) is expected
    assert not is_valid_signature(token + "x", case["url"], params, case["expected_signature"])
    assert not is_valid_signature(token, case["url"].replace("foo=1", "foo=2"), params, case["expected_signature"])
    if isinstance(params, dict):
        tampered = {**params, "Extra": [""]}
        assert not is_valid_signature(token, case["url"], tampered, case["expected_signature"])
    else:
        assert not is_valid_signature(token, case["url"], params + " ", case["expected_signature"])


@pytest.mark.parametrize("signature", [None, "", "RSOYDt4T1cUTdK1PDd93/VVr8B8", "sha1=RSOYDt4T1cUTdK1PDd93/VVr8B8="])
def test_missing_or_mangled_signatures_fail(signature) -> None:
    params = {"CallSid": ["CA1234567890ABCDE"], "Caller": ["+14158675309"], "Digits": ["1234"],
              "From": ["+14158675309"], "To": ["+18005551212"]}
    assert not is_valid_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params, signature)


def test_blank_values_are_signed() -> None:
    """Body= on media/location messages is part of the signed string (Sanic's form drops it)."""
    url = "https://bot.example.com/webhooks/twilio_whatsapp/webhook"
    with_blank = {"Body": [""], "MessageSid": ["SM1"]}
    signature = compute_signature("token", url, with_blank)
    assert is_valid_signature("token", url, with_blank, signature)
    assert not is_valid_signature("token", url, {"MessageSid": ["SM1"]}, signature)


def test_public_url_from_configuration_replaces_scheme_and_host() -> None:
    url = public_request_url(
        scheme="http", host="10.0.0.7:5005", path="/webhooks/twilio_whatsapp/webhook", query_string="a=1&b=%20",
        headers={"X-Forwarded-Proto": "http"}, policy=UrlPolicy(public_url="https://bot.example.com/majlis/"),
    )
    assert url == "https://bot.example.com/majlis/webhooks/twilio_whatsapp/webhook?a=1&b=%20"


def test_public_url_from_forwarded_headers() -> None:
    headers = {"X-Forwarded-Proto": "https, http", "X-Forwarded-Host": "bot.example.com, proxy.internal",
               "X-Forwarded-Port": "8443"}
    url = public_request_url(scheme="http", host="127.0.0.1:5005", path="/w", query_string="",
                             headers=headers, policy=UrlPolicy(trust_forwarded=True))
    assert url == "https://bot.example.com:8443/w"
    # The default: a client's forwarded headers are not believed (issue 11).
    untrusted = public_request_url(scheme="http", host="127.0.0.1:5005", path="/w", query_string="",
                                   headers=headers, policy=UrlPolicy())
    assert untrusted == "http://127.0.0.1:5005/w"


# -- payloads ------------------------------------------------------------------


def test_text_payload_is_literal() -> None:
    assert build_text(to="+971501234567", from_="whatsapp:+14155238886", body="مرحبا",
                      status_callback="https://bot.example.com/webhooks/twilio_whatsapp/status") == {
        "To": "whatsapp:+971501234567",
        "From": "whatsapp:+14155238886",
        "Body": "مرحبا",
        "StatusCallback": "https://bot.example.com/webhooks/twilio_whatsapp/status",
    }


def test_template_payload_uses_content_sid_and_json_string_variables() -> None:
    assert build_template(to="US.13491208655302741918", from_="+14155238886", content_sid="HX" + "a" * 32,
                          variables={"1": "سارة", "2": "tomorrow"}) == {
        "To": "whatsapp:US.13491208655302741918",
        "From": "whatsapp:+14155238886",
        "ContentSid": "HX" + "a" * 32,
        "ContentVariables": '{"1":"سارة","2":"tomorrow"}',
    }
    with pytest.raises(ValueError):
        build_template(to="+1", from_="+2", content_sid="MG123")


def test_media_payload_and_limits() -> None:
    assert build_media(to="+1", from_="+2", media_urls=["https://x/a.jpg"], caption="bill") == {
        "To": "whatsapp:+1", "From": "whatsapp:+2", "MediaUrl": ["https://x/a.jpg"], "Body": "bill"}
    with pytest.raises(ValueError):
        build_media(to="+1", from_="+2", media_urls=[f"https://x/{i}" for i in range(11)])
    with pytest.raises(ValueError):
        build_text(to="+1", from_="+2", body="x" * (MAX_BODY_CHARS + 1))


def test_create_kwargs_maps_fields_and_refuses_unknown_ones() -> None:
    assert create_kwargs({"To": "whatsapp:+1", "From": "whatsapp:+2", "Body": "hi"}) == {
        "to": "whatsapp:+1", "from_": "whatsapp:+2", "body": "hi"}
    with pytest.raises(ValueError):
        create_kwargs({"To": "whatsapp:+1", "ApplicationSid": "AP1"})


@pytest.mark.parametrize("value, expected", [
    ("whatsapp:+1415", "whatsapp:+1415"), ("+1415", "whatsapp:+1415"), ("971501234567", "whatsapp:+971501234567"),
    ("US.1234", "whatsapp:US.1234")])
def test_whatsapp_address(value, expected) -> None:
    assert whatsapp_address(value) == expected


def graphemes(text: str):
    return regex.findall(r"\X", text)


def test_split_keeps_short_text_whole_and_drops_blank() -> None:
    assert split_body("مرحبا\n\nكيف أساعدك؟") == ("مرحبا\n\nكيف أساعدك؟",)
    assert split_body(" \n ") == ()


def test_split_on_word_boundaries_within_the_limit() -> None:
    text = " ".join(["فاتورة"] * 700)  # 4,899 characters of Arabic words
    parts = split_body(text)
    assert len(parts) == 4
    assert all(body_length(part) <= MAX_BODY_CHARS for part in parts)
    assert all(word == "فاتورة" for part in parts for word in part.split(" "))
    assert " ".join(parts) == text


def test_split_never_cuts_a_grapheme() -> None:
    family = "👨‍👩‍👧‍👦"  # one grapheme, 11 UTF-16 units
    voweled = "بَ"  # letter + fatha
    text = "x" * 1595 + family + voweled * 900
    parts = split_body(text)
    assert "".join(parts) == text
    assert all(body_length(part) <= MAX_BODY_CHARS for part in parts)
    assert family in parts[1]  # moved whole to the next part
    for part in parts:
        assert graphemes(part)[0] != "\u064e"  # never starts with a detached fatha


# -- settings ------------------------------------------------------------------

ENV = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "s3cret", "TWILIO_WHATSAPP_FROM": "+14155238886"}


def test_settings_from_environment() -> None:
    settings = TwilioSettings.from_config(Config({
        **ENV, "TWILIO_PUBLIC_URL": "https://bot.example.com/", "TWILIO_TEMPLATE_CONTENT_SID": "HX" + "b" * 32,
        "TWILIO_TEMPLATE_VARIABLES": '{"1": "Majlis"}', "TWILIO_API_URL": "http://127.0.0.1:4010"}))
    assert settings.auth_token == Secret("s3cret")
    assert "s3cret" not in repr(settings)
    assert settings.whatsapp_from == "whatsapp:+14155238886"
    assert settings.sender_account == "+14155238886"
    assert settings.status_callback_url == "https://bot.example.com/webhooks/twilio_whatsapp/status"
    assert settings.url_policy == UrlPolicy(public_url="https://bot.example.com", trust_forwarded=False)
    assert settings.template == TemplateSettings(content_sid="HX" + "b" * 32, variables={"1": "Majlis"})


def test_credentials_override_environment() -> None:
    settings = TwilioSettings.from_credentials({"auth_token": "from-yaml", "public_url": ""}, environ=ENV)
    assert settings.auth_token.reveal() == "from-yaml"
    assert settings.url_policy.public_url is None


@pytest.mark.parametrize("env, key", [
    ({k: v for k, v in ENV.items() if k != "TWILIO_AUTH_TOKEN"}, "TWILIO_AUTH_TOKEN"),
    ({**ENV, "TWILIO_ACCOUNT_SID": "XX1"}, "TWILIO_ACCOUNT_SID"),
    ({**ENV, "TWILIO_TEMPLATE_CONTENT_SID": "MG1"}, "TWILIO_TEMPLATE_CONTENT_SID"),
    ({**ENV, "TWILIO_TEMPLATE_CONTENT_SID": "HX1", "TWILIO_TEMPLATE_VARIABLES": "[1]"}, "TWILIO_TEMPLATE_VARIABLES"),
    ({**ENV, "TWILIO_PUBLIC_URL": "bot.example.com"}, "TWILIO_PUBLIC_URL"),
    ({**ENV, "TWILIO_TIMEOUT": "0"}, "TWILIO_TIMEOUT"),
])
def test_bad_settings_fail_loudly(env, key) -> None:
    with pytest.raises(ConfigError) as caught:
        TwilioSettings.from_config(Config(env))
    assert caught.value.key == key


# -- errors, transport, template -------------------------------------------------


@pytest.mark.parametrize("status, code, transient", [
    (429, 20429, True), (500, 20500, True), (503, 503, True), (400, 63018, True), (400, 21211, False),
    (400, 21610, False), (401, 20003, False), (404, 20404, False)])
def test_error_classification(status, code, transient) -> None:
    error = provider_error(TwilioRestException(status, "https://api.twilio.com/x", "msg with +971501234567", code))
    assert type(error) is ProviderAPIError
    assert error.is_transient is transient
    assert error.code == code
    assert "+971" not in error.message and "+971" not in json.dumps(dict(error.raw))


def test_63016_is_window_closed() -> None:
    error = provider_error(TwilioRestException(400, "https://api.twilio.com/x", "outside window", 63016))
    assert isinstance(error, WindowClosedError)
    assert error.is_transient is False


def test_no_answer_is_transient() -> None:
    assert is_transient(None, None)


def test_rebase_url_points_twilio_at_the_fake() -> None:
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
    assert rebase_url(url, "http://127.0.0.1:4010/prefix") == "http://127.0.0.1:4010/prefix/2010-04-01/Accounts/AC1/Messages.json"
    assert rebase_url(url, None) == url


def test_window_template_uses_the_configured_content_sid() -> None:
    sender = TwilioSender(client=None, template=TemplateSettings(content_sid="HX" + "c" * 32),  # type: ignore[arg-type]
                          status_callback="https://bot.example.com/s")
    message = OutboundMessage(channel="twilio_whatsapp", account="+14155238886", customer="+971501234567",
                              payload={"Body": "hi"}, idempotency_key="SM1:0")
    assert sender.window_template(message) == {
        "To": "whatsapp:+971501234567", "From": "whatsapp:+14155238886", "ContentSid": "HX" + "c" * 32,
        "StatusCallback": "https://bot.example.com/s"}
    assert TwilioSender(client=None).window_template(message) is None  # type: ignore[arg-type]
