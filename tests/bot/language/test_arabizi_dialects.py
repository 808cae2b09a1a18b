"""Arabizi beyond Gulf: Egyptian, Levantine and Maghrebi (with French mixed in), and short lines."""
from __future__ import annotations

import pytest

from bot.language.arabizi import transliterate
from bot.language.detect import detect


@pytest.mark.parametrize("text", [
    "bade a3ref shu sar bel talab",             # Levantine
    "lesh el fatoora ktir 3alye",               # Levantine
    "bghit n3raf 3lach la facture ghalia bzaf",  # Moroccan, French mixed in
    "kifach nbeddel forfait dyali",              # Moroccan
    "chnowa l offre mta3 internet",              # Tunisian
    "3ayza akallem 7ad men khedmet el 3omala",   # Egyptian
])
def test_dialect_arabizi_is_arabizi(text: str) -> None:
    guess = detect(text)
    assert (guess.code, guess.form, guess.clear) == ("ar", "arabizi", True)


def test_maghrebi_words_keep_their_long_vowels() -> None:
    assert transliterate("3lach bghit kifach bzaf") == "علاش بغيت كيفاش بزاف"


@pytest.mark.parametrize("text", ["ana fine bas", "ana busy bas"])
def test_short_mixed_lines_are_left_to_the_conversation(text: str) -> None:
    assert detect(text).clear is False


def test_french_in_a_short_line_is_not_english() -> None:
    assert detect("la merci").form == "arabizi"


@pytest.mark.parametrize("text", ["thank you", "my bill is wrong", "I want to talk to an agent"])
def test_english_stays_english(text: str) -> None:
    guess = detect(text)
    assert (guess.form, guess.clear) == ("english", True)
