"""Each Arabic normalisation step, alone and in the pipeline order."""
import pytest

from bot.language.normalize import (
    collapse_repeats, digits_only, normalize, remove_invisible, remove_tatweel, strip_diacritics, unify_alef,
    unify_alef_maqsura, unify_ta_marbuta, western_digits,
)


def test_diacritics_are_removed():
    assert strip_diacritics("مَرْحَبًا") == "مرحبا"
    assert strip_diacritics("شُكْرًا جَزِيلًا") == "شكرا جزيلا"


def test_tatweel_is_removed():
    assert remove_tatweel("مـــرحبا") == "مرحبا"


@pytest.mark.parametrize("written", ["أحمد", "إحمد", "آحمد", "ٱحمد"])
def test_alef_forms_become_bare_alef(written):
    assert unify_alef(written) == "احمد"


def test_hamza_seats():
    assert unify_alef("مسؤول") == "مسوول"
    assert unify_alef("رئيس") == "رييس"


def test_alef_maqsura_and_persian_ya():
    assert unify_alef_maqsura("على") == "علي"
    assert unify_alef_maqsura("شکوی") == "شكوي"


def test_ta_marbuta():
    assert unify_ta_marbuta("فاتورة") == "فاتوره"


def test_arabic_indic_and_persian_digits():
    assert western_digits("٤٨٢١٩٣٧") == "4821937"
    assert western_digits("۱۲۳") == "123"
    assert digits_only("رقم الطلب: ٤٨٢-١٩٣٧") == "4821937"


def test_repeated_letters():
    assert collapse_repeats("شكرااااا") == "شكرا"
    assert collapse_repeats("goooood") == "good"
    # two identical letters are ordinary spelling, not emphasis
    assert collapse_repeats("الله") == "الله"


def test_invisible_marks_are_removed():
    assert remove_invisible("\u200fمرحبا\u200e") == "مرحبا"


def test_full_normalisation_makes_variants_equal():
    variants = ["فَاتُورَة", "فـــاتورة", "فاتوره", "فاتورةةة"]
    assert {normalize(v) for v in variants} == {"فاتوره"}
    assert normalize("إلغاء الباقة") == normalize("الغاء الباقه")


def test_unknown_step_is_an_error():
    with pytest.raises(ValueError):
        normalize("x", ["diacritics", "no-such-step"])
