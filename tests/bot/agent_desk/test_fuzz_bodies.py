"""Property tests: whatever body a signed-in agent's browser sends to a write route, the desk never answers 5xx.

Each write route gets arbitrary JSON (objects with the route's field names and
anything else), arbitrary bytes and form bodies, under several content types,
with a valid session cookie and CSRF token, so the body parsing and validation
behind the authentication are what is exercised.
"""
from __future__ import annotations

import json
from typing import Any, AsyncIterator, Dict, List
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bot.agent_desk.conftest import PASSWORDS, login, serve_desk
from tests.bot.agent_desk.openapi_driver import ANY_JSON

FIELDS = ["text", "client_key", "queue", "agent_id", "resolution", "csrf_token", "email", "password"]
CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz",
                 "text/plain", "application/json; charset=latin-1", ""]
WRITE_ROUTES = ["claim", "release", "transfer", "messages", "notes", "close", "messages/1/retry"]

json_objects = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), ANY_JSON, max_size=6)
bodies = st.one_of(
    json_objects.map(lambda d: json.dumps(d).encode()),
    ANY_JSON.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), st.text(max_size=40), max_size=5)
    .map(lambda d: urlencode(d).encode()),
    st.integers(1, 3000).map(lambda depth: b'{"text": ' + b"[" * depth + b"]" * depth + b"}"),
    st.sampled_from([b'{"text": "\\ud800"}', b'{"text": 1e999}', b'{"text": NaN}', b"\xef\xbb\xbf{}",
                     b"--xyz\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhi\r\n--xyz--\r\n"]),
)


@pytest.fixture(scope="module")
async def signed_in(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Dict[str, Any]]:
    async with serve_desk(tmp_path_factory.mktemp("fuzz")) as desk:
        records = [await desk.create_handoff(f"c-fuzz-{i}", queue="general", language="ar") for i in range(4)]
        csrf = await login(desk.session, desk.url(""), "sup@example.com")
        for record in records[:2]:  # some assigned, some queued
            async with desk.session.post(desk.url(f"/api/v1/handoffs/{record.public_id}/claim"),
                                         headers={"X-CSRF-Token": csrf}) as answer:
                assert answer.status == 200
        yield {"desk": desk, "csrf": csrf, "ids": [r.public_id for r in records]}


def assert_clear_answer(status: int, text: str, what: str) -> None:
    assert status < 500, f"{what} answered {status}: {text[:300]}"


@pytest.mark.parametrize("route", WRITE_ROUTES)
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, content_type=st.sampled_from(CONTENT_TYPES), which=st.integers(0, 3))
async def test_write_routes_never_answer_5xx(signed_in, route: str, body: bytes, content_type: str,
                                             which: int) -> None:
    desk = signed_in["desk"]
    headers = {"X-CSRF-Token": signed_in["csrf"]}
    if content_type:
        headers["Content-Type"] = content_type
    url = desk.url(f"/api/v1/handoffs/{signed_in['ids'][which]}/{route}")
    async with desk.session.post(url, data=body, headers=headers) as answer:
        text = await answer.text()
        assert_clear_answer(answer.status, text, f"POST {route}")
        if answer.status >= 400:
            assert json.loads(text)["error"], "a refusal says why"


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(form=st.dictionaries(st.sampled_from(["email", "password", "csrf_token"]) | st.text(max_size=8),
                            st.text(max_size=60), max_size=4),
       raw=st.none() | st.binary(max_size=200), content_type=st.sampled_from(CONTENT_TYPES))
async def test_the_sign_in_form_never_answers_5xx(signed_in, form: Dict[str, str], raw: Any,
                                                  content_type: str) -> None:
    desk = signed_in["desk"]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        async with client.get(desk.url("/login")) as answer:
            token = (await answer.text()).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        fields: Dict[str, Any] = {"csrf_token": token, **form}
        data = raw if raw is not None else urlencode(fields).encode()
        headers = {"Content-Type": content_type} if content_type else {}
        async with client.post(desk.url("/login"), data=data, headers=headers, allow_redirects=False) as answer:
            assert_clear_answer(answer.status, await answer.text(), "POST /login")
            assert answer.status in (303, 401, 403, 429)
    assert PASSWORDS  # the accounts exist; a wrong guess is a 401, never a crash


async def test_read_routes_ignore_strange_query_strings(signed_in) -> None:
    desk = signed_in["desk"]
    queries: List[str] = ["offset=1e9", "limit=%00", "state=%ff%fe", "queue=" + "ب" * 500, "mine=" + "1" * 100,
                          "state=queued&state=closed", "offset=99999999999999999999"]
    for query in queries:
        async with desk.session.get(desk.url(f"/api/v1/handoffs?{query}")) as answer:
            assert_clear_answer(answer.status, await answer.text(), query)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, content_type=st.sampled_from(CONTENT_TYPES))
async def test_sign_out_never_answers_5xx(signed_in, body: bytes, content_type: str) -> None:
    """Sign-out with the session cookie and any body (no CSRF header: a matching token would end the session)."""
    desk = signed_in["desk"]
    headers = {"Content-Type": content_type} if content_type else {}
    async with desk.session.post(desk.url("/logout"), data=body, headers=headers, allow_redirects=False) as answer:
        assert_clear_answer(answer.status, await answer.text(), "POST /logout")
        assert answer.status == 403
