"""Arabic orthographic normalisation.

Customers write the same word many ways: with or without diacritics, with a
stretched tatweel (مـــرحبا), with any of four alef forms, with ى for ي and ة for
ه, with Arabic-Indic or Persian digits, and with letters repeated for emphasis
(شكرااااا).  The NLU should see one form for all of them.  Each step is a small
function so the pipeline can switch steps on and off and tests can check each.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Callable, Dict, Iterable, Tuple

# Harakat, tanwin, shadda, sukun, superscript alef and Quranic marks.
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")
_TATWEEL = "\u0640"
_ALEF_FORMS = str.maketrans({"\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627", "\u0671": "\u0627"})
_HAMZA_SEATS = str.maketrans({"\u0624": "\u0648", "\u0626": "\u064a"})
_ALEF_MAQSURA = str.maketrans({"\u0649": "\u064a"})
_TA_MARBUTA = str.maketrans({"\u0629": "\u0647"})
# Persian letters that Gulf keyboards (and copy-paste from Persian text) produce.
_PERSIAN_LETTERS = str.maketrans({"\u06cc": "\u064a", "\u06a9": "\u0643", "\u06af": "\u0643"})
_DIGITS = str.maketrans(
    {**{chr(0x0660 + i): str(i) for i in range(10)}, **{chr(0x06F0 + i): str(i) for i in range(10)}}
)
# Bidi marks and isolates, BOM and the zero-width space: invisible, they only split words.
_INVISIBLE = re.compile("[\u200b\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069\ufeff]")
_ARABIC_REPEAT = re.compile(r"([\u0621-\u064a])\1{2,}")
_LATIN_REPEAT = re.compile(r"([a-z])\1{2,}")


def strip_diacritics(text: str) -> str:
    return _DIACRITICS.sub("", text)


def remove_tatweel(text: str) -> str:
    return text.replace(_TATWEEL, "")


def unify_alef(text: str) -> str:
    return text.translate(_ALEF_FORMS).translate(_HAMZA_SEATS)


def unify_alef_maqsura(text: str) -> str:
    return text.translate(_ALEF_MAQSURA).translate(_PERSIAN_LETTERS)


def unify_ta_marbuta(text: str) -> str:
    return text.translate(_TA_MARBUTA)


def western_digits(text: str) -> str:
    """Arabic-Indic (٠-٩) and Persian (۰-۹) digits to ASCII, so ٤٨٢١٩٣٧ == 4821937."""
    return text.translate(_DIGITS)


def collapse_repeats(text: str) -> str:
    """شكرااااا -> شكرا; Latin runs keep two letters so 'goood' stays 'good'."""
    return _LATIN_REPEAT.sub(r"\1\1", _ARABIC_REPEAT.sub(r"\1", text))


def remove_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text)


STEPS: Dict[str, Callable[[str], str]] = {
    "invisible": remove_invisible,
    "diacritics": strip_diacritics,
    "tatweel": remove_tatweel,
    "alef": unify_alef,
    "alef_maqsura": unify_alef_maqsura,
    "ta_marbuta": unify_ta_marbuta,
    "digits": western_digits,
    "repeats": collapse_repeats,
}
"""Every normalisation step by the name used in config.yml."""

ALL_STEPS: Tuple[str, ...] = tuple(STEPS)


def normalize(text: str, steps: Iterable[str] = ALL_STEPS) -> str:
    """Apply the named steps in the canonical order, after NFC and lower-casing Latin."""
    wanted = set(steps)
    unknown = wanted - set(STEPS)
    if unknown:
        raise ValueError(f"unknown normalisation steps: {sorted(unknown)}")
    result = unicodedata.normalize("NFC", text).lower()
    for name, step in STEPS.items():
        if name in wanted:
            result = step(result)
    return result


def digits_only(text: str) -> str:
    """The digits of ``text`` in ASCII, whatever script they were typed in."""
    return "".join(ch for ch in western_digits(text) if ch.isascii() and ch.isdigit())
