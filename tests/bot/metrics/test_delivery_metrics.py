"""Delivery series from the real delivery service (SQLite and PostgreSQL): a message sent, a
permanent provider failure by its error code, a reply after the window closed and the
template queued instead.  The scripted sender stands in for the provider; time is a clock.
"""
from __future__ import annotations

from datetime import timedelta

from prometheus_client import REGISTRY

from bot.delivery import OutboundMessage
from bot.errors import ProviderAPIError
from tests.bot.delivery.conftest import make, store  # noqa: F401 - fixtures
from tests.bot.delivery.helpers import CHANNEL, Clock, EchoHandler, ScriptedSender, item
from tests.bot.storage.backends import engine, pg_url  # noqa: F401 - fixtures

TEMPLATE = {"type": "template", "template": {"name": "reengage"}}
LABEL = "other"  # the test channel's name is not a Majlis channel: bounded to "other"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_sent_failed_and_window_series(make) -> None:  # noqa: F811
    before = {key: sample(*key[:1], **dict(key[1:])) for key in KEYS}
    clock = Clock()
    sender = ScriptedSender(template=TEMPLATE)
    delivery = await make(sender, EchoHandler(), clock=clock)
    await delivery.accept([item("m1", sent_at=clock.now)])  # the echo reply is sent
    await delivery.drain()
    sender.fail(ProviderAPIError(131026, "Message undeliverable", False))
    await delivery.enqueue(OutboundMessage(channel=CHANNEL, account="acct-1", customer="cust-1",
                                           payload={"text": "lost"}, idempotency_key="k-lost", kind="text"))
    await delivery.drain()
    clock.now += timedelta(hours=25)  # the customer-service window has closed
    await delivery.enqueue(OutboundMessage(channel=CHANNEL, account="acct-1", customer="cust-1",
                                           payload={"text": "late"}, idempotency_key="k-late", kind="text"))
    await delivery.drain()
    moved = {key: sample(*key[:1], **dict(key[1:])) - before[key] for key in KEYS}
    assert moved == {
        ("majlis_messages_sent_total", ("channel", LABEL), ("kind", "text")): 1,
        ("majlis_messages_sent_total", ("channel", LABEL), ("kind", "template")): 1,
        ("majlis_messages_failed_total", ("channel", LABEL), ("error_code", "131026")): 1,
        ("majlis_window_expiries_total", ("channel", LABEL)): 1,
        ("majlis_template_fallbacks_total", ("channel", LABEL)): 1,
    }


KEYS = [("majlis_messages_sent_total", ("channel", LABEL), ("kind", "text")),
        ("majlis_messages_sent_total", ("channel", LABEL), ("kind", "template")),
        ("majlis_messages_failed_total", ("channel", LABEL), ("error_code", "131026")),
        ("majlis_window_expiries_total", ("channel", LABEL)),
        ("majlis_template_fallbacks_total", ("channel", LABEL))]
