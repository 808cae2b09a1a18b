"""Fuzzing the Twilio WhatsApp webhook and status callback through their real routes.

Arbitrary form fields, Twilio's recorded webhooks with odd values in known fields,
arbitrary bytes; signed with ``X-Twilio-Signature`` over the fields the channel decodes
(so the parser runs, not only the signature check), and unsigned.  Never a 5xx, never an
exception, in the request or in the processing after the 200.
"""
from __future__ import annotations

from typing import Any, Dict, Iterator, List
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.delivery import DeliveryStore
from bot.storage import create_engine
from channels.twilio.parse import MalformedWebhook, decode_form
from channels.twilio.signature import SIGNATURE_HEADER, compute_signature
from channels.twilio.channel import TwilioWhatsAppInput
from tests.channels import test_twilio_whatsapp_harness as twilio
from tests.fuzz.harness import FEW, FUZZ, Failures, ThreadServer, assert_answered, scalars
from tests.rasa_server_app import served_rasa_app

PUBLIC_URL = "https://majlis.example"
PATHS = [twilio.WEBHOOK_PATH, twilio.STATUS_PATH]
KNOWN_FIELDS = ["MessageSid", "SmsSid", "AccountSid", "From", "To", "Body", "WaId", "ProfileName", "NumMedia",
                "MediaUrl0", "MediaContentType0", "MessageStatus", "ErrorCode", "Latitude", "Longitude",
                "ButtonPayload", "ButtonText", "MessageType", "NumSegments", "ReferralCtwaClid", "OriginalRepliedMessageSid"]
texts = st.one_of(st.text(max_size=60), scalars.map(str))


class Served:
    def __init__(self, server: ThreadServer, channel: TwilioWhatsAppInput, failures: Failures) -> None:
        self.server, self.channel, self.failures = server, channel, failures

    def post(self, path: str, raw: bytes, *, signed: bool = True) -> int:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signed:
            try:
                fields = decode_form(raw)
            except MalformedWebhook:
                fields = {}
            headers[SIGNATURE_HEADER] = compute_signature(twilio.AUTH_TOKEN, PUBLIC_URL + path, fields)
        status, body = self.server.request("POST", path, raw, headers)
        assert_answered(status, body)
        self.server.call(self.channel.delivery.drain(timeout=30))
        self.failures.check()
        return status


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    database = tmp_path_factory.mktemp("fuzz-twilio") / "majlis.sqlite"
    channel = TwilioWhatsAppInput(twilio.settings(TWILIO_PUBLIC_URL=PUBLIC_URL),
                                  store=DeliveryStore(create_engine(f"sqlite:///{database}")), retry=twilio.FAST_RETRY)
    agent = twilio.RecordingAgent()
    with Failures() as failures, ThreadServer(lambda: served_rasa_app([channel], agent)) as server:
        yield Served(server, channel, failures)


def recorded_forms() -> List[Dict[str, str]]:
    forms = []
    for name in twilio.fixture_names():
        document = twilio.load_fixture(name)
        form = document.get("parsed")
        assert isinstance(form, dict) and all(isinstance(v, str) for v in form.values()), name
        forms.append(form)
    return forms


@FUZZ
@given(path=st.sampled_from(PATHS), fields=st.dictionaries(st.one_of(st.sampled_from(KNOWN_FIELDS), st.text(max_size=10)),
                                                         texts, max_size=8))
def test_signed_arbitrary_forms(served: Served, path: str, fields: Dict[str, str]) -> None:
    served.post(path, urlencode(fields).encode())


@FUZZ
@given(path=st.sampled_from(PATHS), data=st.data())
def test_signed_recorded_webhooks_with_odd_values(served: Served, path: str, data: Any) -> None:
    form = dict(data.draw(st.sampled_from(recorded_forms())))
    for name in data.draw(st.lists(st.sampled_from(sorted(set(form) | set(KNOWN_FIELDS))), min_size=1, max_size=4)):
        if data.draw(st.booleans()):
            form[name] = data.draw(texts)
        else:
            form.pop(name, None)
    served.post(path, urlencode(form).encode())


@FUZZ
@given(path=st.sampled_from(PATHS), raw=st.binary(max_size=1000))
def test_signed_bytes(served: Served, path: str, raw: bytes) -> None:
    served.post(path, raw)


@FEW
@given(path=st.sampled_from(PATHS), raw=st.binary(max_size=500))
def test_unsigned_bytes_are_refused(served: Served, path: str, raw: bytes) -> None:
    assert served.post(path, raw, signed=False) in (400, 401, 413, 415)
