"""/metrics on the WhatsApp receiver process: signed webhooks counted and timed, bad ones too.

Uses the receiver app as tests/channels/test_whatsapp_receiver.py serves it (journal,
relay, delivery database, a fake Rasa notice endpoint); customers sign like Meta.
"""
from __future__ import annotations

from tests.bot.metrics.scrape import delta, scrape
from tests.channels.test_whatsapp_receiver import receiver
from tests.channels.whatsapp_harness import APP_SECRET, PHONE_NUMBER_ID, WEBHOOK_PATH
from tests.fakes.fake_customer import FakeCustomer


async def test_receiver_counts_and_times_webhooks(tmp_path) -> None:
    async with receiver(tmp_path) as running:
        before = await scrape(f"{running.url}/metrics")
        customer = FakeCustomer(f"{running.url}{WEBHOOK_PATH}", APP_SECRET, PHONE_NUMBER_ID, "971504440001")
        for text in ("مرحبا", "وين طلبي؟"):
            assert (await customer.say(text))[0] == 200
        forged = FakeCustomer(f"{running.url}{WEBHOOK_PATH}", "not-the-app-secret", PHONE_NUMBER_ID, "971504440002")
        assert (await forged.say("hello"))[0] == 401  # signature mismatch (channels/webhook_errors.py)
        after = await scrape(f"{running.url}/metrics")
    assert delta(before, after, "majlis_webhooks_received_total", channel="whatsapp_cloud") == 3
    assert delta(before, after, "majlis_webhooks_acknowledged_total", channel="whatsapp_cloud", status="2xx") == 2
    assert delta(before, after, "majlis_webhooks_acknowledged_total", channel="whatsapp_cloud", status="4xx") == 1
    assert delta(before, after, "majlis_webhook_ack_seconds_count", channel="whatsapp_cloud") == 3
