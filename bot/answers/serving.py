"""Whether an answer past its review date is served, per the operator's setting.

``MAJLIS_OVERDUE_ANSWERS=serve`` (the default) serves it and only flags it in the
workbench; ``withhold`` replaces it by ``withheld`` from ``data/answers.yml`` ("let me
check that first ... I can pass you to a colleague", with a button to a person), in the
customer's language.  An entry's ``when_overdue`` overrides the setting for that answer.
"""
from __future__ import annotations

import logging
from datetime import date
from typing import Any, Callable, Dict, List, Optional

import yaml

from bot.answers.book import ANSWERS_FILE, SERVE, WITHHOLD, CachedBook, domain_responses, project_root
from bot.config import config

logger = logging.getLogger(__name__)
SETTING = "MAJLIS_OVERDUE_ANSWERS"
_BOOK = CachedBook()


def policy() -> str:
    value = str(config(SETTING, default=SERVE)).strip().lower()
    if value not in (SERVE, WITHHOLD):
        logger.warning("%s=%s is neither %s nor %s: serving overdue answers", SETTING, value, SERVE, WITHHOLD)
        return SERVE
    return value


def withheld_reply(utter_action: str, language: str,
                   today: Callable[[], date] = date.today) -> Optional[Dict[str, Any]]:
    """The reply that replaces ``utter_action`` now, or ``None`` when the answer is served."""
    book = _BOOK.get(project_root() / ANSWERS_FILE)
    answer = book.get(utter_action)
    if answer is None or answer.state(today()) != "overdue":
        return None
    if (answer.when_overdue or policy()) != WITHHOLD:
        return None
    lang = "ar" if language == "ar" else "en"
    text = str(book.withheld.get(lang) or "").strip()
    if not text:
        return None   # no replacement configured (the data check reports it): serve rather than stay silent
    logger.info("Withheld %s: past its review date (%s)", utter_action, answer.review_by.isoformat())
    reply: Dict[str, Any] = {"text": text}
    button = book.withheld.get("button") or {}
    if button.get(lang) and button.get("payload"):
        reply["buttons"] = [{"title": str(button[lang]), "payload": str(button["payload"])}]
    return reply


class LiveWordings:
    """The model's responses with the wordings edited since in the project's ``domain.yml``.

    An owner's edit (the workbench's Answers tab) changes only ``text:`` lines, so it is
    served at once instead of after the next training: a response whose variations,
    conditions and buttons still match the model's takes its texts from the file; anything
    else (a response the model lacks, a changed structure) stays as the model has it.
    """

    def __init__(self, model_responses: Dict[str, Any]) -> None:
        self.model = model_responses
        self._stamp: Optional[int] = None
        self._merged = model_responses

    def current(self) -> Dict[str, Any]:
        path = project_root() / "domain.yml"
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            return self._merged
        if stamp != self._stamp:
            try:
                on_disk = domain_responses(project_root())
            except (OSError, yaml.YAMLError):
                return self._merged
            self._merged = {name: _same_shape(variations, on_disk.get(name)) for name, variations in self.model.items()}
            self._stamp = stamp
        return self._merged


def _without_text(variation: Any) -> Any:
    return {k: v for k, v in variation.items() if k != "text"} if isinstance(variation, dict) else variation


def _same_shape(model: List[Any], disk: Any) -> List[Any]:
    if not isinstance(disk, list) or len(disk) != len(model):
        return model
    if any(_without_text(a) != _without_text(b) for a, b in zip(model, disk)):
        return model
    return disk
