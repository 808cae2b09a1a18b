"""Pure builders for Twilio Messages API requests (WhatsApp and SMS).

Payloads are the form fields Twilio receives (``To``, ``From``, ``Body`` …), so they can
be stored durably in the outbox as plain JSON, asserted literally in tests, and mapped
onto ``client.messages.create_async`` keyword arguments in one place
(:func:`create_kwargs`).

Message resource: https://www.twilio.com/docs/messaging/api/message-resource
"""
from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from channels._text import split_text, utf16_len

# "The text of the message you want to send. Can be up to 1,600 characters in length."
# https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
MAX_BODY_CHARS = 1600

# Twilio accepts at most 10 MediaUrl parameters per message (same page).
MAX_MEDIA_URLS = 10

WHATSAPP_PREFIX = "whatsapp:"

# SMS segments: 160 GSM-7 characters (153 when concatenated) or 70 UCS-2 units (67);
# Arabic and emoji need UCS-2.  Twilio sends up to 1,600 characters as one concatenated
# message but recommends keeping it to 10 segments, so an SMS part stays within both.
# https://www.twilio.com/docs/glossary/what-sms-character-limit
MAX_SMS_SEGMENTS = 10
GSM7_SEGMENT, UCS2_SEGMENT = 153, 67
_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)

# Form field → ``MessageList.create_async`` keyword. Anything else is rejected, so a
# stored payload can never smuggle unexpected parameters into a send.
_KWARGS = {
    "To": "to",
    "From": "from_",
    "MessagingServiceSid": "messaging_service_sid",
    "Body": "body",
    "MediaUrl": "media_url",
    "ContentSid": "content_sid",
    "ContentVariables": "content_variables",
    "StatusCallback": "status_callback",
}

TwilioPayload = Dict[str, Any]


def whatsapp_address(value: str) -> str:
    """``whatsapp:+<E.164>`` (or ``whatsapp:<BSUID>``) for a bare number, wa_id or address."""
    value = value.strip()
    if value.startswith(WHATSAPP_PREFIX):
        return value
    if value[:1].isdigit():
        return f"{WHATSAPP_PREFIX}+{value}"
    return f"{WHATSAPP_PREFIX}{value}"


def address(value: str, *, sms: bool = False) -> str:
    """``To``/``From`` for the transport: ``whatsapp:+…`` on WhatsApp, the bare number by SMS."""
    if not sms:
        return whatsapp_address(value)
    value = value.strip()
    value = value[len(WHATSAPP_PREFIX):] if value.startswith(WHATSAPP_PREFIX) else value
    return f"+{value}" if value[:1].isdigit() else value


def is_gsm7(text: str) -> bool:
    return all(ch in _GSM7 for ch in text)


def sms_part_limit(text: str) -> int:
    """The longest SMS part for ``text``: 10 segments of its encoding, at most 1,600 characters."""
    return min(MAX_BODY_CHARS, MAX_SMS_SEGMENTS * (GSM7_SEGMENT if is_gsm7(text) else UCS2_SEGMENT))


def body_length(text: str) -> int:
    """Length as Twilio may count it: UTF-16 code units (never less than code points)."""
    return utf16_len(text)


def split_body(text: str, limit: int = MAX_BODY_CHARS) -> Tuple[str, ...]:
    """Parts of at most ``limit`` UTF-16 units, cut on word boundaries, never inside a
    grapheme (Arabic letter + harakat, ZWJ emoji); see :func:`channels._text.split_text`."""
    return tuple(split_text(text, limit, utf16_len))


def build_text(*, to: str, from_: str, body: str, status_callback: Optional[str] = None,
               sms: bool = False) -> TwilioPayload:
    """A free-form text message (on WhatsApp only allowed inside the 24-hour window).

    Raises:
        ValueError: ``body`` is blank or longer than :data:`MAX_BODY_CHARS`; split first.
    """
    if not body.strip():
        raise ValueError("body is blank")
    if body_length(body) > MAX_BODY_CHARS:
        raise ValueError("body is longer than the Twilio limit; use split_body")
    return _with_callback({"To": address(to, sms=sms), "From": address(from_, sms=sms), "Body": body},
                          status_callback)


def build_media(
    *,
    to: str,
    from_: str,
    media_urls: Sequence[str],
    caption: Optional[str] = None,
    status_callback: Optional[str] = None,
    sms: bool = False,
) -> TwilioPayload:
    """A media message (MMS by SMS); the caption goes in ``Body``.

    Raises:
        ValueError: no URL, or more than :data:`MAX_MEDIA_URLS`.
    """
    if not media_urls or len(media_urls) > MAX_MEDIA_URLS:
        raise ValueError(f"need 1 to {MAX_MEDIA_URLS} media URLs")
    payload: TwilioPayload = {"To": address(to, sms=sms), "From": address(from_, sms=sms), "MediaUrl": list(media_urls)}
    if caption and caption.strip():
        payload["Body"] = caption
    return _with_callback(payload, status_callback)


def build_template(
    *,
    to: str,
    from_: str,
    content_sid: str,
    variables: Optional[Mapping[str, str]] = None,
    status_callback: Optional[str] = None,
) -> TwilioPayload:
    """An approved template (Content API), the only thing allowed outside the window.

    ``ContentVariables`` is a JSON *string*, keyed by placeholder number ("1", "2" …).
    https://www.twilio.com/docs/content/send-templates-created-with-the-content-editor
    """
    if not content_sid.startswith("HX"):
        raise ValueError("content SIDs start with HX")
    payload: TwilioPayload = {"To": whatsapp_address(to), "From": whatsapp_address(from_), "ContentSid": content_sid}
    if variables:
        payload["ContentVariables"] = json.dumps(dict(variables), ensure_ascii=False, separators=(",", ":"))
    return _with_callback(payload, status_callback)


def _with_callback(payload: TwilioPayload, status_callback: Optional[str]) -> TwilioPayload:
    if status_callback:
        payload["StatusCallback"] = status_callback
    return payload


def create_kwargs(payload: Mapping[str, Any]) -> Dict[str, Any]:
    """Keyword arguments for ``client.messages.create_async`` from a stored payload.

    Raises:
        ValueError: the payload holds a field this channel never builds.
    """
    unknown = sorted(set(payload) - set(_KWARGS))
    if unknown:
        raise ValueError(f"unexpected Twilio fields: {', '.join(unknown)}")
    return {_KWARGS[name]: value for name, value in payload.items()}


#: The StatusCallback query parameter carrying our outbox key (Twilio signs the whole URL).
CALLBACK_KEY_PARAM = "majlis_key"


def with_callback_key(status_callback: str, key: str) -> str:
    """``status_callback`` with our outbox key in its query.

    Twilio posts every status of the message to exactly this URL and signs it, query
    included, so the key comes back verified: a send whose answer was never recorded
    (the process died) is recognised as sent (``bot/delivery/in_doubt.py``).
    """
    parts = urlsplit(status_callback)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(CALLBACK_KEY_PARAM, key)]
    # ":" left as is (keys are "<MessageSid>:<n>"): a client normalising the URL changes nothing signed.
    return urlunsplit(parts._replace(query=urlencode(query, safe=":")))


def callback_key_of(url: str) -> Optional[str]:
    """The outbox key in a (signature-checked) status callback URL, if any."""
    values = [value for name, value in parse_qsl(urlsplit(url).query) if name == CALLBACK_KEY_PARAM]
    return values[0] if len(values) == 1 and values[0] else None
