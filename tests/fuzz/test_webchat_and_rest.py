"""Fuzzing the web chat's HTTP side (page, static files, the socket.io polling endpoint) and the REST channel.

Arbitrary paths, query strings and bodies: never a 5xx, never an exception.  The REST
channel is fuzzed with its bearer token (so the body parser runs) and without it (401).
"""
from __future__ import annotations

from typing import Any, Dict, Iterator
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import Secret
from bot.delivery import DeliveryStore
from bot.storage import create_engine
from channels.rest.channel import RestInput
from channels.webchat.channel import WebChatInput
from tests.channels.test_instagram_harness import FAST_RETRY, RecordingAgent
from tests.fuzz.harness import FEW, FUZZ, Failures, ThreadServer, assert_answered, deeply_nested, encode, json_values
from tests.rasa_server_app import served_rasa_app

TOKEN = "fuzz-rest-token"
REST = "/webhooks/rest/webhook"
SOCKET = "/webchat/socket.io/"
query_values = st.one_of(st.text(max_size=40), st.sampled_from(["snapchat", "en", "ar", "4", "polling", "websocket"]))


class Served:
    def __init__(self, server: ThreadServer, agent: RecordingAgent, failures: Failures) -> None:
        self.server, self.agent, self.failures = server, agent, failures

    def request(self, method: str, path: str, body: bytes = b"", headers: Dict[str, str] = None) -> int:
        status, answer = self.server.request(method, path, body or None, headers)
        assert_answered(status, answer)
        self.failures.check()
        return status


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    database = tmp_path_factory.mktemp("fuzz-webchat") / "majlis.sqlite"
    webchat = WebChatInput(store=DeliveryStore(create_engine(f"sqlite:///{database}")), retry=FAST_RETRY)
    agent = RecordingAgent(reply={"text": "أهلاً"})
    with Failures() as failures, ThreadServer(
            lambda: served_rasa_app([webchat, RestInput(Secret(TOKEN))], agent)) as server:
        yield Served(server, agent, failures)


@FUZZ
@given(path=st.sampled_from(["/webhooks/webchat/", "/webhooks/webchat/health", "/webhooks/webchat/static/"]),
       name=st.text(max_size=30), query=st.dictionaries(st.sampled_from(["src", "campaign", "lang", "ref", "x"]),
                                                          query_values, max_size=4))
def test_page_and_static_files(served: Served, path: str, name: str, query: dict) -> None:
    target = path + (quote(name, safe="") if path.endswith("static/") else "")
    served.request("GET", f"{target}?{urlencode(query)}")


@FUZZ
@given(query=st.dictionaries(st.sampled_from(["EIO", "transport", "sid", "t", "x"]), query_values, max_size=4),
       method=st.sampled_from(["GET", "POST"]), body=st.binary(max_size=500))
def test_socketio_polling_endpoint(served: Served, query: dict, method: str, body: bytes) -> None:
    served.request(method, f"{SOCKET}?{urlencode(query)}", body if method == "POST" else b"",
                   {"Content-Type": "text/plain;charset=UTF-8"})


@FUZZ
@given(document=json_values)
def test_rest_json_with_the_token(served: Served, document: Any) -> None:
    served.request("POST", REST, encode(document), {"Authorization": f"Bearer {TOKEN}",
                                                    "Content-Type": "application/json"})


@FUZZ
@given(raw=st.binary(max_size=1000), authorized=st.booleans())
def test_rest_bytes(served: Served, raw: bytes, authorized: bool) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"} if authorized else {}
    status = served.request("POST", REST, raw, headers)
    assert authorized or status == 401


@FEW
@given(depth=st.integers(min_value=900, max_value=100_000), kind=st.sampled_from(["list", "dict"]))
def test_rest_deeply_nested_json(served: Served, depth: int, kind: str) -> None:
    assert served.request("POST", REST, deeply_nested(depth, kind), {"Authorization": f"Bearer {TOKEN}"}) in (400, 413)
