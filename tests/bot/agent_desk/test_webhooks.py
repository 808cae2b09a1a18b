"""Signed outgoing webhooks with the context packet: timestamped signatures, retries, no redirects."""
from __future__ import annotations

import asyncio
import json
import re
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, Dict, List

import pytest
import yaml
from aiohttp import web

from bot.agent_desk.webhooks import SIGNATURE_HEADER, check_target_url
from bot.config import Config
from bot.delivery import RetryPolicy
from bot.handoff.config import ROOT, parse_settings
from tests.bot.agent_desk.conftest import serve_desk
from tests.e2e.browser import wait_until

SECRET = "whsec-test-123"


def documented_verifier() -> Callable[..., bool]:
    """The verification code docs/handoff.md gives integrators, run as written."""
    text = (ROOT / "docs" / "handoff.md").read_text(encoding="utf-8")
    sample = re.search(r"<!-- verify-sample[^>]*-->\s*```python\n(.*?)```", text, re.S)
    assert sample, "docs/handoff.md lost its webhook verification sample"
    scope: Dict[str, Any] = {}
    exec(compile(sample.group(1), "docs/handoff.md", "exec"), scope)  # noqa: S102 - our own docs
    return scope["verify_majlis_signature"]


@asynccontextmanager
async def receiver(handler: Callable[[web.Request], Any]) -> AsyncIterator[str]:
    """A local HTTP receiver on 127.0.0.1; yields its base URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def desk_with_hook(tmp_path: Any, monkeypatch: Any, url: str) -> AsyncIterator[Any]:
    data = yaml.safe_load((ROOT / "handoff.yml").read_text(encoding="utf-8"))
    data["webhooks"] = [{"name": "crm", "url": url, "secret_env": "TEST_HOOK_SECRET",
                         "events": ["handoff.created", "handoff.claimed"]}]
    settings = parse_settings(data, Config({"TEST_HOOK_SECRET": SECRET, "MAJLIS_BUSINESS_HOURS": "always"}))
    monkeypatch.setattr("tests.bot.agent_desk.conftest.handoff_settings", lambda **_env: settings)
    async with serve_desk(tmp_path) as desk:
        desk.app.webhooks.retry = RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.1, min_delay=0.01)
        desk.app.webhooks.tick = 0.05
        yield desk


async def test_events_are_signed_with_a_timestamp_carry_the_packet_and_are_retried(tmp_path, monkeypatch) -> None:
    verify = documented_verifier()
    received: List[Dict[str, Any]] = []
    answers = [500, 200]  # the first delivery fails once

    async def receive(request: web.Request) -> web.Response:
        raw = await request.read()
        received.append({"raw": raw, "headers": dict(request.headers)})
        return web.Response(status=answers.pop(0) if answers else 200)

    async with receiver(receive) as base:
        async with desk_with_hook(tmp_path, monkeypatch, f"{base}/hook") as desk:
            record = await desk.create_handoff("c-hook")
            await wait_until(lambda: len(received) >= 2, 20, "a failed and a retried delivery")
    first, second = received[:2]
    assert first["raw"] == second["raw"]
    for attempt in (first, second):
        header = attempt["headers"][SIGNATURE_HEADER]
        assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
        assert verify(SECRET.encode(), header, attempt["raw"])
    header = second["headers"][SIGNATURE_HEADER]
    assert not verify(b"another secret", header, second["raw"])
    assert not verify(SECRET.encode(), header, second["raw"] + b" ")
    stamp = int(header.split(",")[0][2:])
    replayed = header.replace(f"t={stamp}", f"t={stamp - 3600}")
    assert not verify(SECRET.encode(), replayed, second["raw"]), "an old timestamp must not verify"
    body = json.loads(second["raw"])
    assert body["type"] == "handoff.created" and second["headers"]["X-Majlis-Event"] == "handoff.created"
    assert body["context"]["handoff_id"] == record.public_id and body["context"]["version"] == 1


async def test_a_redirecting_target_is_not_followed(tmp_path, monkeypatch) -> None:
    elsewhere: List[bytes] = []
    redirects: List[str] = []

    async def stolen(request: web.Request) -> web.Response:
        elsewhere.append(await request.read())
        return web.Response(status=200)

    async with receiver(stolen) as thief:
        async def bounce(request: web.Request) -> web.Response:
            redirects.append(request.path)
            raise web.HTTPTemporaryRedirect(f"{thief}/collect")

        async with receiver(bounce) as base:
            async with desk_with_hook(tmp_path, monkeypatch, f"{base}/hook") as desk:
                await desk.create_handoff("c-redirect")
                rows: List[Dict[str, Any]] = []

                async def settled() -> None:
                    while not rows or rows[0]["state"] == "pending":
                        rows[:] = await desk.app.webhooks.store.all()
                        await asyncio.sleep(0.05)
                await asyncio.wait_for(settled(), 20)
    assert len(redirects) == 3, "every attempt reached the target itself"
    assert elsewhere == [], "the redirect was followed"
    assert rows[0]["state"] == "failed" and rows[0]["last_status"] == 307


@pytest.mark.parametrize("url", ["https://crm.example.com/hook", "http://127.0.0.1:9000/hook",
                                 "http://localhost/hook", "http://[::1]:8080/hook"])
def test_https_or_this_machine_is_accepted(url: str) -> None:
    check_target_url(url)


@pytest.mark.parametrize("url", ["http://crm.example.com/hook", "ftp://crm.example.com/", "https:///nohost",
                                 "http://127.0.0.1.evil.example/hook", "javascript:alert(1)"])
def test_plain_http_to_another_host_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="webhook URL"):
        check_target_url(url)
