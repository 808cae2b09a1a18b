"""The agent desk as a Rasa input channel: the desk, its API and the handoff gate in the Rasa server.

credentials.yml::

    bot.agent_desk.channel.AgentDeskInput:
      handoff_config: ${MAJLIS_HANDOFF_CONFIG}   # optional; default ./handoff.yml
      cookie_secure: true                         # optional; default MAJLIS_DESK_SECURE_COOKIE

``MAJLIS_DESK_SECURE_COOKIE``: ``true`` / ``false`` / ``auto`` (default: Secure when the
request came over HTTPS, directly or through a proxy Sanic is told to trust).
``MAJLIS_DESK_MEDIA_HOSTS``: see bot/agent_desk/media.py; ``MAJLIS_DESK_MEDIA_DIR``,
``MAJLIS_DESK_MEDIA_RETENTION_HOURS``, ``MAJLIS_DESK_MEDIA_MAX_BYTES``,
``MAJLIS_DESK_UPLOAD_MAX_BYTES``: see bot/agent_desk/media_proxy.py.

Routes (prefix ``/webhooks/agent_desk``): ``GET /`` health, ``GET /desk`` the desk,
``GET /login``, ``GET /supervisor``, ``/api/v1/...`` the REST API (OpenAPI at
``/api/v1/openapi.yaml``), ``GET /api/v1/events`` live updates.  At server start
the channel finds the other input channels (for agent replies through
``bot.delivery``) and installs :class:`bot.handoff.gate.HandoffGate` on the agent, so
every customer message of every channel passes the handoff rules.
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint

from bot.agent_desk.app import DeskApp
from bot.agent_desk.media import MediaPolicy
from bot.config import Config, config, to_bool
from bot.handoff.config import HandoffSettings, load_settings
from bot.storage import get_engine

logger = logging.getLogger(__name__)

CHANNEL_NAME = "agent_desk"


def secure_cookie_setting(cfg: Config) -> Optional[bool]:
    """``MAJLIS_DESK_SECURE_COOKIE``: True / False, or None for "when the request is HTTPS"."""
    raw = cfg("MAJLIS_DESK_SECURE_COOKIE", default="auto").strip().lower()
    return None if raw == "auto" else to_bool(raw)


class AgentDeskInput(InputChannel):
    """Mounts the agent desk; receives no customer messages itself.

    Args:
        settings: handoff.yml, validated.
        cookie_secure: force the Secure cookie flag (None: when the request is HTTPS).
        engine: the database (default: ``bot.storage.get_engine()``).
    """

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "AgentDeskInput":
        credentials = credentials or {}
        settings = load_settings(Config(), path=credentials.get("handoff_config") or None)
        secure = credentials.get("cookie_secure")
        return cls(settings, cookie_secure=to_bool(str(secure)) if secure not in (None, "") else None)

    def __init__(self, settings: Optional[HandoffSettings] = None, *, cookie_secure: Optional[bool] = None,
                 engine: Any = None, cfg: Config = config) -> None:
        self.settings = settings or load_settings(cfg)
        self.cookie_secure = cookie_secure if cookie_secure is not None else secure_cookie_setting(cfg)
        self.media = MediaPolicy.from_config(cfg)
        self._cfg = cfg
        self._engine = engine
        self.desk: Optional[DeskApp] = None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        holder: Dict[str, Any] = {}
        desk = self.desk = DeskApp.create(settings=self.settings, engine=self._engine or get_engine(),
                                          agent=lambda: holder["app"].ctx.agent, cookie_secure=self.cookie_secure,
                                          media=self.media, cfg=self._cfg)
        bp = desk.blueprint(f"{CHANNEL_NAME}_desk", f"/webhooks/{CHANNEL_NAME}")

        @bp.listener("after_server_start")
        async def start(app: Any, _loop: Any) -> None:
            holder["app"] = app
            await desk.start(getattr(app.ctx, "agent", None), getattr(app.ctx, "input_channels", ()))

        @bp.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            await desk.stop()

        return bp


__all__ = ["CHANNEL_NAME", "AgentDeskInput"]
