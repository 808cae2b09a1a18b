"""How long an agent may still reply free-form: WhatsApp 24 h, Instagram 7 days (HUMAN_AGENT tag).

The windows come from the delivery layer's record of the customer's last message
(a real DeliveryStore on SQLite and PostgreSQL); the registry adds the channel's length.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.delivery import DeliveryStore
from bot.delivery.types import InboundItem
from bot.handoff.outbound import ChannelRegistry
from channels.instagram.channel import InstagramInput
from channels.whatsapp_cloud.channel import WhatsAppCloudInput
from tests.channels import test_instagram_harness as instagram
from tests.channels import whatsapp_harness as whatsapp

LAST = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)


async def test_whatsapp_24_hours_instagram_7_days(engine) -> None:
    # The real connectors on one store: each says, through the channel port, how long a person may reply.
    store = DeliveryStore(engine)
    try:
        registry = ChannelRegistry()
        registry.discover([WhatsAppCloudInput(whatsapp.settings(), store=store),
                           InstagramInput(instagram.settings(), store=store)])
        await store.accept([InboundItem(channel="whatsapp_cloud", message_id="wamid.1", account="acct",
                                        customer="971500000001", sent_at=LAST),
                            InboundItem(channel="instagram", message_id="mid.1", account="ig-acct",
                                        customer="17841400000001", sent_at=LAST)], LAST + timedelta(seconds=1))
        assert await registry.window_expires_at("whatsapp_cloud", "acct", "whatsapp_cloud:971500000001") == \
            LAST + timedelta(hours=24)
        assert await registry.window_expires_at("instagram", "ig-acct", "instagram:17841400000001") == \
            LAST + timedelta(days=7)
        assert await registry.window_expires_at("whatsapp_cloud", "acct", "whatsapp_cloud:971500000002") is None
        assert await registry.window_expires_at("webchat", "acct", "webchat:abc") is None  # no such channel here
    finally:
        store.close()
