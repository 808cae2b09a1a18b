"""Write a review back: a confirmation into ``data/answers.yml``, new wordings into ``domain.yml``.

``data/answers.yml`` goes through ruamel.yaml's round-trip mode (comments and layout kept;
the shipped file round-trips byte for byte).  ``domain.yml`` does not round-trip through
any YAML writer unchanged (flow lists, emoji escapes, ``null``), so a new wording replaces
only the ``text:`` line of that variation, found by ruamel's line numbers; every other byte
stays, and the result is parsed again to check it says exactly what was asked.
"""
from __future__ import annotations

import io
import json
import re
import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence

import yaml
from ruamel.yaml import YAML

from bot.answers.book import ANSWERS_FILE, domain_responses

_WRITE = threading.Lock()   # one writer at a time per process (the desk's worker threads)
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
MAX_TEXT = 1000
LANGUAGES = ("ar", "en")


class ReviewError(ValueError):
    """The review cannot be written as asked (unknown answer, wrong number of texts, lost placeholder)."""


def _yaml() -> YAML:
    y = YAML()
    y.preserve_quotes = True
    y.width = 10000
    y.indent(mapping=2, sequence=2, offset=0)
    return y


def variation_language(variation: Mapping[str, Any]) -> str:
    """``ar`` for a variation conditioned on ``language == ar``; the unconditioned one is English."""
    for condition in variation.get("condition") or []:
        if condition.get("name") == "language" and condition.get("value") == "ar":
            return "ar"
    return "en"


def texts_by_language(variations: Sequence[Mapping[str, Any]]) -> Dict[str, List[str]]:
    out: Dict[str, List[str]] = {lang: [] for lang in LANGUAGES}
    for variation in variations:
        if "text" in variation:
            out[variation_language(variation)].append(str(variation["text"]))
    return out


def confirm(root: Path, name: str, who: str, today: date) -> Dict[str, Any]:
    """Mark ``name`` reviewed by ``who`` today; its next review is ``every_days`` later."""
    path = root / ANSWERS_FILE
    with _WRITE:
        y = _yaml()
        data = y.load(path.read_text(encoding="utf-8"))
        entry = (data.get("answers") or {}).get(name)
        if entry is None:
            raise ReviewError(f"{name} has no entry in {ANSWERS_FILE}")
        review_by = today + timedelta(days=int(entry.get("every_days") or 90))
        entry["review_by"] = review_by
        entry["reviewed_by"] = who
        entry["reviewed_at"] = datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        out = io.StringIO()
        y.dump(data, out)
        path.write_text(out.getvalue(), encoding="utf-8")
    return {"name": name, "review_by": review_by.isoformat(), "reviewed_by": who}


def _quoted(text: str) -> str:
    """A double-quoted YAML scalar (JSON's escaping is valid YAML), Arabic and emoji kept as written."""
    return json.dumps(text, ensure_ascii=False)


def edit_texts(root: Path, name: str, texts: Mapping[str, Sequence[str]]) -> Dict[str, List[str]]:
    """Replace the wordings of ``name`` in ``domain.yml``: one new text per existing variation and language.

    Buttons, conditions and the number of variations stay (they are part of the dialogue,
    not of the wording); every ``{placeholder}`` a variation had must still be there.
    """
    path = root / "domain.yml"
    with _WRITE:
        source = path.read_text(encoding="utf-8")
        tree = _yaml().load(source)
        variations = (tree.get("responses") or {}).get(name)
        if variations is None:
            raise ReviewError(f"{name} is not a response in domain.yml")
        lines = source.split("\n")
        counters = {lang: 0 for lang in LANGUAGES}
        for variation in variations:
            if "text" not in variation:
                continue
            lang = variation_language(variation)
            wanted = list(texts.get(lang) or [])
            index = counters[lang]
            counters[lang] += 1
            if index >= len(wanted):
                raise ReviewError(f"{name}: {lang} needs one text per variation")
            new, old = str(wanted[index]).strip(), str(variation["text"])
            if not new or len(new) > MAX_TEXT or "\n" in new:
                raise ReviewError(f"{name}: each text is one line of 1 to {MAX_TEXT} characters")
            if sorted(_PLACEHOLDER.findall(new)) != sorted(_PLACEHOLDER.findall(old)):
                raise ReviewError(f"{name}: keep the placeholders {' '.join(_PLACEHOLDER.findall(old)) or '(none)'}")
            line_no, column = variation.lc.value("text")
            lines[line_no] = lines[line_no][:column] + _quoted(new)
        for lang in LANGUAGES:
            if len(texts.get(lang) or []) != counters[lang]:
                raise ReviewError(f"{name}: {lang} has {counters[lang]} variations")
        updated = "\n".join(lines)
        after = texts_by_language(yaml.safe_load(updated)["responses"][name])
        if after != {lang: [str(t).strip() for t in texts.get(lang) or []] for lang in LANGUAGES}:
            raise ReviewError(f"{name}: the edit could not be written safely")  # never write a file we misread
        path.write_text(updated, encoding="utf-8")
    return after


def response_texts(root: Path) -> Dict[str, Dict[str, List[str]]]:
    """Every response's texts by language, as the side-by-side editor shows them."""
    return {name: texts_by_language(variations) for name, variations in domain_responses(root).items()}
