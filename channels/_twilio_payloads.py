"""Pure builders for Twilio Messages API requests (WhatsApp).

Payloads are the form fields Twilio receives (``To``, ``From``, ``Body`` …), so they can
be stored durably in the outbox as plain JSON, asserted literally in tests, and mapped
onto ``client.messages.create_async`` keyword arguments in one place
(:func:`create_kwargs`).

Message resource: https://www.twilio.com/docs/messaging/api/message-resource
"""
from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from channels._text import split_text, utf16_len

# "The text of the message you want to send. Can be up to 1,600 characters in length."
# https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
MAX_BODY_CHARS = 1600

# Twilio accepts at most 10 MediaUrl parameters per message (same page).
MAX_MEDIA_URLS = 10

WHATSAPP_PREFIX = "whatsapp:"

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


def body_length(text: str) -> int:
    """Length as Twilio may count it: UTF-16 code units (never less than code points)."""
    return utf16_len(text)


def split_body(text: str, limit: int = MAX_BODY_CHARS) -> Tuple[str, ...]:
    """Parts of at most ``limit`` UTF-16 units, cut on word boundaries, never inside a
    grapheme (Arabic letter + harakat, ZWJ emoji); see :func:`channels._text.split_text`."""
    return tuple(split_text(text, limit, utf16_len))


def build_text(*, to: str, from_: str, body: str, status_callback: Optional[str] = None) -> TwilioPayload:
    """A free-form text message (only allowed inside the 24-hour window).

    Raises:
        ValueError: ``body`` is blank or longer than :data:`MAX_BODY_CHARS`; split first.
    """
    if not body.strip():
        raise ValueError("body is blank")
    if body_length(body) > MAX_BODY_CHARS:
        raise ValueError("body is longer than the Twilio limit; use split_body")
    return _with_callback({"To": whatsapp_address(to), "From": whatsapp_address(from_), "Body": body}, status_callback)


def build_media(
    *,
    to: str,
    from_: str,
    media_urls: Sequence[str],
    caption: Optional[str] = None,
    status_callback: Optional[str] = None,
) -> TwilioPayload:
    """A media message; the caption goes in ``Body``.

    Raises:
        ValueError: no URL, or more than :data:`MAX_MEDIA_URLS`.
    """
    if not media_urls or len(media_urls) > MAX_MEDIA_URLS:
        raise ValueError(f"need 1 to {MAX_MEDIA_URLS} media URLs")
    payload: TwilioPayload = {"To": whatsapp_address(to), "From": whatsapp_address(from_), "MediaUrl": list(media_urls)}
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
