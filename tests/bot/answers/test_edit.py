"""Reviews written back: domain.yml changes only the edited text lines, answers.yml keeps its comments."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.answers.book import ANSWERS_FILE, load
from bot.answers.edit import ReviewError, confirm, edit_texts, response_texts
from bot.handoff.config import ROOT



@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    shutil.copy(ROOT / "domain.yml", tmp_path / "domain.yml")
    shutil.copy(ROOT / ANSWERS_FILE, tmp_path / ANSWERS_FILE)
    return tmp_path


def changed_lines(before: str, after: str) -> list:
    a, b = before.split("\n"), after.split("\n")
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b) if x != y]


def test_both_language_variants_are_edited_in_place(root: Path) -> None:
    before = (root / "domain.yml").read_text(encoding="utf-8")
    texts = response_texts(root)["utter_greet"]
    assert len(texts["ar"]) == 3 and len(texts["en"]) == 3
    new = {"ar": ["هلا والله! شلون أقدر أخدمك اليوم؟", *texts["ar"][1:]],
           "en": [texts["en"][0], "Hello 👋 How can I help today?", texts["en"][2]]}
    assert edit_texts(root, "utter_greet", new) == new
    after = (root / "domain.yml").read_text(encoding="utf-8")
    assert changed_lines(before, after) == [
        ('    text: "هلا والله! كيف أقدر أخدمك اليوم؟"', '    text: "هلا والله! شلون أقدر أخدمك اليوم؟"'),
        ('  - text: "Hello 👋 What can I do for you today?"', '  - text: "Hello 👋 How can I help today?"'),
    ]
    assert yaml.safe_load(after)["responses"]["utter_iamabot"] == yaml.safe_load(before)["responses"]["utter_iamabot"]


def test_placeholders_and_variation_counts_are_kept(root: Path) -> None:
    texts = response_texts(root)["utter_handoff"]
    before = (root / "domain.yml").read_text(encoding="utf-8")
    with pytest.raises(ReviewError, match="placeholders"):
        edit_texts(root, "utter_handoff", {"ar": ["زميلي بيرد عليك قريب."], "en": texts["en"]})
    with pytest.raises(ReviewError, match="variations"):
        edit_texts(root, "utter_handoff", {"ar": texts["ar"] + ["ثاني"], "en": texts["en"]})
    with pytest.raises(ReviewError, match="not a response"):
        edit_texts(root, "utter_nothing", {"ar": [], "en": []})
    assert (root / "domain.yml").read_text(encoding="utf-8") == before
    # Quotes and backslashes are written as valid YAML.
    edit_texts(root, "utter_handoff", {"ar": texts["ar"], "en": ['A colleague "will" reply \\ soon. Ref {case_id}.']})
    assert response_texts(root)["utter_handoff"]["en"] == ['A colleague "will" reply \\ soon. Ref {case_id}.']


def test_a_confirmation_moves_the_date_and_keeps_the_file(root: Path) -> None:
    path = root / ANSWERS_FILE
    before = path.read_text(encoding="utf-8")
    result = confirm(root, "utter_roaming_offer", "Tina", date(2027, 2, 1))
    assert result == {"name": "utter_roaming_offer", "review_by": "2027-03-03", "reviewed_by": "Tina"}
    after = path.read_text(encoding="utf-8")
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    removed = [line for line in before.splitlines() if line not in after.splitlines()]
    assert removed == [] or all("review_by" in line for line in removed)
    assert "    review_by: 2027-03-03" in added and "    reviewed_by: Tina" in added
    assert after.count("#") == before.count("#")
    entry = load(path).get("utter_roaming_offer")
    assert entry.review_by == date(2027, 3, 3) and entry.reviewed_by == "Tina" and entry.reviewed_at.endswith("Z")
    with pytest.raises(ReviewError):
        confirm(root, "utter_nothing", "Tina", date(2027, 2, 1))
