"""Personal data in customer messages: masked for display, replaced before training.

Phone numbers, order numbers, e-mail addresses and names (the customer's profile name,
and "my name is …" in Arabic, Arabizi and English) are found with patterns.  Display
shows them masked (``•••``); training data gets synthetic values instead, an order
number as an ``order_number`` entity, so nothing a customer wrote about themselves
ends up in ``data/``.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

_DIGIT = "[0-9٠-٩۰-۹]"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
#: Device orders as the NLU's regex feature (data/nlu/regex.yml) sees them: 7 digits, optional ORD-/#.
ORDER = re.compile(rf"(?i)(?<![\w#-])(?:ORD-?|#)?{_DIGIT}{{7}}(?!\w)")
#: 8 to 15 digits, optionally with + and separators: longer than an order number.
PHONE = re.compile(rf"(?<![\w+])\+?{_DIGIT}(?:[\s-]?{_DIGIT}){{7,14}}(?!\w)")
NAME_INTRO = re.compile(
    r"(?i)(?:\bmy name is|\bthis is|\bi am|\bi'm|اسمي|معك|ana esmi|esmi|ismi|isme)\s+([^\s,.!?،؟]+)")

SYNTHETIC_PHONE = "0500000000"
SYNTHETIC_EMAIL = "customer@example.com"
SYNTHETIC_NAME = {"ar": "سارة", "en": "Sara"}
MASK = "•••"


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    kind: str  # email | phone | order_number | name


def find(text: str, names: Sequence[str] = ()) -> List[Found]:
    """Personal data in ``text``, non-overlapping, in order."""
    spans: List[Found] = []
    for kind, pattern in (("email", EMAIL), ("phone", PHONE), ("order_number", ORDER)):
        spans += [Found(m.start(), m.end(), kind) for m in pattern.finditer(text)]
    spans += [Found(m.start(1), m.end(1), "name") for m in NAME_INTRO.finditer(text)]
    for name in names:
        for part in (p for p in (name or "").split() if len(p) >= 3):
            spans += [Found(m.start(), m.end(), "name") for m in re.finditer(re.escape(part), text)]
    kept: List[Found] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


def mask(text: str, names: Sequence[str] = ()) -> str:
    """``text`` for display: personal data replaced by ``•••`` (an order number keeps its last two digits)."""
    out, last = [], 0
    for span in find(text, names):
        value = text[span.start:span.end]
        out.append(text[last:span.start])
        out.append(MASK + value[-2:] if span.kind == "order_number" else MASK)
        last = span.end
    return "".join(out) + text[last:]


def _synthetic_order(value: str) -> str:
    digest = int(hashlib.sha256(value.encode("utf-8")).hexdigest(), 16)
    return str(1_000_000 + digest % 9_000_000)


def scrub(text: str, language: str, names: Sequence[str] = ()) -> Tuple[str, List[Tuple[int, int, str]]]:
    """``text`` for training data: synthetic values instead of personal data.

    Returns the new text and the entity spans it carries (order numbers), as
    ``(start, end, entity)`` in the new text.
    """
    out, entities, last, length = [], [], 0, 0
    for span in find(text, names):
        before = text[last:span.start]
        out.append(before)
        length += len(before)
        if span.kind == "order_number":
            value = _synthetic_order(text[span.start:span.end])
            entities.append((length, length + len(value), "order_number"))
        elif span.kind == "email":
            value = SYNTHETIC_EMAIL
        elif span.kind == "phone":
            value = SYNTHETIC_PHONE
        else:
            value = SYNTHETIC_NAME["ar" if re.search(r"[\u0600-\u06FF]", text[span.start:span.end]) else "en"]
        out.append(value)
        length += len(value)
        last = span.end
    out.append(text[last:])
    return "".join(out), entities


def annotate(text: str, entities: Iterable[Tuple[int, int, str]]) -> str:
    """Rasa's training-data markup: ``[value](entity)`` around each span."""
    out, last = [], 0
    for start, end, entity in sorted(set(entities)):
        if start < last or not 0 <= start < end <= len(text) or not re.fullmatch(r"[a-z_]{1,40}", entity):
            continue
        out.append(text[last:start].replace("[", "(").replace("]", ")"))
        out.append(f"[{text[start:end].replace('[', '(').replace(']', ')')}]({entity})")
        last = end
    out.append(text[last:].replace("[", "(").replace("]", ")"))
    return "".join(out)


def profile_names(metadata: Optional[dict]) -> List[str]:
    """The names a channel told us for the customer (WhatsApp profile name and the like)."""
    customer = (metadata or {}).get("customer") or {}
    return [str(v) for k, v in customer.items() if "name" in k and isinstance(v, str)]
