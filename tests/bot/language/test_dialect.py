"""Dialect region tags and the conversation's dialect."""
from __future__ import annotations

import pytest

from bot.language.arabizi import transliterate
from bot.language.dialect import conversation_dialect, detect_dialect


@pytest.mark.parametrize("text, region", [
    ("أبي أعرف وش صار على طلبي", "gulf"),
    ("شلون أشحن الرصيد الحين", "gulf"),
    ("عايز أعرف الفاتورة بتاعتي ليه غالية", "egyptian"),
    ("ازاي اغير الباقة دلوقتي", "egyptian"),
    ("بدي اعرف شو صار بالطلب تبعي", "levantine"),
    ("ليش المصاري ما وصلت لهلق", "levantine"),
    ("بغيت نعرف علاش الفاتورة غالية بزاف", "maghrebi"),
    ("كيفاش نبدل الكارطة ديالي", "maghrebi"),
    ("ماذا يجب أن أفعل لتغيير الباقة", "msa"),
    ("فاتورتي", "unknown"),
])
def test_dialect_words_decide_the_region(text: str, region: str) -> None:
    assert detect_dialect(text).region == region


def test_arabizi_is_tagged_on_its_transliteration() -> None:
    assert detect_dialect(transliterate("3ayez a3raf el fatoora beta3ti")).region == "egyptian"
    assert detect_dialect(transliterate("bghit n3raf 3lach")).region == "maghrebi"


def test_more_dialect_words_mean_more_confidence() -> None:
    assert detect_dialect("بدي").confidence < detect_dialect("بدي اعرف شو صار هلق").confidence <= 1.0


def test_the_conversation_dialect_is_not_outvoted_by_msa_or_untagged_turns() -> None:
    turns = [{"language": {"code": "ar", "dialect": {"region": "maghrebi", "confidence": 1.0}}},
             {"language": {"code": "ar", "dialect": {"region": "msa", "confidence": 0.5}}},
             {"language": {"code": "ar", "dialect": {"region": "msa", "confidence": 0.5}}},
             {"language": {"code": "en"}}, {}]
    guess = conversation_dialect(turns)
    assert guess.region == "maghrebi" and guess.confidence == 1.0
    assert conversation_dialect([{"language": {"code": "en"}}]).region == "unknown"
