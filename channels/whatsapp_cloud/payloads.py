"""Pure builders of WhatsApp Cloud API request bodies (no HTTP, unit-tested alone).

Every builder returns complete ``POST /{phone-number-id}/messages`` bodies, addressed
to an :class:`~channels.whatsapp_cloud.address.Address` (``to`` for a phone number,
``recipient`` for a business-scoped user id; a bare string is a phone ``wa_id``).  Limits
are named constants with the page that states them; when content has to be cut to
fit, a warning is logged (without the content).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from channels._text import shorten, split_text, utf16_len
from channels.whatsapp_cloud.address import Address

logger = logging.getLogger(__name__)

# https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages#text-object
MAX_TEXT_CHARS = 4096
# https://developers.facebook.com/docs/whatsapp/cloud-api/messages/interactive-reply-buttons-messages
MAX_REPLY_BUTTONS = 3
MAX_BUTTON_TITLE_CHARS = 20
MAX_BUTTON_ID_CHARS = 256
MAX_INTERACTIVE_BODY_CHARS = 1024
# https://developers.facebook.com/docs/whatsapp/cloud-api/messages/interactive-list-messages
MAX_LIST_ROWS = 10
MAX_LIST_ROW_TITLE_CHARS = 24
MAX_LIST_ROW_DESCRIPTION_CHARS = 72
MAX_LIST_ROW_ID_CHARS = 200
MAX_LIST_BUTTON_CHARS = 20
# https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types
MAX_CAPTION_CHARS = 1024

MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
#: Body of an interactive message whose Rasa response had buttons but no text.
EMPTY_BODY = "👇"
_LIST_BUTTON_LABEL = {"ar": "اختر", "en": "Choose"}


#: Who a message goes to: an address of explicit kind, or a bare ``wa_id`` (a phone).
To = Union[Address, str]


def addressing(to: To) -> Dict[str, str]:
    """The addressing fields for ``to`` (``recipient_type`` and ``to`` or ``recipient``)."""
    return (to if isinstance(to, Address) else Address.phone(to)).fields()


def _envelope(to: To, kind: str, body: Mapping[str, Any]) -> Dict[str, Any]:
    return {"messaging_product": "whatsapp", **addressing(to), "type": kind, kind: dict(body)}


def _is_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f" for ch in text)


def build_text_payloads(to: To, text: str, *, preview_url: bool = False) -> List[Dict[str, Any]]:
    """Text messages for ``text``, split at :data:`MAX_TEXT_CHARS` on word boundaries.

    Returns no message for empty or whitespace-only text.
    """
    return [
        _envelope(to, "text", {"body": part, "preview_url": preview_url})
        for part in split_text(text, MAX_TEXT_CHARS)
    ]


def _button_id(button: Mapping[str, Any]) -> str:
    return str(button.get("payload") or button.get("url") or button.get("title") or "")


def _button_title(button: Mapping[str, Any]) -> str:
    return str(button.get("title") or _button_id(button))


def build_buttons_payloads(to: To, text: str, buttons: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Rasa buttons as reply buttons, a list, or numbered text, whichever fits.

    - up to :data:`MAX_REPLY_BUTTONS` with short titles: interactive reply buttons;
    - up to :data:`MAX_LIST_ROWS`: an interactive list (long titles shortened, the
      full title kept as the row description);
    - more: the text followed by a numbered list of the titles (a warning is logged).

    Text longer than the interactive body limit goes out first as text messages.
    The button ``payload`` (a Rasa payload such as ``/affirm``) is the reply id, so
    the customer's tap comes back as that payload.
    """
    if not buttons:
        return build_text_payloads(to, text)
    ids = [_button_id(b) for b in buttons]
    titles = [_button_title(b) for b in buttons]
    if len(buttons) > MAX_LIST_ROWS or any(utf16_len(i) > MAX_LIST_ROW_ID_CHARS for i in ids):
        logger.warning(
            "%d options do not fit an interactive message (max %d); sending numbered text",
            len(buttons), MAX_LIST_ROWS,
        )
        return build_numbered_text_payloads(to, text, titles)
    lead, body = _split_body(text)
    payloads = [_envelope(to, "text", {"body": part, "preview_url": False}) for part in lead]
    fits_buttons = (
        len(buttons) <= MAX_REPLY_BUTTONS
        and all(utf16_len(t) <= MAX_BUTTON_TITLE_CHARS for t in titles)
        and len(set(titles)) == len(titles)
    )
    if fits_buttons:
        payloads.append(_reply_buttons(to, body, ids, titles))
    else:
        payloads.append(_list(to, body, ids, titles))
    return payloads


def _split_body(text: str) -> "tuple[List[str], str]":
    """(text parts sent before, interactive body) for a text of any length."""
    parts = split_text(text, MAX_TEXT_CHARS)
    if not parts:
        return [], EMPTY_BODY
    if utf16_len(parts[-1]) > MAX_INTERACTIVE_BODY_CHARS:
        parts = parts[:-1] + split_text(parts[-1], MAX_INTERACTIVE_BODY_CHARS)
    return parts[:-1], parts[-1]


def _reply_buttons(to: To, body: str, ids: Sequence[str], titles: Sequence[str]) -> Dict[str, Any]:
    return _envelope(
        to,
        "interactive",
        {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": i, "title": t}} for i, t in zip(ids, titles)
                ]
            },
        },
    )


def _list(to: To, body: str, ids: Sequence[str], titles: Sequence[str]) -> Dict[str, Any]:
    rows = []
    for row_id, title in zip(ids, titles):
        row: Dict[str, Any] = {"id": row_id, "title": title}
        if utf16_len(title) > MAX_LIST_ROW_TITLE_CHARS:
            logger.warning("List row title shortened to %d characters", MAX_LIST_ROW_TITLE_CHARS)
            row["title"] = shorten(title, MAX_LIST_ROW_TITLE_CHARS)
            row["description"] = shorten(title, MAX_LIST_ROW_DESCRIPTION_CHARS)
        rows.append(row)
    label = _LIST_BUTTON_LABEL["ar" if _is_arabic(body) else "en"]
    return _envelope(
        to,
        "interactive",
        {
            "type": "list",
            "body": {"text": body},
            "action": {"button": label[:MAX_LIST_BUTTON_CHARS], "sections": [{"title": label, "rows": rows}]},
        },
    )


def build_numbered_text_payloads(to: To, text: str, titles: Sequence[str]) -> List[Dict[str, Any]]:
    """``text`` followed by ``1. title`` lines, split like any text."""
    lines = [f"{n}. {title}" for n, title in enumerate(titles, start=1)]
    return build_text_payloads(to, "\n\n".join(p for p in (text.strip(), "\n".join(lines)) if p))


def build_media_payload(
    to: To,
    kind: str,
    *,
    link: Optional[str] = None,
    media_id: Optional[str] = None,
    caption: Optional[str] = None,
    filename: Optional[str] = None,
) -> Dict[str, Any]:
    """An image/video/audio/document/sticker message by ``link`` or uploaded ``media_id``."""
    if kind not in MEDIA_TYPES:
        raise ValueError(f"not a WhatsApp media type: {kind}")
    if not (link or media_id):
        raise ValueError("media needs a link or an id")
    media: Dict[str, Any] = {"id": media_id} if media_id else {"link": link}
    if caption and kind not in ("audio", "sticker"):
        if utf16_len(caption) > MAX_CAPTION_CHARS:
            logger.warning("Media caption shortened to %d characters", MAX_CAPTION_CHARS)
            caption = shorten(caption, MAX_CAPTION_CHARS)
        media["caption"] = caption
    if filename and kind == "document":
        media["filename"] = filename
    return _envelope(to, kind, media)


def build_template_payload(
    to: To, name: str, language: str, components: Optional[Sequence[Mapping[str, Any]]] = None
) -> Dict[str, Any]:
    """An approved template message (allowed outside the 24-hour window)."""
    template: Dict[str, Any] = {"name": name, "language": {"code": language, "policy": "deterministic"}}
    if components:
        template["components"] = [dict(c) for c in components]
    return _envelope(to, "template", template)


def build_custom_payload(to: To, custom: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """A Rasa ``custom`` response passed through as a message body.

    ``custom`` is a WhatsApp message object with a ``type`` (``{"type": "location",
    "location": {...}}``), optionally nested under a ``"whatsapp"`` key so one
    response can carry variants for several channels.  ``messaging_product`` and the
    addressing fields are filled in (any the response carried are replaced).  Returns None if it has no ``type``.
    """
    body = custom.get("whatsapp", custom)
    if not isinstance(body, Mapping) or not isinstance(body.get("type"), str):
        return None
    fields = {k: v for k, v in dict(body).items() if k not in ("to", "recipient", "recipient_type")}
    return {**fields, "messaging_product": "whatsapp", **addressing(to)}


def build_read_receipt(message_id: str, *, typing: bool = True) -> Dict[str, Any]:
    """Mark an inbound message read and (by default) show the typing indicator."""
    payload: Dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
    if typing:
        payload["typing_indicator"] = {"type": "text"}
    return payload


#: Meta's limit for ``biz_opaque_callback_data`` (pywa: 512 characters).
MAX_CALLBACK_DATA_CHARS = 512


def with_callback_data(payload: Mapping[str, Any], key: str) -> Dict[str, Any]:
    """``payload`` carrying our outbox key in ``biz_opaque_callback_data``.

    Meta echoes the value in every status webhook of the message (sent, delivered,
    read, failed), so a send whose answer we never recorded (the process died) is still
    recognised as sent (``bot/delivery/in_doubt.py``).  A key over the limit is left out
    (the send stays at-least-once rather than being refused).
    """
    body = dict(payload)
    if key and len(key) <= MAX_CALLBACK_DATA_CHARS:
        body["biz_opaque_callback_data"] = key
    return body
