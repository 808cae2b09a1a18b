"""Arabizi (Arabic written in Latin letters and digits) to Arabic script.

The goal is not a perfect spelling but the same NLU features as the Arabic the
customer meant, so a trainer writes an intent once in Arabic and the Arabizi
form is understood too.  Known words come from a lexicon; the rest go through
letter rules (3=ع, 7=ح, 2=ء, 5=خ, 6=ط, 9=ق, sh=ش, kh=خ ...).
"""
from __future__ import annotations

import re
from typing import List, Tuple

from bot.language.arabizi_lexicon import LEXICON
from bot.language.normalize import normalize

# Longest patterns first: a quote marks a dotted variant ('3 / 3' = غ, '7 = خ, '6 = ظ).
_MULTI: List[Tuple[str, str]] = [
    ("'3", "غ"), ("3'", "غ"), ("'7", "خ"), ("7'", "خ"), ("'6", "ظ"), ("6'", "ظ"), ("'9", "ض"), ("9'", "ض"),
    ("sh", "ش"), ("ch", "ش"), ("kh", "خ"), ("gh", "غ"), ("th", "ث"), ("dh", "ذ"),
    ("aa", "ا"), ("ee", "ي"), ("ii", "ي"), ("oo", "و"), ("ou", "و"), ("uu", "و"), ("ei", "ي"), ("ai", "ي"),
]
_SINGLE = {
    "b": "ب", "t": "ت", "j": "ج", "g": "ج", "d": "د", "r": "ر", "z": "ز", "s": "س", "f": "ف", "q": "ق",
    "k": "ك", "l": "ل", "m": "م", "n": "ن", "h": "ه", "w": "و", "y": "ي", "p": "ب", "v": "ف", "c": "ك",
    "x": "كس", "2": "ء", "3": "ع", "5": "خ", "6": "ط", "7": "ح", "8": "ق", "9": "ق",
}
_VOWELS = set("aeiou")
_WORD = re.compile(r"[a-z0-9']+")


def _rules(word: str) -> str:
    out: List[str] = []
    i = 0
    last = len(word) - 1
    while i <= last:
        pair = word[i : i + 2]
        mapped = next((ar for lat, ar in _MULTI if lat == pair), None)
        if mapped is not None:
            out.append("ا" + mapped if i == 0 and pair[0] in _VOWELS and mapped != "ا" else mapped)
            i += 2
            continue
        ch = word[i]
        if ch in _VOWELS:
            if i == 0:
                out.append("ا")
            elif ch == "a":
                if i == last:
                    out.append("ه" if len(word) > 3 else "ا")
                elif word[i + 1] in "yw" or word[i + 1] in _VOWELS:
                    out.append("ا")  # 3ayez = عايز: before y/w the a is long
                # otherwise a short vowel between consonants (kallem = كلم, sa7 = صح): not written
            elif ch in "iou":
                out.append("ي" if ch == "i" else "و")
            # a medial or final 'e' is a short vowel: Arabic does not write it
        elif ch in _SINGLE:
            arabic = _SINGLE[ch]
            if not (out and out[-1] == arabic and ch not in "aeiou"):  # doubled consonant = one letter
                out.append(arabic)
        elif ch.isdigit():
            out.append(ch)
        i += 1
    return "".join(out)


def transliterate_word(word: str) -> str:
    """One Arabizi word in (normalised) Arabic script."""
    lowered = word.lower()
    if lowered.isdigit():
        return lowered
    known = LEXICON.get(lowered)
    if known is None and lowered.startswith(("el", "al")) and len(lowered) > 4:
        # "elfatoora" is ال + fatoora
        rest = LEXICON.get(lowered[2:])
        known = "ال" + rest if rest else None
    return normalize(known if known is not None else _rules(lowered))


def transliterate(text: str) -> str:
    """Every Latin word of ``text`` in Arabic script; other characters unchanged."""
    return _WORD.sub(lambda m: transliterate_word(m.group(0)), text.lower())
