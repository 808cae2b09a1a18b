"""The queue is filtered by what the actor serves and paginated in SQL (SQLite and PostgreSQL).

Finding: open handoffs were read 200 at a time before filtering, so 200 spam
handoffs in other queues hid a real one from its agent and from the supervisor.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, List

from tests.bot.agent_desk.conftest import login, serve_desk
from tests.bot.storage.backends import engine, pg_url  # noqa: F401 - fixtures (SQLite, then PostgreSQL)

SPAM = 200


async def flood(desk: Any, count: int) -> None:
    """``count`` older handoffs from an anonymous channel, in a queue and language Noura does not serve."""
    store, start = desk.app.service.store, datetime.now(timezone.utc) - timedelta(hours=1)
    for i in range(count):
        await store.create(channel="webchat", account=None, customer=f"anon-{i}", queue="billing", language="en",
                           priority=3, reason="customer_request", now=start + timedelta(seconds=i), event={},
                           context={"summary": {"ar": "", "en": "spam"}})


async def flooded_then_real(desk: Any, email: str) -> Any:
    """200 spam handoffs, then one real Arabic handoff in "general"; signs ``email`` in; returns the real one."""
    await flood(desk, SPAM)
    real = await desk.create_handoff("971500000123", queue="general", language="ar")
    await login(desk.session, desk.url(""), email)
    return real


async def all_pages(desk: Any, query: str, size: int) -> List[dict]:
    """Every page of a queue view, following ``total``."""
    seen: List[dict] = []
    offset, total = 0, None
    while total is None or offset < total:
        async with desk.session.get(desk.url(f"/api/v1/handoffs?{query}&offset={offset}&limit={size}")) as answer:
            assert answer.status == 200
            page = await answer.json()
        assert page["offset"] == offset and page["limit"] == size and len(page["handoffs"]) <= size
        total = page["total"]
        seen.extend(page["handoffs"])
        offset += size
    return seen


async def test_spam_in_other_queues_does_not_hide_an_agents_handoff(tmp_path, engine) -> None:  # noqa: F811
    async with serve_desk(tmp_path, engine=engine) as desk:
        real = await flooded_then_real(desk, "noura@example.com")
        async with desk.session.get(desk.url("/api/v1/handoffs?state=queued,assigned")) as answer:
            page = await answer.json()
    assert [h["id"] for h in page["handoffs"]] == [real.public_id]
    assert page["total"] == 1


async def test_the_supervisor_pages_through_everything_with_a_total(tmp_path, engine) -> None:  # noqa: F811
    async with serve_desk(tmp_path, engine=engine) as desk:
        real = await flooded_then_real(desk, "sup@example.com")
        async with desk.session.get(desk.url("/api/v1/handoffs?state=queued")) as answer:
            first = await answer.json()
        everything = await all_pages(desk, "state=queued", 60)
        async with desk.session.get(desk.url("/api/v1/handoffs?state=queued&queue=general")) as answer:
            general = await answer.json()
        async with desk.session.get(desk.url("/api/v1/stats")) as answer:
            stats = await answer.json()
    assert first["total"] == SPAM + 1 and len(first["handoffs"]) == 50
    ids = [h["id"] for h in everything]
    assert len(ids) == len(set(ids)) == SPAM + 1, "pages overlap or skip handoffs"
    assert ids[-1] == real.public_id, "priority first, then the longest wait"
    assert [h["id"] for h in general["handoffs"]] == [real.public_id]
    waiting = {q["queue"]: q["waiting"] for q in stats["queues"]}
    assert waiting["billing"] == SPAM and waiting["general"] == 1 and stats["waiting_total"] == SPAM + 1


async def test_mine_lists_only_the_callers_conversations(desk) -> None:
    taken = await desk.create_handoff("c-mine", queue="general", language="ar")
    await desk.create_handoff("c-other", queue="general", language="ar")
    csrf = await login(desk.session, desk.url(""), "noura@example.com")
    async with desk.session.post(desk.url(f"/api/v1/handoffs/{taken.public_id}/claim"),
                                 headers={"X-CSRF-Token": csrf}) as answer:
        assert answer.status == 200
    async with desk.session.get(desk.url("/api/v1/handoffs?state=assigned&mine=1")) as answer:
        mine = await answer.json()
    assert [h["id"] for h in mine["handoffs"]] == [taken.public_id] and mine["total"] == 1


async def test_bad_paging_arguments_are_a_400(desk) -> None:
    await login(desk.session, desk.url(""), "sup@example.com")
    for query in ("limit=0", "limit=201", "limit=ten", "offset=-1", "state=nonsense"):
        async with desk.session.get(desk.url(f"/api/v1/handoffs?{query}")) as answer:
            assert answer.status == 400, query
            assert (await answer.json())["error"]
