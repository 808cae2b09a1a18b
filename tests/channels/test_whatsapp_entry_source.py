"""A wa.me entry link ("[ref:snap-ramadan] …" prefilled) through the real WhatsApp Cloud route:
the ref is recorded (metadata, majlis_entry_source) and shown by the handoff packet, and is
not part of the text NLU classifies."""
from __future__ import annotations

from typing import Any, List

from bot.handoff.packet import entry_source
from bot.storage import create_engine, migrate
from tests.conftest import free_port
from tests.e2e.handoff_harness import served_majlis
from tests.fakes.fake_graph import FakeGraph, fake_graph  # noqa: F401  (fixture)

CUSTOMER = "971502220099"


class RecordingAgent:
    """Records what the channel hands to Rasa (the gate lets it through: not ready)."""

    processor = None

    def __init__(self) -> None:
        self.messages: List[Any] = []

    def is_ready(self) -> bool:
        return False

    async def handle_message(self, message: Any) -> None:
        self.messages.append(message)


async def test_whatsapp_entry_link_ref_reaches_the_packet_not_nlu(tmp_path, fake_graph: FakeGraph) -> None:  # noqa: F811
    engine = create_engine(f"sqlite:///{tmp_path / 'entry.sqlite'}")
    migrate(engine)
    agent = RecordingAgent()
    try:
        async with served_majlis(agent, engine, fake_graph.url, free_port()) as majlis:
            await majlis.customer(CUSTOMER).say("[ref:snap-ramadan] مرحبا")
            await majlis.settle()
            await majlis.customer(CUSTOMER).say("وين طلبي")
            await majlis.settle()
            recorded = await majlis.whatsapp.entry_sources.get("whatsapp_cloud", CUSTOMER)
    finally:
        engine.dispose()
    first, second = agent.messages
    assert first.text == "مرحبا"  # what NLU classifies: no ref marker
    assert first.metadata["entry_source"] == {"ref": "snap-ramadan", "source": "snapchat", "campaign": "ramadan"}
    assert "entry_source" not in (second.metadata or {})
    assert recorded is not None and recorded[0].ref == "snap-ramadan"
    turns = [{"event": "user", "text": m.text, "metadata": m.metadata} for m in agent.messages]
    source = entry_source(turns)
    assert (source.kind, source.ref) == ("link", "snap-ramadan")
