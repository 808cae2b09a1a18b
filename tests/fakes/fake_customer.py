"""A fake WhatsApp customer: builds Cloud API webhook bodies, signs them, posts them.

Signs exactly as Meta does (``X-Hub-Signature-256`` over the bytes sent; the body
is serialised with ``\\uXXXX`` escapes like Meta's).  Usable from tests and as a CLI::

    python -m tests.fakes.fake_customer --url http://127.0.0.1:5005/webhooks/whatsapp_cloud/webhook \\
        --secret "$WHATSAPP_APP_SECRET" --phone-number-id 1122334455667 --from 971500000001 \\
        "مرحبا، أبي أعرف فاتورتي"
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import aiohttp

from bot.config import Secret
from channels.meta.graph import SIGNATURE_HEADER, sign

_counter = itertools.count(1)


def new_wamid() -> str:
    """A fresh, unique inbound message id."""
    return f"wamid.test.{uuid.uuid4().hex}{next(_counter)}"


def text_message(text: str, *, sender: str, message_id: Optional[str] = None, timestamp: Optional[int] = None) -> Dict[str, Any]:
    """One ``messages[]`` item of type text."""
    return {
        "from": sender,
        "id": message_id or new_wamid(),
        "timestamp": str(timestamp if timestamp is not None else int(time.time())),
        "type": "text",
        "text": {"body": text},
    }


def button_reply(payload: str, title: str, *, sender: str, message_id: Optional[str] = None) -> Dict[str, Any]:
    """One ``messages[]`` item: a tap on an interactive reply button."""
    return {
        "from": sender,
        "id": message_id or new_wamid(),
        "timestamp": str(int(time.time())),
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": payload, "title": title}},
    }


def envelope(
    messages: Sequence[Dict[str, Any]] = (),
    *,
    phone_number_id: str,
    statuses: Sequence[Dict[str, Any]] = (),
    name: str = "Test Customer",
) -> Dict[str, Any]:
    """A whole webhook body for one business number."""
    senders = sorted({m["from"] for m in messages if "from" in m})
    value: Dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone_number_id},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": s} for s in senders]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "100000000000001", "changes": [{"field": "messages", "value": value}]}],
    }


def encode(body: Dict[str, Any]) -> bytes:
    """Serialise like Meta: compact, non-ASCII as lowercase ``\\uXXXX``, ``/`` escaped."""
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode("ascii")


@dataclass
class FakeCustomer:
    """Posts signed webhooks to a channel.

    Args:
        url: the webhook URL (``.../webhooks/whatsapp_cloud/webhook``).
        app_secret: the Meta app secret the channel is configured with.
        phone_number_id: the business number the customer writes to.
        sender: the customer's wa_id.
    """

    url: str
    app_secret: str
    phone_number_id: str
    sender: str = "971500000001"
    sent: List[str] = field(default_factory=list)

    async def post_raw(self, raw: bytes, *, signature: Optional[str] = None,
                       content_type: str = "application/json") -> Tuple[int, str]:
        """POST bytes as they are; sign them unless ``signature`` is given."""
        headers = {
            "Content-Type": content_type,
            SIGNATURE_HEADER: signature if signature is not None else sign(raw, Secret(self.app_secret)),
        }
        async with aiohttp.ClientSession() as session:
            async with session.post(self.url, data=raw, headers=headers) as answer:
                return answer.status, await answer.text()

    async def post(self, body: Dict[str, Any]) -> Tuple[int, str]:
        """POST a webhook body, signed."""
        return await self.post_raw(encode(body))

    async def say(self, text: str, *, message_id: Optional[str] = None) -> Tuple[int, str]:
        """Send one text message; returns (HTTP status, body)."""
        message = text_message(text, sender=self.sender, message_id=message_id)
        self.sent.append(message["id"])
        return await self.post(envelope([message], phone_number_id=self.phone_number_id))


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="Post a signed WhatsApp Cloud webhook with a text message.")
    parser.add_argument("--url", required=True)
    parser.add_argument("--secret", required=True, help="the Meta app secret")
    parser.add_argument("--phone-number-id", required=True)
    parser.add_argument("--from", dest="sender", default="971500000001")
    parser.add_argument("text")
    args = parser.parse_args(argv)
    customer = FakeCustomer(args.url, args.secret, args.phone_number_id, args.sender)
    status, body = asyncio.run(customer.say(args.text))
    print(status, body)  # noqa: T201 - CLI output


if __name__ == "__main__":
    main()
