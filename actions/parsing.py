"""Reading what customers type: numbers in any script, order numbers, amounts, sizes.

Customers answer form questions in Latin, Arabic-Indic (٠-٩) or Persian (۰-۹)
digits, with currency words around the number, and with the Arabic decimal
separator (٫).  These functions turn such answers into one canonical value, or
``None`` when the text does not say it clearly enough to act on; the form then
asks again.  They are pure and never raise.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Iterable, List, Optional, Tuple

from bot.language import normalize, western_digits

ORDER_NUMBER_DIGITS = 7
MAX_AMOUNT = Decimal("100000")
"""Anything above this is a typo or a phone number, not a telecom amount in AED."""

UNLIMITED = "unlimited"

_ARABIC_DECIMAL_SEPARATOR = "\u066b"  # ٫
_ARABIC_THOUSANDS_SEPARATOR = "\u066c"  # ٬

# Seven digits standing alone: not part of a longer number such as a phone number.
_ORDER_NUMBER = re.compile(r"(?<!\d)(\d{7})(?!\d)")
# 1,250.50 or 1250.50 or 1250 or .5; a minus sign directly in front makes it negative.
_NUMBER = re.compile(r"(?<![\d.])(-\s?)?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?![\d,]*\d)")

_GIGA_UNITS = r"(?:gb|gig|gigs|giga|gigabytes?|g|جيجا|جيقا|جيغا|غيغا|قيقا|جيجابايت|جيجات|جيقات|جيجابايت)"
_MEGA_UNITS = r"(?:mb|mega|megabytes?|ميجا|ميقا|ميغا|ميجابايت)"
_SIZE = re.compile(rf"(?<![\d.])(\d+(?:\.\d+)?)\s*(?:({_GIGA_UNITS})|({_MEGA_UNITS}))?(?![\w])", re.IGNORECASE)
_UNLIMITED_WORDS = (
    "unlimited", "unlimted", "unlimitd", "unli", "no limit", "limitless", "infinite",
    "غير محدود", "غير محدوده", "بلا حدود", "بدون حدود", "لا محدود", "لامحدود", "مفتوح", "مفتوحه",
    "انلمتد", "انليمتد", "أنلمتد", "انلميتد",
    "maftoo7", "maftoo7a", "maftou7", "bala 7dood", "bala hdood", "bdoon 7dood",
)

_LANGUAGE_WORDS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("en", ("english", "englsh", "inglish", "inglizi", "ingilizi", "engilizi", "englizi", "ingliizi",
            "inglizy", "englizy", "engleezi", "inglesi",
            "انجليزي", "انجليزيه", "الانجليزي", "الانجليزيه", "بالانجليزي", "بالانجليزيه",
            "انقليزي", "انقليزيه", "بالانقليزي", "انكليزي", "بالانكليزي", "الانكليزيه", "انجلش", "انقلش",
            "انغليزي", "بالانغليزي")),
    ("ar", ("arabic", "arabi", "3arabi", "3araby", "3rabi", "arabiya", "3arabiya", "arabee", "araby",
            "عربي", "العربي", "العربيه", "بالعربي", "بالعربيه", "عربيه", "عربى")),
)
_WORD = re.compile(r"[\w']+", re.UNICODE)
# One- or two-letter Arabic proclitics glued to a place name: بدبي، والشارقة، فالعين.
_PROCLITIC = "(?:[وفبل]{1,2})?"


def to_western_digits(text: str) -> str:
    """Arabic-Indic and Persian digits and the Arabic separators to their ASCII forms.

    >>> to_western_digits("١٥٠٫٥ درهم")
    '150.5 درهم'
    """
    return (
        western_digits(text)
        .replace(_ARABIC_DECIMAL_SEPARATOR, ".")
        .replace(_ARABIC_THOUSANDS_SEPARATOR, ",")
    )


def parse_order_number(text: Optional[str]) -> Optional[str]:
    """The 7-digit order number in ``text``: ``#4821937``, ``ORD-4821937``, ``٤٨٢١٩٣٧``.

    Returns ``None`` when there is none, or several different ones.
    """
    if not text:
        return None
    found = set(_ORDER_NUMBER.findall(to_western_digits(text)))
    return found.pop() if len(found) == 1 else None


def _numbers(text: str) -> List[Decimal]:
    values = []
    for sign, digits in _NUMBER.findall(to_western_digits(text)):
        try:
            value = Decimal(digits.replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the pattern only admits valid numbers
            continue
        values.append(-value if sign else value)
    return values


def parse_amount(text: Optional[str]) -> Optional[Decimal]:
    """The one amount of money in ``text`` (``150 AED``, ``١٥٠ درهم``, ``AED 1,250.50``).

    Returns ``None`` when there is no number, or several different ones ("I paid 3
    times 50"), since guessing which one is meant would record the wrong amount.
    A negative number is returned as such; callers decide what is acceptable.
    """
    if not text:
        return None
    values = set(_numbers(text))
    if len(values) != 1:
        return None
    return values.pop()


def is_valid_amount(value: Optional[Decimal]) -> bool:
    """A positive amount with at most two decimals and not absurdly large."""
    return (
        value is not None
        and Decimal("0") < value <= MAX_AMOUNT
        and value == value.quantize(Decimal("0.01"))
    )


def parse_bundle_size(text: Optional[str]) -> Optional[str]:
    """The canonical bundle size in ``text``: ``10GB``, ``500MB`` or ``unlimited``.

    A bare number ("10", "١٠") is read as gigabytes, since that is how bundles are sold.
    """
    if not text:
        return None
    lowered = normalize(to_western_digits(text), ("invisible", "diacritics", "tatweel", "alef", "ta_marbuta"))
    if any(word in lowered for word in _UNLIMITED_WORDS):
        return UNLIMITED
    sizes = set()
    for number, giga, mega in _SIZE.findall(lowered):
        value = Decimal(number).normalize()
        if value <= 0:
            continue
        amount = format(value, "f")
        sizes.add(f"{amount}MB" if mega else f"{amount}GB")
    return sizes.pop() if len(sizes) == 1 else None


def language_mentioned(text: Optional[str]) -> Optional[str]:
    """``"en"`` or ``"ar"`` if ``text`` names a language ("English please", "عربي", "3arabi").

    When both are named ("from English to Arabic") the one named last wins, which
    is how such requests are usually phrased.
    """
    if not text:
        return None
    words = _WORD.findall(normalize(text, ("invisible", "diacritics", "tatweel", "alef", "alef_maqsura", "ta_marbuta",
                                           "digits", "repeats")))
    last: Optional[Tuple[int, str]] = None
    for position, word in enumerate(words):
        for code, names in _LANGUAGE_WORDS:
            if word in names:
                last = (position, code)
    return last[1] if last else None


def _normalise_place(text: str) -> str:
    return " ".join(_WORD.findall(normalize(text, ("invisible", "diacritics", "tatweel", "alef", "alef_maqsura",
                                                   "ta_marbuta", "digits"))))


def find_alias(text: Optional[str], aliases: Iterable[Tuple[str, str]]) -> Optional[str]:
    """The canonical name whose alias ``text`` is, or contains as whole words.

    Args:
        text: what the customer wrote ("I'm in Sharjah", "بالشارقة", "dxb").
        aliases: ``(alias, canonical)`` pairs.

    Returns:
        The canonical name; when several aliases occur, the longest one wins, so
        "ras al khaimah" is not read as a shorter alias inside it.  ``None`` if no
        alias occurs.
    """
    if not text:
        return None
    haystack = _normalise_place(text)
    if not haystack:
        return None
    best: Optional[Tuple[int, str]] = None
    for alias, canonical in aliases:
        needle = _normalise_place(alias)
        if not needle:
            continue
        if needle == haystack:
            return canonical
        pattern = rf"(?<!\w){_PROCLITIC}{re.escape(needle)}(?!\w)"
        if re.search(pattern, haystack) and (best is None or len(needle) > best[0]):
            best = (len(needle), canonical)
    return best[1] if best else None


def place_aliases(entries: Iterable[Tuple[str, Iterable[str]]]) -> List[Tuple[str, str]]:
    """Flatten ``(canonical, aliases)`` into ``(alias, canonical)`` pairs, canonical included."""
    pairs: List[Tuple[str, str]] = []
    for canonical, names in entries:
        pairs.append((canonical, canonical))
        pairs.extend((name, canonical) for name in names)
    return pairs
