"""Pure builders of Instagram Send API request bodies (no HTTP, unit-tested alone).

Every builder returns complete ``POST /{IG-or-Page-ID}/messages`` bodies, except
:func:`build_public_reply` (``POST /{comment-id}/replies``).  Limits are named
constants with the page that states them; content cut to fit logs a warning
(without the content).

Send API: https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional, Sequence

from channels._text import shorten, split_text, utf8_len

logger = logging.getLogger(__name__)

#: "Text messages must be UTF-8 and 1000 bytes or less" (send-message page). Bytes, not
#: characters: Arabic letters take 2 bytes, most emoji 4.
MAX_TEXT_BYTES = 1000
# https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/messaging-api/quick-replies
MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE_CHARS = 20
MAX_QUICK_REPLY_PAYLOAD_CHARS = 1000
# https://developers.facebook.com/docs/instagram-platform/private-replies (same text limit)
MAX_PRIVATE_REPLY_BYTES = MAX_TEXT_BYTES
#: Public comment replies; kept short on purpose (Meta allows more).
MAX_PUBLIC_REPLY_CHARS = 300

ATTACHMENT_TYPES = ("image", "video", "audio", "file")

#: ``messaging_type`` values. RESPONSE inside the 24-hour window; MESSAGE_TAG with
#: ``tag: HUMAN_AGENT`` for a person's reply up to 7 days after the customer's message.
RESPONSE = "RESPONSE"
MESSAGE_TAG = "MESSAGE_TAG"
HUMAN_AGENT = "HUMAN_AGENT"

#: Outbox ``kind`` of the public comment reply (a different endpoint).
KIND_PUBLIC_REPLY = "public_reply"
KIND_PRIVATE_REPLY = "private_reply"

Payload = Dict[str, Any]


def _envelope(recipient: str, message: Mapping[str, Any], tag: Optional[str]) -> Payload:
    payload: Payload = {"recipient": {"id": recipient}, "messaging_type": RESPONSE, "message": dict(message)}
    return with_tag(payload, tag)


def with_tag(payload: Mapping[str, Any], tag: Optional[str]) -> Payload:
    """``payload`` sent as a tagged message (``HUMAN_AGENT``), or unchanged for None."""
    result = dict(payload)
    if tag:
        result["messaging_type"] = MESSAGE_TAG
        result["tag"] = tag
    return result


def build_text_payloads(recipient: str, text: str, *, tag: Optional[str] = None) -> List[Payload]:
    """Text messages for ``text``, split at :data:`MAX_TEXT_BYTES` UTF-8 bytes.

    Cuts on a line break or space where possible and never inside a grapheme
    cluster (an Arabic letter with its harakat, an emoji ZWJ sequence).  Blank text
    gives no message.
    """
    return [_envelope(recipient, {"text": part}, tag) for part in split_text(text, MAX_TEXT_BYTES, utf8_len)]


def quick_reply(title: str, payload: str) -> Dict[str, str]:
    """One ``content_type: text`` quick reply; a title over 20 characters is shortened."""
    if len(title) > MAX_QUICK_REPLY_TITLE_CHARS:
        logger.warning("Instagram quick-reply title of %d characters shortened to %d",
                       len(title), MAX_QUICK_REPLY_TITLE_CHARS)
        title = shorten(title, MAX_QUICK_REPLY_TITLE_CHARS, len)
    if len(payload) > MAX_QUICK_REPLY_PAYLOAD_CHARS:
        raise ValueError("quick-reply payload longer than 1000 characters")
    return {"content_type": "text", "title": title, "payload": payload}


def build_quick_replies(
    recipient: str, text: str, buttons: Sequence[Mapping[str, Any]], *, tag: Optional[str] = None
) -> List[Payload]:
    """Rasa buttons as quick replies on the (last part of the) text.

    At most :data:`MAX_QUICK_REPLIES`; the rest are dropped with a warning.  A button
    without a payload uses its title.  Text that needs splitting carries the quick
    replies on its last part; buttons without text get a neutral "👇".
    """
    if len(buttons) > MAX_QUICK_REPLIES:
        logger.warning("Instagram allows %d quick replies; %d buttons, the rest dropped",
                       MAX_QUICK_REPLIES, len(buttons))
    replies = [
        quick_reply(str(button.get("title") or button.get("payload") or "?"),
                    str(button.get("payload") or button.get("title") or ""))
        for button in buttons[:MAX_QUICK_REPLIES]
    ]
    payloads = build_text_payloads(recipient, text, tag=tag) or build_text_payloads(recipient, "👇", tag=tag)
    if replies:
        payloads[-1]["message"]["quick_replies"] = replies
    return payloads


def build_attachment(recipient: str, kind: str, url: str, *, tag: Optional[str] = None) -> Payload:
    """An image, video, audio or file sent by URL (Meta downloads it).

    Raises:
        ValueError: unknown type or a URL that is not http(s).
    """
    if kind not in ATTACHMENT_TYPES:
        raise ValueError(f"attachment type must be one of {ATTACHMENT_TYPES}")
    if not url.startswith(("https://", "http://")):
        raise ValueError("attachment URL must be http(s)")
    return _envelope(recipient, {"attachment": {"type": kind, "payload": {"url": url}}}, tag)


def build_private_reply(comment_id: str, text: str) -> Payload:
    """The one private reply to a comment; it opens a DM conversation with the commenter.

    https://developers.facebook.com/docs/instagram-platform/private-replies: recipient
    is ``comment_id``, one reply per comment, within 7 days.

    Raises:
        ValueError: blank text or text over :data:`MAX_PRIVATE_REPLY_BYTES`.
    """
    if not text.strip():
        raise ValueError("private reply text is blank")
    if utf8_len(text) > MAX_PRIVATE_REPLY_BYTES:
        raise ValueError("private reply longer than 1000 bytes")
    return {"recipient": {"comment_id": comment_id}, "message": {"text": text}}


def build_public_reply(comment_id: str, text: str) -> Payload:
    """A public reply under a comment (``POST /{comment-id}/replies``, field ``message``)."""
    if not text.strip():
        raise ValueError("public reply text is blank")
    return {"comment_id": comment_id, "message": shorten(text, MAX_PUBLIC_REPLY_CHARS, len)}


def payload_text(payload: Mapping[str, Any]) -> Optional[str]:
    """The text a stored payload sends, if any (matches echoes to what the bot sent)."""
    message = payload.get("message")
    if isinstance(message, Mapping) and isinstance(message.get("text"), str):
        return message["text"]
    return None
