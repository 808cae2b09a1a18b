"""Arabizi reaches the same (normalised) Arabic the customer meant."""
import pytest

from bot.language.arabizi import transliterate, transliterate_word
from bot.language.normalize import normalize


@pytest.mark.parametrize("arabizi,arabic", [
    ("fatoora", "فاتورة"),
    ("shakwa", "شكوى"),
    ("3ayez", "عايز"),
    ("7ad", "حد"),
    ("mowazaf", "موظف"),
    ("elfatoora", "الفاتورة"),
    ("sa7", "صح"),
    ("shukran", "شكرا"),
    ("5alas", "خلاص"),
    ("6alabi", "طلبي"),
])
def test_words(arabizi, arabic):
    assert transliterate_word(arabizi) == normalize(arabic)


def test_sentence_keeps_digits_and_punctuation():
    assert transliterate("ana 3ayez 10 giga!") == "انا عايز 10 جيجا!"


def test_letter_rules_for_unknown_words():
    # kh=خ, 3=ع, doubled consonants written once, short vowels unwritten, long a before y kept
    assert transliterate_word("khallas") == "خلس"
    assert transliterate_word("3arabi") == "عربي"
    assert transliterate_word("3ayza") == "عايزه"
