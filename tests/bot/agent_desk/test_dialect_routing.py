"""Routing by dialect skill: a Maghrebi customer is offered first to agents who read Darija.

Dialect skills are language entries ``ar-<region>`` on the agent's account; the
conversation's dialect comes from the language tags of the customer's messages
(bot.language.dialect) and is shown on the context card.
"""
from __future__ import annotations

from typing import Any, Dict

from bot.agent_desk.accounts import AccountStore
from bot.storage import create_engine
from tests.bot.agent_desk.conftest import PASSWORDS, login, user_event


def _tagged(text: str, region: str, confidence: float) -> Dict[str, Any]:
    event = user_event(text, intent="talk_to_human")
    event["parse_data"]["language"]["dialect"] = {"region": region, "confidence": confidence}
    return event


def _add_darija_reader(tmp_path: Any) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'desk.sqlite'}")
    store = AccountStore(engine)
    store.create_agent(email="amina@example.com", password="amina-pass-123", role="agent",
                       languages=["ar", "ar-maghrebi"], queues=["general"], display_name="Amina")
    store.shutdown()
    engine.dispose()
    PASSWORDS.setdefault("amina@example.com", "amina-pass-123")


async def _queue(desk: Any) -> list:
    async with desk.session.get(desk.url("/api/v1/handoffs")) as answer:
        return [h["id"] for h in (await answer.json())["handoffs"]]


async def test_a_maghrebi_customer_comes_first_for_a_darija_reader_only(desk, tmp_path) -> None:
    _add_darija_reader(tmp_path)
    gulf = await desk.create_handoff("c-gulf", events=[_tagged("أبي أكلم موظف", "gulf", 0.75)],
                                     dialect={"region": "gulf", "confidence": 0.75})
    maghrebi = await desk.create_handoff("c-darija", events=[_tagged("بغيت نهضر مع شي واحد", "maghrebi", 1.0)],
                                         dialect={"region": "maghrebi", "confidence": 1.0})
    await login(desk.session, desk.url(""), "amina@example.com")
    assert await _queue(desk) == [maghrebi.public_id, gulf.public_id]
    async with desk.session.get(desk.url(f"/api/v1/handoffs/{maghrebi.public_id}")) as answer:
        card = (await answer.json())["context"]["customer"]
    assert card["dialect"] == {"region": "maghrebi", "confidence": 1.0}

    desk.session.cookie_jar.clear()
    await login(desk.session, desk.url(""), "noura@example.com")
    assert await _queue(desk) == [gulf.public_id, maghrebi.public_id]  # waiting time, as before


async def test_an_unsure_dialect_does_not_reorder_the_queue(desk, tmp_path) -> None:
    _add_darija_reader(tmp_path)
    first = await desk.create_handoff("c-1", dialect={"region": "gulf", "confidence": 0.9})
    unsure = await desk.create_handoff("c-2", dialect={"region": "maghrebi", "confidence": 0.3})
    await login(desk.session, desk.url(""), "amina@example.com")
    assert await _queue(desk) == [first.public_id, unsure.public_id]
