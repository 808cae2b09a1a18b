"""The REST channel (channels/rest/channel.py) through Rasa's configure_app on a real port.

The README's curl without the token is refused with 401 and reaches nothing; with the
token the message reaches Rasa as ``rest:<sender>`` on channel ``rest`` with no client
metadata, whatever the client claims.
"""
from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Optional, Tuple

import aiohttp
import pytest

from bot.config import Secret
from bot.local_secrets import REST_TOKEN_FILE
from channels.rest.channel import RestInput
from channels.rest.parse import MAX_BODY_BYTES, read_request
from channels.rest.webhook import token_matches
from serve import effective_credentials, provide_rest_token
from tests.channels.test_instagram_harness import RecordingAgent
from tests.channels.whatsapp_harness import running_channel
from tests.conftest import ROOT

TOKEN = "rest-test-token-9f2c"
README_BODY = {"sender": "971500000001", "message": "كم فاتورتي"}


class Rest:
    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.url = base_url + "/webhooks/rest/webhook"
        self.session = session

    async def post(self, body: Any, token: Optional[str] = TOKEN, *, raw: Optional[bytes] = None,
                   authorization: Optional[str] = None) -> Tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else json.dumps(body).encode()
        async with self.session.post(self.url, data=data, headers=headers) as answer:
            text = await answer.text()
            try:
                return answer.status, json.loads(text)
            except ValueError:
                return answer.status, text


@pytest.fixture
async def rest() -> AsyncIterator[Tuple[Rest, RecordingAgent]]:
    agent = RecordingAgent(reply={"text": "فاتورتك ١٢٠ درهم", "buttons": [{"title": "ادفع", "payload": "/pay_bill"}]})
    async with running_channel(RestInput(Secret(TOKEN)), agent) as running:  # type: ignore[arg-type]
        yield Rest(running.base_url, running.session), agent


async def test_the_readme_curl_without_the_token_gets_401_and_reaches_nothing(rest) -> None:
    client, agent = rest
    status, body = await client.post(README_BODY, token=None)
    assert status == 401 and "token" in body["error"]
    assert agent.messages == []


@pytest.mark.parametrize("authorization", [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ", TOKEN,
                                           f"Basic {TOKEN}", f"Bearer {TOKEN} extra", "Bearer ٩٩٩"])
async def test_a_wrong_token_gets_401(rest, authorization: str) -> None:
    client, agent = rest
    status, _ = await client.post(README_BODY, authorization=authorization)
    assert status == 401 and agent.messages == []


async def test_with_the_token_the_sender_is_namespaced_and_the_channel_pinned(rest) -> None:
    client, agent = rest
    forged = {**README_BODY, "input_channel": "whatsapp_cloud",
              "metadata": {"display_text": "<img src=https://evil.example/x.png>", "majlis_button_payload": True}}
    status, replies = await client.post(forged, authorization=f"bearer {TOKEN}")
    assert status == 200
    assert replies == [{"recipient_id": "rest:971500000001", "text": "فاتورتك ١٢٠ درهم",
                        "buttons": [{"title": "ادفع", "payload": "/pay_bill"}]}]
    [message] = agent.messages
    assert (message.sender_id, message.input_channel, message.text) == ("rest:971500000001", "rest", "كم فاتورتي")
    assert message.metadata == {}


@pytest.mark.parametrize("raw,reason", [
    (b"not json", "not JSON"), (b"[1, 2]", "JSON object"), (b'{"message": "hi"}', '"sender"'),
    (b'{"sender": "a", "message": ""}', '"message"'), (b'{"sender": "a\\u0000b", "message": "hi"}', "control"),
    (b'{"sender": {"id": 1}, "message": "hi"}', '"sender"'), (b'{"sender": "a", "message": ["hi"]}', '"message"'),
])
async def test_bad_bodies_get_a_400_with_the_reason(rest, raw: bytes, reason: str) -> None:
    client, agent = rest
    status, body = await client.post(None, raw=raw)
    assert status == 400 and reason in body["error"]
    assert agent.messages == []


async def test_a_body_over_the_limit_gets_413(rest) -> None:
    client, agent = rest
    status, _ = await client.post({"sender": "a", "message": "م" * MAX_BODY_BYTES})
    assert status == 413 and agent.messages == []


def test_numeric_senders_are_read_as_text() -> None:
    assert read_request(b'{"sender": 971500000001, "message": "hi"}') == (("971500000001", "hi"), None)


def test_token_comparison() -> None:
    assert token_matches(f"Bearer {TOKEN}", Secret(TOKEN))
    assert not token_matches(None, Secret(TOKEN)) and not token_matches("Bearer", Secret(TOKEN))


def test_the_channel_refuses_to_exist_without_a_token() -> None:
    with pytest.raises(ValueError, match="MAJLIS_REST_TOKEN"):
        RestInput.from_credentials({"token": ""})


def test_start_generates_a_private_token_once_and_chat_finds_it(tmp_path: Path) -> None:
    from chat import find_token

    env: Dict[str, str] = {}
    path = provide_rest_token(env, tmp_path)
    assert path == tmp_path / REST_TOKEN_FILE and stat.S_IMODE(path.stat().st_mode) == 0o600
    token = env["MAJLIS_REST_TOKEN"]
    assert len(token) >= 32 and path.read_text().strip() == token
    again: Dict[str, str] = {}
    provide_rest_token(again, tmp_path)
    assert again["MAJLIS_REST_TOKEN"] == token  # the next start keeps it
    assert find_token({"MAJLIS_DATA_DIR": str(tmp_path)}) == token
    assert find_token({"MAJLIS_DATA_DIR": str(tmp_path), "MAJLIS_REST_TOKEN": "from-env"}) == "from-env"


def test_without_a_token_the_channel_is_left_out(tmp_path: Path) -> None:
    env = {"MAJLIS_REST": "off"}
    assert provide_rest_token(env, tmp_path) is None
    skipped = effective_credentials(ROOT / "credentials.yml", tmp_path / "c.yml", env)
    assert "channels.rest.channel.RestInput (set MAJLIS_REST_TOKEN)" in skipped
    assert not (tmp_path / REST_TOKEN_FILE).exists()
