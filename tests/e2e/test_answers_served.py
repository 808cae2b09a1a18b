"""Real turns through the trained model and BilingualNLG: an overdue answer withheld, an edited one served.

The operator's setting MAJLIS_OVERDUE_ANSWERS=withhold replaces an answer past its review
date by "let me check that first" in the customer's language, with a button to a person;
an owner's edit of a wording (domain.yml) is what the next turn says, without retraining.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.answers.book import ANSWERS_FILE
from bot.answers.edit import edit_texts, response_texts
from bot.handoff.config import ROOT
from tests.e2e.test_conversations import Conversation, is_arabic, is_english

pytestmark = pytest.mark.e2e


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "data").mkdir()
    shutil.copy(ROOT / "domain.yml", tmp_path / "domain.yml")
    shutil.copy(ROOT / ANSWERS_FILE, tmp_path / ANSWERS_FILE)
    monkeypatch.setenv("MAJLIS_WORKBENCH_ROOT", str(tmp_path))
    return tmp_path


def make_overdue(project: Path, name: str) -> None:
    path = project / ANSWERS_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    old = data["answers"][name]["review_by"].isoformat()
    text = path.read_text(encoding="utf-8")
    start = text.index(f"  {name}:\n")
    path.write_text(text[:start] + text[start:].replace(f"review_by: {old}", "review_by: 2020-01-01", 1),
                    encoding="utf-8")


async def replies_with_buttons(chat: Conversation, text: str):
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    output = CollectingOutputChannel()
    await chat.agent.handle_message(UserMessage(text, output, chat.sender, input_channel=chat.channel))
    return output.messages


async def test_an_overdue_answer_is_withheld_in_the_customers_language(majlis_agent, project, monkeypatch) -> None:
    greetings = response_texts(project)["utter_greet"]
    make_overdue(project, "utter_greet")
    withheld = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))["withheld"]

    monkeypatch.setenv("MAJLIS_OVERDUE_ANSWERS", "serve")   # the default: served, only flagged
    replies = await Conversation(majlis_agent).say("هلا والله")
    assert replies and replies[0] in greetings["ar"]

    monkeypatch.setenv("MAJLIS_OVERDUE_ANSWERS", "withhold")
    arabic = await replies_with_buttons(Conversation(majlis_agent), "هلا والله")
    assert arabic[0]["text"] == withheld["ar"] and is_arabic(arabic[0]["text"])
    assert arabic[0]["buttons"] == [{"title": "أبي أكلم موظف", "payload": "/talk_to_human"}]
    english = await replies_with_buttons(Conversation(majlis_agent), "hello there")
    assert english[0]["text"] == withheld["en"] and is_english(english[0]["text"])
    assert all(g not in (m.get("text") for m in english) for g in greetings["en"])

    # A current answer is served as ever.
    replies = await Conversation(majlis_agent).say("thank you so much")
    assert replies and replies[0] in response_texts(project)["utter_you_are_welcome"]["en"]


async def test_an_edited_wording_is_served_without_retraining(majlis_agent, project) -> None:
    texts = response_texts(project)["utter_greet"]
    new = {"ar": ["أهلين! هذي صياغة جديدة راجعها صاحبها."] * len(texts["ar"]),
           "en": ["Hello! This wording was just reviewed by its owner."] * len(texts["en"])}
    edit_texts(project, "utter_greet", new)
    assert await Conversation(majlis_agent).say("هلا والله") == new["ar"][:1]
    assert await Conversation(majlis_agent).say("hello there") == new["en"][:1]
