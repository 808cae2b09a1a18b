"""What the linear intent classifier reads: three views of one message.

- ``chars``: the normalised (and, for Arabizi, transliterated) tokens joined by
  spaces, for character n-grams within word boundaries.  Robust to spelling,
  morphology the stemmer misses and unseen inflections.
- ``words``: light stems (:mod:`bot.language.stem`) as words, for word unigrams
  and bigrams: "card not arrived" / "بطاقتي ما وصلت" as units a char n-gram
  cannot see across.
- ``dialect``: for each dialect word (:mod:`bot.language.dialect_lexicon`) its
  shared form, so بدي, أبي, عايز and نحب all add the feature ``اريد``.

The same function serves training and prediction, so both see the same features.
"""
from __future__ import annotations

import re
from typing import Iterable, List, NamedTuple

from bot.language.dialect_lexicon import AMBIGUOUS, LEXICON
from bot.language.normalize import normalize
from bot.language.stem import light_stem

_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")


class Views(NamedTuple):
    chars: str
    words: str
    dialect: str


def dialect_forms(words: Iterable[str]) -> List[str]:
    """The shared forms of the dialect words among ``words`` (normalised)."""
    forms = []
    for word in words:
        shared = LEXICON.get(word)
        if shared is None and word.startswith("و") and len(word) > 2:
            shared = LEXICON.get(word[1:])  # وبدي، وليش
        if shared is not None and word not in AMBIGUOUS:
            forms.append(shared.replace(" ", "_"))
    return forms


def views(lemmas: Iterable[str]) -> Views:
    """The three views of a message from its token lemmas (already normalised)."""
    words = [_DIGITS.sub("0", w) for w in lemmas if w]
    stems = [light_stem(w) for w in words]
    return Views(" ".join(words), " ".join(stems), " ".join(dialect_forms(words)))


def views_of_text(text: str) -> Views:
    """:func:`views` of raw text, tokenised on word characters (benchmarks, tests)."""
    return views(normalize(w) for w in _WORD.findall(text))
