"""Builds the context packet from the tracker's events, the store and the channel.

Pure: the caller fetches the tracker events (as dicts), the handoff's messages and
delivery statuses, and passes them in.  Message metadata is read defensively: every
channel puts the customer and entry details under slightly different keys.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from bot.handoff.config import HandoffSettings
from bot.handoff.context import (
    ChannelInfo,
    Customer,
    EarlierHandoff,
    EntityValue,
    EntrySource,
    HandoffContext,
    Identity,
    IntentScore,
    Media,
    Turn,
)
from bot.handoff.outbound import address
from bot.handoff.records import HandoffRecord, MessageRecord
from bot.handoff.summary import summarise
from bot.handoff.triggers import session_events, slot_values, user_turns
from bot.language.dialect import conversation_dialect

#: Most recent transcript lines kept in a packet.
MAX_TURNS = 300
_IDENTITY_KEYS = ("wa_id", "user_id", "parent_user_id", "address", "external_user_id", "username", "psid", "igsid")
_NAME_KEYS = ("profile_name", "display_name", "name", "username")
#: Metadata sections that describe the customer (shared, then channel-specific).
_PERSON_KEYS = ("customer", "contact", "whatsapp", "twilio")


@dataclass(frozen=True, slots=True, kw_only=True)
class PacketInputs:
    """What :func:`build_context` needs besides the handoff itself.

    Attributes:
        events: every tracker event of the conversation, as dicts.
        messages: the handoff's agent replies and notes.
        reply_status: agent message id → delivery status (pending, sent, delivered, read, failed).
        bot_status: outbox idempotency key → delivery status of bot replies.
        history: earlier handoffs of this conversation.
        window_expires_at: end of the channel's reply window (None: the channel has none).
        agent_names: agent id → display name.
        now: the current time (aware).
    """

    events: Sequence[Mapping[str, Any]]
    messages: Sequence[MessageRecord] = ()
    reply_status: Mapping[int, str] = field(default_factory=dict)
    bot_status: Mapping[str, str] = field(default_factory=dict)
    history: Sequence[HandoffRecord] = ()
    window_expires_at: Optional[datetime] = None
    agent_names: Mapping[int, str] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def _at(timestamp: Any) -> Optional[datetime]:
    return datetime.fromtimestamp(float(timestamp), tz=timezone.utc) if timestamp else None


def _metadata(turn: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = turn.get("metadata")
    return metadata if isinstance(metadata, Mapping) else {}


def latest_language(events: Sequence[Mapping[str, Any]], default: str = "ar") -> Tuple[str, str]:
    """(code, form) of the latest clear customer message, else the latest at all."""
    fallback: Optional[Tuple[str, str]] = None
    for turn in reversed(user_turns(events)):
        language = (turn.get("parse_data") or {}).get("language") or {}
        if not language.get("code"):
            continue
        pair = (str(language["code"]), str(language.get("form") or "unknown"))
        if language.get("clear", True):
            return pair
        fallback = fallback or pair
    return fallback or (default, "unknown")


def _customer_details(turns: Sequence[Mapping[str, Any]], channel: str) -> Tuple[Optional[str], Tuple[Identity, ...]]:
    name: Optional[str] = None
    identities: Dict[Tuple[str, str], Identity] = {}
    for turn in turns:
        metadata = _metadata(turn)
        for section in _PERSON_KEYS:
            person = metadata.get(section)
            if not isinstance(person, Mapping):
                continue
            name = next((str(person[k]) for k in _NAME_KEYS if person.get(k)), name)
            for key in _IDENTITY_KEYS:
                if person.get(key):
                    identities[(key, str(person[key]))] = Identity(channel=channel, id=str(person[key]), kind=key)
    return name, tuple(identities.values())


def entry_source(turns: Sequence[Mapping[str, Any]]) -> EntrySource:
    """Where the conversation came from, read from the first message that says so."""
    for turn in turns:
        metadata = _metadata(turn)
        referral = metadata.get("referral")
        if isinstance(referral, Mapping) and referral:
            kind = "ad" if str(referral.get("source_type", "ad")).lower() == "ad" or referral.get("ctwa_clid") else "post"
            return EntrySource(kind=kind, ref=referral.get("source_id") or referral.get("ref"),
                               url=referral.get("source_url"), headline=referral.get("headline"),
                               detail=dict(referral))
        for kind in ("story", "comment"):
            reply_to = metadata.get("reply_to") if isinstance(metadata.get("reply_to"), Mapping) else {}
            value = metadata.get(kind) or reply_to.get(kind) or (metadata.get("instagram") or {}).get(kind)
            if isinstance(value, Mapping) and value:
                return EntrySource(kind=kind, ref=value.get("id"), url=value.get("url"), detail=dict(value))
        entry = metadata.get("entry_source") or metadata.get("entry") or metadata.get("ref")
        if entry:
            detail = dict(entry) if isinstance(entry, Mapping) else {"ref": str(entry)}
            return EntrySource(kind="link", ref=str(detail.get("ref") or detail.get("source") or ""),
                               url=detail.get("url"), detail=detail)
    return EntrySource(kind="direct")


def _media(metadata: Mapping[str, Any]) -> Tuple[Media, ...]:
    items = list(metadata.get("media") or ()) if isinstance(metadata.get("media"), (list, tuple)) else []
    whatsapp_media = (metadata.get("whatsapp") or {}).get("media")
    if isinstance(whatsapp_media, Mapping):  # a Graph media id: fetched with the token by the desk's proxy
        items.append({"mime_type": whatsapp_media.get("mime_type"), "caption": whatsapp_media.get("caption"),
                      "ref": whatsapp_media.get("id"), "filename": whatsapp_media.get("filename"),
                      "voice": whatsapp_media.get("voice"), "type": whatsapp_media.get("kind")})
    found = []
    for item in items if isinstance(items, (list, tuple)) else ():
        if isinstance(item, Mapping):
            mime = item.get("content_type") or item.get("mime_type")
            kind = str(mime or item.get("type") or "file").split("/")[0]
            ref = item.get("ref")
            found.append(Media(kind=kind, url=item.get("url") or item.get("link"), caption=item.get("caption"),
                               ref=str(ref) if isinstance(ref, (str, int)) and not isinstance(ref, bool) else None,
                               mime_type=str(mime) if isinstance(mime, str) else None,
                               filename=str(item["filename"]) if isinstance(item.get("filename"), str) else None,
                               voice=item.get("voice") is True))
    return tuple(found)


def _intent_score(entry: Mapping[str, Any], settings: Optional[HandoffSettings]) -> IntentScore:
    name = str(entry.get("name"))
    label = {"en": settings.label(name, "en"), "ar": settings.label(name, "ar")} if settings else None
    return IntentScore(name=name, confidence=round(float(entry.get("confidence") or 0), 4), label=label)


def _user_turn(event: Mapping[str, Any], settings: Optional[HandoffSettings] = None) -> Turn:
    parse = event.get("parse_data") or {}
    intent = parse.get("intent") or {}
    metadata = _metadata(event)
    return Turn(
        role="customer", text=str(metadata.get("display_text") or event.get("text") or ""),
        at=_at(event.get("timestamp")), id=event.get("message_id"),
        intent=_intent_score(intent, settings) if intent.get("name") else None,
        ranking=tuple(_intent_score(r, settings) for r in (parse.get("intent_ranking") or ())[:5]),
        entities=tuple(EntityValue(entity=str(e.get("entity")), value=e.get("value"), start=e.get("start"),
                                   end=e.get("end")) for e in parse.get("entities") or ()),
        language=(parse.get("language") or {}).get("code"), media=_media(metadata))


def transcript(inputs: PacketInputs, settings: Optional[HandoffSettings] = None) -> Tuple[Turn, ...]:
    """Customer and bot turns from the tracker plus agent replies and notes, by time.

    With ``settings``, each customer turn's intents carry their human labels.
    """
    turns: List[Turn] = []
    last_inbound: Optional[str] = None
    position = 0
    for event in inputs.events:
        kind = event.get("event")
        if kind == "user":
            turns.append(_user_turn(event, settings))
            last_inbound, position = event.get("message_id"), 0
        elif kind == "bot" and (event.get("text") or (event.get("data") or {}).get("image")):
            key = f"{last_inbound}:{position}" if last_inbound else None
            position += 1
            metadata = event.get("metadata") or {}
            turns.append(Turn(role="bot", text=str(event.get("text") or ""), at=_at(event.get("timestamp")),
                              status=inputs.bot_status.get(key) if key else None,
                              author="handoff" if metadata.get("majlis_handoff") else None))
    for message in inputs.messages:
        role = "agent" if message.kind == "agent" else message.kind
        turns.append(Turn(role=role, text=message.text, at=message.created_at, id=f"m{message.id}",
                          status=inputs.reply_status.get(message.id, message.delivery_state) if role == "agent" else None,
                          author=message.author))
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    turns.sort(key=lambda turn: turn.at or epoch)
    return tuple(turns[-MAX_TURNS:])


def _earlier(history: Iterable[HandoffRecord], current: str) -> Tuple[EarlierHandoff, ...]:
    return tuple(EarlierHandoff(id=h.public_id, created_at=h.created_at, reason=h.reason, resolution=h.resolution)
                 for h in history if h.public_id != current)


#: Slots the desk never shows: the sealed identity proof and the answer to the code question.
PRIVATE_SLOTS = frozenset({"verified_identity", "verification_code"})


def build_context(record: HandoffRecord, inputs: PacketInputs, settings: HandoffSettings,
                  signals: Sequence[str] = ()) -> HandoffContext:
    """The context packet of ``record`` as of ``inputs.now``."""
    events = list(inputs.events)
    # The brief describes the conversation as it was when handed over.
    until = record.created_at.timestamp() + 1
    session = [e for e in session_events(events) if float(e.get("timestamp") or 0) <= until]
    turns = user_turns(events)
    language, form = latest_language(events, record.language)
    name, identities = _customer_details(turns, record.channel)
    reachable_at = address(record.channel, record.customer) or record.customer  # the phone number, IGSID, ...
    slots = slot_values(events)
    window_left = None
    if inputs.window_expires_at is not None:
        window_left = max(0, int((inputs.window_expires_at - inputs.now).total_seconds()))
    return HandoffContext(
        handoff_id=record.public_id, state=record.state.value, reason=record.reason, priority=record.priority,
        queue=record.queue, created_at=record.created_at,
        customer=Customer(sender_id=record.customer, display_name=name, language=language, form=form,
                          dialect=conversation_dialect(t.get("parse_data") or {} for t in turns).as_dict(),
                          identities=identities or (Identity(channel=record.channel, id=reachable_at),),
                          earlier_conversations=sum(1 for e in events if e.get("event") == "session_started") - 1
                          if any(e.get("event") == "session_started" for e in events) else 0,
                          earlier_handoffs=_earlier(inputs.history, record.public_id)),
        channel=ChannelInfo(name=record.channel, account=record.account, window_expires_at=inputs.window_expires_at,
                            window_seconds_left=window_left),
        entry=entry_source(turns),
        transcript=transcript(inputs, settings),
        slots={k: v for k, v in slots.items() if v is not None and k not in PRIVATE_SLOTS},
        summary=summarise(session or events, slots, record.reason, settings),
        agent=inputs.agent_names.get(record.agent_id) if record.agent_id else None,
        signals=tuple(signals or record.context.get("signals") or ()),
    )
