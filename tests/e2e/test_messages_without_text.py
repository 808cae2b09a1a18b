"""Photos, stickers, voice notes, location pins and reactions on WhatsApp, against the trained model.

Inbound shapes are pywa's recorded webhooks (tests/fixtures/whatsapp/message__image.json,
message__voice.json, message__static_sticker.json, message__current_location.json,
message__reaction.json; see tests/fixtures/SOURCES.md) with a fresh sender, id and
timestamp; the pin's coordinates are moved to Dubai Mall (25.1972, 55.2796).  The whole
stack runs as shipped: the WhatsApp route, the desk, the handoff gate, the model, the real
action server and BilingualNLG; answers are read where Meta would receive them (fake Graph).
"""
from __future__ import annotations

import copy
import json
import time
from typing import Any, Dict, List

import pytest
from sqlalchemy import create_engine

from bot.storage.migrations import migrate
from tests.channels.whatsapp_harness import FIXTURES, PHONE_NUMBER_ID
from tests.conftest import free_port
from tests.e2e.handoff_harness import served_majlis
from tests.fakes.fake_customer import envelope, new_wamid
from tests.fakes.fake_graph import fake_graph  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e

DUBAI_MALL = {"latitude": 25.1972, "longitude": 55.2796}


def recorded(name: str, sender: str, **changes: Any) -> Dict[str, Any]:
    """pywa's recorded message ``name`` as if ``sender`` sent it now."""
    body = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    message = copy.deepcopy(body["entry"][0]["changes"][0]["value"]["messages"][0])
    message.pop("context", None)
    message.update({"from": sender, "id": new_wamid(), "timestamp": str(int(time.time())), **changes})
    return message


def answers_to(graph: Any, customer: str) -> List[Dict[str, Any]]:
    return [r.json for r in graph.messages() if r.json.get("to") == customer]


def text_of(body: Dict[str, Any]) -> str:
    return (body.get("text") or {}).get("body") or (body.get("interactive") or {}).get("body", {}).get("text", "")


def button_titles(body: Dict[str, Any]) -> List[str]:
    action = (body.get("interactive") or {}).get("action") or {}
    rows = [row for section in action.get("sections", []) for row in section.get("rows", [])]
    return [b["reply"]["title"] for b in action.get("buttons", [])] + [row["title"] for row in rows]


class Customer:
    def __init__(self, majlis: Any, graph: Any, sender: str) -> None:
        self.majlis, self.graph, self.sender = majlis, graph, sender
        self.fake = majlis.customer(sender)

    async def send(self, message: Dict[str, Any]) -> List[Dict[str, Any]]:
        """Post one message; the answers it got (Send API bodies)."""
        before = len(answers_to(self.graph, self.sender))
        status, _ = await self.fake.post(envelope([message], phone_number_id=PHONE_NUMBER_ID))
        assert status == 200
        await self.majlis.settle()
        return answers_to(self.graph, self.sender)[before:]

    async def say(self, text: str) -> List[Dict[str, Any]]:
        before = len(answers_to(self.graph, self.sender))
        await self.fake.say(text)
        await self.majlis.settle()
        return answers_to(self.graph, self.sender)[before:]


@pytest.fixture
async def majlis(majlis_agent, fake_graph, tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'majlis.sqlite'}")
    migrate(engine)
    async with served_majlis(majlis_agent, engine, fake_graph.url, free_port()) as served:
        yield served


async def test_photo_sticker_and_voice_note_in_arabic(majlis, fake_graph):
    customer = Customer(majlis, fake_graph, "971501230001")
    assert await customer.say("السلام عليكم")
    [photo] = await customer.send(recorded("message__image.json", customer.sender))
    assert text_of(photo).startswith("وصلتني الصورة"), text_of(photo)
    assert "أكلم موظف" in button_titles(photo)
    [sticker] = await customer.send(recorded("message__static_sticker.json", customer.sender))
    assert text_of(sticker).startswith("وصلني الملصق")
    [voice] = await customer.send(recorded("message__voice.json", customer.sender))
    assert "ما أقدر أسمع الرسائل الصوتية" in text_of(voice) and "أكلم موظف" in button_titles(voice)


async def test_voice_note_and_photo_in_english(majlis, fake_graph):
    customer = Customer(majlis, fake_graph, "971501230002")
    asked = await customer.say("hello, my internet is slow")  # the outage check asks for the area
    # In the middle of the form: the answer, then the form's question again.
    voice, *again = await customer.send(recorded("message__voice.json", customer.sender))
    assert text_of(voice).startswith("Sorry, I can't listen to voice notes yet")
    assert "Talk to a person" in button_titles(voice)
    assert [text_of(body) for body in again] == [text_of(asked[-1])]
    photo, *_ = await customer.send(recorded("message__image.json", customer.sender))
    assert text_of(photo).startswith("I got your photo")


async def test_a_pin_answers_the_store_question_where_it_was_asked(majlis, fake_graph):
    customer = Customer(majlis, fake_graph, "971501230003")
    asked = await customer.say("where is the nearest store?")
    assert "Which area" in text_of(asked[-1])
    found = await customer.send(recorded("message__current_location.json", customer.sender, location=DUBAI_MALL))
    assert any("Here are our stores in Dubai" in text_of(body) for body in found), [text_of(b) for b in found]


async def test_a_pin_outside_a_form_offers_the_store_and_outage_checks_there(majlis, fake_graph):
    customer = Customer(majlis, fake_graph, "971501230004")
    assert await customer.say("مرحبا")
    [offer] = await customer.send(recorded("message__current_location.json", customer.sender, location=DUBAI_MALL))
    assert "وصلني موقعك في دبي" in text_of(offer)
    assert {"أقرب فرع", "مشكلة في الشبكة"} <= set(button_titles(offer))
    # A pin in the sea is not placed: the customer is asked for the area.
    [unplaced] = await customer.send(recorded("message__current_location.json", customer.sender,
                                              location={"latitude": 12.25089, "longitude": 43.90539}))
    assert "ما عرفت أي منطقة" in text_of(unplaced)


async def test_reactions_are_never_answered_and_an_agent_sees_them(majlis, fake_graph):
    customer = Customer(majlis, fake_graph, "971501230005")
    assert await customer.say("السلام عليكم")
    assert await customer.send(recorded("message__reaction.json", customer.sender)) == []
    assert await customer.say("أبي أكلم موظف لو سمحت")  # the queue acknowledgement
    service = majlis.desk.desk.service
    record = await service.open_for("whatsapp_cloud", customer.sender)
    assert record is not None
    assert await customer.send(recorded("message__reaction.json", customer.sender,
                                        reaction={"message_id": "wamid.agent1", "emoji": "👍"})) == []
    context = await majlis.desk.desk.desk.context(await service.store.get(record.public_id))
    reactions = [turn for turn in context.transcript if turn.role == "reaction"]
    assert [turn.text for turn in reactions] == ["👍"]
