"""channels/meta/graph.py without a server: X-Hub-Signature-256, the verification handshake and
Graph error classification (fast: imports nothing of Rasa; the mutation run uses it).

Signature vectors: tests/fixtures/signatures (a real signed pywa webhook, and negatives).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from bot.config import Secret
from bot.errors import SignatureError, WindowClosedError
from channels.meta.graph import TRANSIENT_CODES, graph_error, sign, verify_handshake, verify_signature

VECTORS = json.loads((Path(__file__).parents[1] / "fixtures" / "signatures"
                      / "meta_x_hub_signature_256_vectors.json").read_text(encoding="utf-8"))["cases"]
SECRET = Secret("app-secret-للاختبار")
BODY = '{"entry":[{"text":"مرحبا \\u0645"}]}'.encode()


def reason(body: bytes, header, secret: Secret = SECRET) -> str:
    with pytest.raises(SignatureError) as caught:
        verify_signature(body, header, secret)
    return caught.value.reason


@pytest.mark.parametrize("case", [c for c in VECTORS if "raw_body" in c], ids=lambda c: c["name"])
def test_the_published_vectors(case) -> None:
    body, header = case["raw_body"].encode("utf-8"), case["x_hub_signature_256"]
    if case["expect_valid"]:
        verify_signature(body, header, Secret(case["app_secret"]))
        assert sign(body, Secret(case["app_secret"])) == header
    else:
        with pytest.raises(SignatureError):
            verify_signature(body, header, Secret(case["app_secret"]))


def test_sign_is_sha256_equals_lowercase_hex_hmac_of_the_raw_bytes() -> None:
    expected = hmac.new(SECRET.reveal().encode(), BODY, hashlib.sha256).hexdigest()
    assert sign(BODY, SECRET) == "sha256=" + expected


def test_a_right_signature_passes_also_in_upper_case_and_with_spaces() -> None:
    header = sign(BODY, SECRET)
    verify_signature(BODY, header, SECRET)
    verify_signature(BODY, "sha256=" + header[7:].upper(), SECRET)
    verify_signature(BODY, f"  {header}\n", SECRET)


def test_every_wrong_signature_is_refused_with_its_reason() -> None:
    header = sign(BODY, SECRET)
    assert reason(BODY, None) == "missing"
    assert reason(BODY, "") == "missing"
    assert reason(BODY, header[7:]) == "malformed"                    # no "sha256=" prefix
    assert reason(BODY, "sha1=" + header[7:]) == "malformed"
    assert reason(BODY, header[:-1]) == "malformed"                   # 63 hex digits
    assert reason(BODY, header + "0") == "malformed"                  # 65 hex digits
    assert reason(BODY, header[:-1] + ("0" if header[-1] != "0" else "1")) == "mismatch"
    assert reason(BODY + b" ", header) == "mismatch"                  # a byte more in the body
    assert reason(BODY, header, Secret("another secret")) == "mismatch"
    assert reason(BODY, "sha256=" + "ز" * 64) == "mismatch"           # non-ASCII: refused, no crash


# A refusal says why (never which part was wrong, and never the token).
REFUSED = "webhook verification refused: wrong hub.mode, hub.verify_token or no hub.challenge"


def test_the_handshake_answers_the_challenge_only_to_subscribe_with_the_token() -> None:
    token = Secret("verify-token")
    good = {"hub.mode": "subscribe", "hub.verify_token": "verify-token", "hub.challenge": "1158201444"}
    assert verify_handshake(good, token) == ("1158201444", 200)
    assert verify_handshake({**good, "hub.verify_token": "verify-tokeN"}, token) == (REFUSED, 403)
    assert verify_handshake({**good, "hub.verify_token": ""}, token) == (REFUSED, 403)
    assert verify_handshake({**good, "hub.mode": "unsubscribe"}, token) == (REFUSED, 403)
    assert verify_handshake({**good, "hub.challenge": ""}, token) == (REFUSED, 403)
    assert verify_handshake({k: v for k, v in good.items() if k != "hub.mode"}, token) == (REFUSED, 403)
    assert verify_handshake({**good, "hub.verify_token": ""}, Secret("")) == (REFUSED, 403)  # nothing configured


def test_graph_errors_are_classified() -> None:
    window = graph_error(400, {"error": {"code": 131047, "message": "Re-engagement message"}})
    assert isinstance(window, WindowClosedError) and window.code == 131047 and window.http_status == 400
    assert isinstance(graph_error(400, {"error": {"code": 470}}), WindowClosedError)
    for code in TRANSIENT_CODES:
        assert graph_error(400, {"error": {"code": code}}).is_transient, code
    permanent = graph_error(400, {"error": {"code": 131026, "message": "Message undeliverable"}})
    assert not permanent.is_transient and permanent.code == 131026 and permanent.message == "Message undeliverable"
    assert graph_error(429, {"error": {"code": 99999}}).is_transient
    assert graph_error(500, "<html>oops</html>").is_transient and graph_error(500, "x").code == 500
    assert graph_error(503, None).is_transient and graph_error(499, None).is_transient is False
    assert graph_error(404, {"error": "not a dict"}).code == 404 and graph_error(404, {}).message == "HTTP 404"
    assert graph_error(400, {"error": {"code": "131047"}}).code == 400  # a code that is not a number
    assert len(graph_error(400, {"error": {"code": 1, "message": "m" * 500}}).message) == 200
    assert graph_error(502, "b" * 900).raw == {"body": "b" * 500}
    assert graph_error(400, {"error": {"code": 2}}).raw == {"error": {"code": 2}}
    assert sorted(TRANSIENT_CODES) == [1, 2, 4, 17, 341, 80007, 130429, 131000, 131048, 131053, 131056, 133016]


def test_a_handshake_missing_a_parameter_is_refused_and_logged_without_the_token(caplog) -> None:
    import logging

    good = {"hub.mode": "subscribe", "hub.verify_token": "XXXX", "hub.challenge": "42"}
    for missing in good:
        partial = {k: v for k, v in good.items() if k != missing}
        assert verify_handshake(partial, Secret("XXXX")) == (REFUSED, 403), missing
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="channels.meta.graph"):
        verify_handshake({**good, "hub.verify_token": "guess"}, Secret("XXXX"))
        verify_handshake({**good, "hub.mode": "other"}, Secret("XXXX"))
    assert [r.getMessage() for r in caplog.records] == [
        "Webhook verification refused (mode ok: True, token ok: False)",
        "Webhook verification refused (mode ok: False, token ok: True)",
    ]
