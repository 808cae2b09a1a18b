"""Values as they appear inside replies, in English and in Arabic.

Responses in domain.yml take every variable twice where the wording differs
(``{due_en}`` / ``{due_ar}``), so an action never needs to know which language
the reply will be in: the NLG picks the variation, and each variation uses its
own values.  Latin identifiers (order numbers, case ids) are wrapped in Unicode
first-strong isolates so that inside right-to-left Arabic text they keep their
own direction and do not drag neighbouring punctuation across the line.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Iterable

FSI = "\u2068"  # FIRST STRONG ISOLATE
PDI = "\u2069"  # POP DIRECTIONAL ISOLATE

MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")
# The month names used in the Gulf (not the Levantine كانون/شباط set).
MONTHS_AR = ("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر",
             "ديسمبر")


def isolate(text: str) -> str:
    """``text`` wrapped in FSI…PDI, so it keeps its own direction inside Arabic text."""
    return f"{FSI}{text}{PDI}"


def amount(value: Decimal) -> str:
    """``150``, ``150.50``, ``1,250``: whole amounts without decimals, others with two."""
    quantized = value.quantize(Decimal("0.01"))
    if quantized == quantized.to_integral_value():
        return f"{int(quantized):,}"
    return f"{quantized:,.2f}"


def day_month_en(day: date) -> str:
    return f"{day.day} {MONTHS_EN[day.month - 1]}"


def day_month_ar(day: date) -> str:
    """``15 يوليو``: the number first reads correctly in a right-to-left line."""
    return f"{day.day} {MONTHS_AR[day.month - 1]}"


def month_year_en(day: date) -> str:
    return f"{MONTHS_EN[day.month - 1]} {day.year}"


def month_year_ar(day: date) -> str:
    return f"{MONTHS_AR[day.month - 1]} {day.year}"


def hours_en(count: int) -> str:
    return "1 hour" if count == 1 else f"{count} hours"


def hours_ar(count: int) -> str:
    """Arabic counted nouns: ساعة، ساعتين، 3 ساعات، 11 ساعة."""
    return _counted_ar(count, "ساعة", "ساعتين", "ساعات")


def days_en(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"


def days_ar(count: int) -> str:
    """Arabic counted nouns: يوم، يومين، 7 أيام، 30 يوم."""
    return _counted_ar(count, "يوم", "يومين", "أيام")


def _counted_ar(count: int, singular: str, dual: str, plural: str) -> str:
    if count == 1:
        return singular
    if count == 2:
        return dual
    if 3 <= count <= 10:
        return f"{count} {plural}"
    return f"{count} {singular}"


def bullets(lines: Iterable[str]) -> str:
    """One item per line, each starting with a bullet (WhatsApp shows no markdown lists)."""
    return "\n".join(f"• {line}" for line in lines)
