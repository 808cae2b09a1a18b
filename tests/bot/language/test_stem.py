"""Light stemming: clitics and pronouns off, short words untouched."""
from __future__ import annotations

import pytest

from bot.language.stem import light_stem


@pytest.mark.parametrize("word, stem", [
    ("بطاقتي", "بطاق"), ("والبطاقه", "بطاق"), ("بالبطاقه", "بطاق"), ("بطاقتك", "بطاق"),
    ("حسابي", "حساب"), ("وحسابي", "حساب"), ("للحساب", "حساب"), ("تحويلات", "تحويل"),
    ("مابيشتغلش", "بيشتغل"), ("فلوسي", "فلوس"),
])
def test_clitics_and_pronouns_come_off(word: str, stem: str) -> None:
    assert light_stem(word) == stem


@pytest.mark.parametrize("word", ["بدي", "كرت", "وين", "card", "4821937"])
def test_short_latin_and_digit_words_are_unchanged(word: str) -> None:
    assert light_stem(word) == word
