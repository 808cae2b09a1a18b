"""Our outbox key rides with each send and comes back with its statuses (bot/delivery/in_doubt.py)."""
from __future__ import annotations

from channels.twilio.payloads import callback_key_of, with_callback_key
from channels.whatsapp_cloud.parse import parse_webhook
from channels.whatsapp_cloud.payloads import build_text_payloads, with_callback_data
from channels.whatsapp_cloud.webhook import status_update


def test_a_whatsapp_send_carries_its_key_in_biz_opaque_callback_data() -> None:
    [payload] = build_text_payloads("971500000001", "أهلاً! كيف أقدر أساعدك؟")
    body = with_callback_data(payload, "wamid.HBgL:0")
    assert body == {**payload, "biz_opaque_callback_data": "wamid.HBgL:0"}
    assert "biz_opaque_callback_data" not in payload  # the stored payload is left as it was
    assert "biz_opaque_callback_data" not in with_callback_data(payload, "k" * 513)  # over Meta's limit: left out


def test_a_whatsapp_status_echoing_the_key_settles_the_row_of_its_number() -> None:
    body = {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550000000", "phone_number_id": "1065"},
        "statuses": [{"id": "wamid.out1", "status": "delivered", "timestamp": "1765100000", "recipient_id": "9715",
                      "biz_opaque_callback_data": "wamid.in1:0"}]}}]}]}
    [status] = parse_webhook(body).statuses
    update = status_update(status)
    assert (update.provider_message_id, update.status, update.callback_key, update.account) == (
        "wamid.out1", "delivered", "wamid.in1:0", "1065")


def test_a_twilio_send_carries_its_key_on_the_status_callback_url() -> None:
    url = with_callback_key("https://majlis.example.com/webhooks/twilio_whatsapp/status?tenant=a", "SM0a1b:2")
    assert url == "https://majlis.example.com/webhooks/twilio_whatsapp/status?tenant=a&majlis_key=SM0a1b:2"
    assert callback_key_of(url) == "SM0a1b:2"
    assert callback_key_of("https://majlis.example.com/webhooks/twilio_whatsapp/status") is None
    assert callback_key_of(url + "&majlis_key=other") is None  # repeated: not ours to trust
