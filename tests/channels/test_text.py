"""channels/_text.py: splitting on word boundaries, never inside a grapheme."""
from __future__ import annotations

import pytest

from channels._text import graphemes, shorten, split_text, utf16_len, utf8_len

FAMILY = "👨\u200d👩\u200d👧"  # one grapheme, 8 UTF-16 units
FLAG = "🇦🇪"  # two regional indicators, one grapheme
ARABIC_WORD = "مَرْحَبًا"  # letters with harakat (combining marks)


@pytest.mark.parametrize("text", [
    "word " * 2000,
    "مرحبا بكم في خدمة العملاء " * 400,
    FAMILY * 1000,
    (FLAG + " ") * 1500,
    ARABIC_WORD * 900,
    "x" * 10000,
    ("para one.\n" * 300 + "\n") * 3,
])
def test_parts_fit_and_rejoin_to_the_text(text):
    parts = split_text(text, 4096)
    assert all(0 < utf16_len(p) <= 4096 for p in parts)
    assert "".join(parts).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")
    clusters = set(graphemes(text))
    for part in parts:
        assert set(graphemes(part)) <= clusters  # no cluster was cut in two


def test_cuts_on_word_boundaries():
    text = " ".join(f"w{n:04d}" for n in range(2000))
    for part in split_text(text, 4096):
        assert not part.startswith(" ") and not part.endswith(" ")
        assert all(len(word) == 5 for word in part.split(" "))


def test_prefers_a_line_break_late_in_the_part():
    text = "a" * 60 + "\n" + "b" * 30 + " " + "c" * 30
    assert split_text(text, 100) == ["a" * 60, "b" * 30 + " " + "c" * 30]


def test_a_line_break_in_the_second_half_wins_when_a_space_overflows():
    # The 101st character is a space: the part must still end at the late line break.
    text = "a" * 60 + "\n" + "b" * 39 + " " + "c" * 30
    assert split_text(text, 100) == ["a" * 60, "b" * 39 + " " + "c" * 30]
    assert split_text("aaaa bbbb\ncc dd", 12) == ["aaaa bbbb", "cc dd"]
    # A line break early in the part does not count: cut at the overflowing space.
    assert split_text("ab\ncdefghijk lm", 12) == ["ab\ncdefghijk", "lm"]
    # The overflowing character is itself a line break: the best cut of all.
    assert split_text("aaaa\nbbbbbbb\ncc", 12) == ["aaaa\nbbbbbbb", "cc"]


def test_short_and_empty_texts():
    assert split_text("hello", 4096) == ["hello"]
    assert split_text("  \n ", 4096) == []
    assert split_text("", 10) == []


def test_exact_fit_at_a_word_boundary():
    assert split_text("hello world foo bar", 11) == ["hello world", "foo bar"]


def test_flags_and_family_emoji_stay_whole():
    assert split_text(FLAG * 3, 4) == [FLAG] * 3
    assert split_text(FAMILY * 3, 9) == [FAMILY] * 3


def test_byte_measure_for_instagram_like_limits():
    parts = split_text("ب" * 600, 1000, measure=utf8_len)
    assert [utf8_len(p) for p in parts] == [1000, 200]


def test_shorten_keeps_graphemes_and_adds_an_ellipsis():
    assert shorten("short", 20) == "short"
    cut = shorten(ARABIC_WORD * 5, 10)
    assert cut.endswith("…") and utf16_len(cut) <= 10
    assert set(graphemes(cut[:-1])) <= set(graphemes(ARABIC_WORD))
    assert shorten(FAMILY * 5, 20) == FAMILY * 2 + "…"
