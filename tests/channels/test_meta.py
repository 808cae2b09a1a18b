"""channels/meta/graph.py: signature, handshake, Graph error classification, Graph client.

Signature vectors: tests/fixtures/signatures/meta_x_hub_signature_256_vectors.json
(pywa tests/test_server.py; whatsapp-api-js test/index.test.js).
"""
from __future__ import annotations

import json

import pytest

from bot.config import Secret
from bot.errors import ProviderAPIError, SignatureError, WindowClosedError
from channels.meta.graph import GraphClient, graph_error, sign, verify_handshake, verify_signature
from tests.channels.whatsapp_harness import SIGNATURE_VECTORS
from tests.fakes.fake_graph import fake_graph  # noqa: F401 - fixture

VECTORS = {case["name"]: case for case in json.loads(SIGNATURE_VECTORS.read_text())["cases"]}


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_signature_vectors(name):
    """Source: meta_x_hub_signature_256_vectors.json, each case as labelled."""
    case = VECTORS[name]
    secret = Secret(case["app_secret"])
    if "escaped_text_that_was_signed" in case:
        verify_signature(case["escaped_text_that_was_signed"].encode(), case["x_hub_signature_256"], secret)
        with pytest.raises(SignatureError):
            verify_signature(case["decoded_text"].encode(), case["x_hub_signature_256"], secret)
        return
    if case["expect_valid"]:
        verify_signature(case["raw_body"].encode(), case["x_hub_signature_256"], secret)
    else:
        with pytest.raises(SignatureError):
            verify_signature(case["raw_body"].encode(), case["x_hub_signature_256"], secret)


def test_signature_reasons_never_contain_the_secret_or_body():
    secret = Secret("s3cr3t")
    for header, reason in [(None, "missing"), ("", "missing"), ("sha1=abc", "malformed"),
                           ("sha256=" + "0" * 64, "mismatch")]:
        with pytest.raises(SignatureError) as caught:
            verify_signature(b"body", header, secret)
        assert caught.value.reason == reason
        assert "s3cr3t" not in repr(caught.value) and "body" not in str(caught.value)


def test_sign_matches_the_real_pywa_vector():
    case = VECTORS["pywa_real_signed_whatsapp_text_webhook"]
    assert sign(case["raw_body"].encode(), Secret(case["app_secret"])) == case["x_hub_signature_256"]


@pytest.mark.parametrize("args,status", [
    ({"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "42"}, 200),
    ({"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "42"}, 403),
    ({"hub.mode": "subscribe", "hub.verify_token": "tok"}, 403),
    ({}, 403),
])
def test_handshake(args, status):
    body, code = verify_handshake(args, Secret("tok"))
    assert code == status and (body == "42" if status == 200 else "verification refused" in body)


def test_empty_configured_token_never_verifies():
    assert verify_handshake({"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}, Secret(""))[1] == 403


@pytest.mark.parametrize("status,code,transient,window", [
    (400, 130429, True, False), (400, 131056, True, False), (400, 131048, True, False),
    (400, 131000, True, False), (429, 4, True, False), (500, 1, True, False), (503, None, True, False),
    (400, 131047, False, True), (400, 131026, False, False), (400, 100, False, False), (401, 190, False, False),
])
def test_graph_errors_are_classified(status, code, transient, window):
    body = {"error": {"code": code, "message": "m"}} if code is not None else "<html>oops</html>"
    error = graph_error(status, body)
    assert error.is_transient is transient
    assert isinstance(error, WindowClosedError) is window
    assert error.code == (code if code is not None else status) and error.http_status == status


async def test_client_classifies_timeouts_and_network_errors(fake_graph):
    fake_graph.fail("timeout")
    client = GraphClient(fake_graph.url, timeout_s=0.3)
    try:
        with pytest.raises(ProviderAPIError) as caught:
            await client.request("POST", "1/messages", Secret("t"), {"messaging_product": "whatsapp", "to": "1",
                                                                     "type": "text", "text": {"body": "x"}})
        assert caught.value.code == 0 and caught.value.is_transient
    finally:
        await client.close()
    unreachable = GraphClient("http://127.0.0.1:9/v21.0", timeout_s=1)
    try:
        with pytest.raises(ProviderAPIError) as caught:
            await unreachable.request("GET", "1", Secret("t"))
        assert caught.value.is_transient and "network" in caught.value.message
    finally:
        await unreachable.close()


async def test_client_sends_the_bearer_token_and_returns_json(fake_graph):
    client = GraphClient(fake_graph.url)
    try:
        answer = await client.request("POST", "77/messages", Secret("tok"), {
            "messaging_product": "whatsapp", "to": "1", "type": "text", "text": {"body": "x"}})
    finally:
        await client.close()
    assert answer["messages"][0]["id"].startswith("wamid.")
    assert fake_graph.requests[0].headers["Authorization"] == "Bearer tok"
    assert fake_graph.requests[0].path == "/v21.0/77/messages"
