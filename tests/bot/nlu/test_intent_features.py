"""The views the intent model reads: dialect words mapped in place for word bigrams."""
from __future__ import annotations

from bot.language.dialect_lexicon import LEVANTINE, dialect_spellings
from bot.nlu.intent_features import views_of_text


def test_dialect_phrasings_of_one_request_share_their_mapped_word_sequence() -> None:
    gulf, levantine, msa = (views_of_text(t) for t in ("ابغى اغير باقتي", "بدي اغير باقتي", "أريد أغير باقتي"))
    assert gulf.mapped == levantine.mapped == msa.mapped
    assert gulf.mapped.split()[0] == "اريد"
    assert gulf.chars != levantine.chars  # the customer's own words stay in the char view


def test_ambiguous_words_are_not_mapped() -> None:
    # بس is "only" in dialects but also a word of its own; it stays as written
    assert views_of_text("بس ابي اعرف").mapped.split()[0] == "بس"


def test_augmentation_spellings_are_the_regions_words() -> None:
    spellings = dialect_spellings(LEVANTINE)
    assert spellings["اريد"] == "بدي"
    assert "بس" not in spellings.values()
