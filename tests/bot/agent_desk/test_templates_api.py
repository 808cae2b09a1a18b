"""The template routes of the desk API over real HTTP (bot/agent_desk/templates_api.py): filled
values, refusals with their reason (never a 500), ownership, and one send per client_key."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, AsyncIterator, List

import pytest

from bot.delivery import DeliveryStore
from channels.whatsapp_cloud.channel import WhatsAppCloudInput
from tests.bot.agent_desk.conftest import Desk, login, serve_desk, user_event
from tests.channels.whatsapp_harness import settings as whatsapp_settings
from tests.fakes.fake_graph import FakeGraph, fake_graph  # noqa: F401  (fixture)

CUSTOMER = "971500000611"
VALUES = ["مريم", "نورة", "ORD-4821937"]


@pytest.fixture
async def desk(tmp_path: Any, fake_graph: FakeGraph) -> AsyncIterator[Desk]:  # noqa: F811
    def whatsapp(engine: Any) -> List[Any]:
        return [WhatsAppCloudInput(whatsapp_settings(fake_graph.url), store=DeliveryStore(engine))]

    async with serve_desk(tmp_path, channels=whatsapp) as served:
        yield served


async def handoff(desk: Desk):
    events = [user_event("وين طلبي؟", intent="order_status", name="مريم"),
              {"event": "slot", "name": "order_number", "value": "ORD-4821937",
               "timestamp": datetime.now(timezone.utc).timestamp()}]
    return await desk.create_handoff(CUSTOMER, events=events)


async def call(desk: Desk, method: str, path: str, csrf: str, json: Any = None):
    async with desk.session.request(method, desk.url(path), json=json, headers={"X-CSRF-Token": csrf}) as answer:
        return answer.status, await answer.json()


async def test_templates_are_listed_with_values_filled_from_the_context(desk) -> None:
    record = await handoff(desk)
    csrf = await login(desk.session, desk.url(""), "noura@example.com")
    status, body = await call(desk, "GET", f"/api/v1/handoffs/{record.public_id}/templates", csrf)
    assert status == 200 and body["channel"] == "whatsapp_cloud" and body["window_open"] is False
    found = {t["key"]: t for t in body["templates"]}
    assert [p["value"] for p in found["order_followup:ar"]["parameters"]] == ["مريم", "", "ORD-4821937"]
    assert found["order_followup:ar"]["parameters"][2]["label"] == {"en": "order number", "ar": "رقم الطلب"}


@pytest.mark.parametrize("payload,status,why", [
    ({"key": "nope:ar", "values": VALUES}, 400, "unknown template"),
    ({"key": "order_followup:ar", "values": ["مريم"]}, 400, "needs 3"),
    ({"key": "order_followup:ar", "values": ["مريم\nأحمد", "نورة", "ORD-1"]}, 400, "line breaks"),
    ({"key": "order_followup:ar", "values": VALUES, "client_key": 5}, 400, "client_key"),
])
async def test_bad_requests_are_refused_with_the_reason(desk, fake_graph, payload, status, why) -> None:  # noqa: F811
    record = await handoff(desk)
    csrf = await login(desk.session, desk.url(""), "noura@example.com")
    assert (await call(desk, "POST", f"/api/v1/handoffs/{record.public_id}/claim", csrf))[0] == 200
    answer, body = await call(desk, "POST", f"/api/v1/handoffs/{record.public_id}/templates", csrf, payload)
    assert answer == status and why in body["error"]
    assert fake_graph.messages(outcome=None) == []


async def test_only_the_owner_sends_and_a_repeated_call_sends_once(desk, fake_graph) -> None:  # noqa: F811
    record = await handoff(desk)
    csrf = await login(desk.session, desk.url(""), "noura@example.com")
    path = f"/api/v1/handoffs/{record.public_id}/templates"
    payload = {"key": "order_followup:ar", "values": VALUES, "client_key": "k-1"}
    status, body = await call(desk, "POST", path, csrf, payload)
    assert status == 409 and "take the conversation" in body["error"]
    assert (await call(desk, "POST", f"/api/v1/handoffs/{record.public_id}/claim", csrf))[0] == 200
    assert (await call(desk, "POST", path, csrf, payload))[0] == 201
    assert (await call(desk, "POST", path, csrf, payload))[0] == 201
    [sent] = await fake_graph.wait_for(1, timeout=60)
    await desk.app.registry.delivery("whatsapp_cloud").drain()
    assert len(fake_graph.messages(outcome=None)) == 1
    assert sent.json["template"]["components"][0]["parameters"][2] == {"type": "text", "text": "ORD-4821937"}
