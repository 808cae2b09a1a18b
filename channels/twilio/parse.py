"""Parse Twilio WhatsApp webhooks (form bodies) into frozen dataclasses.

Pure functions only: no Sanic, no I/O. The route decodes the raw body with
:func:`decode_form`, checks the signature over the decoded fields, then calls
:func:`parse_event` to get either a :class:`TwilioInbound` or a :class:`TwilioStatus`.

Field reference: https://www.twilio.com/docs/messaging/guides/webhook-request and
https://www.twilio.com/docs/whatsapp/api#monitor-the-status-of-your-whatsapp-outbound-message.
Twilio adds parameters without notice, so unknown fields are ignored (but still signed).
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple, Union
from urllib.parse import parse_qs

from channels._structured import location_payload, media_payload

# Twilio sends at most 10 media items per WhatsApp message; more is a malformed body.
MAX_MEDIA = 10

# Statuses a Messaging Service or a sender can report; anything else is rejected as malformed.
# https://www.twilio.com/docs/messaging/api/message-resource#message-status-values
KNOWN_STATUSES = frozenset(
    {
        "accepted",
        "scheduled",
        "canceled",
        "queued",
        "sending",
        "sent",
        "delivered",
        "read",
        "failed",
        "undelivered",
        "receiving",
        "received",
        "partially_delivered",
    }
)

FormFields = Dict[str, List[str]]

WHATSAPP_PREFIX = "whatsapp:"


class Transport(str, enum.Enum):
    """How a Twilio message travelled, as Twilio states it in ``From``/``To``.

    WhatsApp addresses carry the ``whatsapp:`` channel prefix (``whatsapp:+1415…``);
    SMS and MMS addresses are bare E.164 numbers (``+1415…``).  A reply always goes
    back on the transport the message came by.
    """

    WHATSAPP = "whatsapp"
    SMS = "sms"


class MalformedWebhook(ValueError):
    """The body is not a Twilio webhook we can read; the route answers 400."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __repr__(self) -> str:
        return f"MalformedWebhook({self.reason!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Media:
    """One attachment; the URL needs HTTP Basic auth (AccountSid:AuthToken) to download."""

    url: str
    content_type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """A shared location pin. Twilio sends the numbers as strings."""

    latitude: float
    longitude: float
    address: Optional[str] = None
    label: Optional[str] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TwilioInbound:
    """A customer's WhatsApp message as Twilio reports it.

    ``sender`` is ``From`` exactly as Twilio sent it (``whatsapp:+31612345678`` or a
    ``whatsapp:US.…`` business-scoped id): replies go back to that address unchanged.
    """

    message_sid: str
    account_sid: str
    sender: str
    recipient: str
    body: str
    wa_id: Optional[str] = None
    profile_name: Optional[str] = None
    button_payload: Optional[str] = None
    button_text: Optional[str] = None
    media: Tuple[Media, ...] = ()
    location: Optional[Location] = None
    message_type: Optional[str] = None
    replied_to_sid: Optional[str] = None
    messaging_service_sid: Optional[str] = None
    external_user_id: Optional[str] = None
    forwarded: bool = False
    referral: Tuple[Tuple[str, str], ...] = ()

    @property
    def transport(self) -> Transport:
        """WhatsApp (``From=whatsapp:…``) or SMS (a bare number)."""
        return Transport.WHATSAPP if self.sender.startswith(WHATSAPP_PREFIX) else Transport.SMS

    @property
    def number(self) -> str:
        """The customer's number or WhatsApp id without the channel prefix."""
        return self.sender[len(WHATSAPP_PREFIX):] if self.transport is Transport.WHATSAPP else self.sender

    @property
    def payload(self) -> Optional[str]:
        """A Rasa payload that picks the intent instead of NLU: a tapped button's
        (``/check_bill``), or, for a message without text, what arrived (a photo, a
        voice note, a location pin: :mod:`channels._structured`)."""
        if self.button_payload:
            return self.button_payload
        if self.body:
            return None
        if self.location is not None:
            return location_payload(self.location.latitude, self.location.longitude)
        if self.media:
            return media_payload(self.media[0].content_type.split("/", 1)[0])
        return None

    @property
    def text(self) -> str:
        """What the transcript shows: the body, a tapped button's label, or a location's
        label and address (the same rule as the WhatsApp Cloud channel)."""
        if self.body:
            return self.body
        if self.button_text or self.button_payload:
            return self.button_text or self.button_payload or ""
        if self.location is not None:
            return " ".join(part for part in (self.location.label, self.location.address) if part)
        return ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TwilioStatus:
    """A status callback for a message we sent.

    Only ``MessageSid`` and ``MessageStatus`` are needed: the signature already proves
    the callback is Twilio's, and Twilio's minimal callbacks carry nothing else.
    """

    message_sid: str
    status: str
    account_sid: Optional[str] = None
    recipient: Optional[str] = None
    error_code: Optional[int] = None
    error_message: Optional[str] = None


TwilioEvent = Union[TwilioInbound, TwilioStatus]


def decode_form(body: bytes) -> FormFields:
    """Decode an ``application/x-www-form-urlencoded`` body, keeping blank values.

    Sanic's ``request.form`` drops blank values (``Body=`` on media and location
    messages), but Twilio signs them, so the route must use this instead.

    Raises:
        MalformedWebhook: the body is empty, not UTF-8, or not a form.
    """
    if not body:
        raise MalformedWebhook("empty body")
    try:
        text = body.decode("utf-8")
        return parse_qs(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedWebhook(f"not a form body: {type(exc).__name__}") from None


def parse_event(fields: FormFields) -> TwilioEvent:
    """Turn decoded form fields into an inbound message or a status callback.

    Raises:
        MalformedWebhook: a required field is missing, repeated or unreadable.
    """
    form = _single_values(fields)
    status = form.get("MessageStatus", "").strip().lower()
    if status and status != "received":
        return _parse_status(form, status)
    return _parse_inbound(form)


def _single_values(fields: FormFields) -> Dict[str, str]:
    """Twilio never repeats a field; a repeated one is a forged or broken body."""
    repeated = sorted(name for name, values in fields.items() if len(values) > 1)
    if repeated:
        raise MalformedWebhook(f"repeated fields: {', '.join(repeated)}")
    return {name: values[0] for name, values in fields.items()}


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise MalformedWebhook(f"missing field {name}")
    return value


def _optional(form: Mapping[str, str], name: str) -> Optional[str]:
    value = form.get(name, "").strip()
    return value or None


def _parse_status(form: Mapping[str, str], status: str) -> TwilioStatus:
    if status not in KNOWN_STATUSES:
        raise MalformedWebhook("unknown MessageStatus")
    return TwilioStatus(
        message_sid=_required(form, "MessageSid"),
        status=status,
        account_sid=_optional(form, "AccountSid"),
        recipient=_optional(form, "To"),
        error_code=_parse_error_code(form.get("ErrorCode")),
        error_message=_optional(form, "ErrorMessage"),
    )


def _parse_error_code(raw: Optional[str]) -> Optional[int]:
    if raw is None or not raw.strip():
        return None
    try:
        code = int(raw.strip())
    except ValueError:
        raise MalformedWebhook("ErrorCode is not a number") from None
    if not 0 <= code < 2**31:  # Twilio's codes are 5 digits; the column is a 32-bit integer
        raise MalformedWebhook("ErrorCode out of range")
    return code


def _parse_inbound(form: Mapping[str, str]) -> TwilioInbound:
    return TwilioInbound(
        message_sid=_required(form, "MessageSid"),
        account_sid=_required(form, "AccountSid"),
        sender=_required(form, "From"),
        recipient=_required(form, "To"),
        # Body is present but empty for media-only and location messages.
        body=form.get("Body", "").strip(),
        wa_id=_optional(form, "WaId"),
        profile_name=_optional(form, "ProfileName"),
        button_payload=_optional(form, "ButtonPayload"),
        button_text=_optional(form, "ButtonText"),
        media=_parse_media(form),
        location=_parse_location(form),
        message_type=_optional(form, "MessageType"),
        replied_to_sid=_optional(form, "OriginalRepliedMessageSid"),
        messaging_service_sid=_optional(form, "MessagingServiceSid"),
        external_user_id=_optional(form, "ExternalUserId"),
        forwarded=form.get("Forwarded", "").lower() == "true"
        or form.get("FrequentlyForwarded", "").lower() == "true",
        referral=tuple(sorted((k, v) for k, v in form.items() if k.startswith("Referral") and v)),
    )


def _parse_media(form: Mapping[str, str]) -> Tuple[Media, ...]:
    raw = form.get("NumMedia", "0").strip() or "0"
    try:
        count = int(raw)
    except ValueError:
        raise MalformedWebhook("NumMedia is not a number") from None
    if not 0 <= count <= MAX_MEDIA:
        raise MalformedWebhook("NumMedia out of range")
    items = []
    for index in range(count):
        url = _required(form, f"MediaUrl{index}")
        content_type = _optional(form, f"MediaContentType{index}") or "application/octet-stream"
        items.append(Media(url=url, content_type=content_type))
    return tuple(items)


def _parse_location(form: Mapping[str, str]) -> Optional[Location]:
    lat, lon = _optional(form, "Latitude"), _optional(form, "Longitude")
    if lat is None and lon is None:
        return None
    if lat is None or lon is None:
        raise MalformedWebhook("Latitude and Longitude must come together")
    try:
        latitude, longitude = float(lat), float(lon)
    except ValueError:
        raise MalformedWebhook("Latitude/Longitude are not numbers") from None
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        raise MalformedWebhook("Latitude/Longitude are not finite")
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        raise MalformedWebhook("Latitude/Longitude out of range")
    return Location(
        latitude=latitude,
        longitude=longitude,
        address=_optional(form, "Address"),
        label=_optional(form, "Label"),
    )
