"""Personal data: masked for display, synthetic before training (Arabic, Arabizi, English)."""
from __future__ import annotations

from bot.workbench.pii import annotate, mask, scrub


def test_phones_orders_emails_and_names_are_masked() -> None:
    text = "طلبي ٤٨٢١٩٣٧ ما وصل، رقمي +971 50 123 4567 والايميل a.b@mail.ae واسمي خالد"
    shown = mask(text)
    for secret in ("٤٨٢١٩٣٧", "123 4567", "a.b@mail.ae", "خالد"):
        assert secret not in shown
    assert "•••٣٧" in shown  # an order keeps its last two digits, so a trainer can tell orders apart
    assert mask("hi, my name is Omar, order ORD-1234567") == "hi, my name is •••, order •••67"
    assert mask("ana esmi Fatma w 6alabi #7654321") == "ana esmi ••• w 6alabi •••21"
    assert mask("Mariam here, where is my order", names=["Mariam Ali"]) == "••• here, where is my order"


def test_training_text_carries_synthetic_values_and_the_order_entity() -> None:
    text, entities = scrub("my order ORD-1234567 never came, call 0501112233", "en")
    assert "1234567" not in text and "0501112233" not in text and "0500000000" in text
    (start, end, name), = entities
    assert name == "order_number" and text[start:end].isdigit() and len(text[start:end]) == 7
    assert annotate(text, entities) == f"my order [{text[start:end]}](order_number) never came, call 0500000000"
    arabic, _ = scrub("اسمي مريم وايميلي m@x.com", "ar")
    assert arabic == "اسمي سارة وايميلي customer@example.com"


def test_annotate_ignores_bad_spans_and_escapes_brackets() -> None:
    assert annotate("abc [x] def", [(0, 3, "area"), (2, 5, "date"), (8, 11, "Bad-Name")]) == "[abc](area) (x) def"
