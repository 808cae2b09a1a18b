"""channels/whatsapp_cloud/webhook.py without Rasa or HTTP: what one POST answers and stores.

Fast enough to run once per mutant (bench/mutation.py runs this file with ``--noconftest``):
real pywa payloads from tests/fixtures/whatsapp, signed as Meta signs them, recorded by a
real :class:`bot.delivery.Delivery` on a SQLite file.  The route tests over real HTTP
are tests/channels/test_whatsapp_cloud.py.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Tuple

import pytest

from bot.config import Secret
from bot.delivery import Delivery, DeliveryStore, InboxState
from bot.storage import create_engine
from channels.meta.graph import sign
from channels.whatsapp_cloud.settings import NumberSettings, WhatsAppSettings
from channels.whatsapp_cloud.webhook import CHANNEL_NAME, WebhookReceipt, record_webhook, status_update
from channels.whatsapp_cloud.parse import parse_webhook

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "whatsapp"
SECRET = Secret("webhook-record-secret")
PHONE = "1122334455667"
CUSTOMER = "972987654321"
JSON = "application/json"
#: The fixtures were captured in 2023: "now" is a day after the text fixture was sent.
NOW = datetime(2023, 10, 12, 17, 0, tzinfo=timezone.utc)


class KickRecorder(Delivery):
    """A Delivery that records instead of processing, as the receiver process's does."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kicked: List[Tuple[str, str]] = []

    def kick(self, conv: Tuple[str, str]) -> None:
        self.kicked.append(conv)


def fixture(name: str) -> Dict[str, Any]:
    return json.loads((FIXTURES / name).read_bytes())


def encode(body: Dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def with_messages(*messages: Dict[str, Any]) -> Dict[str, Any]:
    body = fixture("message__text.json")
    body["entry"][0]["changes"][0]["value"]["messages"] = list(messages)
    return body


def text(message_id: str, body: str, **extra: Any) -> Dict[str, Any]:
    return {"from": CUSTOMER, "id": message_id, "timestamp": "1697043223", "text": {"body": body},
            "type": "text", **extra}


def make_settings(**overrides: Any) -> WhatsAppSettings:
    return WhatsAppSettings(app_secret=SECRET, verify_token=Secret("verify"),
                            numbers={PHONE: NumberSettings(phone_number_id=PHONE, token=Secret("token"))},
                            retention=overrides.pop("retention", timedelta(days=7)), **overrides)


@asynccontextmanager
async def recording_delivery(db: Path, channel: str, now: datetime, *, tables: bool = True
                             ) -> AsyncIterator[KickRecorder]:
    """A :class:`KickRecorder` on a SQLite file (without tables: every write fails)."""
    store = DeliveryStore(create_engine(f"sqlite:///{db}"))
    if tables:
        await store.setup()
    try:
        yield KickRecorder(channel=channel, store=store, sender=None, clock=lambda: now)
    finally:
        store.close()


@pytest.fixture
async def delivery(tmp_path: Path):
    async with recording_delivery(tmp_path / "majlis.sqlite", CHANNEL_NAME, NOW) as service:
        yield service


async def post(delivery: Delivery, raw: bytes, *, signature: Any = "sign", content_type: Any = JSON,
               schedule: bool = False, **settings: Any):
    header = sign(raw, SECRET) if signature == "sign" else signature
    return await record_webhook(raw, header, content_type, settings=make_settings(**settings), delivery=delivery,
                                schedule=schedule)


async def stored(delivery: Delivery, message_id: str):
    found = await delivery.store.inbound(CHANNEL_NAME, message_id)
    return None if found is None else found[0]


async def test_a_signed_text_is_stored_once_with_its_conversation(delivery) -> None:
    raw = (FIXTURES / "message__text.json").read_bytes()
    receipt = await post(delivery, raw)
    assert (receipt.status, receipt.body) == (200, {"status": "ok", "accepted": 1, "statuses": 0})
    assert [item.message_id for item in receipt.accepted] == ["wamid.xyzxyz"]
    assert receipt.conversations == [(PHONE, CUSTOMER)]
    item = await stored(delivery, "wamid.xyzxyz")
    assert (item.channel, item.account, item.customer) == ("whatsapp_cloud", PHONE, CUSTOMER)  # the rows' key
    assert item.payload["message"]["text"]["body"] == "Body Text"
    assert item.sent_at == datetime.fromtimestamp(1697043223, timezone.utc)
    assert item.opens_window is True
    assert (await delivery.store.inbound(CHANNEL_NAME, "wamid.xyzxyz"))[1] is InboxState.PENDING

    again = await post(delivery, raw)  # Meta retries a delivery it thinks failed
    assert (again.status, again.body, again.accepted) == (200, {"status": "ok", "accepted": 0, "statuses": 0}, [])


async def test_every_message_of_a_batch_is_stored_and_duplicates_inside_it_dropped(delivery) -> None:
    body = with_messages(text("wamid.A", "مرحبا"), text("wamid.B", "عندي سؤال عن الطلب"), text("wamid.A", "مرحبا"))
    receipt = await post(delivery, encode(body))
    assert (receipt.status, receipt.body["accepted"]) == (200, 2)
    assert [item.message_id for item in receipt.accepted] == ["wamid.A", "wamid.B"]
    assert receipt.conversations == [(PHONE, CUSTOMER)]  # one conversation, listed once
    assert (await stored(delivery, "wamid.B")).payload["message"]["text"]["body"] == "عندي سؤال عن الطلب"


async def test_processing_is_scheduled_only_when_asked(delivery) -> None:
    await post(delivery, encode(with_messages(text("wamid.quiet", "hi"))), schedule=False)
    assert delivery.kicked == []
    await record_webhook(encode(with_messages(text("wamid.loud", "hi"))), sign(encode(with_messages(
        text("wamid.loud", "hi"))), SECRET), JSON, settings=make_settings(), delivery=delivery)
    assert delivery.kicked == [(PHONE, CUSTOMER)]


@pytest.mark.parametrize("header, status", [(None, 401), ("", 401), ("sha256=" + "0" * 64, 401),
                                            ("sha1=abc", 401), ("not a signature", 401)])
async def test_a_missing_or_wrong_signature_is_refused_and_nothing_stored(delivery, header, status) -> None:
    receipt = await post(delivery, (FIXTURES / "message__text.json").read_bytes(), signature=header)
    assert (receipt.status, receipt.body, receipt.accepted) == (status, {"error": "invalid signature"}, [])
    assert await stored(delivery, "wamid.xyzxyz") is None


async def test_the_signature_covers_the_raw_bytes(delivery) -> None:
    raw = (FIXTURES / "message__text.json").read_bytes()
    tampered = raw.replace(b"Body Text", b"Body Test")
    receipt = await post(delivery, tampered, signature=sign(raw, SECRET))
    assert receipt.status == 401 and await stored(delivery, "wamid.xyzxyz") is None


async def test_the_body_limit_is_inclusive(delivery) -> None:
    raw = (FIXTURES / "message__text.json").read_bytes()
    refused = await post(delivery, raw, max_body_bytes=len(raw) - 1)
    assert (refused.status, refused.body) == (413, {"error": "body too large"})
    assert (await post(delivery, raw, max_body_bytes=len(raw))).status == 200


@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON; charset=utf-8",
                                          " application/json ;charset=UTF-8"])
async def test_json_content_types_are_accepted(delivery, content_type) -> None:
    raw = (FIXTURES / "message__text.json").read_bytes()
    assert (await post(delivery, raw, content_type=content_type)).status == 200


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/x-www-form-urlencoded"])
async def test_other_content_types_get_415(delivery, content_type) -> None:
    receipt = await post(delivery, (FIXTURES / "message__text.json").read_bytes(), content_type=content_type)
    assert (receipt.status, receipt.body) == (415, {"error": "content type must be application/json"})


@pytest.mark.parametrize("raw, reason", [(b"{", "malformed JSON"), (b"\xff\xfe{}", "malformed JSON"),
                                         (b"[" * 10_000 + b"]" * 10_000, "malformed JSON"),
                                         (b"[]", "JSON body must be an object"),
                                         ('"نص"'.encode(), "JSON body must be an object")])
async def test_bad_json_gets_400_with_a_reason(delivery, raw, reason) -> None:
    receipt = await post(delivery, raw, max_body_bytes=1024 * 1024)
    assert (receipt.status, receipt.body) == (400, {"error": reason})


async def test_statuses_are_recorded_and_counted(delivery) -> None:
    raw = (FIXTURES / "message_status__failed.json").read_bytes()
    receipt = await post(delivery, raw)
    assert (receipt.status, receipt.body) == (200, {"status": "ok", "accepted": 0, "statuses": 1})
    update = parse_webhook(json.loads(raw)).statuses[0]
    record = await delivery.store.current_status(CHANNEL_NAME, update.message_id)
    assert (record.status, record.error_code) == ("failed", 130472)
    assert record.error_title == update.error_title and record.timestamp == update.timestamp


def test_a_status_update_carries_every_field_and_flags_a_closed_window() -> None:
    parsed = parse_webhook(fixture("message_status__failed.json")).statuses[0]
    update = status_update(parsed)
    assert (update.channel, update.provider_message_id, update.status) == (CHANNEL_NAME, parsed.message_id, "failed")
    assert (update.timestamp, update.error_code, update.error_title) == (
        parsed.timestamp, 130472, parsed.error_title)
    assert update.window_closed is False
    closed = status_update(dataclasses.replace(parsed, error_code=131047))
    assert closed.window_closed is True


async def test_messages_for_numbers_we_do_not_serve_are_acknowledged_not_stored(delivery) -> None:
    body = with_messages(text("wamid.other", "hello"))
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    receipt = await post(delivery, encode(body))
    assert (receipt.status, receipt.body["accepted"]) == (200, 0) and await stored(delivery, "wamid.other") is None


async def test_group_messages_are_stored_only_with_group_support(delivery) -> None:
    body = encode(with_messages(text("wamid.group", "مرحبا يا جماعة", group_id="GROUP.1")))
    assert (await post(delivery, body)).body["accepted"] == 0
    assert await stored(delivery, "wamid.group") is None
    receipt = await post(delivery, body, groups=True)
    assert receipt.conversations == [(PHONE, "GROUP.1")]


async def test_a_skipped_message_does_not_end_the_batch(delivery) -> None:
    body = with_messages(text("wamid.g", "مرحبا يا جماعة", group_id="GROUP.2"), text("wamid.ok", "عندي سؤال"))
    receipt = await post(delivery, encode(body))
    assert [item.message_id for item in receipt.accepted] == ["wamid.ok"]


async def test_a_message_older_than_the_dedupe_retention_is_not_processed(delivery) -> None:
    raw = (FIXTURES / "message__text.json").read_bytes()  # sent 2023-10-11 16:53 UTC
    assert (await post(delivery, raw, retention=timedelta(hours=24))).body["accepted"] == 0
    assert await stored(delivery, "wamid.xyzxyz") is None
    assert (await post(delivery, raw, retention=timedelta(hours=25))).body["accepted"] == 1


@pytest.mark.parametrize("name", ["message__unsupported.json", "system__identity_change.json",
                                  "user_marketing_preferences__signup.json", "message__reaction.json"])
async def test_unknown_and_other_types_are_acknowledged(delivery, name) -> None:
    receipt = await post(delivery, (FIXTURES / name).read_bytes())
    assert receipt.status == 200 and receipt.body["status"] == "ok"


async def test_a_database_failure_answers_503_so_meta_retries(tmp_path: Path, caplog) -> None:
    async with recording_delivery(tmp_path / "empty.sqlite", CHANNEL_NAME, NOW, tables=False) as broken:
        with caplog.at_level(logging.WARNING, logger="channels.whatsapp_cloud.webhook"):
            receipt = await post(broken, (FIXTURES / "message__text.json").read_bytes())
    assert [r.getMessage() for r in caplog.records] == ["Webhook not recorded: database unavailable"]
    assert (receipt.status, receipt.body, receipt.accepted) == (503, {"error": "temporarily unavailable"}, [])


def test_a_receipt_cannot_be_changed_after_the_fact() -> None:
    receipt = WebhookReceipt({"status": "ok"}, 200)
    with pytest.raises(dataclasses.FrozenInstanceError):
        receipt.status = 500  # type: ignore[misc]


async def test_log_lines_name_reasons_and_counts_never_numbers_or_text(delivery, caplog) -> None:
    raw = (FIXTURES / "message__text.json").read_bytes()
    other_number = with_messages(text("wamid.other", "hello"))
    other_number["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    with caplog.at_level(logging.DEBUG, logger="channels.whatsapp_cloud.webhook"):
        await post(delivery, raw, max_body_bytes=10)
        await post(delivery, raw, signature=None)
        await post(delivery, raw, content_type="text/plain")
        await post(delivery, (FIXTURES / "user_marketing_preferences__signup.json").read_bytes())
        await post(delivery, encode(other_number))
        await post(delivery, encode(with_messages(text("wamid.group", "مرحبا", group_id="GROUP.1"))))
        await post(delivery, raw, retention=timedelta(hours=1))
        await post(delivery, raw)
    assert [r.getMessage() for r in caplog.records if r.name == "channels.whatsapp_cloud.webhook"] == [
        f"Webhook body of {len(raw)} bytes refused (limit 10)",
        "Webhook refused: signature missing",
        "Webhook refused: content type must be application/json",
        "Webhook part ignored: field 'user_preferences'",
        "Webhook recorded: 0 new message(s) of 0, 0 status(es)",
        "Message for unconfigured phone_number_id 999 ignored",
        "Webhook recorded: 0 new message(s) of 0, 0 status(es)",
        "Group message wamid.group ignored: group support is off (WHATSAPP_GROUPS)",
        "Webhook recorded: 0 new message(s) of 0, 0 status(es)",
        "Message wamid.xyzxyz ignored: sent before the 1:00:00 dedupe retention (a replay?)",
        "Webhook recorded: 0 new message(s) of 0, 0 status(es)",
        "Webhook recorded: 1 new message(s) of 1, 0 status(es)",
    ]
    assert CUSTOMER not in caplog.text and "Body Text" not in caplog.text

