"""Settings of the Instagram channel, from the environment and credentials.yml.

Every value can come from an environment variable; a non-empty value in
credentials.yml (usually ``${VAR}``) wins.  See docs/channels/instagram.md.

============================ =============================================================
``INSTAGRAM_APP_SECRET``      required; HMAC key of ``X-Hub-Signature-256`` (Secret)
``INSTAGRAM_VERIFY_TOKEN``    required; the webhook verification token (Secret)
``INSTAGRAM_ACCESS_TOKEN``    required; Page token (Facebook Login) or Instagram user
                              token (Instagram Login) (Secret)
``INSTAGRAM_API``             ``instagram_login`` (graph.instagram.com, default) or
                              ``facebook_login`` (graph.facebook.com, Page token)
``INSTAGRAM_ACCOUNT_ID``      the IG professional account id(s), comma-separated; events
                              for other accounts are ignored (unset: accept all)
``INSTAGRAM_PAGE_ID``         Facebook Login: the Page sending (default ``me``)
``INSTAGRAM_APP_ID``          this app's id: echoes carrying it are the bot's own
``INSTAGRAM_API_VERSION``     Graph API version (``v21.0``)
``INSTAGRAM_GRAPH_URL``       full base URL overriding host and version (the local fake)
``INSTAGRAM_FUNNEL_FILE``     YAML of the comment funnel and texts (default: built-in)
``INSTAGRAM_TIMEOUT``         seconds per Graph request (10)
``INSTAGRAM_MAX_BODY_BYTES``  largest webhook body accepted (1048576), else 413
``INSTAGRAM_LANGUAGE``        the accounts' default language for "Get started" and
                              ice-breakers: ``ar`` / ``en`` for all, or per account
                              ``<id>:en,<id>:ar`` (default ``MAJLIS_DEFAULT_LANGUAGE``)
============================ =============================================================
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple

import yaml

from bot.config import Config, ConfigError, Secret, config, positive, with_credentials
from bot.language.reply import SUPPORTED, default_language
from channels.instagram.comments import FunnelConfig

INSTAGRAM_LOGIN = "instagram_login"
FACEBOOK_LOGIN = "facebook_login"
HOSTS: Mapping[str, str] = {
    INSTAGRAM_LOGIN: "https://graph.instagram.com",
    FACEBOOK_LOGIN: "https://graph.facebook.com",
}
DEFAULT_API_VERSION = "v21.0"

#: credentials.yml key → environment variable.
CREDENTIAL_KEYS: Mapping[str, str] = {
    "app_secret": "INSTAGRAM_APP_SECRET",
    "verify_token": "INSTAGRAM_VERIFY_TOKEN",
    "access_token": "INSTAGRAM_ACCESS_TOKEN",
    "api": "INSTAGRAM_API",
    "account_id": "INSTAGRAM_ACCOUNT_ID",
    "page_id": "INSTAGRAM_PAGE_ID",
    "app_id": "INSTAGRAM_APP_ID",
    "api_version": "INSTAGRAM_API_VERSION",
    "graph_url": "INSTAGRAM_GRAPH_URL",
    "funnel_file": "INSTAGRAM_FUNNEL_FILE",
    "timeout": "INSTAGRAM_TIMEOUT",
    "max_body_bytes": "INSTAGRAM_MAX_BODY_BYTES",
    "language": "INSTAGRAM_LANGUAGE",
}



def _languages(raw: str, fallback: str) -> Dict[str, Any]:
    """``ar`` (every account) or ``<id>:en,<id>:ar`` → default_language / account_languages."""
    default, per_account = fallback, {}
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        account, _, language = part.rpartition(":")
        if language not in SUPPORTED:
            raise ConfigError("INSTAGRAM_LANGUAGE", f"languages are {' or '.join(SUPPORTED)}")
        if account:
            per_account[account] = language
        else:
            default = language
    return {"default_language": default, "account_languages": per_account}


@dataclass(frozen=True, slots=True, kw_only=True)
class InstagramSettings:
    """Everything the channel needs, validated once at startup."""

    app_secret: Secret
    verify_token: Secret
    access_token: Secret
    api: str = INSTAGRAM_LOGIN
    account_ids: Tuple[str, ...] = ()
    page_id: Optional[str] = None
    app_id: Optional[str] = None
    graph_url: str = f"{HOSTS[INSTAGRAM_LOGIN]}/{DEFAULT_API_VERSION}"
    funnel: FunnelConfig = field(default_factory=FunnelConfig)
    timeout: float = 10.0
    max_body_bytes: int = 1024 * 1024
    default_language: str = "ar"
    account_languages: Mapping[str, str] = field(default_factory=dict)

    def language_of(self, account: str) -> str:
        """The account's default language (the greeting of a new thread is in it)."""
        return self.account_languages.get(account, self.default_language)

    @property
    def messages_path(self) -> str:
        """Graph path of the Send API: ``{IG_ID}/messages`` or ``{PAGE_ID}/messages`` (else ``me``)."""
        if self.api == FACEBOOK_LOGIN:
            return f"{self.page_id or 'me'}/messages"
        return f"{self.account_ids[0] if self.account_ids else 'me'}/messages"

    def serves(self, *ids: str) -> bool:
        """Whether an event for these account ids is ours (no ids configured: all are)."""
        return not self.account_ids or any(value in self.account_ids for value in ids if value)

    @classmethod
    def from_config(cls, cfg: Config = config) -> "InstagramSettings":
        """Read the settings.

        Raises:
            bot.config.ConfigError: a required value is missing or one is unreadable.
        """
        api = cfg("INSTAGRAM_API", default=INSTAGRAM_LOGIN).strip().lower()
        if api not in HOSTS:
            raise ConfigError("INSTAGRAM_API", f"must be {INSTAGRAM_LOGIN} or {FACEBOOK_LOGIN}")
        version = cfg("INSTAGRAM_API_VERSION", default=DEFAULT_API_VERSION)
        graph_url = cfg("INSTAGRAM_GRAPH_URL", default=f"{HOSTS[api]}/{version}").rstrip("/")
        if not graph_url.startswith(("https://", "http://")):
            raise ConfigError("INSTAGRAM_GRAPH_URL", "must be an absolute http(s) URL")
        accounts = tuple(part.strip() for part in cfg("INSTAGRAM_ACCOUNT_ID", default="").split(",") if part.strip())
        funnel_file = cfg("INSTAGRAM_FUNNEL_FILE", default=None)
        try:
            funnel = FunnelConfig.from_file(funnel_file)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise ConfigError("INSTAGRAM_FUNNEL_FILE", f"{type(exc).__name__}: {exc}"[:300]) from None
        return cls(
            app_secret=cfg("INSTAGRAM_APP_SECRET", cast=Secret),
            verify_token=cfg("INSTAGRAM_VERIFY_TOKEN", cast=Secret),
            access_token=cfg("INSTAGRAM_ACCESS_TOKEN", cast=Secret),
            api=api,
            account_ids=accounts,
            page_id=cfg("INSTAGRAM_PAGE_ID", default=None),
            app_id=cfg("INSTAGRAM_APP_ID", default=None),
            graph_url=graph_url,
            funnel=funnel,
            timeout=cfg("INSTAGRAM_TIMEOUT", cast=positive(float), default=10.0),
            max_body_bytes=cfg("INSTAGRAM_MAX_BODY_BYTES", cast=positive(int), default=1024 * 1024),
            **_languages(cfg("INSTAGRAM_LANGUAGE", default=""), default_language(cfg)),
        )

    @classmethod
    def from_credentials(
        cls, credentials: Optional[Mapping[str, Any]], environ: Optional[Mapping[str, str]] = None
    ) -> "InstagramSettings":
        """Environment first, overridden by non-empty credentials.yml values.

        Raises:
            bot.config.ConfigError: as :meth:`from_config`.
        """
        return cls.from_config(with_credentials(credentials, CREDENTIAL_KEYS, environ))
