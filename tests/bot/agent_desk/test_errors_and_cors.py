"""Bad bodies get a 400 with a reason (never a 500), and CORS never opens the desk to other sites."""
from __future__ import annotations

from typing import Any

import pytest

from tests.bot.agent_desk.conftest import login, serve_desk

EVIL = "https://evil.example"


async def claimed(desk: Any) -> tuple:
    record = await desk.create_handoff("c-bodies")
    csrf = await login(desk.session, desk.url(""), "noura@example.com")
    headers = {"X-CSRF-Token": csrf, "Content-Type": "application/json"}
    base = desk.url(f"/api/v1/handoffs/{record.public_id}")
    async with desk.session.post(f"{base}/claim", headers=headers) as answer:
        assert answer.status == 200
    return base, headers


BAD_BODIES = [
    ("[" * 100_000 + "]" * 100_000, "body is not JSON"),               # deeper than the parser's recursion
    ('{"text": ' + "[" * 40 + "]" * 40 + "}", "nested deeper"),        # parses, but deeper than the desk accepts
    ('{"text": "\\ud800"}', "not valid Unicode"),                       # a lone surrogate cannot be stored
    ("{'text': 'single quotes'}", "body is not JSON"),
    ('["a", "list"]', "must be a JSON object"),
    (b"\xff\xfe{}", "body is not JSON"),
    ('{"text": "hi", "client_key": {"a": 1}}', "client_key must be a string"),
    ('{"text": "' + "ب" * 5000 + '"}', "longer than 4000"),
]


@pytest.mark.parametrize("raw, reason", BAD_BODIES, ids=[f"body{i}" for i in range(len(BAD_BODIES))])
async def test_bad_reply_bodies_are_a_400_with_a_reason(desk, raw: Any, reason: str) -> None:
    base, headers = await claimed(desk)
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
    async with desk.session.post(f"{base}/messages", data=data, headers=headers) as answer:
        assert answer.status == 400
        assert reason in (await answer.json())["error"]
    stored = await desk.app.service.store.get(base.rsplit("/", 1)[1])
    assert await desk.app.service.store.messages(stored.id) == []


async def test_a_huge_body_is_refused_without_a_500(desk) -> None:
    base, headers = await claimed(desk)
    huge = b'{"text": "' + b"a" * (3 * 1024 * 1024) + b'"}'
    async with desk.session.post(f"{base}/notes", data=huge, headers=headers) as answer:
        assert answer.status in (400, 413)


async def test_desk_answers_carry_no_cors_headers_even_with_cors_star(tmp_path) -> None:
    async with serve_desk(tmp_path, cors="*") as desk:
        await desk.create_handoff("c-cors")
        await login(desk.session, desk.url(""), "noura@example.com")
        cross_site = {"Origin": EVIL}
        async with desk.session.get(desk.url("/api/v1/handoffs"), headers=cross_site) as answer:
            assert answer.status == 403
            assert not [h for h in answer.headers if h.lower().startswith("access-control-")]
            assert "another site" in (await answer.json())["error"]
        async with desk.session.get(desk.url("/api/v1/me"), headers={"Sec-Fetch-Site": "cross-site"}) as answer:
            assert answer.status == 403
        for path in ("/api/v1/handoffs", "/login", "/api/v1/openapi.yaml", "/desk"):
            async with desk.session.get(desk.url(path)) as answer:
                assert answer.status == 200, path
                assert not [h for h in answer.headers if h.lower().startswith("access-control-")], path
        # Rasa's CORS layer answers preflights before any route; whatever it says, the request
        # that follows is refused and its answer carries no Access-Control-Allow-Origin.
        cross_write = {"Origin": EVIL, "X-CSRF-Token": "guessed", "Content-Type": "application/json"}
        async with desk.session.post(desk.url("/api/v1/handoffs/x/claim"), headers=cross_write) as answer:
            assert answer.status == 403
            assert not [h for h in answer.headers if h.lower().startswith("access-control-")]


async def test_same_origin_reads_still_work(desk) -> None:
    await login(desk.session, desk.url(""), "noura@example.com")
    same = {"Origin": desk.base_url, "Sec-Fetch-Site": "same-origin"}
    async with desk.session.get(desk.url("/api/v1/me"), headers=same) as answer:
        assert answer.status == 200
