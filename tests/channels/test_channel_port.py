"""One channel port: every connector has the same shape, bot/ never imports channels/,
every signed webhook answers errors alike (docs/design.md#one-channel-port)."""
from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Tuple
from urllib.parse import parse_qs, urlencode

import pytest
import yaml

from channels.instagram.webhook import InstagramWebhook, WebhookRequest as InstagramRequest
from channels.meta.graph import sign
from channels.twilio.signature import compute_signature
from channels.twilio.webhook import FORM_CONTENT_TYPE, TwilioWebhook, WebhookRequest as TwilioRequest
from channels.whatsapp_cloud.webhook import record_webhook
from tests.channels import test_instagram_webhook_record as instagram_record
from tests.channels import test_whatsapp_webhook_record as whatsapp_record

ROOT = Path(__file__).resolve().parents[2]
#: The parts every connector package has, in the same file names.
PARTS = ("settings.py", "webhook.py", "parse.py", "payloads.py", "sender.py", "channel.py")
CONNECTORS = ("whatsapp_cloud", "twilio", "instagram", "webchat", "rest")


def test_nothing_in_bot_imports_channels() -> None:
    """``grep -rn "from channels" bot/`` finds nothing, nor does any import form."""
    offenders = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if re.search(r"^\s*from channels\b", text, re.MULTILINE):
            offenders.append(f"{path.relative_to(ROOT)}: from channels")
        for node in ast.walk(ast.parse(text)):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(ROOT)}: {name}" for name in names
                          if name == "channels" or name.startswith("channels.")]
    assert offenders == []


def test_every_connector_package_has_the_same_parts() -> None:
    """A part a connector lacks has no file, and its ``__init__`` docstring says so (``No ``x.py````)."""
    found = sorted(p.name for p in (ROOT / "channels").iterdir() if (p / "channel.py").exists())
    assert found == sorted(CONNECTORS)
    for name in CONNECTORS:
        package = ROOT / "channels" / name
        docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8"))) or ""
        for part in PARTS:
            if not (package / part).exists():
                assert f"``{part}``" in docstring, f"channels/{name}/ lacks {part} without saying why"
    # The connectors with a provider to call have every part.
    for name in ("whatsapp_cloud", "twilio", "instagram"):
        assert all((ROOT / "channels" / name / part).exists() for part in PARTS), name


def test_credentials_name_loadable_channels_and_customer_channels_implement_the_port() -> None:
    """Rasa loads channels by the dotted paths in credentials.yml: each resolves to an InputChannel."""
    from rasa.core.channels.channel import InputChannel

    from bot.delivery.ports import CustomerChannel

    paths = list(yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8")))
    classes = {}
    for dotted in paths:
        module, _, name = dotted.rpartition(".")
        classes[name] = getattr(importlib.import_module(module), name)
        assert issubclass(classes[name], InputChannel), dotted
    customer = {name for name, cls in classes.items() if issubclass(cls, CustomerChannel)}
    assert customer == {"WhatsAppCloudInput", "TwilioWhatsAppInput", "InstagramInput", "WebChatInput"}


# -- one error-to-HTTP mapping -----------------------------------------------------

TWILIO_TOKEN = "twilio-port-token"
TWILIO_URL = "https://majlis.example.com/webhooks/twilio_whatsapp/webhook"
Answer = Tuple[int, Dict[str, Any]]
Post = Callable[..., Awaitable[Answer]]


@pytest.fixture
async def webhooks(tmp_path: Path) -> Dict[str, Post]:
    """Each signed webhook as ``post(body, signature=…, limit=…) -> (status, JSON body)``."""
    async with whatsapp_record.recording_delivery(tmp_path / "wa.sqlite", "whatsapp_cloud", whatsapp_record.NOW) as wa, \
            instagram_record.recording_delivery(tmp_path / "ig.sqlite", "instagram", instagram_record.NOW) as ig, \
            whatsapp_record.recording_delivery(tmp_path / "tw.sqlite", "twilio_whatsapp", whatsapp_record.NOW) as tw:

        async def whatsapp(raw: bytes, *, signature: Any = "sign", limit: int = 64 * 1024) -> Answer:
            header = sign(raw, whatsapp_record.SECRET) if signature == "sign" else signature
            receipt = await record_webhook(raw, header, "application/json", delivery=wa, schedule=False,
                                           settings=whatsapp_record.make_settings(max_body_bytes=limit))
            return receipt.status, receipt.body

        async def instagram(raw: bytes, *, signature: Any = "sign", limit: int = 64 * 1024) -> Answer:
            header = sign(raw, instagram_record.SECRET) if signature == "sign" else signature
            hook = InstagramWebhook(channel="instagram", settings=instagram_record.settings(max_body_bytes=limit),
                                    delivery=ig)
            body, status, content_type = await hook.handle(InstagramRequest(body=raw, signature=header))
            assert content_type == "application/json" or status == 200
            return status, json.loads(body) if status != 200 else {}

        async def twilio(raw: bytes, *, signature: Any = "sign", limit: int = 64 * 1024) -> Answer:
            if signature == "sign":
                fields = parse_qs(raw.decode(), keep_blank_values=True)
                signature = compute_signature(TWILIO_TOKEN, TWILIO_URL, fields)
            hook = TwilioWebhook(channel="twilio_whatsapp", auth_token=TWILIO_TOKEN, delivery=tw,
                                 max_body_bytes=limit, sms_numbers=frozenset())
            body, status, content_type = await hook.handle(
                TwilioRequest(body=raw, content_type=FORM_CONTENT_TYPE, signature=signature, url=TWILIO_URL))
            assert content_type == "application/json" or status == 200
            return status, json.loads(body) if status != 200 else {}

        yield {"whatsapp_cloud": whatsapp, "instagram": instagram, "twilio": twilio}


#: A body each webhook accepts when signed (Meta: JSON; Twilio: a form).
VALID = {
    "whatsapp_cloud": json.dumps({"object": "whatsapp_business_account", "entry": []}).encode(),
    "instagram": json.dumps({"object": "instagram", "entry": []}).encode(),
    "twilio": urlencode({"MessageSid": "SM" + "1" * 32, "AccountSid": "AC" + "1" * 32,
                         "MessageStatus": "delivered"}).encode(),
}
#: A body each webhook cannot read, signed correctly.
UNREADABLE = {"whatsapp_cloud": b"{not json", "instagram": b"{not json",
              "twilio": urlencode({"MessageSid": "SM1", "AccountSid": "AC1", "To": "whatsapp:+1"}).encode()}


@pytest.mark.parametrize("name", sorted(VALID))
async def test_a_valid_signed_body_is_accepted(webhooks, name) -> None:
    assert (await webhooks[name](VALID[name]))[0] == 200


@pytest.mark.parametrize("name", sorted(VALID))
@pytest.mark.parametrize("signature", [None, "", "sha256=" + "0" * 64, "garbage"])
async def test_a_missing_or_wrong_signature_is_401_everywhere(webhooks, name, signature) -> None:
    assert await webhooks[name](VALID[name], signature=signature) == (401, {"error": "invalid signature"})


@pytest.mark.parametrize("name", sorted(VALID))
async def test_a_body_over_the_limit_is_413_everywhere(webhooks, name) -> None:
    raw = VALID[name]
    assert await webhooks[name](raw, limit=len(raw) - 1) == (413, {"error": "body too large"})


@pytest.mark.parametrize("name", sorted(VALID))
async def test_an_unreadable_body_is_400_with_a_reason_everywhere(webhooks, name) -> None:
    status, body = await webhooks[name](UNREADABLE[name])
    assert status == 400 and list(body) == ["error"] and body["error"]
