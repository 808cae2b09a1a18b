"""What the linear intent classifier reads: three views of one message.

- ``chars``: the normalised (and, for Arabizi, transliterated) tokens joined by
  spaces, for character n-grams within word boundaries.  Robust to spelling,
  morphology the stemmer misses and unseen inflections.
- ``words``: light stems (:mod:`bot.language.stem`) as words, for word unigrams
  and bigrams: "card not arrived" / "بطاقتي ما وصلت" as units a char n-gram
  cannot see across.
- ``dialect``: for each dialect word (:mod:`bot.language.dialect_lexicon`) its
  shared form, so بدي, أبي, عايز and نحب all add the feature ``اريد``.
- ``mapped``: the stems with every dialect word replaced by its shared form, in
  order, for word bigrams that read the same across dialects (بدي اغير and
  ابغى اغير both give ``اريد اغير``).

The same function serves training and prediction, so both see the same features.
"""
from __future__ import annotations

import re
from typing import Iterable, List, NamedTuple, Optional

from bot.language.dialect_lexicon import AMBIGUOUS, LEXICON
from bot.language.normalize import normalize
from bot.language.stem import light_stem

_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")


class Views(NamedTuple):
    chars: str
    words: str
    dialect: str
    mapped: str = ""


def shared_form(word: str) -> Optional[str]:
    """The shared form of one dialect word (normalised), or None."""
    if word in AMBIGUOUS:
        return None
    shared = LEXICON.get(word)
    if shared is None and word.startswith("و") and len(word) > 2:
        shared = LEXICON.get(word[1:])  # وبدي، وليش
    return shared.replace(" ", "_") if shared is not None else None


def dialect_forms(words: Iterable[str]) -> List[str]:
    """The shared forms of the dialect words among ``words`` (normalised)."""
    return [form for form in map(shared_form, words) if form is not None]


def views(lemmas: Iterable[str]) -> Views:
    """The three views of a message from its token lemmas (already normalised)."""
    words = [_DIGITS.sub("0", w) for w in lemmas if w]
    stems = [light_stem(w) for w in words]
    shared = [shared_form(w) for w in words]
    mapped = [form or stem for form, stem in zip(shared, stems)]
    return Views(" ".join(words), " ".join(stems), " ".join(f for f in shared if f), " ".join(mapped))


def views_of_text(text: str) -> Views:
    """:func:`views` of raw text, tokenised on word characters (benchmarks, tests)."""
    return views(normalize(w) for w in _WORD.findall(text))
