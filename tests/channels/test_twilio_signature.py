"""channels/twilio/signature.py without a server: the public URL Twilio signed and the
X-Twilio-Signature check (fast: imports nothing of Rasa; the mutation run uses it).

Vectors: tests/fixtures/signatures/twilio_request_validator_vectors.json (twilio-python's).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from channels.twilio.signature import UrlPolicy, compute_signature, is_valid_signature, public_request_url

DATA = json.loads((Path(__file__).parents[1] / "fixtures" / "signatures"
                   / "twilio_request_validator_vectors.json").read_text(encoding="utf-8"))
TOKEN = DATA["auth_token"]
CASES = {case["name"]: case for case in DATA["cases"]}
FORM = {name: [value] for name, value in CASES["form_params"]["params"].items()}
URL = CASES["form_params"]["url"]


def test_the_published_form_vector_and_its_port_variants() -> None:
    assert compute_signature(TOKEN, URL, FORM) == CASES["form_params"]["expected_signature"]
    for name in ("form_params", "https_with_explicit_port_1234_validates_against_portless_signature",
                 "https_signature_computed_with_port_443", "http_signature_computed_with_port_80"):
        case = CASES[name]
        assert is_valid_signature(TOKEN, case["url"], FORM, case["expected_signature"]) is True, name


def test_multi_valued_fields_and_json_bodies() -> None:
    case = CASES["duplicate_multivalued_params"]
    multi: dict = {}
    for name, value in case["params_multi"]:
        multi.setdefault(name, []).append(value)
    assert is_valid_signature(TOKEN, case["url"], multi, case["expected_signature"])
    body = CASES["json_body_with_bodySHA256"]
    assert is_valid_signature(TOKEN, body["url"], body["raw_body"], body["expected_signature"])
    assert not is_valid_signature(TOKEN, body["url"], body["raw_body"] + " ", body["expected_signature"])


def test_anything_else_is_refused() -> None:
    good = CASES["form_params"]["expected_signature"]
    assert not is_valid_signature(TOKEN, URL, FORM, None)
    assert not is_valid_signature(TOKEN, URL, FORM, "")
    assert not is_valid_signature("", URL, FORM, good)                        # no token configured
    assert not is_valid_signature(TOKEN + "6", URL, FORM, good)
    assert not is_valid_signature(TOKEN, URL + "&baz=3", FORM, good)
    assert not is_valid_signature(TOKEN, URL, {**FORM, "Digits": ["1235"]}, good)
    assert not is_valid_signature(TOKEN, URL, FORM, good[:-2] + "A=")


HEADERS_BEHIND_PROXY = {"X-Forwarded-Proto": "https, http", "X-Forwarded-Host": "bot.example.com, 10.0.0.1",
                        "X-Forwarded-Port": "8443"}


# Forwarded headers count only behind a proxy the operator declared (MAJLIS_TRUST_PROXY).
TRUSTED = UrlPolicy(trust_forwarded=True)


@pytest.mark.parametrize("headers, policy, expected", [
    ({}, UrlPolicy(), "http://10.0.0.5:5005/webhooks/twilio_whatsapp/webhook?a=1"),
    (HEADERS_BEHIND_PROXY, TRUSTED, "https://bot.example.com:8443/webhooks/twilio_whatsapp/webhook?a=1"),
    ({**HEADERS_BEHIND_PROXY, "X-Forwarded-Port": "443"}, TRUSTED,
     "https://bot.example.com/webhooks/twilio_whatsapp/webhook?a=1"),
    ({**HEADERS_BEHIND_PROXY, "X-Forwarded-Port": "80"}, TRUSTED,
     "https://bot.example.com/webhooks/twilio_whatsapp/webhook?a=1"),
    ({**HEADERS_BEHIND_PROXY, "X-Forwarded-Host": "bot.example.com:9000"}, TRUSTED,
     "https://bot.example.com:9000/webhooks/twilio_whatsapp/webhook?a=1"),
    ({"X-Forwarded-Proto": "https"}, TRUSTED, "https://10.0.0.5:5005/webhooks/twilio_whatsapp/webhook?a=1"),
    ({"X-Forwarded-Host": " , "}, TRUSTED, "http://10.0.0.5:5005/webhooks/twilio_whatsapp/webhook?a=1"),
    (HEADERS_BEHIND_PROXY, UrlPolicy(), "http://10.0.0.5:5005/webhooks/twilio_whatsapp/webhook?a=1"),  # default: headers not trusted
    (HEADERS_BEHIND_PROXY, UrlPolicy(public_url="https://public.example/prefix/"),
     "https://public.example/prefix/webhooks/twilio_whatsapp/webhook?a=1"),
])
def test_the_public_url(headers, policy, expected) -> None:
    url = public_request_url(scheme="http", host="10.0.0.5:5005", path="/webhooks/twilio_whatsapp/webhook",
                             query_string="a=1", headers=headers, policy=policy)
    assert url == expected


def test_no_query_string_adds_no_question_mark() -> None:
    url = public_request_url(scheme="https", host="h", path="/p", query_string="", headers={}, policy=UrlPolicy())
    assert url == "https://h/p"
    assert UrlPolicy().trust_forwarded is False and UrlPolicy().public_url is None


def test_a_public_url_keeps_its_own_last_letters() -> None:
    # Only slashes are trimmed from the configured URL, never other trailing characters.
    url = public_request_url(scheme="http", host="h", path="/webhook", query_string="",
                             headers={}, policy=UrlPolicy(public_url="https://bot.example/BOX/"))
    assert url == "https://bot.example/BOX/webhook"


def test_the_header_name_and_the_policy_value() -> None:
    import dataclasses

    from channels.twilio.signature import SIGNATURE_HEADER

    assert SIGNATURE_HEADER == "X-Twilio-Signature"
    policy = UrlPolicy(public_url="https://bot.example")
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.public_url = "https://evil.example"  # type: ignore[misc]
    with pytest.raises(TypeError):
        UrlPolicy("https://bot.example")  # type: ignore[misc]  keyword-only: no silent mix-up of fields
    assert not hasattr(policy, "__dict__")  # slotted: a misspelt attribute cannot be set on it
