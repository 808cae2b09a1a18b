"""Instagram pieces without HTTP: parsing, payload builders, window policy, funnel rules, settings."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import regex

from bot.config import Config, ConfigError
from channels.instagram.comments import FunnelConfig, decide
from channels.instagram.parse import Comment, Kind, RawEvent, parse_event, parse_timestamp, raw_events
from channels.instagram.payloads import (
    MAX_QUICK_REPLIES, MAX_TEXT_BYTES, build_attachment, build_private_reply, build_public_reply,
    build_quick_replies, build_text_payloads,
)
from channels.instagram.settings import InstagramSettings
from channels.instagram.window import MessagingWindowClosed, agent_reply_policy

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, expected", [
    (1_772_366_400_000, T0),                       # Meta: epoch milliseconds
    (1_772_366_400, T0),                           # seconds
    ("1772366400", T0),                            # seconds as a string
    ("2026-03-01T12:00:00+0000", T0),              # Chatwoot's ISO form
    ("2026-03-01T16:00:00+04:00", T0),
    ("2026-03-01T12:00:00Z", T0),
    ("yesterday", None), (None, None), (True, None), (10**20, None),
    (10**400, None), ("9" * 400, None),            # too large even to divide: None, not a 500
])
def test_parse_timestamp(value, expected) -> None:
    assert parse_timestamp(value) == expected


def test_echo_swaps_sender_and_recipient_and_is_keyed_apart() -> None:
    event = parse_event(RawEvent(entry_id="biz", event={
        "sender": {"id": "biz"}, "recipient": {"id": "cust"}, "timestamp": 1,
        "message": {"mid": "m1", "text": "hi", "is_echo": True, "app_id": 42}}))
    assert event is not None and event.kind is Kind.ECHO
    assert (event.account, event.customer, event.event_id, event.app_id) == ("biz", "cust", "echo:m1", "42")


def test_comment_shapes_changes_entry_inline_and_top_level_inline() -> None:
    value = {"from": {"id": "c1", "username": "u"}, "media": {"id": "p1", "media_product_type": "AD", "ad_id": "ad9"},
             "id": "cm1", "text": "كم السعر؟", "parent_id": "cm0"}
    bodies = [
        {"object": "instagram",
         "entry": [{"id": "biz", "time": 1, "changes": [{"field": "comments", "value": value}]}]},
        {"object": "instagram", "entry": [{"id": "biz", "time": 1, "field": "comments", "value": value}]},
        {"field": "comments", "value": value},
    ]
    for body in bodies:
        [raw] = list(raw_events(body))
        event = parse_event(raw)
        assert event is not None and event.kind is Kind.COMMENT and event.event_id == "comment:cm1"
        assert event.comment == Comment(id="cm1", text="كم السعر؟", username="u", media_id="p1", media_type="AD",
                                        ad_id="ad9", parent_id="cm0")
        assert event.customer == "c1" and not event.opens_window


def test_unknown_fields_and_shapes_are_skipped() -> None:
    body = {"object": "instagram", "entry": [
        {"id": "b", "changes": [{"field": "mentions", "value": {"media_id": "1"}}, "x"]},
        {"id": "b", "messaging": [{"sender": {"id": "c"}, "recipient": {"id": "b"}, "something": {}}, {"x": 1}]},
    ]}
    assert [parse_event(raw) for raw in raw_events(body)] == [None, None, None]


def _graphemes(text: str) -> list:
    return regex.findall(r"\X", text)


def test_text_split_at_1000_utf8_bytes_with_arabic_and_emoji() -> None:
    family = "👨‍👩‍👧‍👦"  # 25 bytes, one grapheme
    text = ("مرحبا بك في خدمة العملاء " + family + " ") * 40 + "أهلاً" + family * 60
    payloads = build_text_payloads("cust", text)
    parts = [p["message"]["text"] for p in payloads]
    assert len(parts) > 2
    assert all(len(part.encode("utf-8")) <= MAX_TEXT_BYTES for part in parts)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")
    # No grapheme was cut: every part is made of whole clusters of the original.
    whole = set(_graphemes(text))
    assert all(set(_graphemes(part)) <= whole for part in parts)
    assert all(p["recipient"] == {"id": "cust"} and p["messaging_type"] == "RESPONSE" for p in payloads)


def test_quick_replies_limits_and_tag() -> None:
    buttons = [{"title": "اشحن رصيدي بخمسين درهم الحين", "payload": f"/p{i}"} for i in range(20)]
    [payload] = build_quick_replies("cust", "اختر", buttons, tag="HUMAN_AGENT")
    replies = payload["message"]["quick_replies"]
    assert len(replies) == MAX_QUICK_REPLIES
    assert replies[0]["title"] == "اشحن رصيدي بخمسين د…" and len(replies[0]["title"]) == 20
    assert payload["messaging_type"] == "MESSAGE_TAG" and payload["tag"] == "HUMAN_AGENT"
    [no_text] = build_quick_replies("cust", "", [{"title": "Yes", "payload": "/affirm"}])
    assert no_text["message"]["text"] == "👇"


def test_other_builders() -> None:
    assert build_attachment("c", "image", "https://x/y.png") == {
        "recipient": {"id": "c"}, "messaging_type": "RESPONSE",
        "message": {"attachment": {"type": "image", "payload": {"url": "https://x/y.png"}}}}
    assert build_private_reply("cm1", "أهلاً") == {"recipient": {"comment_id": "cm1"}, "message": {"text": "أهلاً"}}
    assert build_public_reply("cm1", "Sent you a DM") == {"comment_id": "cm1", "message": "Sent you a DM"}
    for bad in (lambda: build_attachment("c", "sticker", "https://x"),
                lambda: build_attachment("c", "image", "ftp://x"),
                lambda: build_private_reply("cm", " "),
                lambda: build_private_reply("cm", "ا" * 501)):
        with pytest.raises(ValueError):
            bad()


def test_agent_reply_window_policy() -> None:
    assert agent_reply_policy("c", T0, T0 + timedelta(hours=23)).tag is None
    late = agent_reply_policy("c", T0, T0 + timedelta(hours=30))
    assert (late.tag, late.free_form) == ("HUMAN_AGENT", False)
    assert agent_reply_policy("c", T0, T0 + timedelta(days=6, hours=23)).tag == "HUMAN_AGENT"
    with pytest.raises(MessagingWindowClosed) as expired:
        agent_reply_policy("c", T0, T0 + timedelta(days=7))
    assert expired.value.reason == "expired" and expired.value.last_inbound_at == T0
    with pytest.raises(MessagingWindowClosed) as never:
        agent_reply_policy("c", None, T0)
    assert never.value.reason == "no_conversation"


def _comment(text: str, **kwargs) -> Comment:
    return Comment(id=kwargs.pop("id", "cm1"), text=text, media_id=kwargs.pop("media_id", "p1"), **kwargs)


async def test_funnel_rules(monkeypatch) -> None:
    monkeypatch.setenv("MAJLIS_DEFAULT_LANGUAGE", "ar")
    everything = FunnelConfig()
    arabic = await decide(everything, _comment("كم سعر الباقة؟"), T0, T0)
    assert (arabic.reply, arabic.reason, arabic.language) == (True, "all", "ar")
    assert arabic.private_text == everything.private_reply["ar"] and arabic.public_text is None
    english = await decide(everything, _comment("How much is this plan?"), T0, T0)
    assert english.language == "en" and english.private_text == everything.private_reply["en"]
    assert (await decide(everything, _comment("hi", parent_id="cm0"), T0, T0)).reason == "reply_to_comment"
    assert (await decide(everything, _comment("hi"), T0, T0 + timedelta(days=8))).reason == "too_old"

    config = FunnelConfig.from_mapping({"comments": {
        "posts": ["p1"], "keywords": ["سعر", "price"], "intents": ["check_bill"], "min_confidence": 0.6,
        "public_reply": {"enabled": True, "ar": ["راسلناك 📩"], "en": ["Sent you a DM"]}}})

    async def nlu(text: str):
        return ("check_bill", 0.9) if "فاتور" in text else ("greet", 0.99)

    assert (await decide(config, _comment("بكم السعر؟"), T0, T0, nlu)).reason == "keyword"
    by_intent = await decide(config, _comment("ليش فاتورتي عالية"), T0, T0, nlu)
    assert (by_intent.reply, by_intent.reason, by_intent.public_text) == (True, "intent", "راسلناك 📩")
    assert (await decide(config, _comment("مرحبا"), T0, T0, nlu)).reason == "no_match"
    assert (await decide(config, _comment("price?", media_id="p2"), T0, T0, nlu)).reason == "post"
    off = FunnelConfig.from_mapping({"comments": {"enabled": False}})
    assert (await decide(off, _comment("price"), T0, T0)).reason == "disabled"
    with pytest.raises(ValueError):
        FunnelConfig.from_mapping({"comments": {"keywords": {"a": 1}}})


def test_settings_for_both_api_flavours(tmp_path) -> None:
    base = {"INSTAGRAM_APP_SECRET": "s", "INSTAGRAM_VERIFY_TOKEN": "v", "INSTAGRAM_ACCESS_TOKEN": "tok-123"}
    ig = InstagramSettings.from_config(Config({**base, "INSTAGRAM_ACCOUNT_ID": "178, 179"}))
    assert ig.graph_url == "https://graph.instagram.com/v21.0" and ig.messages_path == "178/messages"
    assert ig.serves("x", "179") and not ig.serves("x")
    fb = InstagramSettings.from_config(Config({**base, "INSTAGRAM_API": "facebook_login", "INSTAGRAM_PAGE_ID": "55",
                                               "INSTAGRAM_API_VERSION": "v20.0"}))
    assert fb.graph_url == "https://graph.facebook.com/v20.0" and fb.messages_path == "55/messages"
    assert "tok-123" not in repr(fb.access_token) and fb.serves("anything")
    funnel = tmp_path / "funnel.yml"
    funnel.write_text("comments:\n  keywords: [price]\n  public_reply: {enabled: true}\n", encoding="utf-8")
    from_file = InstagramSettings.from_credentials({"funnel_file": str(funnel)}, environ=base)
    assert from_file.funnel.keywords == ("price",) and from_file.funnel.public_reply
    bad_values = ({"INSTAGRAM_API": "snapchat"}, {"INSTAGRAM_GRAPH_URL": "graph"}, {"INSTAGRAM_FUNNEL_FILE": "/nope.yml"})
    for bad in bad_values:
        with pytest.raises(ConfigError):
            InstagramSettings.from_config(Config({**base, **bad}))
    with pytest.raises(ConfigError):
        InstagramSettings.from_config(Config({"INSTAGRAM_APP_SECRET": "s"}))
