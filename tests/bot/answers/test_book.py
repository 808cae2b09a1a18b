"""Every bot answer has an owner and a review date; the check fails on one that has not."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from bot.answers.book import ANSWERS_FILE, load, problems
from bot.handoff.config import ROOT


def copy(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    shutil.copy(ROOT / "domain.yml", tmp_path / "domain.yml")
    shutil.copy(ROOT / ANSWERS_FILE, tmp_path / ANSWERS_FILE)
    return tmp_path


def test_every_response_in_the_domain_has_an_owner_and_a_review_date() -> None:
    assert problems(ROOT) == []


def test_a_response_without_owner_or_date_fails_the_check(tmp_path: Path) -> None:
    root = copy(tmp_path)
    path = root / ANSWERS_FILE
    text = path.read_text(encoding="utf-8")
    # utter_roaming_offer loses its owner, utter_bill_paid its date, utter_greet its whole entry.
    text = text.replace("  utter_roaming_offer:\n    owner: offers@majlis.example\n", "  utter_roaming_offer:\n", 1)
    start = text.index("  utter_bill_paid:")
    text = text[:start] + text[start:].replace("    review_by: 2027-03-07\n", "", 1)
    start = text.index("  utter_greet:")
    end = text.index("  utter_goodbye:")
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    found = problems(root)
    assert f"{ANSWERS_FILE}: utter_roaming_offer: no owner" in found
    assert f"{ANSWERS_FILE}: utter_bill_paid: no review_by date (YYYY-MM-DD)" in found
    assert f"{ANSWERS_FILE}: utter_greet (a response in domain.yml) has no owner and review date" in found
    assert len(found) == 3


def test_an_answer_the_domain_does_not_have_is_reported(tmp_path: Path) -> None:
    root = copy(tmp_path)
    with (root / ANSWERS_FILE).open("a", encoding="utf-8") as out:
        out.write("  utter_old_promo:\n    owner: offers@majlis.example\n    review_by: 2027-01-01\n")
    assert problems(root) == [f"{ANSWERS_FILE}: utter_old_promo is not a response in domain.yml"]
    (root / ANSWERS_FILE).unlink()
    assert "is missing" in problems(root)[0]


def test_due_and_overdue() -> None:
    greet = load(ROOT / ANSWERS_FILE).get("utter_greet")
    assert greet is not None and greet.owner == "care-content@majlis.example"
    assert greet.state(greet.review_by) == "due"
    assert greet.state(date.fromordinal(greet.review_by.toordinal() + 1)) == "overdue"
    assert greet.state(date.fromordinal(greet.review_by.toordinal() - 15)) == "current"
