"""Transfers go only to active accounts that may answer; read-only roles change nothing."""
from __future__ import annotations

from typing import Any, Dict

import sqlalchemy as sa

from bot.agent_desk.accounts import AccountStore
from bot.storage.schema import agent
from tests.bot.agent_desk.conftest import login


async def agent_ids(desk: Any) -> Dict[str, int]:
    with desk.app.accounts.engine.connect() as conn:
        return {row.email: row.id for row in conn.execute(sa.select(agent.c.email, agent.c.id))}


async def claimed_by_supervisor(desk: Any, customer: str = "c1") -> Any:
    record = await desk.create_handoff(customer, queue="general", language="ar")
    csrf = await login(desk.session, desk.url(""), "sup@example.com")
    return record, {"X-CSRF-Token": csrf}, desk.url(f"/api/v1/handoffs/{record.public_id}")


async def test_transfer_to_a_nonexistent_agent_is_a_clear_404(desk) -> None:
    _record, headers, base = await claimed_by_supervisor(desk)
    async with desk.session.post(f"{base}/transfer", json={"agent_id": 9999}, headers=headers) as answer:
        assert answer.status == 404
        assert (await answer.json())["error"] == "no active agent #9999"
    for bad in ("7", True, -1, 2**70, 1.5):
        async with desk.session.post(f"{base}/transfer", json={"agent_id": bad}, headers=headers) as answer:
            assert answer.status == 400, bad


async def test_transfer_to_a_trainer_a_disabled_or_a_non_serving_agent_is_refused(desk) -> None:
    record, headers, base = await claimed_by_supervisor(desk)
    ids = await agent_ids(desk)
    async with desk.session.post(f"{base}/transfer", json={"agent_id": ids["tina@example.com"]},
                                 headers=headers) as answer:
        assert answer.status == 400 and "trainer" in (await answer.json())["error"]
    async with desk.session.post(f"{base}/transfer", json={"agent_id": ids["john@example.com"]},
                                 headers=headers) as answer:
        assert answer.status == 400 and "does not serve" in (await answer.json())["error"]
    accounts = AccountStore(desk.app.accounts.engine)
    accounts.set_active("noura@example.com", False)
    async with desk.session.post(f"{base}/transfer", json={"agent_id": ids["noura@example.com"]},
                                 headers=headers) as answer:
        assert answer.status == 404
    accounts.set_active("noura@example.com", True)
    accounts.shutdown()
    async with desk.session.post(f"{base}/transfer", json={"agent_id": ids["noura@example.com"]},
                                 headers=headers) as answer:
        assert answer.status == 200
        moved = (await answer.json())["handoff"]
    assert moved["state"] == "assigned" and moved["agent_id"] == ids["noura@example.com"]
    stored = await desk.app.service.store.get(record.public_id)
    assert stored.agent_id == ids["noura@example.com"]


async def test_a_trainer_assigned_by_the_database_still_cannot_reply_or_close(desk) -> None:
    """Even if a trainer owned a conversation (as the old transfer allowed), can_act refuses every change."""
    record = await desk.create_handoff("c1", queue="general", language="ar")
    ids = await agent_ids(desk)
    await desk.app.service.store.claim(record.public_id, ids["tina@example.com"], record.created_at)
    csrf = await login(desk.session, desk.url(""), "tina@example.com")
    headers = {"X-CSRF-Token": csrf}
    base = desk.url(f"/api/v1/handoffs/{record.public_id}")
    for path, body in (("messages", {"text": "مرحبا"}), ("notes", {"text": "ملاحظة"}),
                       ("close", {"resolution": "resolved"}), ("release", None), ("transfer", {"queue": "billing"})):
        async with desk.session.post(f"{base}/{path}", json=body, headers=headers) as answer:
            assert answer.status == 403, path
    stored = await desk.app.service.store.get(record.public_id)
    assert stored.state.value == "assigned" and await desk.app.service.store.messages(stored.id) == []


async def test_only_the_owner_releases_transfers_or_closes_a_conversation(desk) -> None:
    """A colleague who serves the same queue and language may read Noura's conversation, not take it from her."""
    record = await desk.create_handoff("c-owned", language="ar")
    accounts = AccountStore(desk.app.accounts.engine)
    token = accounts.create_token(name="colleague", scopes=["handoffs:read", "handoffs:claim", "handoffs:transfer",
                                                             "handoffs:close"], queues=["general"], languages=["ar"])
    accounts.shutdown()
    csrf = await login(desk.session, desk.url(""), "noura@example.com")
    base = desk.url(f"/api/v1/handoffs/{record.public_id}")
    async with desk.session.post(f"{base}/claim", headers={"X-CSRF-Token": csrf}) as answer:
        assert answer.status == 200
    noura = (await agent_ids(desk))["noura@example.com"]
    colleague = {"Authorization": f"Bearer {token}"}
    attempts = (("release", None), ("transfer", {"queue": "general"}), ("close", {"resolution": "resolved"}))
    for verb, body in attempts:
        async with desk.session.post(f"{base}/{verb}", json=body, headers=colleague) as answer:
            assert (answer.status, await answer.json()) == (
                403, {"error": f"only the agent who owns this conversation can {verb} it"}), verb
    async with desk.session.get(base, headers=colleague) as answer:
        assert answer.status == 200  # reading is allowed: same queue and language
    owned = await desk.app.service.store.get(record.public_id)
    assert (owned.state.value, owned.agent_id) == ("assigned", noura)
