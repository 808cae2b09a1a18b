"""Fuzzing the Meta webhooks (WhatsApp Cloud and Instagram) through their real routes.

Arbitrary bytes, arbitrary JSON, the real recorded webhooks with wrong types in known
fields, deeply nested JSON: signed correctly (so the parser, not only the signature
check, sees them) and unsigned.  Never a 5xx, never an exception, in the request or in
the processing after the 200.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, List

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import Secret
from bot.delivery import DeliveryStore
from bot.storage import create_engine
from bot.gateway.notice import SECRET_HEADER as NOTICE_SECRET_HEADER
from channels.meta.graph import SIGNATURE_HEADER, sign
from tests.channels import test_instagram_harness as instagram
from tests.channels import whatsapp_harness as whatsapp
from tests.channels.test_instagram_harness import RecordingAgent
from tests.fuzz.harness import (
    FEW, FUZZ, Failures, ThreadServer, assert_answered, deeply_nested, encode, json_values, mutated,
)
from tests.rasa_server_app import served_rasa_app

CHANNELS = ["whatsapp", "instagram"]


class Served:
    def __init__(self, server: ThreadServer, channel: Any, path: str, secret: str, failures: Failures) -> None:
        self.server, self.channel, self.path, self.secret, self.failures = server, channel, path, secret, failures

    def post(self, raw: bytes, *, signed: bool = True, content_type: str = "application/json") -> None:
        headers = {"Content-Type": content_type}
        if signed:
            headers[SIGNATURE_HEADER] = sign(raw, Secret(self.secret))
        status, body = self.server.request("POST", self.path, raw, headers)
        assert_answered(status, body)
        if not signed:
            assert status == 401, (status, body)
        self.server.call(self.channel.delivery.drain(timeout=30))
        self.failures.check()


def recorded_bodies(directory: Path) -> List[Any]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.json"))
            if isinstance(json.loads(p.read_text(encoding="utf-8")), dict)]


INBOX_SECRET = "fuzz-inbox-secret"


@pytest.fixture(scope="module", params=CHANNELS)
def served(request: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    database = tmp_path_factory.mktemp("fuzz-meta") / "majlis.sqlite"
    patch = pytest.MonkeyPatch()
    patch.setenv("MAJLIS_INBOX_SECRET", INBOX_SECRET)  # the receiver -> Rasa notice route, fuzzed too
    store = DeliveryStore(create_engine(f"sqlite:///{database}"))
    if request.param == "whatsapp":
        channel: Any = whatsapp.make_channel(whatsapp.settings(WHATSAPP_MARK_READ="false"), store=store)
        path, secret = whatsapp.WEBHOOK_PATH, whatsapp.APP_SECRET
    else:
        channel = instagram.InstagramInput(instagram.settings(), store=store, retry=instagram.FAST_RETRY)
        path, secret = instagram.WEBHOOK_PATH, instagram.APP_SECRET
    agent = RecordingAgent(reply={"text": "شكراً", "buttons": [{"title": "نعم", "payload": "/affirm"}]})
    with Failures() as failures, ThreadServer(lambda: served_rasa_app([channel], agent)) as server:
        yield Served(server, channel, path, secret, failures)
    patch.undo()


def recorded(served: Served) -> List[Any]:
    return recorded_bodies(whatsapp.FIXTURES if served.path == whatsapp.WEBHOOK_PATH else instagram.FIXTURES)


@FUZZ
@given(raw=st.binary(max_size=2000))
def test_signed_bytes(served: Served, raw: bytes) -> None:
    served.post(raw)


@FUZZ
@given(document=json_values)
def test_signed_json(served: Served, document: Any) -> None:
    served.post(encode(document))


@FUZZ
@given(data=st.data())
def test_signed_recorded_webhooks_with_wrong_fields(served: Served, data: Any) -> None:
    served.post(encode(data.draw(mutated(recorded(served)))))


@FEW
@given(depth=st.integers(min_value=900, max_value=200_000), kind=st.sampled_from(["list", "dict"]))
def test_signed_deeply_nested_json(served: Served, depth: int, kind: str) -> None:
    served.post(deeply_nested(depth, kind))


@FEW
@given(raw=st.binary(max_size=500), content_type=st.sampled_from(["application/json", "text/plain", "", "x/y"]))
def test_unsigned_bytes_are_refused(served: Served, raw: bytes, content_type: str) -> None:
    served.post(raw, signed=False, content_type=content_type)


@FEW
@given(query=st.dictionaries(st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge", "x"]),
                             st.text(max_size=30), max_size=4))
def test_verification_handshake(served: Served, query: dict) -> None:
    from urllib.parse import urlencode

    status, body = served.server.request("GET", f"{served.path}?{urlencode(query)}")
    assert_answered(status, body)
    served.failures.check()


@FUZZ
@given(raw=st.one_of(st.binary(max_size=500), json_values.map(encode),
                     st.integers(min_value=900, max_value=50_000).map(deeply_nested)))
def test_inbox_notices_with_the_secret(served: Served, raw: bytes) -> None:
    if served.path != whatsapp.WEBHOOK_PATH:
        return  # WhatsApp only
    status, body = served.server.request("POST", "/webhooks/whatsapp_cloud/inbox", raw,
                                         {NOTICE_SECRET_HEADER: INBOX_SECRET, "Content-Type": "application/json"})
    assert_answered(status, body)
    served.failures.check()
