"""Arabic light stemming: clitics off, the word's core kept.

Arabic glues conjunctions, prepositions, the article and pronouns to words:
وببطاقتي ("and with my card") is و + ب + بطاقة + ي.  A bag-of-words model that
sees whole words treats بطاقتي, والبطاقة and لبطاقتك as three unrelated words.
This module removes, conservatively, the conjunction و, the article with its proclitics
(ال, لل; single ب ل ك ف are left: too many words begin with them), the dialect future/present markers (ح، ه، ب before an imperfect verb
are left alone: too ambiguous without a dictionary) and the attached pronouns
(ي ني نا ك كم كن ه ها هم هن), plus Egyptian/Levantine/Maghrebi negation's
final ش (مابيشتغلش).  A stem keeps at least three letters, so short words are
returned unchanged.

Written for this project (light stemming in the style of Larkey et al., 2007;
no code from GPL stemmers).  Works on normalised text (ه for ة, ي for ى, ا for
أإآ): see :func:`bot.language.normalize.normalize`.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Tuple

# Longest first. Article forms with a conjunction or preposition in front.
_ARTICLES: Tuple[str, ...] = ("وبال", "وال", "بال", "كال", "فال", "لل", "ال")
# Only و is stripped on its own: ب ل ك ف also begin many words (بطاقه, لغه, كرت, فلوس),
# and without a dictionary a light stemmer cannot tell them apart (Larkey's light10 does the same).
_CONJ = "و"
# Attached pronouns and the feminine/plural endings that hide the stem, longest first.
_SUFFIXES: Tuple[str, ...] = ("كما", "هما", "ها", "هم", "هن", "كم", "كن", "نا", "ني", "ات", "ون", "ين", "ه", "ي",
                              "ك")
_MIN_STEM = 3


@lru_cache(maxsize=50_000)
def light_stem(word: str) -> str:
    """The core of one normalised Arabic word (unchanged if it is not Arabic or too short)."""
    if len(word) <= _MIN_STEM or not ("\u0621" <= word[0] <= "\u064a"):
        return word
    stem = word
    # Negation circumfix ما...ش (مابيشتغلش, ماعنديش): drop both ends.
    if stem.startswith("ما") and stem.endswith("ش") and len(stem) >= _MIN_STEM + 3:
        stem = stem[2:-1]
    for article in _ARTICLES:
        if stem.startswith(article) and len(stem) - len(article) >= _MIN_STEM - 1:
            stem = stem[len(article):]
            break
    else:
        # The conjunction (وبطاقتي -> بطاقتي), only when enough is left.
        if stem[0] == _CONJ and len(stem) - 1 >= _MIN_STEM + 1:
            stem = stem[1:]
    for suffix in _SUFFIXES:
        if stem.endswith(suffix) and len(stem) - len(suffix) >= _MIN_STEM:
            stem = stem[: -len(suffix)]
            # بطاقتي is بطاقه + ي: the ta marbuta (ه after normalisation, itself stripped
            # above as a suffix) shows as ت before a pronoun. Dropping it gives بطاقه,
            # بطاقتي and بطاقتك one stem (بطاق); a verb's ت (استلمتها) goes too, harmlessly.
            if suffix != "ه" and stem.endswith("ت") and len(stem) > _MIN_STEM:
                stem = stem[:-1]
            break
    return stem
