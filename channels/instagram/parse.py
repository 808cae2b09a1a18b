"""Parse Instagram webhooks (``object: "instagram"``) into frozen dataclasses.

Pure functions only: no Sanic, no I/O.  :func:`raw_events` walks every entry of a
batch and every event in it (``messaging[]``, ``standby[]``, ``changes[]`` and a
``field``/``value`` pair inline, as Meta's examples page and the dashboard's test
button send comments); :func:`parse_event` turns one into an
:class:`InstagramEvent`.  The raw event is what the delivery layer stores, so the
handler re-parses it with the same code after a restart.

Accepted shapes: Meta's (``object``, epoch-millisecond integers) and Chatwoot's
simplified test shape (no ``object``, ISO-8601 timestamps).  References:
https://developers.facebook.com/docs/instagram-platform/webhooks/examples and
https://developers.facebook.com/docs/messenger-platform/instagram/features/webhook
"""
from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, Mapping, Optional, Tuple

from bot.errors import PayloadError

OBJECT = "instagram"
COMMENT_FIELDS = frozenset({"comments", "live_comments"})
HANDOVER_KEYS = ("pass_thread_control", "take_thread_control", "request_thread_control")
#: Epoch values above this are milliseconds (Meta), below it seconds (older samples).
_MS_THRESHOLD = 10**11
_ISO_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z")


class Kind(str, enum.Enum):
    """What an Instagram event is, which decides how the channel treats it."""

    MESSAGE = "message"        # a customer message: text, attachments, quick reply, story reply/mention
    POSTBACK = "postback"      # ice breaker, persistent menu or template button tap
    ECHO = "echo"              # a message our own account sent (this app, another app, a person)
    UNSEND = "unsend"          # the customer deleted a message (is_deleted)
    REACTION = "reaction"      # react / unreact to a message
    READ = "read"              # the customer saw our messages
    REFERRAL = "referral"      # an ig.me link with ?ref= opened in an existing thread
    HANDOVER = "handover"      # conversation routing: thread control changed
    COMMENT = "comment"        # a comment on one of the brand's posts, reels or ads


@dataclass(frozen=True, slots=True, kw_only=True)
class RawEvent:
    """One event as it came in, with what its envelope says about it.

    Attributes:
        entry_id: ``entry[].id``: the business account the event belongs to ("" inline).
        event: the event object (``messaging[]`` item or the comment ``value``).
        standby: it came in ``standby[]``: another app owns the thread.
        field: the webhook field for ``changes``-style events (``"comments"``), else None.
        time: ``entry[].time`` as sent (used when the event has no timestamp).
    """

    entry_id: str
    event: Mapping[str, Any]
    standby: bool = False
    field: Optional[str] = None
    time: Any = None

    def to_payload(self) -> Dict[str, Any]:
        """JSON-able form stored in the inbox (:meth:`from_payload` reverses it)."""
        return {"entry_id": self.entry_id, "event": dict(self.event), "standby": self.standby,
                "field": self.field, "time": self.time}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> "RawEvent":
        return cls(entry_id=str(payload.get("entry_id") or ""), event=payload.get("event") or {},
                   standby=bool(payload.get("standby")), field=payload.get("field"), time=payload.get("time"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """One attachment: ``image``, ``video``, ``audio``, ``file``, ``share``, ``ig_reel``,
    ``reel``, ``story_mention``, ``like_heart``, ``ig_post`` … (``payload.url`` if any)."""

    type: str
    url: Optional[str] = None
    title: Optional[str] = None
    target_id: Optional[str] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Story:
    """The story a customer replied to (``reply_to.story``)."""

    id: Optional[str] = None
    url: Optional[str] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Reaction:
    action: str
    reaction: Optional[str] = None
    emoji: Optional[str] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Comment:
    """A comment on the brand's media (``field: comments``)."""

    id: str
    text: str
    username: Optional[str] = None
    media_id: Optional[str] = None
    media_type: Optional[str] = None   # FEED, REELS, STORY, AD …
    ad_id: Optional[str] = None
    parent_id: Optional[str] = None    # set when it answers another comment
    live: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class InstagramEvent:
    """One parsed Instagram event.

    ``account`` is always the business account and ``customer`` the other person's
    Instagram-scoped id (IGSID), also for echoes, where Meta swaps sender and recipient.
    ``event_id`` is the inbox dedupe key: the ``mid`` for messages, prefixed for the
    other kinds (an unsend or an echo carries the ``mid`` of another message).
    """

    kind: Kind
    event_id: str
    account: str
    customer: str
    sent_at: Optional[datetime] = None
    mid: Optional[str] = None
    standby: bool = False
    text: str = ""
    quick_reply_payload: Optional[str] = None
    postback_title: Optional[str] = None
    postback_payload: Optional[str] = None
    attachments: Tuple[Attachment, ...] = ()
    reply_to_mid: Optional[str] = None
    story: Optional[Story] = None
    referral: Optional[Mapping[str, Any]] = None
    is_unsupported: bool = False
    app_id: Optional[str] = None
    reaction: Optional[Reaction] = None
    comment: Optional[Comment] = None

    @property
    def is_story_mention(self) -> bool:
        """The customer tagged the brand in their story."""
        return any(item.type == "story_mention" for item in self.attachments)

    @property
    def intent_text(self) -> str:
        """What Rasa parses: a quick-reply or postback payload wins over the text."""
        return self.quick_reply_payload or self.postback_payload or self.text

    @property
    def display_text(self) -> str:
        """What a transcript shows: the text the customer saw or typed."""
        return self.postback_title or self.text

    @property
    def opens_window(self) -> bool:
        """Customer messages (a GIF too) and taps open the 24-hour window; the rest does not."""
        return self.kind in (Kind.MESSAGE, Kind.POSTBACK, Kind.REFERRAL)


def decode_body(body: bytes) -> Mapping[str, Any]:
    """The webhook body as a JSON object.

    Raises:
        PayloadError: not UTF-8 JSON, or not an object.
    """
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: nested too deep
        raise PayloadError("body is not JSON") from None
    if not isinstance(value, dict):
        raise PayloadError("body is not a JSON object")
    return value


def is_instagram(body: Mapping[str, Any]) -> bool:
    """Meta's ``object`` is ``instagram``; Chatwoot's test shape has none."""
    return body.get("object", OBJECT) == OBJECT


def _list(value: Any) -> Tuple[Mapping[str, Any], ...]:
    return tuple(item for item in value if isinstance(item, dict)) if isinstance(value, list) else ()


def raw_events(body: Mapping[str, Any]) -> Iterator[RawEvent]:
    """Every event of every entry, in order; unknown keys are skipped."""
    if not is_instagram(body):
        return
    if "field" in body and isinstance(body.get("value"), dict):
        yield RawEvent(entry_id="", event=body["value"], field=str(body["field"]))
    for entry in _list(body.get("entry")):
        entry_id = str(entry.get("id") or "")
        time = entry.get("time")
        for key, standby in (("messaging", False), ("standby", True)):
            for event in _list(entry.get(key)):
                yield RawEvent(entry_id=entry_id, event=event, standby=standby, time=time)
        changes = list(_list(entry.get("changes")))
        if "field" in entry and isinstance(entry.get("value"), dict):
            changes.append(entry)
        for change in changes:
            if isinstance(change.get("value"), dict):
                yield RawEvent(entry_id=entry_id, event=change["value"], field=str(change.get("field")), time=time)


def parse_timestamp(value: Any) -> Optional[datetime]:
    """Epoch milliseconds or seconds (number or digit string) or ISO-8601; None if unreadable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, (int, float)):
        try:  # a huge integer overflows already in the division (a 500 the fuzz test found)
            seconds = value / 1000 if value > _MS_THRESHOLD else value
            return datetime.fromtimestamp(seconds, timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        for fmt in _ISO_FORMATS:
            try:
                return datetime.strptime(value.strip().replace("Z", "+0000"), fmt).astimezone(timezone.utc)
            except ValueError:
                continue
    return None


def _id(value: Any) -> str:
    return str(value.get("id") or "") if isinstance(value, dict) else ""


def _str(value: Any) -> Optional[str]:
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) else None


def _attachments(message: Mapping[str, Any]) -> Tuple[Attachment, ...]:
    found = []
    for item in _list(message.get("attachments")):
        payload = item.get("payload") if isinstance(item.get("payload"), dict) else {}
        found.append(Attachment(
            type=str(item.get("type") or "unknown"),
            url=_str(payload.get("url")),
            title=_str(payload.get("title")),
            target_id=_str(payload.get("reel_video_id") or payload.get("id")),
        ))
    return tuple(found)


def _message_fields(message: Mapping[str, Any]) -> Dict[str, Any]:
    reply_to = message.get("reply_to") if isinstance(message.get("reply_to"), dict) else {}
    story = reply_to.get("story") if isinstance(reply_to.get("story"), dict) else None
    quick_reply = message.get("quick_reply") if isinstance(message.get("quick_reply"), dict) else {}
    referral = message.get("referral")
    return {
        "mid": _str(message.get("mid")),
        "text": message.get("text") if isinstance(message.get("text"), str) else "",
        "quick_reply_payload": _str(quick_reply.get("payload")),
        "attachments": _attachments(message),
        "reply_to_mid": _str(reply_to.get("mid")),
        "story": Story(id=_str(story.get("id")), url=_str(story.get("url"))) if story is not None else None,
        "referral": dict(referral) if isinstance(referral, dict) else None,
        "is_unsupported": bool(message.get("is_unsupported")),
        "app_id": _str(message.get("app_id")),
    }


def _comment(raw: RawEvent) -> Optional[InstagramEvent]:
    value = raw.event
    comment_id, author = _str(value.get("id")), value.get("from")
    if not comment_id or not _id(author):
        return None
    media = value.get("media") if isinstance(value.get("media"), dict) else {}
    comment = Comment(
        id=comment_id,
        text=value.get("text") if isinstance(value.get("text"), str) else "",
        username=_str(author.get("username")),
        media_id=_str(media.get("id")),
        media_type=_str(media.get("media_product_type")),
        ad_id=_str(media.get("ad_id")),
        parent_id=_str(value.get("parent_id")),
        live=raw.field == "live_comments",
    )
    return InstagramEvent(kind=Kind.COMMENT, event_id=f"comment:{comment_id}", account=raw.entry_id,
                          customer=_id(author), sent_at=parse_timestamp(value.get("timestamp") or raw.time),
                          text=comment.text, comment=comment)


def parse_event(raw: RawEvent) -> Optional[InstagramEvent]:
    """One event as an :class:`InstagramEvent`; None for kinds or shapes we don't handle."""
    if raw.field is not None:
        return _comment(raw) if raw.field in COMMENT_FIELDS else None
    event = raw.event
    sender, recipient = _id(event.get("sender")), _id(event.get("recipient"))
    if not sender or not recipient:
        return None
    stamp = event.get("timestamp")
    sent_at = parse_timestamp(stamp if stamp is not None else raw.time)
    base = {"account": recipient, "customer": sender, "sent_at": sent_at, "standby": raw.standby}
    message = event.get("message")
    if isinstance(message, dict):
        fields = _message_fields(message)
        mid = fields["mid"] or f"{sender}:{stamp}"
        if message.get("is_echo"):
            return InstagramEvent(kind=Kind.ECHO, event_id=f"echo:{mid}", **{**base, "account": sender,
                                  "customer": recipient}, **fields)
        if message.get("is_deleted"):
            return InstagramEvent(kind=Kind.UNSEND, event_id=f"unsend:{mid}", **base, **fields)
        return InstagramEvent(kind=Kind.MESSAGE, event_id=mid, **base, **fields)
    postback = event.get("postback")
    if isinstance(postback, dict):
        payload = _str(postback.get("payload"))
        return InstagramEvent(kind=Kind.POSTBACK, event_id=_str(postback.get("mid")) or f"postback:{sender}:{stamp}",
                              mid=_str(postback.get("mid")), postback_title=_str(postback.get("title")),
                              postback_payload=payload, **base)
    reaction = event.get("reaction")
    if isinstance(reaction, dict):
        parsed = Reaction(action=str(reaction.get("action") or "react"), reaction=_str(reaction.get("reaction")),
                          emoji=_str(reaction.get("emoji")))
        mid = _str(reaction.get("mid"))
        return InstagramEvent(kind=Kind.REACTION, event_id=f"reaction:{mid}:{parsed.action}:{parsed.reaction}:{stamp}",
                              mid=mid, reaction=parsed, **base)
    read = event.get("read")
    if isinstance(read, dict):
        mid = _str(read.get("mid")) or _str(read.get("watermark"))
        return InstagramEvent(kind=Kind.READ, event_id=f"read:{sender}:{mid}", mid=mid, **base)
    referral = event.get("referral")
    if isinstance(referral, dict):
        return InstagramEvent(kind=Kind.REFERRAL, event_id=f"referral:{sender}:{stamp}:{referral.get('ref')}",
                              referral=dict(referral), **base)
    for key in HANDOVER_KEYS:
        if isinstance(event.get(key), dict):
            return InstagramEvent(kind=Kind.HANDOVER, event_id=f"{key}:{sender}:{stamp}", **base)
    return None
