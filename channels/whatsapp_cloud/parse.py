"""Parse WhatsApp Cloud API webhook bodies into frozen dataclasses (pure, no I/O).

Every entry, change, message and status of a batch is read; anything we do not
understand is kept as ``unsupported`` (messages) or counted as ignored (other
fields), never raised.  Envelope and types:
https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional, Tuple

from channels._structured import location_payload, media_payload
from channels.whatsapp_cloud.address import Address, AddressKind

logger = logging.getLogger(__name__)

OBJECT = "whatsapp_business_account"
#: The webhook field of messages a person sent from the WhatsApp Business app or a companion
#: device on a coexistence number (Meta: "smb_message_echoes webhook reference").
ECHO_FIELD = "smb_message_echoes"
MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
#: Error code that comes with a message of a type the Cloud API cannot pass on.
UNSUPPORTED_CODE = 131051
#: What the bot receives for a message it cannot read (unsupported type, or a
#: message that arrived with errors): a Rasa payload handled like out-of-scope.
UNSUPPORTED_PAYLOAD = "/out_of_scope"
#: Types recorded without waking the bot: they are not requests to answer.
SILENT_TYPES = frozenset({"reaction", "system", "revoke", "edit"})
#: Types that do not (re)open the customer-service window (not verified for
#: reactions, so we do not rely on them; system notices come from WhatsApp).
NO_WINDOW_TYPES = frozenset({"reaction", "system", "revoke", "edit"})


def _dict(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> Optional[str]:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    return None


def parse_timestamp(value: Any) -> Optional[datetime]:
    """Epoch seconds (a string on WhatsApp, sometimes an int) → aware UTC, leniently."""
    try:
        seconds = int(str(value).strip())
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Customer:
    """Who wrote: phone-based ``wa_id`` and/or business-scoped user id (BSUID)."""

    wa_id: Optional[str] = None
    user_id: Optional[str] = None
    parent_user_id: Optional[str] = None
    name: Optional[str] = None
    username: Optional[str] = None

    @property
    def id(self) -> Optional[str]:
        """The conversation key: the wa_id when present, otherwise the BSUID."""
        return self.wa_id or self.user_id

    @property
    def address(self) -> Optional[Address]:
        """How replies reach this customer: ``to`` the wa_id, else ``recipient`` the BSUID."""
        if self.wa_id:
            return Address(kind=AddressKind.PHONE, value=self.wa_id)
        if self.user_id:
            return Address(kind=AddressKind.USER_ID, value=self.user_id)
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage:
    """One customer message from a webhook.

    Attributes:
        id: the wamid (dedupe key).
        type: the WhatsApp ``type`` as sent.
        phone_number_id: the business number that received it (routing key).
        customer: who sent it.
        text: what the transcript shows (body, caption, button title, ...).
        payload: a Rasa payload (``/affirm``) to trigger the intent directly, if any.
        silent: record only; do not hand to the bot (reactions, system, edits).
        group_id: the WhatsApp group it was written in (None: a one-to-one message).
        opens_window: whether it opens/extends the 24-hour window.
        details: type-specific data for the message metadata.
        raw: the stored envelope this was parsed from (see :meth:`to_stored`).
    """

    id: str
    type: str
    phone_number_id: str
    display_phone_number: Optional[str]
    waba_id: Optional[str]
    timestamp: Optional[str]
    sent_at: Optional[datetime]
    customer: Customer
    text: str
    payload: Optional[str] = None
    silent: bool = False
    opens_window: bool = True
    context: Optional[Mapping[str, Any]] = None
    referral: Optional[Mapping[str, Any]] = None
    group_id: Optional[str] = None
    details: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> Address:
        """Where replies go: the group for a group message, else the customer (phone or BSUID)."""
        if self.group_id:
            return Address(kind=AddressKind.GROUP, value=self.group_id)
        assert self.customer.address is not None, "parsed messages always have a sender"
        return self.customer.address

    @property
    def conversation_key(self) -> str:
        """The delivery layer's customer key (Rasa's sender id): the group, else the customer."""
        return self.group_id or self.customer.id or ""

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> Optional["InboundMessage"]:
        """Rebuild a message from :meth:`to_stored` output (same parser, same result)."""
        return _parse_message(
            _dict(stored.get("message")),
            metadata=_dict(stored.get("metadata")),
            contacts=_list(stored.get("contacts")),
            waba_id=_str(stored.get("waba_id")),
        )

    def to_stored(self) -> Dict[str, Any]:
        """The raw pieces needed to parse this message again after a restart."""
        return dict(self.raw)

    def metadata(self) -> Dict[str, Any]:
        """Metadata for Rasa's ``UserMessage`` (personal data stays out of logs)."""
        whatsapp: Dict[str, Any] = {
            "type": self.type,
            "phone_number_id": self.phone_number_id,
            "display_phone_number": self.display_phone_number,
            "waba_id": self.waba_id,
            "wa_id": self.customer.wa_id,
            "user_id": self.customer.user_id,
            "parent_user_id": self.customer.parent_user_id,
            "profile_name": self.customer.name,
            "username": self.customer.username,
            "address_kind": self.address.kind.value,
            "timestamp": self.timestamp,
        }
        if self.group_id:
            whatsapp["group_id"] = self.group_id
        if self.context:
            whatsapp["context"] = dict(self.context)
        if self.payload:
            whatsapp["payload"] = self.payload
        whatsapp.update(self.details)
        meta: Dict[str, Any] = {
            "channel": "whatsapp_cloud",
            "account": self.phone_number_id,
            "message_type": self.type,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "whatsapp": whatsapp,
        }
        if self.context and self.context.get("id"):
            meta["reply_to"] = self.context.get("id")
        if self.referral:
            meta["referral"] = dict(self.referral)
        return meta


@dataclass(frozen=True, slots=True, kw_only=True)
class Status:
    """One delivery report (``value.statuses[]``)."""

    message_id: str
    status: str
    phone_number_id: str
    timestamp: Optional[datetime]
    recipient_id: Optional[str] = None
    error_code: Optional[int] = None
    error_title: Optional[str] = None
    callback_data: Optional[str] = None
    """``biz_opaque_callback_data``: what we sent with the message (our outbox key), echoed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Echo:
    """A message the business sent from the WhatsApp Business app or a linked device
    (``value.message_echoes[]`` of the ``smb_message_echoes`` field): a person answered.

    Never a customer message: it names the customer in ``to`` (``to_user_id`` for a
    BSUID), opens no window and never reaches the bot.

    Attributes:
        id: the echoed message's wamid (dedupe key).
        phone_number_id: the business number it was sent from.
        customer: the conversation key it belongs to (the customer's wa_id, else BSUID).
        type: the echoed message's type (``text``, ``image``, ``revoke``, ``edit`` ...).
    """

    id: str
    phone_number_id: str
    customer: str
    type: str
    sent_at: Optional[datetime]
    raw: Mapping[str, Any] = field(default_factory=dict)

    def to_stored(self) -> Dict[str, Any]:
        """Stored in the inbox under ``echo`` (customer messages are stored under ``message``)."""
        return dict(self.raw)

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> Optional["Echo"]:
        """The echo of a stored inbox row; None for a customer message's row."""
        if not isinstance(stored.get("echo"), dict):
            return None
        return _parse_echo(_dict(stored.get("echo")), metadata=_dict(stored.get("metadata")),
                           contacts=_list(stored.get("contacts")))


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookBatch:
    """Everything one webhook POST carried."""

    messages: Tuple[InboundMessage, ...] = ()
    statuses: Tuple[Status, ...] = ()
    echoes: Tuple[Echo, ...] = ()
    ignored: Tuple[str, ...] = ()
    """Short descriptions of skipped parts (for debug logs; no personal data)."""


def parse_webhook(body: Any) -> WebhookBatch:
    """Read a decoded webhook body.

    Args:
        body: the JSON-decoded request body.

    Returns:
        All messages and statuses of every entry and change, in order, plus what
        was ignored (other objects, other fields, parts without ids).
    """
    body = _dict(body)
    if body.get("object") != OBJECT:
        return WebhookBatch(ignored=(f"object {str(body.get('object'))[:40]!r}",))
    messages: List[InboundMessage] = []
    statuses: List[Status] = []
    echoes: List[Echo] = []
    ignored: List[str] = []
    for entry in _list(body.get("entry")):
        entry = _dict(entry)
        waba_id = _str(entry.get("id"))
        for change in _list(entry.get("changes")):
            change = _dict(change)
            field_name = change.get("field")
            value = _dict(change.get("value"))
            if field_name == ECHO_FIELD:
                _parse_echoes(value, echoes, ignored)
            elif field_name != "messages":
                ignored.append(f"field {str(field_name)[:40]!r}")
            else:
                _parse_value(value, waba_id, messages, statuses, ignored)
    return WebhookBatch(messages=tuple(messages), statuses=tuple(statuses), echoes=tuple(echoes),
                        ignored=tuple(ignored))


def _parse_echoes(value: Dict[str, Any], echoes: List[Echo], ignored: List[str]) -> None:
    metadata = _dict(value.get("metadata"))
    contacts = _list(value.get("contacts"))
    for raw in _list(value.get("message_echoes")):
        echo = _parse_echo(_dict(raw), metadata=metadata, contacts=contacts)
        if echo is None:
            ignored.append("echo without id, number or customer")
        else:
            echoes.append(echo)


def _echo_customer(echo: Dict[str, Any], contacts: List[Any]) -> Optional[str]:
    """The conversation key of the customer an echo was sent to.

    ``to`` is the number as the business typed it (Meta: it "may not always match" the
    wa_id, e.g. a leading ``+``), so only its digits are kept; a contact entry's wa_id
    (sent with some echoes) is the canonical one; a BSUID-only customer has ``to_user_id``.
    """
    to_user_id = _str(echo.get("to_user_id"))
    contact = _find_contact(contacts, None, to_user_id)
    digits = "".join(ch for ch in str(_str(echo.get("to")) or "") if ch.isdigit())
    return _str(contact.get("wa_id")) or digits or to_user_id


def _parse_echo(echo: Dict[str, Any], *, metadata: Dict[str, Any], contacts: List[Any]) -> Optional[Echo]:
    echo_id = _str(echo.get("id"))
    phone_number_id = _str(metadata.get("phone_number_id"))
    customer = _echo_customer(echo, contacts)
    if not echo_id or not phone_number_id or not customer:
        return None
    contact = _find_contact(contacts, None, _str(echo.get("to_user_id")))
    return Echo(
        id=echo_id, phone_number_id=phone_number_id, customer=customer,
        type=str(_str(echo.get("type")) or "unknown")[:32], sent_at=parse_timestamp(echo.get("timestamp")),
        raw={"metadata": metadata, "contacts": [contact] if contact else [], "echo": echo},
    )


def _parse_value(
    value: Dict[str, Any],
    waba_id: Optional[str],
    messages: List[InboundMessage],
    statuses: List[Status],
    ignored: List[str],
) -> None:
    metadata = _dict(value.get("metadata"))
    phone_number_id = _str(metadata.get("phone_number_id"))
    if not phone_number_id:
        ignored.append("value without metadata.phone_number_id")
        return
    contacts = _list(value.get("contacts"))
    for raw in _list(value.get("messages")):
        message = _parse_message(_dict(raw), metadata=metadata, contacts=contacts, waba_id=waba_id)
        if message is None:
            ignored.append("message without id or sender")
        else:
            messages.append(message)
    for raw in _list(value.get("statuses")):
        status = _parse_status(_dict(raw), phone_number_id)
        if status is None:
            ignored.append("status without id")
        else:
            statuses.append(status)
    for error in _list(value.get("errors")):
        ignored.append(f"value error {_dict(error).get('code')}")


def _find_contact(contacts: List[Any], wa_id: Optional[str], user_id: Optional[str]) -> Dict[str, Any]:
    candidates = [_dict(c) for c in contacts]
    for contact in candidates:
        if (wa_id and contact.get("wa_id") == wa_id) or (user_id and contact.get("user_id") == user_id):
            return contact
    return candidates[0] if len(candidates) == 1 else {}


def _customer(message: Dict[str, Any], contacts: List[Any]) -> Customer:
    wa_id = _str(message.get("from"))
    user_id = _str(message.get("from_user_id"))
    contact = _find_contact(contacts, wa_id, user_id)
    profile = _dict(contact.get("profile"))
    return Customer(
        wa_id=wa_id or _str(contact.get("wa_id")),
        user_id=user_id or _str(contact.get("user_id")),
        parent_user_id=_str(message.get("from_parent_user_id")) or _str(contact.get("parent_user_id")),
        name=_str(profile.get("name")),
        username=_str(profile.get("username")),
    )


def _parse_message(
    message: Dict[str, Any],
    *,
    metadata: Dict[str, Any],
    contacts: List[Any],
    waba_id: Optional[str],
) -> Optional[InboundMessage]:
    message_id = _str(message.get("id"))
    customer = _customer(message, contacts)
    phone_number_id = _str(metadata.get("phone_number_id"))
    if not message_id or not customer.id or not phone_number_id:
        return None
    kind = _str(message.get("type")) or "unknown"
    text, payload, details = _content(kind, message)
    if message.get("errors"):
        details["errors"] = [
            {"code": _dict(e).get("code"), "title": _dict(e).get("title")} for e in _list(message.get("errors"))
        ]
    silent = kind in SILENT_TYPES
    timestamp = _str(message.get("timestamp"))
    contact = _find_contact(contacts, customer.wa_id, customer.user_id)
    return InboundMessage(
        id=message_id,
        type=kind,
        phone_number_id=phone_number_id,
        display_phone_number=_str(metadata.get("display_phone_number")),
        waba_id=waba_id,
        timestamp=timestamp,
        sent_at=parse_timestamp(timestamp),
        customer=customer,
        text=text,
        payload=payload,
        silent=silent,
        opens_window=kind not in NO_WINDOW_TYPES,
        context=_dict(message.get("context")) or None,
        referral=_dict(message.get("referral")) or None,
        group_id=_str(message.get("group_id")),
        details=details,
        raw={
            "waba_id": waba_id,
            "metadata": metadata,
            "contacts": [contact] if contact else [],
            "message": message,
        },
    )


def _content(kind: str, message: Dict[str, Any]) -> Tuple[str, Optional[str], Dict[str, Any]]:
    """(text, payload, details) for a message type; unknown types are 'unsupported'."""
    body = _dict(message.get(kind))
    if kind == "text":
        return str(body.get("body") or ""), None, {}
    if kind in MEDIA_TYPES:
        media = {k: body[k] for k in ("id", "mime_type", "sha256", "filename", "url", "voice", "animated") if k in body}
        media["kind"] = kind
        caption = str(body.get("caption") or "")
        # A caption is the customer's words (NLU reads them); without one, say what arrived.
        return caption, None if caption.strip() else media_payload(kind), {"media": media}
    if kind == "location":
        label = " ".join(str(body[k]) for k in ("name", "address") if body.get(k))
        return label, location_payload(body.get("latitude"), body.get("longitude")), {"location": body}
    if kind == "contacts":
        return "", None, {"contacts": _list(message.get("contacts"))}
    if kind == "interactive":
        return _interactive(body)
    if kind == "button":
        payload = _str(body.get("payload"))
        return str(body.get("text") or payload or ""), _rasa_payload(payload), {"button": body}
    if kind == "reaction":
        emoji = body.get("emoji") or ""
        return str(emoji), None, {"reaction": {"message_id": body.get("message_id"), "emoji": emoji, "removed": not emoji}}
    if kind == "order":
        return str(body.get("text") or ""), None, {"order": body}
    if kind == "system":
        return "", None, {"system": {"type": body.get("type"), "new_wa_id": body.get("wa_id") or body.get("new_wa_id")}}
    if kind == "revoke":
        return "", None, {"revoke": {"original_message_id": body.get("original_message_id")}}
    if kind == "edit":
        edited = _dict(body.get("message"))
        return "", None, {"edit": {"original_message_id": body.get("original_message_id"), "type": edited.get("type")}}
    unsupported = _dict(message.get("unsupported")) or {"type": kind}
    return "", UNSUPPORTED_PAYLOAD, {"unsupported": unsupported}


def _interactive(body: Dict[str, Any]) -> Tuple[str, Optional[str], Dict[str, Any]]:
    kind = body.get("type")
    if kind in ("button_reply", "list_reply"):
        reply = _dict(body.get(kind))
        reply_id = _str(reply.get("id"))
        title = str(reply.get("title") or reply_id or "")
        return title, _rasa_payload(reply_id), {"interactive": {"type": kind, **reply}}
    if kind == "nfm_reply":
        reply = _dict(body.get("nfm_reply"))
        response: Any = reply.get("response_json")
        try:
            response = json.loads(response) if isinstance(response, str) else response
        except (ValueError, RecursionError):
            pass
        return str(reply.get("body") or ""), None, {
            "interactive": {"type": kind, "name": reply.get("name"), "response": response}
        }
    # An interactive message without content arrives with errors (131000).
    return "", UNSUPPORTED_PAYLOAD, {"unsupported": {"type": f"interactive:{kind}"}}


def _rasa_payload(value: Optional[str]) -> Optional[str]:
    """A button id is a Rasa payload only if it looks like one (``/intent...``)."""
    return value if value and value.startswith("/") else None


def _parse_status(raw: Dict[str, Any], phone_number_id: str) -> Optional[Status]:
    message_id = _str(raw.get("id"))
    if not message_id:
        return None
    error = _dict(_list(raw.get("errors"))[0]) if _list(raw.get("errors")) else {}
    code = error.get("code")
    return Status(
        message_id=message_id,
        status=str(raw.get("status") or "unknown")[:32],
        phone_number_id=phone_number_id,
        timestamp=parse_timestamp(raw.get("timestamp")),
        recipient_id=_str(raw.get("recipient_id")) or _str(raw.get("recipient_user_id")),
        # Meta's codes are at most 6 digits; anything else (a bool, 10**30) is not one.
        error_code=code if type(code) is int and 0 <= code < 2**31 else None,
        error_title=_str(error.get("title")),
        callback_data=(_str(raw.get("biz_opaque_callback_data")) or "")[:512] or None,
    )
