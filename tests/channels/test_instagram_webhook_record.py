"""channels/_instagram_webhook.py without Rasa or HTTP: what one POST answers and stores.

Fast enough to run once per mutant (bench/mutation.py runs this file with ``--noconftest``):
Chatwoot's recorded Instagram payloads from tests/fixtures/instagram, signed as Meta signs
them, handed to a real :class:`bot.delivery.Delivery` on a SQLite file.  The routes over
real HTTP are tests/channels/test_instagram.py.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict

import pytest

from bot.config import Secret
from channels._instagram_settings import InstagramSettings
from channels._instagram_webhook import TEXT, InstagramWebhook, WebhookRequest
from channels._meta import sign
from tests.channels.test_whatsapp_webhook_record import recording_delivery

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "instagram"
CHANNEL = "instagram"
SECRET = Secret("instagram-record-secret")
ACCOUNT, CUSTOMER = "chatwoot-app-user-id-1", "Sender-id-1"
#: The fixtures were sent on 2021-09-08 06:34 UTC; "now" is a day later.
NOW = datetime(2021, 9, 9, 6, 34, 4, tzinfo=timezone.utc)
OK = ("EVENT_RECEIVED", 200, TEXT)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def encode(body: Dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def message(mid: str, text: str, **overrides: Any) -> Dict[str, Any]:
    return {"sender": {"id": CUSTOMER}, "recipient": {"id": ACCOUNT}, "timestamp": "2021-09-08T06:34:04+0000",
            "message": {"mid": mid, "text": text}, **overrides}


def comment(commenter: str, comment_id: str = "cm1") -> Dict[str, Any]:
    return {"from": {"id": commenter, "username": "u"}, "media": {"id": "p1"}, "id": comment_id, "text": "كم السعر؟"}


def settings(**overrides: Any) -> InstagramSettings:
    return InstagramSettings(app_secret=SECRET, verify_token=Secret("ig-verify"), access_token=Secret("token"),
                             account_ids=overrides.pop("account_ids", (ACCOUNT,)), **overrides)


@pytest.fixture
async def delivery(tmp_path: Path):
    async with recording_delivery(tmp_path / "majlis.sqlite", CHANNEL, NOW) as service:
        yield service


async def post(delivery, raw: bytes, *, signature: Any = "sign", **overrides: Any):
    header = sign(raw, SECRET) if signature == "sign" else signature
    webhook = InstagramWebhook(channel=CHANNEL, settings=settings(**overrides), delivery=delivery)
    return await webhook.handle(WebhookRequest(body=raw, signature=header))


async def stored(delivery, event_id: str):
    found = await delivery.store.inbound(CHANNEL, event_id)
    return None if found is None else found[0]


async def test_a_signed_message_is_stored_once_and_scheduled(delivery) -> None:
    raw = fixture_bytes("instagram_message_create_event.json")
    assert await post(delivery, raw) == OK
    item = await stored(delivery, "message-id-1")
    assert (item.channel, item.account, item.customer) == (CHANNEL, ACCOUNT, CUSTOMER)
    assert item.payload["entry_id"] == "instagram-message-id-123"
    assert item.payload["event"]["message"]["text"] == "This is the first message from the customer"
    assert item.sent_at == datetime(2021, 9, 8, 6, 34, 4, tzinfo=timezone.utc) and item.opens_window is True
    assert delivery.kicked == [(ACCOUNT, CUSTOMER)]

    assert await post(delivery, raw) == OK  # Meta's retry: acknowledged, not stored or scheduled again
    assert delivery.kicked == [(ACCOUNT, CUSTOMER)]


async def test_every_event_of_every_entry_is_stored_in_order(delivery) -> None:
    body = {"object": "instagram", "entry": [
        {"id": ACCOUNT, "time": 1, "messaging": [message("m.1", "مرحبا"), message("m.2", "كم السعر؟"),
                                                 message("m.1", "مرحبا"), {"sender": {"id": CUSTOMER}, "x": {}}]},
        {"id": ACCOUNT, "time": 1, "messaging": [message("m.3", "shukran 🙏")]},
    ]}
    assert await post(delivery, encode(body)) == OK
    for mid, text in [("m.1", "مرحبا"), ("m.2", "كم السعر؟"), ("m.3", "shukran 🙏")]:
        assert (await stored(delivery, mid)).payload["event"]["message"]["text"] == text


@pytest.mark.parametrize("header, answer", [(None, ("unauthorized", 401, TEXT)), ("", ("unauthorized", 401, TEXT)),
                                            ("sha256=" + "0" * 64, ("forbidden", 403, TEXT)),
                                            ("garbage", ("forbidden", 403, TEXT))])
async def test_a_missing_or_wrong_signature_is_refused_and_nothing_stored(delivery, header, answer) -> None:
    assert await post(delivery, fixture_bytes("instagram_message_create_event.json"), signature=header) == answer
    assert await stored(delivery, "message-id-1") is None and delivery.kicked == []


async def test_the_signature_covers_the_raw_bytes(delivery) -> None:
    raw = fixture_bytes("instagram_message_create_event.json")
    assert (await post(delivery, raw.replace(b"first", b"frist"), signature=sign(raw, SECRET)))[1] == 403


async def test_the_body_limit_is_inclusive(delivery) -> None:
    raw = fixture_bytes("instagram_message_create_event.json")
    assert await post(delivery, raw, max_body_bytes=len(raw) - 1) == ("payload too large", 413, TEXT)
    assert await post(delivery, raw, max_body_bytes=len(raw)) == OK


@pytest.mark.parametrize("raw", [b"{", b"\xff{}", b"[]", b"null"])
async def test_a_body_that_is_not_a_json_object_gets_400(delivery, raw) -> None:
    assert await post(delivery, raw) == ("malformed body", 400, TEXT)


@pytest.mark.parametrize("name", ["messaging_seen_event.json", "instagram_message_unsend_event.json",
                                  "instagram_story_mention_event_with_echo.json"])
async def test_other_kinds_are_acknowledged_and_kept_apart(delivery, name) -> None:
    assert await post(delivery, fixture_bytes(name)) == OK


async def test_unknown_kinds_are_acknowledged_without_touching_the_database(tmp_path: Path) -> None:
    body = {"object": "instagram", "entry": [{"id": ACCOUNT, "messaging": [{"sender": {"id": CUSTOMER}, "x": {}}]}]}
    async with recording_delivery(tmp_path / "empty.sqlite", CHANNEL, NOW, tables=False) as broken:
        assert await post(broken, encode(body)) == OK
        assert await post(broken, fixture_bytes("instagram_message_create_event.json")) == (
            "temporarily unavailable", 503, TEXT)


async def test_events_for_accounts_we_do_not_serve_are_skipped(delivery) -> None:
    raw = fixture_bytes("instagram_message_create_event.json")
    assert await post(delivery, raw, account_ids=("another-account",)) == OK
    assert await stored(delivery, "message-id-1") is None
    assert await post(delivery, raw, account_ids=()) == OK  # none configured: every account is ours
    assert (await stored(delivery, "message-id-1")).account == ACCOUNT


async def test_an_event_older_than_the_dedupe_retention_is_not_processed(delivery) -> None:
    raw = fixture_bytes("instagram_message_create_event.json")  # sent exactly 24 hours before NOW
    delivery.retention = timedelta(hours=23)
    assert await post(delivery, raw) == OK and await stored(delivery, "message-id-1") is None
    delivery.retention = timedelta(hours=24)
    assert await post(delivery, raw) == OK and await stored(delivery, "message-id-1") is not None


async def test_comments_by_our_own_account_are_skipped(delivery) -> None:
    when = int(NOW.timestamp())

    def body(commenter: str, comment_id: str) -> bytes:
        return encode({"object": "instagram", "entry": [{"id": ACCOUNT, "time": when, "changes": [
            {"field": "comments", "value": comment(commenter, comment_id)}]}]})

    assert await post(delivery, body(ACCOUNT, "own")) == OK
    assert await stored(delivery, "comment:own") is None
    assert await post(delivery, body("second-account", "sibling"), account_ids=(ACCOUNT, "second-account")) == OK
    assert await stored(delivery, "comment:sibling") is None
    assert await post(delivery, body("c1", "cm1")) == OK
    item = await stored(delivery, "comment:cm1")
    assert (item.account, item.customer, item.opens_window) == (ACCOUNT, "c1", False)


async def test_an_inline_comment_with_no_account_configured_is_kept_under_no_account(delivery) -> None:
    assert await post(delivery, encode({"field": "comments", "value": comment("c1", "nobody")}), account_ids=()) == OK
    item = await stored(delivery, "comment:nobody")
    assert (item.account, item.payload["entry_id"]) == ("", "")


def test_the_verification_handshake_echoes_the_challenge() -> None:
    webhook = InstagramWebhook(channel=CHANNEL, settings=settings(), delivery=None)
    args = {"hub.mode": "subscribe", "hub.verify_token": "ig-verify", "hub.challenge": "1158201444"}
    assert webhook.verify(args) == ("1158201444", 200, TEXT)
    assert webhook.verify({**args, "hub.verify_token": "wrong"})[1] == 403
