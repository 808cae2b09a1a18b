"""channels/instagram/webhook.py without Rasa or HTTP: what one POST answers and stores.

Fast enough to run once per mutant (bench/mutation.py runs this file with ``--noconftest``):
Chatwoot's recorded Instagram payloads from tests/fixtures/instagram, signed as Meta signs
them, handed to a real :class:`bot.delivery.Delivery` on a SQLite file.  The routes over
real HTTP are tests/channels/test_instagram.py.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict

import pytest

from bot.config import Secret
from channels.instagram.settings import InstagramSettings
from channels.instagram.webhook import InstagramWebhook, WebhookRequest
from channels.meta.graph import sign
from tests.channels.test_whatsapp_webhook_record import recording_delivery

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "instagram"
CHANNEL = "instagram"
SECRET = Secret("instagram-record-secret")
ACCOUNT, CUSTOMER = "chatwoot-app-user-id-1", "Sender-id-1"
#: The fixtures were sent on 2021-09-08 06:34 UTC; "now" is a day later.
NOW = datetime(2021, 9, 9, 6, 34, 4, tzinfo=timezone.utc)
TEXT_PLAIN = "text/plain; charset=utf-8"
JSON = "application/json"
OK = ("EVENT_RECEIVED", 200, TEXT_PLAIN)


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
    event = json.loads(raw)["entry"][0]["messaging"][0]
    assert item.payload == {"entry_id": "instagram-message-id-123", "event": event, "standby": False, "field": None,
                            "time": "2021-09-08T06:34:04+0000"}
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


REFUSED_SIGNATURE = ('{"error": "invalid signature"}', 401, JSON)


@pytest.mark.parametrize("header, answer", [(None, REFUSED_SIGNATURE), ("", REFUSED_SIGNATURE),
                                            ("sha256=" + "0" * 64, REFUSED_SIGNATURE),
                                            ("garbage", REFUSED_SIGNATURE)])
async def test_a_missing_or_wrong_signature_is_refused_and_nothing_stored(delivery, header, answer) -> None:
    assert await post(delivery, fixture_bytes("instagram_message_create_event.json"), signature=header) == answer
    assert await stored(delivery, "message-id-1") is None and delivery.kicked == []


async def test_the_signature_covers_the_raw_bytes(delivery) -> None:
    raw = fixture_bytes("instagram_message_create_event.json")
    assert (await post(delivery, raw.replace(b"first", b"frist"), signature=sign(raw, SECRET)))[1] == 401


async def test_the_body_limit_is_inclusive(delivery) -> None:
    raw = fixture_bytes("instagram_message_create_event.json")
    assert await post(delivery, raw, max_body_bytes=len(raw) - 1) == ('{"error": "body too large"}', 413, JSON)
    assert await post(delivery, raw, max_body_bytes=len(raw)) == OK


@pytest.mark.parametrize("raw", [b"{", b"\xff{}", b"[]", b"null"])
async def test_a_body_that_is_not_a_json_object_gets_400(delivery, raw) -> None:
    status = await post(delivery, raw)
    assert status[1:] == (400, JSON) and json.loads(status[0])["error"] in (
        "body is not JSON", "body is not a JSON object")


@pytest.mark.parametrize("name", ["messaging_seen_event.json", "instagram_message_unsend_event.json",
                                  "instagram_story_mention_event_with_echo.json"])
async def test_other_kinds_are_acknowledged_and_kept_apart(delivery, name) -> None:
    assert await post(delivery, fixture_bytes(name)) == OK


async def test_unknown_kinds_are_acknowledged_without_touching_the_database(tmp_path: Path, caplog) -> None:
    body = {"object": "instagram", "entry": [{"id": ACCOUNT, "messaging": [{"sender": {"id": CUSTOMER}, "x": {}}]}]}
    async with recording_delivery(tmp_path / "empty.sqlite", CHANNEL, NOW, tables=False) as broken:
        assert await post(broken, encode(body)) == OK
        with caplog.at_level(logging.WARNING, logger="channels.instagram.webhook"):
            assert await post(broken, fixture_bytes("instagram_message_create_event.json")) == (
                '{"error": "temporarily unavailable"}', 503, JSON)
    assert [r.getMessage() for r in caplog.records] == ["Instagram webhook could not be stored"]


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


async def test_an_inline_comment_belongs_to_the_first_configured_account(delivery) -> None:
    """Meta's dashboard test and examples page send a comment inline (no ``entry``): it is
    ours, under the configured account, not dropped as addressed to another one."""
    inline = {"field": "comments", "value": comment("c1", "inline")}
    assert await post(delivery, encode(inline), account_ids=(ACCOUNT, "second-account")) == OK
    item = await stored(delivery, "comment:inline")
    assert (item.account, item.customer, item.payload["entry_id"]) == (ACCOUNT, "c1", ACCOUNT)
    # Still skipped: our own comment sent inline.
    assert await post(delivery, encode({"field": "comments", "value": comment(ACCOUNT, "own-inline")})) == OK
    assert await stored(delivery, "comment:own-inline") is None


def test_the_verification_handshake_echoes_the_challenge() -> None:
    webhook = InstagramWebhook(channel=CHANNEL, settings=settings(), delivery=None)
    args = {"hub.mode": "subscribe", "hub.verify_token": "ig-verify", "hub.challenge": "1158201444"}
    assert webhook.verify(args) == ("1158201444", 200, TEXT_PLAIN)
    assert webhook.verify({**args, "hub.verify_token": "wrong"})[1] == 403


async def test_a_skipped_event_does_not_end_the_batch(delivery) -> None:
    """Not ours, too old, our own comment: each skipped, and the customer's message after them kept."""
    old = message("m.old", "قديم", timestamp="2021-08-01T00:00:00+0000")
    stranger = message("m.stranger", "hello", recipient={"id": "another-account"})
    own = {"field": "comments", "value": comment(ACCOUNT, "own")}
    body = {"object": "instagram", "entry": [
        {"id": ACCOUNT, "time": 1, "messaging": [stranger, message("m.1", "مرحبا")]},
        {"id": ACCOUNT, "time": 1, "messaging": [old, message("m.2", "عندي سؤال")]},
        {"id": ACCOUNT, "time": int(NOW.timestamp()), "changes": [own, {"field": "comments", "value": comment("c1")}]},
    ]}
    assert await post(delivery, encode(body)) == OK
    assert [await stored(delivery, key) is not None for key in ("m.stranger", "m.1", "m.old", "m.2", "comment:own",
                                                                 "comment:cm1")] == [False, True, False, True,
                                                                                     False, True]


async def test_log_lines_name_the_reason_never_ids_or_text(delivery, caplog) -> None:
    raw = fixture_bytes("instagram_message_create_event.json")
    unknown = encode({"object": "instagram", "entry": [{"id": ACCOUNT, "messaging": [{"sender": {"id": "c"}}]}]})
    own = encode({"object": "instagram", "entry": [{"id": ACCOUNT, "time": int(NOW.timestamp()), "changes": [
        {"field": "comments", "value": comment(ACCOUNT, "own")}]}]})
    with caplog.at_level(logging.DEBUG, logger="channels.instagram.webhook"):
        await post(delivery, raw, max_body_bytes=10)
        await post(delivery, raw, signature=None)
        await post(delivery, b"[]")
        await post(delivery, unknown)
        await post(delivery, raw, account_ids=("another-account",))
        await post(delivery, own)
        delivery.retention = timedelta(hours=1)
        await post(delivery, raw)
    assert [r.getMessage() for r in caplog.records if r.name == "channels.instagram.webhook"] == [
        f"Instagram webhook rejected: body of {len(raw)} bytes is too large",
        "Instagram webhook rejected: signature missing",
        "Instagram webhook rejected: body is not a JSON object",
        "Instagram event skipped: unknown kind or shape",
        "Instagram webhook: 0 event(s), 0 new",
        "Instagram message event skipped: addressed to an account this app does not serve",
        "Instagram webhook: 0 event(s), 0 new",
        "Instagram comment by our own account skipped",
        "Instagram webhook: 0 event(s), 0 new",
        "Instagram message event skipped: sent before the 1:00:00 dedupe retention (a replay?)",
        "Instagram webhook: 0 event(s), 0 new",
    ]


def test_a_request_is_keyword_only_and_immutable() -> None:
    """The body and the signature header cannot be swapped by position, nor changed after the check."""
    with pytest.raises(TypeError):
        WebhookRequest(b"{}", "sha256=0")  # type: ignore[misc]
    request = WebhookRequest(body=b"{}", signature=None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.body = b"[]"  # type: ignore[misc]
