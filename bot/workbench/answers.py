"""The Answers tab: answers due or overdue for review, confirmed or edited by their owner.

Who may review: the answer's owner (the desk account whose e-mail is the ``owner``),
supervisors and admins.  Every confirmation and edit goes into the workbench's audit
trail (who, when, which answer, the texts before and after).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from bot.answers import edit
from bot.answers.book import ANSWERS_FILE, load
from bot.answers.serving import policy

#: Roles that may review any answer (a trainer reviews the answers they own).
REVIEW_ANY = frozenset({"supervisor", "admin"})
STATES = ("overdue", "due", "current")
#: What the Answers tab may ask for: one state, ``all``, or nothing (overdue and due: the review list).
SHOWN = {None: ("overdue", "due"), "all": STATES, **{state: (state,) for state in STATES}}


class NotOwner(PermissionError):
    pass


@dataclass
class AnswerReviews:
    root: Path
    today: Callable[[], date]
    audit: Callable[..., None]

    def listing(self, email: str, role: str, state: Optional[str] = None) -> Dict[str, Any]:
        """Answers in ``SHOWN[state]`` (overdue first, then by date), their texts side by side, the counts."""
        today = self.today()
        book = load(self.root / ANSWERS_FILE)
        texts = edit.response_texts(self.root)
        rows = []
        for answer in book.answers.values():
            current = answer.state(today)
            if current not in SHOWN[state]:
                continue
            rows.append({"name": answer.name, "owner": answer.owner, "review_by": answer.review_by.isoformat(),
                         "state": current, "days": (answer.review_by - today).days,
                         "reviewed_by": answer.reviewed_by, "reviewed_at": answer.reviewed_at,
                         "withheld": current == "overdue" and (answer.when_overdue or policy()) == "withhold",
                         "may_review": self.may_review(email, role, answer.owner),
                         "texts": texts.get(answer.name, {"ar": [], "en": []})})
        rows.sort(key=lambda r: (STATES.index(r["state"]), r["review_by"], r["name"]))
        counts = {s: sum(1 for a in book.answers.values() if a.state(today) == s) for s in STATES}
        return {"today": today.isoformat(), "policy": policy(), "counts": counts, "answers": rows}

    def counts(self) -> Dict[str, int]:
        today = self.today()
        book = load(self.root / ANSWERS_FILE)
        return {s: sum(1 for a in book.answers.values() if a.state(today) == s) for s in ("overdue", "due")}

    @staticmethod
    def may_review(email: str, role: str, owner: str) -> bool:
        return role in REVIEW_ANY or email.strip().lower() == owner.strip().lower()

    def _owner(self, name: str, email: str, role: str) -> None:
        answer = load(self.root / ANSWERS_FILE).get(name)
        if answer is None:
            raise LookupError(name)
        if not self.may_review(email, role, answer.owner):
            raise NotOwner(f"{name} is owned by {answer.owner}")

    def confirm(self, name: str, who: str, email: str, role: str) -> Dict[str, Any]:
        self._owner(name, email, role)
        result = edit.confirm(self.root, name, who, self.today())
        self.audit(who, "answer_confirmed", text=name, path=ANSWERS_FILE,
                   detail={"answer": name, "review_by": result["review_by"]})
        return result

    def edit(self, name: str, who: str, email: str, role: str, texts: Mapping[str, Sequence[str]]) -> Dict[str, Any]:
        """New wordings in ``domain.yml`` (served at once), then the review confirmed."""
        self._owner(name, email, role)
        before = edit.response_texts(self.root).get(name)
        after = edit.edit_texts(self.root, name, texts)
        self.audit(who, "answer_edited", text=name, path="domain.yml",
                   detail={"answer": name, "before": before, "after": after})
        result = edit.confirm(self.root, name, who, self.today())
        self.audit(who, "answer_confirmed", text=name, path=ANSWERS_FILE,
                   detail={"answer": name, "review_by": result["review_by"]})
        return {**result, "texts": after}


def texts_from(raw: Any) -> Dict[str, List[str]]:
    """The ``texts`` of an edit request: ``{"ar": [...], "en": [...]}`` of strings."""
    if not isinstance(raw, dict) or set(raw) - set(edit.LANGUAGES):
        raise edit.ReviewError("texts must be {\"ar\": [...], \"en\": [...]}")
    out = {}
    for lang in edit.LANGUAGES:
        values = raw.get(lang) or []
        if not isinstance(values, list) or len(values) > 20 or not all(isinstance(v, str) for v in values):
            raise edit.ReviewError(f"texts.{lang} must be a list of strings")
        out[lang] = values
    return out
