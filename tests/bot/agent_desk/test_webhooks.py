"""Signed outgoing webhooks with the context packet, retried with backoff."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any, Dict, List

from aiohttp import web

from bot.agent_desk.webhooks import SIGNATURE_HEADER
from bot.delivery import RetryPolicy
from tests.bot.agent_desk.conftest import serve_desk

SECRET = "whsec-test-123"


async def test_events_are_signed_carry_the_packet_and_are_retried(tmp_path, monkeypatch) -> None:
    received: List[Dict[str, Any]] = []
    answers = [500, 200]  # the first delivery fails once

    async def receive(request: web.Request) -> web.Response:
        raw = await request.read()
        received.append({"raw": raw, "headers": dict(request.headers)})
        return web.Response(status=answers.pop(0) if answers else 200)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    import yaml

    from bot.handoff.config import ROOT

    data = yaml.safe_load((ROOT / "handoff.yml").read_text(encoding="utf-8"))
    data["webhooks"] = [{"name": "crm", "url": f"http://127.0.0.1:{port}/hook", "secret_env": "TEST_HOOK_SECRET",
                         "events": ["handoff.created", "handoff.claimed"]}]
    from bot.config import Config
    from bot.handoff.config import parse_settings

    settings = parse_settings(data, Config({"TEST_HOOK_SECRET": SECRET, "MAJLIS_BUSINESS_HOURS": "always"}))
    monkeypatch.setattr("tests.bot.agent_desk.conftest.handoff_settings", lambda **_env: settings)
    try:
        async with serve_desk(tmp_path) as desk:
            desk.app.webhooks.retry = RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.1, min_delay=0.01)
            desk.app.webhooks.tick = 0.05
            record = await desk.create_handoff("c-hook")
            for _ in range(200):
                if len(received) >= 2:
                    break
                await asyncio.sleep(0.05)
    finally:
        await runner.cleanup()
    assert len(received) == 2, "expected one failed and one successful attempt"
    first, second = received
    assert first["raw"] == second["raw"]
    expected = "sha256=" + hmac.new(SECRET.encode(), second["raw"], hashlib.sha256).hexdigest()
    assert second["headers"][SIGNATURE_HEADER] == expected
    body = json.loads(second["raw"])
    assert body["type"] == "handoff.created" and second["headers"]["X-Majlis-Event"] == "handoff.created"
    assert body["context"]["handoff_id"] == record.public_id and body["context"]["version"] == 1
