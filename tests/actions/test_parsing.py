"""Reading customer answers: digits in any script, order numbers, amounts, sizes, languages, places."""
from decimal import Decimal

import pytest

from actions.parsing import (
    find_alias,
    is_valid_amount,
    language_mentioned,
    parse_amount,
    parse_bundle_size,
    parse_order_number,
    place_aliases,
    to_western_digits,
)


@pytest.mark.parametrize("text, expected", [
    ("١٢٣٤٥٦٧٨٩٠", "1234567890"),   # Arabic-Indic
    ("۱۲۳۴۵۶۷۸۹۰", "1234567890"),   # Persian
    ("١٥٠٫٥", "150.5"),             # Arabic decimal separator
    ("١٬٢٥٠", "1,250"),             # Arabic thousands separator
    ("no digits", "no digits"),
])
def test_to_western_digits(text, expected):
    assert to_western_digits(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("4821937", "4821937"),
    ("#4821937", "4821937"),
    ("ORD4821937", "4821937"),
    ("ORD-4821937", "4821937"),
    ("ord-4821937 pls", "4821937"),
    ("٤٨٢١٩٣٧", "4821937"),
    ("۴۸۲۱۹۳۷", "4821937"),
    ("رقم الطلب ٤٨٢١٩٣٧ لو سمحت", "4821937"),
    ("my order is 4821937, order 4821937", "4821937"),  # the same number twice is fine
])
def test_order_numbers_in_any_form(text, expected):
    assert parse_order_number(text) == expected


@pytest.mark.parametrize("text", [
    "", None, "abc", "482193", "48219370", "0501234567",   # too short, too long, a phone number
    "4821937 or 7301846",                                    # two different numbers: ask again
    "ما أعرف",
])
def test_not_an_order_number(text):
    assert parse_order_number(text) is None


@pytest.mark.parametrize("text, expected", [
    ("150 AED", Decimal("150")),
    ("AED 150", Decimal("150")),
    ("١٥٠ درهم", Decimal("150")),
    ("۱۵۰ ریال", Decimal("150")),
    ("200 dirham", Decimal("200")),
    ("50", Decimal("50")),
    ("AED 1,250.50", Decimal("1250.50")),
    ("٤٥٫٥٠", Decimal("45.50")),
    ("they charged me 99 dhs", Decimal("99")),
    ("-50", Decimal("-50")),
])
def test_amounts(text, expected):
    assert parse_amount(text) == expected


@pytest.mark.parametrize("text", ["", None, "a lot", "مية درهم", "3 times 50", "50-60"])
def test_not_one_amount(text):
    assert parse_amount(text) is None


@pytest.mark.parametrize("value, valid", [
    (Decimal("45"), True), (Decimal("0.50"), True), (Decimal("100000"), True),
    (Decimal("0"), False), (Decimal("-5"), False), (Decimal("100001"), False), (Decimal("1.005"), False),
    (None, False),
])
def test_valid_amounts(value, valid):
    assert is_valid_amount(value) is valid


@pytest.mark.parametrize("text, expected", [
    ("10GB", "10GB"), ("10 gb", "10GB"), ("10 جيجا", "10GB"), ("٥ جيجا", "5GB"), ("5 giga", "5GB"),
    ("20", "20GB"), ("١٠", "10GB"), ("the 20 gb one please", "20GB"), ("500MB", "500MB"),
    ("unlimited", "unlimited"), ("Unlimited data", "unlimited"), ("غير محدود", "unlimited"),
    ("انلمتد", "unlimited"), ("maftoo7", "unlimited"),
])
def test_bundle_sizes(text, expected):
    assert parse_bundle_size(text) == expected


@pytest.mark.parametrize("text", ["", None, "big one", "10GB or 20GB", "0 GB"])
def test_not_a_bundle_size(text):
    assert parse_bundle_size(text) is None


@pytest.mark.parametrize("text, expected", [
    ("English please", "en"), ("can we speak in english", "en"), ("بالإنجليزي لو سمحت", "en"),
    ("انقليزي", "en"), ("inglizi law sama7t", "en"),
    ("Arabic please", "ar"), ("عربي لو سمحت", "ar"), ("كلمني بالعربي", "ar"), ("3arabi law sama7t", "ar"),
    ("switch from English to Arabic", "ar"),
    ("change the language", None), ("غير اللغة", None), ("", None), (None, None),
])
def test_language_mentioned(text, expected):
    assert language_mentioned(text) == expected


ALIASES = place_aliases([
    ("Dubai", ["dxb", "دبي"]),
    ("Abu Dhabi", ["ابوظبي", "abu dabi"]),
    ("Sharjah", ["الشارقة", "sharja"]),
    ("Al Ain", ["العين"]),
    ("Ras Al Khaimah", ["rak", "راس الخيمة"]),
])


@pytest.mark.parametrize("text, expected", [
    ("Dubai", "Dubai"), ("dubai", "Dubai"), ("DXB", "Dubai"), ("دبي", "Dubai"),
    ("I'm in Sharjah", "Sharjah"), ("بالشارقة", "Sharjah"), ("والشارقه", "Sharjah"),
    ("أبوظبي", "Abu Dhabi"), ("no signal in al ain", "Al Ain"), ("رأس الخيمة", "Ras Al Khaimah"),
    ("الحين", None),       # "now": must not be read as العين
    ("Ajman", None), ("", None), (None, None), ("١٢٣", None),
])
def test_find_alias(text, expected):
    assert find_alias(text, ALIASES) == expected
