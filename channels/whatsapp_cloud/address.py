"""How a WhatsApp Cloud API message is addressed: the kind of identity is explicit.

WhatsApp customers are known by a phone-based ``wa_id`` or, for people who adopted a
username (2026), only by a business-scoped user id (BSUID, ``US.13491208655302741918``).
The Send API addresses them differently, and a BSUID put in ``"to"`` is accepted (200,
a wamid) and then silently never delivered:

- phone number → ``{"recipient_type": "individual", "to": "<wa_id>"}``
- BSUID        → ``{"recipient_type": "individual", "recipient": "<user id>"}``
- group        → ``{"recipient_type": "group", "to": "<group id>"}``

Sources: Meta, "Business-scoped user IDs"
(https://developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids/),
as implemented by chatwoot/chatwoot#15150 and devlooped/WhatsApp#440 (phone in ``to``,
BSUID in ``recipient``, ``recipient_type`` stays ``individual``); groups: Meta's group
messages webhook reference (``messages[].group_id``).

The kind is carried by the parsed message (:attr:`Customer.address`) and stored with
the conversation (:mod:`channels._contacts`); it is never guessed from how the id
looks, since ids are opaque and their format may change.  Mark-as-read and typing
indicators name the message (``message_id``), not the customer, so they need none.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional


class AddressKind(str, enum.Enum):
    """Which identity a WhatsApp conversation is addressed by."""

    PHONE = "phone"
    """``wa_id`` (the phone number as WhatsApp knows it): sent in ``to``."""
    USER_ID = "user_id"
    """Business-scoped user id of a username user with no phone shared: sent in ``recipient``."""
    GROUP = "group"
    """A WhatsApp group (only when group support is configured): ``recipient_type: group``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    """A customer (or group) identity and its kind."""

    kind: AddressKind
    value: str

    def fields(self) -> Dict[str, str]:
        """The addressing fields of a Send API body."""
        if self.kind is AddressKind.USER_ID:
            return {"recipient_type": "individual", "recipient": self.value}
        if self.kind is AddressKind.GROUP:
            return {"recipient_type": "group", "to": self.value}
        return {"recipient_type": "individual", "to": self.value}

    def to_stored(self) -> Dict[str, str]:
        return {"kind": self.kind.value, "value": self.value}

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> "Address":
        return cls(kind=AddressKind(str(stored["kind"])), value=str(stored["value"]))

    @classmethod
    def phone(cls, wa_id: str) -> "Address":
        return cls(kind=AddressKind.PHONE, value=wa_id)


def address_of_payload(payload: Mapping[str, Any]) -> Optional[Address]:
    """The address a stored Send API body was built for (read from its fields, not guessed)."""
    if payload.get("recipient"):
        return Address(kind=AddressKind.USER_ID, value=str(payload["recipient"]))
    if payload.get("to"):
        kind = AddressKind.GROUP if payload.get("recipient_type") == "group" else AddressKind.PHONE
        return Address(kind=kind, value=str(payload["to"]))
    return None
