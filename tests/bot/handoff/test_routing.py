"""Routing by queue AND language: an agent sees and takes only conversations in a queue they
serve, in a language they speak (SQLite and PostgreSQL, see conftest.py).

Each case differs from an allowed one in exactly one of the two, so dropping either check
from ``Actor.serves`` fails a test.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.agent_desk.app import DeskApp
from bot.handoff.desk import Actor, Forbidden, NotFound
from bot.storage import migrate
from tests.bot.agent_desk.conftest import StubAgent
from tests.e2e.handoff_harness import handoff_settings

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
ARABIC_GENERAL = Actor(id=1, name="Noura", role="agent", languages=frozenset({"ar"}), queues=frozenset({"general"}))
ENGLISH_GENERAL = Actor(id=2, name="John", role="agent", languages=frozenset({"en"}), queues=frozenset({"general"}))
ANY_LANGUAGE_BILLING = Actor(id=3, name="Fahad", role="agent", languages=frozenset({"*"}),
                             queues=frozenset({"billing"}))
ARABIC_ANY_QUEUE = Actor(id=4, name="Sara", role="agent", languages=frozenset({"ar"}), queues=frozenset({"*"}))


@pytest.mark.parametrize("actor, queue, language, served", [
    (ARABIC_GENERAL, "general", "ar", True),
    (ARABIC_GENERAL, "general", "en", False),   # right queue, wrong language
    (ARABIC_GENERAL, "billing", "ar", False),   # right language, wrong queue
    (ENGLISH_GENERAL, "general", "en", True),
    (ENGLISH_GENERAL, "general", "ar", False),
    (ANY_LANGUAGE_BILLING, "billing", "ar", True),
    (ANY_LANGUAGE_BILLING, "billing", "en", True),
    (ANY_LANGUAGE_BILLING, "general", "en", False),
    (ARABIC_ANY_QUEUE, "billing", "ar", True),     # "*" queues: every queue ...
    (ARABIC_ANY_QUEUE, "general", "en", False),    # ... still only in her language
])
def test_serves_needs_both_the_queue_and_the_language(actor, queue, language, served) -> None:
    assert actor.serves(queue, language) is served


@pytest.fixture
async def desk(engine):
    migrate(engine)
    app = DeskApp.create(settings=handoff_settings(), engine=engine, agent=StubAgent)
    yield app.desk
    app.service.store.shutdown()
    app.accounts.shutdown()


async def handoff(desk, customer: str, language: str, queue: str = "general"):
    record, _ = await desk.store.create(
        channel="whatsapp_cloud", account="1122334455667", customer=customer, queue=queue, language=language,
        priority=2, reason="customer_request", context={"signals": []}, now=NOW, event={})
    return record


async def test_the_queue_shows_each_agent_only_their_languages(desk) -> None:
    arabic = await handoff(desk, "971500000101", "ar")
    english = await handoff(desk, "971500000102", "en")
    assert [r.public_id for r in (await desk.visible(ARABIC_GENERAL))[0]] == [arabic.public_id]
    assert [r.public_id for r in (await desk.visible(ENGLISH_GENERAL))[0]] == [english.public_id]


async def test_an_agent_cannot_open_or_take_a_conversation_in_another_language(desk, agents) -> None:
    noura, fahad = agents[0], agents[1]  # both serve "general"; Noura speaks Arabic, Fahad Arabic and English
    arabic_only = Actor(id=noura.id, name="Noura", role="agent", languages=frozenset({"ar"}),
                        queues=frozenset({"general"}))
    bilingual = Actor(id=fahad.id, name="Fahad", role="agent", languages=frozenset({"ar", "en"}),
                      queues=frozenset({"general"}))
    english = await handoff(desk, "971500000103", "en")
    with pytest.raises(Forbidden) as refused:
        await desk.get(arabic_only, english.public_id)
    assert refused.value.reason == "this handoff is not in a queue you serve"  # the API's {"error": ...}
    with pytest.raises(NotFound) as missing:
        await desk.get(bilingual, "no-such-handoff")
    assert missing.value.reason == "no such handoff"
    with pytest.raises(Forbidden):
        await desk.claim(arabic_only, english.public_id)
    claimed = await desk.claim(bilingual, english.public_id)
    assert claimed.agent_id == fahad.id


@pytest.mark.parametrize("role, oversees", [("admin", True), ("supervisor", True), ("agent", False),
                                            ("trainer", False)])
def test_supervisors_and_admins_oversee_every_queue(role, oversees) -> None:
    actor = Actor(id=9, name="X", role=role, languages=frozenset({"en"}), queues=frozenset({"billing"}))
    assert actor.oversees is oversees


async def test_an_admin_takes_any_conversation_a_trainer_only_reads(desk, agents) -> None:
    """Neither serves general/Arabic: the admin oversees it, the trainer reads everything and changes nothing."""
    record = await handoff(desk, "971500000104", "ar")
    admin = Actor(id=agents[2].id, name="John", role="admin", languages=frozenset({"en"}),
                  queues=frozenset({"billing"}))
    trainer = Actor(id=agents[1].id, name="Fahad", role="trainer", languages=frozenset({"en"}),
                    queues=frozenset({"billing"}))
    assert (await desk.get(trainer, record.public_id)).public_id == record.public_id
    with pytest.raises(Forbidden):
        await desk.claim(trainer, record.public_id)
    claimed = await desk.claim(admin, record.public_id)
    assert claimed.agent_id == admin.id
