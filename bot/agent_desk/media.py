"""Which remote hosts the desk's pages may load images from: by default none.

A media URL in a transcript came from message metadata.  Loading any URL from
there would let whoever wrote the metadata make every agent's browser call their
server (and learn the agents' IP addresses).  Customers' media is therefore shown
only through the desk's own media proxy (bot/agent_desk/media_proxy.py), the pages'
Content-Security-Policy says ``img-src 'self'; media-src 'self'``, and provider URLs
never leave the server.  :meth:`MediaPolicy.filter_context` (provider hosts only) is
the fallback when a desk is built without the proxy.

``MAJLIS_DESK_MEDIA_HOSTS`` (comma-separated, ``*.`` for subdomains) adds hosts to
the CSP and replaces the provider lists of that fallback; ``none`` (or unset) adds none.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from bot.config import Config

#: Hosts each provider serves customer media from.
PROVIDER_MEDIA_HOSTS: Mapping[str, Tuple[str, ...]] = {
    "whatsapp_cloud": ("lookaside.fbsbx.com",),
    "instagram": ("lookaside.fbsbx.com", "*.cdninstagram.com", "*.fbcdn.net"),
    "twilio_whatsapp": ("api.twilio.com", "*.twiliocdn.com"),
}


def _matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


class MediaPolicy:
    """Allowed media hosts per channel (an override applies to every channel)."""

    def __init__(self, override: Optional[Sequence[str]] = None) -> None:
        self.override = None if override is None else tuple(h.strip().lower() for h in override if h.strip())

    @classmethod
    def from_config(cls, cfg: Config) -> "MediaPolicy":
        raw = cfg("MAJLIS_DESK_MEDIA_HOSTS", default="")
        if not raw.strip():
            return cls()
        return cls([] if raw.strip().lower() == "none" else raw.split(","))

    def hosts(self, channel: str) -> Tuple[str, ...]:
        if self.override is not None:
            return self.override
        return PROVIDER_MEDIA_HOSTS.get(channel, ())

    def all_hosts(self) -> Tuple[str, ...]:
        """Remote hosts for the pages' CSP ``img-src``: only configured ones (the proxy serves media)."""
        return self.override or ()

    def allows(self, channel: str, url: Any) -> bool:
        if not isinstance(url, str):
            return False
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
        except ValueError:
            return False
        if parts.scheme != "https" or parts.username or parts.password or parts.port not in (None, 443):
            return False
        return any(_matches(host, pattern) for pattern in self.hosts(channel))

    def filter_context(self, channel: str, context: Dict[str, Any]) -> Dict[str, Any]:
        """The context packet with media URLs not on the provider's hosts removed."""
        for turn in context.get("transcript") or ():
            for item in turn.get("media") or ():
                if item.get("url") is not None and not self.allows(channel, item["url"]):
                    item["url"] = None
        return context


__all__ = ["PROVIDER_MEDIA_HOSTS", "MediaPolicy"]
