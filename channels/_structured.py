"""What a message without text means to the dialogue: a server-set Rasa payload.

A photo, a voice note or a location pin carries no text for NLU to read, so the
channel states what arrived as a Rasa payload (``/intent{"entity": value}``), the
same mechanism as a tapped button: the intent and entities come from the payload,
the transcript keeps what the customer saw.  The intents and their answers are in
``domain.yml`` / ``data/rules/media.yml``; per channel see docs/channels/*.md.

Only the server builds these: nothing a customer types becomes one (a typed
``/send_media`` is text, read by NLU).
"""
from __future__ import annotations

import json
import math
from typing import Any, Dict, Optional

from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

#: Media the bot acknowledges ("I got your photo…") and offers the next step for.
MEDIA_KINDS = ("image", "sticker", "document", "video")
#: Instagram / Twilio names of those kinds.
MEDIA_ALIASES = {"file": "document", "photo": "image", "gif": "image", "application": "document", "text": "document"}

SEND_MEDIA = "send_media"
VOICE_NOTE = "voice_note"
SHARE_LOCATION = "share_location"
GET_STARTED = "get_started"


def _payload(intent: str, **entities: object) -> str:
    return f"/{intent}{json.dumps(entities, separators=(',', ':'))}" if entities else f"/{intent}"


def media_payload(kind: str) -> str:
    """``/send_media{"media_kind": …}`` for a photo, sticker, document or video; audio is a voice
    note; other kinds (a shared post or reel) are acknowledged as "an attachment"."""
    kind = MEDIA_ALIASES.get(kind, kind)
    if kind == "audio":
        return voice_note_payload()
    return _payload(SEND_MEDIA, media_kind=kind) if kind in MEDIA_KINDS else _payload(SEND_MEDIA)


def voice_note_payload() -> str:
    return _payload(VOICE_NOTE)


def location_payload(latitude: object, longitude: object) -> Optional[str]:
    """``/share_location{"latitude": …, "longitude": …}``; None if the numbers are unreadable."""
    try:
        lat, lon = float(latitude), float(longitude)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return _payload(SHARE_LOCATION, latitude=lat, longitude=lon)


def get_started_payload() -> str:
    return _payload(GET_STARTED)


def parse_data_for(payload: Optional[str], text: str, *, language: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """Rasa parse data for a server-set payload (``/affirm``, ``/send_media{…}``), or None.

    The intent and entities come from the payload; the text stays what the customer saw
    (a button's title, a location's label), so transcripts never show ``/affirm``.
    ``language`` (``ar``/``en``) states the reply language where the channel knows it
    (an account's default language for "Get started"); otherwise the conversation's
    language is kept.  None when there is no valid payload (NLU then reads the text).
    """
    if not payload or not payload.startswith("/"):
        return None
    parsed = YAMLStoryReader.unpack_regex_message(Message(data={TEXT: payload}))
    intent = parsed.get(INTENT)
    if not intent:
        return None
    data: Dict[str, Any] = {
        TEXT: text,
        INTENT: intent,
        INTENT_RANKING_KEY: parsed.get(INTENT_RANKING_KEY) or [intent],
        ENTITIES: parsed.get(ENTITIES) or [],
    }
    if language:
        data["language"] = {"code": language, "form": "default", "confidence": 1.0, "clear": True}
    return data
