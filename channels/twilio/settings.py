"""Settings of the Twilio WhatsApp channel, from the environment and credentials.yml.

Every value can come from an environment variable; a non-empty value in
credentials.yml (usually ``${VAR}``) wins. See docs/channels/twilio.md.

============================== ========================================================
``TWILIO_ACCOUNT_SID``          required, ``AC…``
``TWILIO_AUTH_TOKEN``           required; kept as :class:`bot.config.Secret`
``TWILIO_WHATSAPP_FROM``        required, ``whatsapp:+14155238886`` (proactive sends)
``TWILIO_PUBLIC_URL``           ``https://bot.example.com``: the base URL Twilio calls
``TWILIO_TRUST_FORWARDED``      read X-Forwarded-Proto/Host when no public URL (default:
                                ``MAJLIS_TRUST_PROXY``, false: the request's own URL)
``TWILIO_SMS_NUMBERS``          comma-separated business numbers (``+1415…``) whose SMS are
                                answered by SMS; ``TWILIO_SMS_FROM`` names a single one.
                                SMS to other numbers are ignored (logged, 200)
``TWILIO_STATUS_CALLBACK_URL``  defaults to ``<public URL>/webhooks/twilio_whatsapp/status``
``TWILIO_TEMPLATE_CONTENT_SID`` ``HX…`` template sent outside the 24-hour window
``TWILIO_TEMPLATE_VARIABLES``   JSON object for its placeholders, e.g. ``{"1": "Majlis"}``
``TWILIO_API_URL``              replaces ``https://api.twilio.com`` (the local fake)
``TWILIO_TIMEOUT``              seconds per API request (10)
``TWILIO_MAX_BODY_BYTES``       largest webhook body accepted (65536), else 413
============================== ========================================================
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Mapping, Optional

from bot.config import Config, ConfigError, Secret, config, positive, with_credentials
from channels.twilio.payloads import whatsapp_address
from channels.twilio.sender import TemplateSettings
from channels.twilio.signature import UrlPolicy

#: credentials.yml key → environment variable.
CREDENTIAL_KEYS: Mapping[str, str] = {
    "account_sid": "TWILIO_ACCOUNT_SID",
    "auth_token": "TWILIO_AUTH_TOKEN",
    "whatsapp_from": "TWILIO_WHATSAPP_FROM",
    "public_url": "TWILIO_PUBLIC_URL",
    "trust_forwarded": "TWILIO_TRUST_FORWARDED",
    "sms_numbers": "TWILIO_SMS_NUMBERS",
    "sms_from": "TWILIO_SMS_FROM",
    "status_callback_url": "TWILIO_STATUS_CALLBACK_URL",
    "template_content_sid": "TWILIO_TEMPLATE_CONTENT_SID",
    "template_variables": "TWILIO_TEMPLATE_VARIABLES",
    "api_url": "TWILIO_API_URL",
    "timeout": "TWILIO_TIMEOUT",
    "max_body_bytes": "TWILIO_MAX_BODY_BYTES",
}

STATUS_PATH = "/webhooks/twilio_whatsapp/status"


def _sms_numbers(cfg: Config) -> FrozenSet[str]:
    """TWILIO_SMS_NUMBERS and TWILIO_SMS_FROM as bare E.164 numbers."""
    raw = ",".join(part for part in (cfg("TWILIO_SMS_NUMBERS", default=""), cfg("TWILIO_SMS_FROM", default="")) if part)
    numbers = set()
    for part in raw.split(","):
        value = part.strip().removeprefix("whatsapp:")
        if not value:
            continue
        if not value.lstrip("+").isdigit():
            raise ConfigError("TWILIO_SMS_NUMBERS", "expects E.164 numbers such as +14155238886")
        numbers.add(value if value.startswith("+") else f"+{value}")
    return frozenset(numbers)


def _variables(raw: str) -> Dict[str, str]:
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return {str(key): str(item) for key, item in value.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class TwilioSettings:
    """Everything the channel needs, validated once at startup."""

    account_sid: str
    auth_token: Secret
    whatsapp_from: str
    url_policy: UrlPolicy = UrlPolicy()
    status_callback_url: Optional[str] = None
    template: Optional[TemplateSettings] = None
    api_url: Optional[str] = None
    timeout: float = 10.0
    max_body_bytes: int = 64 * 1024
    sms_numbers: FrozenSet[str] = frozenset()

    @property
    def sender_account(self) -> str:
        """The business identity used as ``account`` for proactive sends (no prefix)."""
        return self.whatsapp_from.split(":", 1)[1]

    @classmethod
    def from_config(cls, cfg: Config = config) -> "TwilioSettings":
        """Read the settings.

        Raises:
            bot.config.ConfigError: a required value is missing or one is unreadable.
        """
        account_sid = cfg("TWILIO_ACCOUNT_SID")
        if not account_sid.startswith("AC"):
            raise ConfigError("TWILIO_ACCOUNT_SID", "must start with AC")
        public_url = cfg("TWILIO_PUBLIC_URL", default=None)
        if public_url and not public_url.startswith(("https://", "http://")):
            raise ConfigError("TWILIO_PUBLIC_URL", "must be an absolute http(s) URL")
        public_url = public_url.rstrip("/") if public_url else None
        content_sid = cfg("TWILIO_TEMPLATE_CONTENT_SID", default=None)
        if content_sid and not content_sid.startswith("HX"):
            raise ConfigError("TWILIO_TEMPLATE_CONTENT_SID", "content SIDs start with HX")
        template = None
        if content_sid:
            template = TemplateSettings(
                content_sid=content_sid,
                variables=cfg("TWILIO_TEMPLATE_VARIABLES", cast=_variables, default=None),
            )
        default_callback = f"{public_url}{STATUS_PATH}" if public_url else None
        return cls(
            account_sid=account_sid,
            auth_token=cfg("TWILIO_AUTH_TOKEN", cast=Secret),
            whatsapp_from=whatsapp_address(cfg("TWILIO_WHATSAPP_FROM")),
            url_policy=UrlPolicy(
                public_url=public_url,
                # Forwarded headers come from the client unless a proxy we run sets them.
                trust_forwarded=cfg("TWILIO_TRUST_FORWARDED", cast=bool,
                                    default=cfg("MAJLIS_TRUST_PROXY", cast=bool, default=False)),
            ),
            sms_numbers=_sms_numbers(cfg),
            status_callback_url=cfg("TWILIO_STATUS_CALLBACK_URL", default=default_callback),
            template=template,
            api_url=cfg("TWILIO_API_URL", default=None),
            timeout=cfg("TWILIO_TIMEOUT", cast=positive(float), default=10.0),
            max_body_bytes=cfg("TWILIO_MAX_BODY_BYTES", cast=positive(int), default=64 * 1024),
        )

    @classmethod
    def from_credentials(
        cls, credentials: Optional[Mapping[str, Any]], environ: Optional[Mapping[str, str]] = None
    ) -> "TwilioSettings":
        """Environment first, overridden by non-empty credentials.yml values.

        Raises:
            bot.config.ConfigError: as :meth:`from_config`.
        """
        return cls.from_config(with_credentials(credentials, CREDENTIAL_KEYS, environ))
