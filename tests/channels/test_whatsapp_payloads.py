"""channels/whatsapp_cloud/payloads.py: pure builders, each limit tested, no HTTP."""
from __future__ import annotations

import logging

import pytest

from channels._text import utf16_len
from channels.whatsapp_cloud.payloads import (
    EMPTY_BODY,
    MAX_BUTTON_TITLE_CHARS,
    MAX_CAPTION_CHARS,
    MAX_INTERACTIVE_BODY_CHARS,
    MAX_LIST_ROW_TITLE_CHARS,
    MAX_LIST_ROWS,
    MAX_REPLY_BUTTONS,
    MAX_TEXT_CHARS,
    build_buttons_payloads,
    build_custom_payload,
    build_media_payload,
    build_numbered_text_payloads,
    build_read_receipt,
    build_template_payload,
    build_text_payloads,
)
from tests.fakes.fake_graph import validate

TO = "971500000001"


def buttons(n: int, title: str = "Option {n}"):
    return [{"title": title.format(n=i), "payload": f"/choose{{\"n\": {i}}}"} for i in range(1, n + 1)]


def test_text_payload():
    assert build_text_payloads(TO, "مرحبا") == [{
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": TO,
        "type": "text", "text": {"body": "مرحبا", "preview_url": False},
    }]


def test_long_text_is_split_into_valid_messages():
    payloads = build_text_payloads(TO, "كلمة " * 2000)
    assert len(payloads) == 3
    assert all(utf16_len(p["text"]["body"]) <= MAX_TEXT_CHARS and validate(p) is None for p in payloads)


def test_empty_text_sends_nothing():
    assert build_text_payloads(TO, "  ") == []


def test_up_to_three_short_buttons_are_reply_buttons():
    [payload] = build_buttons_payloads(TO, "Pay now?", buttons(MAX_REPLY_BUTTONS))
    assert validate(payload) is None
    interactive = payload["interactive"]
    assert interactive["type"] == "button" and interactive["body"] == {"text": "Pay now?"}
    assert interactive["action"]["buttons"][0] == {"type": "reply", "reply": {"id": '/choose{"n": 1}', "title": "Option 1"}}


def test_four_to_ten_buttons_become_a_list():
    [payload] = build_buttons_payloads(TO, "Pick a bundle", buttons(MAX_LIST_ROWS))
    assert validate(payload) is None
    assert payload["interactive"]["type"] == "list"
    assert payload["interactive"]["action"]["button"] == "Choose"
    assert len(payload["interactive"]["action"]["sections"][0]["rows"]) == MAX_LIST_ROWS


def test_arabic_list_gets_an_arabic_button_label():
    [payload] = build_buttons_payloads(TO, "اختر الباقة", buttons(5, "باقة {n}"))
    assert payload["interactive"]["action"]["button"] == "اختر"


def test_a_long_title_moves_buttons_to_a_list_and_long_rows_are_shortened(caplog):
    long_title = "Unlimited data for thirty days"
    assert utf16_len(long_title) > MAX_LIST_ROW_TITLE_CHARS > MAX_BUTTON_TITLE_CHARS
    with caplog.at_level(logging.WARNING):
        [payload] = build_buttons_payloads(TO, "Pick", [{"title": long_title, "payload": "/a"}, {"title": "No", "payload": "/b"}])
    row = payload["interactive"]["action"]["sections"][0]["rows"][0]
    assert payload["interactive"]["type"] == "list" and validate(payload) is None
    assert row["title"].endswith("…") and utf16_len(row["title"]) <= MAX_LIST_ROW_TITLE_CHARS
    assert row["description"] == long_title
    assert "shortened" in caplog.text and long_title not in caplog.text


def test_more_than_ten_buttons_fall_back_to_numbered_text(caplog):
    with caplog.at_level(logging.WARNING):
        payloads = build_buttons_payloads(TO, "Pick a store", buttons(12))
    [payload] = payloads
    assert payload["type"] == "text"
    body = payload["text"]["body"]
    assert body.startswith("Pick a store\n\n1. Option 1\n2. Option 2") and "12. Option 12" in body
    assert "numbered text" in caplog.text


def test_duplicate_titles_use_a_list():
    [payload] = build_buttons_payloads(TO, "Pick", [{"title": "Same", "payload": "/a"}, {"title": "Same", "payload": "/b"}])
    assert payload["interactive"]["type"] == "list"


def test_long_body_goes_first_as_text_then_the_buttons():
    text = "سطر طويل " * 600
    payloads = build_buttons_payloads(TO, text, buttons(2))
    assert [p["type"] for p in payloads[:-1]] == ["text"] * (len(payloads) - 1)
    assert payloads[-1]["type"] == "interactive"
    assert utf16_len(payloads[-1]["interactive"]["body"]["text"]) <= MAX_INTERACTIVE_BODY_CHARS
    assert all(validate(p) is None for p in payloads)


def test_buttons_without_text_get_a_placeholder_body():
    [payload] = build_buttons_payloads(TO, "", buttons(2))
    assert payload["interactive"]["body"]["text"] == EMPTY_BODY


def test_numbered_text_without_intro():
    [payload] = build_numbered_text_payloads(TO, "", ["a", "b"])
    assert payload["text"]["body"] == "1. a\n2. b"


def test_media_payloads():
    assert build_media_payload(TO, "image", link="https://x/y.png")["image"] == {"link": "https://x/y.png"}
    document = build_media_payload(TO, "document", media_id="123", caption="bill", filename="bill.pdf")
    assert document["document"] == {"id": "123", "caption": "bill", "filename": "bill.pdf"}
    assert "caption" not in build_media_payload(TO, "audio", link="https://x/a.ogg", caption="no")["audio"]
    with pytest.raises(ValueError):
        build_media_payload(TO, "hologram", link="x")
    with pytest.raises(ValueError):
        build_media_payload(TO, "image")


def test_long_caption_is_shortened(caplog):
    with caplog.at_level(logging.WARNING):
        payload = build_media_payload(TO, "image", link="https://x", caption="c" * 2000)
    assert utf16_len(payload["image"]["caption"]) <= MAX_CAPTION_CHARS
    assert "caption shortened" in caplog.text


def test_template_payload():
    assert build_template_payload(TO, "reengage", "ar") == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": TO, "type": "template",
        "template": {"name": "reengage", "language": {"code": "ar", "policy": "deterministic"}},
    }
    with_params = build_template_payload(TO, "bill", "en", [{"type": "body", "parameters": [{"type": "text", "text": "150"}]}])
    assert with_params["template"]["components"][0]["type"] == "body"


def test_custom_json_passthrough():
    location = {"type": "location", "location": {"latitude": 1, "longitude": 2}}
    assert build_custom_payload(TO, location) == {**location, "messaging_product": "whatsapp",
                                                   "recipient_type": "individual", "to": TO}
    assert build_custom_payload(TO, {"whatsapp": location, "instagram": {}})["type"] == "location"
    assert build_custom_payload(TO, {"no": "type"}) is None


def test_read_receipt_with_and_without_typing():
    assert build_read_receipt("wamid.1") == {"messaging_product": "whatsapp", "status": "read",
                                             "message_id": "wamid.1", "typing_indicator": {"type": "text"}}
    assert "typing_indicator" not in build_read_receipt("wamid.1", typing=False)
