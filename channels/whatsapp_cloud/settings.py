"""Settings of the WhatsApp Cloud channel, from the environment and credentials.yml.

A non-empty value in credentials.yml (usually ``${VAR}``) wins over the
environment variable of the same meaning.  See docs/channels/whatsapp.md.

=============================== ===========================================================
``WHATSAPP_APP_SECRET``          required: Meta app secret (signs webhooks)
``WHATSAPP_VERIFY_TOKEN``        required: the verify token typed into the App Dashboard
``WHATSAPP_NUMBERS``             JSON: ``{"<phone_number_id>": {"token": "...",
                                 "template": "name", "template_language": "ar"}}``;
                                 ``"token_env": "VAR"`` reads the token from another
                                 variable; a bare string value is the token
``WHATSAPP_<id>_TOKEN``          per-number token (another way to declare a number)
``WHATSAPP_<id>_TEMPLATE``       per-number window template, ``name`` or ``name:language``
``WHATSAPP_PHONE_NUMBER_ID``     single-number shortcut, with ``WHATSAPP_ACCESS_TOKEN``
``WHATSAPP_TEMPLATE``            default window template for every number (``name:lang``)
``WHATSAPP_GRAPH_URL``           default ``https://graph.facebook.com/v21.0`` (the fake in tests)
``WHATSAPP_MAX_BODY_BYTES``      largest webhook body accepted (1 MiB), else 413
``WHATSAPP_TIMEOUT``             seconds per Graph request (10)
``WHATSAPP_MARK_READ``           mark read + typing indicator when work starts (true)
``WHATSAPP_GROUPS``              answer messages written in WhatsApp groups, in the group
                                 (false: group messages are recorded nowhere and ignored)
``WHATSAPP_TAKEOVER_QUIET_MINUTES`` after a person answered from the WhatsApp Business app
                                 (``smb_message_echoes``), the bot answers again once this
                                 many minutes pass without another answer from the phone
                                 (0, the default: only when handed back in the desk)
``DELIVERY_MAX_ATTEMPTS``        send attempts before a message is marked failed (6)
``DELIVERY_BACKOFF_BASE``        seconds, first backoff cap (2); doubles per attempt
``DELIVERY_BACKOFF_MAX``         seconds, largest backoff (300)
``DELIVERY_RETENTION_DAYS``      how long dedupe records are kept (7; Meta retries 7 days)
=============================== ===========================================================
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Dict, Mapping, Optional

from bot.config import Config, ConfigError, Secret, config, positive, with_credentials
from bot.delivery import DEFAULT_RETENTION, RetryPolicy
from channels.meta.graph import DEFAULT_GRAPH_URL, DEFAULT_TIMEOUT_S

#: credentials.yml key → environment variable.
CREDENTIAL_KEYS: Mapping[str, str] = {
    "app_secret": "WHATSAPP_APP_SECRET",
    "verify_token": "WHATSAPP_VERIFY_TOKEN",
    "numbers": "WHATSAPP_NUMBERS",
    "phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
    "access_token": "WHATSAPP_ACCESS_TOKEN",
    "template": "WHATSAPP_TEMPLATE",
    "graph_url": "WHATSAPP_GRAPH_URL",
    "max_body_bytes": "WHATSAPP_MAX_BODY_BYTES",
    "timeout": "WHATSAPP_TIMEOUT",
    "mark_read": "WHATSAPP_MARK_READ",
    "groups": "WHATSAPP_GROUPS",
    "takeover_quiet_minutes": "WHATSAPP_TAKEOVER_QUIET_MINUTES",
}

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
_NUMBER_TOKEN = re.compile(r"^WHATSAPP_(\d+)_TOKEN$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Template:
    """An approved message template, sent when the 24-hour window is closed."""

    name: str
    language: str = "en"

    @classmethod
    def parse(cls, raw: str) -> "Template":
        """``name`` or ``name:language``."""
        name, _, language = raw.partition(":")
        if not name.strip():
            raise ValueError("template name is empty")
        return cls(name=name.strip(), language=language.strip() or "en")


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberSettings:
    """One business phone number this deployment answers for."""

    phone_number_id: str
    token: Secret
    template: Optional[Template] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WhatsAppSettings:
    """Everything the channel needs, validated once at startup."""

    app_secret: Secret
    verify_token: Secret
    numbers: Mapping[str, NumberSettings] = field(default_factory=dict)
    graph_url: str = DEFAULT_GRAPH_URL
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    timeout: float = DEFAULT_TIMEOUT_S
    mark_read: bool = True
    groups: bool = False
    retry: RetryPolicy = RetryPolicy()
    retention: timedelta = DEFAULT_RETENTION
    takeover_quiet: Optional[timedelta] = None

    @classmethod
    def from_credentials(
        cls, credentials: Optional[Mapping[str, Any]], cfg: Config = config
    ) -> "WhatsAppSettings":
        """Credentials.yml values over the environment (see the module table)."""
        return cls.from_config(with_credentials(credentials, CREDENTIAL_KEYS, cfg.environ))

    @classmethod
    def from_config(cls, cfg: Config = config) -> "WhatsAppSettings":
        """Read the settings.

        Raises:
            bot.config.ConfigError: a required value is missing or one is unreadable.
        """
        numbers = _numbers(cfg)
        if not numbers:
            raise ConfigError(
                "WHATSAPP_NUMBERS", "no phone number configured (or WHATSAPP_<id>_TOKEN / WHATSAPP_PHONE_NUMBER_ID)"
            )
        return cls(
            app_secret=cfg("WHATSAPP_APP_SECRET", cast=Secret),
            verify_token=cfg("WHATSAPP_VERIFY_TOKEN", cast=Secret),
            numbers=numbers,
            graph_url=cfg("WHATSAPP_GRAPH_URL", default=DEFAULT_GRAPH_URL).rstrip("/"),
            max_body_bytes=cfg("WHATSAPP_MAX_BODY_BYTES", cast=positive(int), default=DEFAULT_MAX_BODY_BYTES),
            timeout=cfg("WHATSAPP_TIMEOUT", cast=positive(float), default=DEFAULT_TIMEOUT_S),
            mark_read=cfg("WHATSAPP_MARK_READ", cast=bool, default=True),
            groups=cfg("WHATSAPP_GROUPS", cast=bool, default=False),
            retry=RetryPolicy(
                max_attempts=cfg("DELIVERY_MAX_ATTEMPTS", cast=positive(int), default=RetryPolicy.max_attempts),
                base_delay=cfg("DELIVERY_BACKOFF_BASE", cast=positive(float), default=RetryPolicy.base_delay),
                max_delay=cfg("DELIVERY_BACKOFF_MAX", cast=positive(float), default=RetryPolicy.max_delay),
            ),
            retention=timedelta(
                days=cfg("DELIVERY_RETENTION_DAYS", cast=positive(float), default=DEFAULT_RETENTION.days)
            ),
            takeover_quiet=_quiet(cfg),
        )


def _quiet(cfg: Config) -> Optional[timedelta]:
    """``WHATSAPP_TAKEOVER_QUIET_MINUTES``: None (0 or unset) keeps a phone takeover until hand-back."""
    minutes = cfg("WHATSAPP_TAKEOVER_QUIET_MINUTES", cast=float, default=0.0)
    if minutes < 0:
        raise ConfigError("WHATSAPP_TAKEOVER_QUIET_MINUTES", "must be 0 (until hand-back) or more")
    return timedelta(minutes=minutes) if minutes else None


def _numbers(cfg: Config) -> Dict[str, NumberSettings]:
    """Numbers from WHATSAPP_NUMBERS, WHATSAPP_<id>_TOKEN and the single-number pair."""
    default_template = cfg("WHATSAPP_TEMPLATE", cast=Template.parse, default=None)
    numbers: Dict[str, NumberSettings] = {}
    raw = cfg("WHATSAPP_NUMBERS", default=None)
    if raw:
        try:
            declared = json.loads(raw)
        except ValueError:
            raise ConfigError("WHATSAPP_NUMBERS", "is not valid JSON") from None
        if not isinstance(declared, dict):
            raise ConfigError("WHATSAPP_NUMBERS", "must be a JSON object keyed by phone_number_id")
        for number_id, spec in declared.items():
            numbers[str(number_id)] = _number(cfg, str(number_id), spec, default_template)
    for key in cfg.environ:
        match = _NUMBER_TOKEN.match(key)
        if match and match.group(1) not in numbers and cfg.environ[key]:
            number_id = match.group(1)
            template = cfg(f"WHATSAPP_{number_id}_TEMPLATE", cast=Template.parse, default=default_template)
            numbers[number_id] = NumberSettings(
                phone_number_id=number_id, token=Secret(cfg.environ[key]), template=template
            )
    single = cfg("WHATSAPP_PHONE_NUMBER_ID", default=None)
    if single and single not in numbers:
        numbers[single] = NumberSettings(
            phone_number_id=single, token=cfg("WHATSAPP_ACCESS_TOKEN", cast=Secret), template=default_template
        )
    return numbers


def _number(cfg: Config, number_id: str, spec: Any, default_template: Optional[Template]) -> NumberSettings:
    key = f"WHATSAPP_NUMBERS[{number_id}]"
    if isinstance(spec, str):
        spec = {"token": spec}
    if not isinstance(spec, dict):
        raise ConfigError(key, "must be a token string or an object")
    token = spec.get("token") or (cfg(str(spec["token_env"])) if spec.get("token_env") else None)
    token = token or cfg.environ.get(f"WHATSAPP_{number_id}_TOKEN")
    if not token:
        raise ConfigError(key, "has no token (token, token_env or WHATSAPP_<id>_TOKEN)")
    template = default_template
    if spec.get("template"):
        fallback_language = default_template.language if default_template else "en"
        template = Template(name=str(spec["template"]), language=str(spec.get("template_language") or fallback_language))
    return NumberSettings(phone_number_id=number_id, token=Secret(str(token)), template=template)
