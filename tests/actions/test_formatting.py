"""Reply values: isolates, amounts, Gulf month names, Arabic counted nouns."""
from datetime import date
from decimal import Decimal

import pytest

from actions import formatting


def test_isolate_wraps_in_first_strong_isolate():
    assert formatting.isolate("MJ-000001") == "\u2068MJ-000001\u2069"


@pytest.mark.parametrize("value, expected", [
    (Decimal("150"), "150"), (Decimal("150.00"), "150"), (Decimal("150.5"), "150.50"),
    (Decimal("1250"), "1,250"), (Decimal("1250.75"), "1,250.75"),
])
def test_amount(value, expected):
    assert formatting.amount(value) == expected


def test_dates_in_both_languages():
    day = date(2025, 7, 15)
    assert formatting.day_month_en(day) == "15 July"
    assert formatting.day_month_ar(day) == "15 يوليو"
    assert formatting.month_year_en(day) == "July 2025"
    assert formatting.month_year_ar(day) == "يوليو 2025"


@pytest.mark.parametrize("count, hours, days", [
    (1, "ساعة", "يوم"), (2, "ساعتين", "يومين"), (3, "3 ساعات", "3 أيام"), (10, "10 ساعات", "10 أيام"),
    (11, "11 ساعة", "11 يوم"), (30, "30 ساعة", "30 يوم"),
])
def test_arabic_counted_nouns(count, hours, days):
    assert formatting.hours_ar(count) == hours
    assert formatting.days_ar(count) == days


def test_english_counts():
    assert formatting.hours_en(1) == "1 hour"
    assert formatting.hours_en(6) == "6 hours"
    assert formatting.days_en(1) == "1 day"
    assert formatting.days_en(30) == "30 days"


def test_bullets():
    assert formatting.bullets(["a", "b"]) == "• a\n• b"
