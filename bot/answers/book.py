"""``data/answers.yml``: who owns each bot answer and when it must be read again.

The file is not training data (``rasa train`` never reads it and the model's fingerprint
leaves it out), so confirming an answer retrains nothing.  :func:`problems` is the check
the test suite and the workbench's pre-training validation run: every response in the
domain needs an owner and a review date, and nothing may name a response the domain lacks.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

from bot.config import config

_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
REPO = Path(__file__).resolve().parents[2]
ANSWERS_FILE = "data/answers.yml"
#: Answers due within this many days are listed as "due" (before they are overdue).
DUE_WITHIN_DAYS = 14
SERVE, WITHHOLD = "serve", "withhold"


def project_root() -> Path:
    """The checkout whose ``domain.yml`` and ``data/`` are served and edited (the workbench's root)."""
    return Path(config("MAJLIS_WORKBENCH_ROOT", default="") or REPO)


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    name: str
    owner: str
    review_by: date
    every_days: int = 90
    reviewed_by: Optional[str] = None
    reviewed_at: Optional[str] = None
    when_overdue: Optional[str] = None   # serve | withhold: overrides the operator's setting

    def state(self, today: date) -> str:
        """``overdue`` past its date, ``due`` within :data:`DUE_WITHIN_DAYS`, else ``current``."""
        if self.review_by < today:
            return "overdue"
        return "due" if (self.review_by - today).days <= DUE_WITHIN_DAYS else "current"


@dataclass(frozen=True)
class AnswerBook:
    answers: Dict[str, Answer]
    withheld: Mapping[str, Any] = field(default_factory=dict)
    errors: Tuple[str, ...] = ()      # entries that could not be read (reported by problems())

    def get(self, name: str) -> Optional[Answer]:
        return self.answers.get(name)


def _date(value: Any) -> Optional[date]:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def parse(raw: Any) -> AnswerBook:
    """The book from the file's YAML (entries with a missing owner or date are reported, not kept)."""
    raw = raw if isinstance(raw, dict) else {}
    entries = raw.get("answers") if isinstance(raw.get("answers"), dict) else {}
    answers: Dict[str, Answer] = {}
    errors: List[str] = []
    for name, entry in entries.items():
        entry = entry if isinstance(entry, dict) else {}
        owner = str(entry.get("owner") or "").strip()
        review_by = _date(entry.get("review_by"))
        if not owner:
            errors.append(f"{name}: no owner")
        if review_by is None:
            errors.append(f"{name}: no review_by date (YYYY-MM-DD)")
        when = entry.get("when_overdue")
        if when not in (None, SERVE, WITHHOLD):
            errors.append(f"{name}: when_overdue must be {SERVE} or {WITHHOLD}")
        if owner and review_by is not None:
            answers[str(name)] = Answer(name=str(name), owner=owner, review_by=review_by,
                                        every_days=int(entry.get("every_days") or 90),
                                        reviewed_by=entry.get("reviewed_by"),
                                        reviewed_at=str(entry["reviewed_at"]) if entry.get("reviewed_at") else None,
                                        when_overdue=when)
    withheld = raw.get("withheld") if isinstance(raw.get("withheld"), dict) else {}
    return AnswerBook(answers=answers, withheld=withheld, errors=tuple(errors))


def load(path: Path) -> AnswerBook:
    return parse(yaml.load(path.read_text(encoding="utf-8"), Loader=_FAST_LOADER))


def domain_responses(root: Path) -> Dict[str, List[Dict[str, Any]]]:
    domain = yaml.load((root / "domain.yml").read_text(encoding="utf-8"), Loader=_FAST_LOADER) or {}
    return domain.get("responses") or {}


def problems(root: Path) -> List[str]:
    """Why the answers file does not cover the domain's responses (empty when it does)."""
    path = root / ANSWERS_FILE
    if not path.is_file():
        return [f"{ANSWERS_FILE} is missing: every response in domain.yml needs an owner and a review date"]
    try:
        book = load(path)
    except yaml.YAMLError as exc:
        return [f"{ANSWERS_FILE} is not valid YAML: {exc}"]
    found = [f"{ANSWERS_FILE}: {error}" for error in book.errors]
    responses = domain_responses(root)
    flawed = {error.split(":", 1)[0] for error in book.errors}
    found += [f"{ANSWERS_FILE}: {name} (a response in domain.yml) has no owner and review date"
              for name in sorted(responses) if name not in book.answers and name not in flawed]
    found += [f"{ANSWERS_FILE}: {name} is not a response in domain.yml" for name in sorted(book.answers)
              if name not in responses]
    for key in ("ar", "en"):
        if not str(book.withheld.get(key) or "").strip():
            found.append(f"{ANSWERS_FILE}: withheld.{key} (what the bot says instead of an overdue answer) is missing")
    return found


class CachedBook:
    """The book, read again only when the file changed (the NLG asks on every bot answer)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: Tuple[Optional[Path], Optional[int]] = (None, None)
        self._book = AnswerBook(answers={})

    def get(self, path: Path) -> AnswerBook:
        try:
            stamp = os.stat(path).st_mtime_ns
        except OSError:
            return AnswerBook(answers={})
        with self._lock:
            if self._seen != (path, stamp):
                try:
                    self._book = load(path)
                except (OSError, yaml.YAMLError):
                    return self._book   # a half-written file: keep serving what was last read
                self._seen = (path, stamp)
            return self._book
