"""X-Twilio-Signature checks over the URL Twilio actually requested.

Twilio signs ``full public URL + sorted(name + value)`` with HMAC-SHA1 and the auth
token. The app rarely sees that URL itself: behind ngrok, a load balancer or a
TLS-terminating proxy it sees ``http://`` and an internal host. So the URL is rebuilt
from, in order of preference, the configured public base URL (``TWILIO_PUBLIC_URL``),
the ``X-Forwarded-Proto``/``X-Forwarded-Host`` headers (when trusted), or the request.
The path and the raw query string always come from the request, untouched, because
re-encoding the query breaks the signature.

Algorithm: https://www.twilio.com/docs/usage/security#validating-requests
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Union

from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"


@dataclass(frozen=True, slots=True, kw_only=True)
class UrlPolicy:
    """How to rebuild the public URL of a webhook request.

    Attributes:
        public_url: scheme://host[:port][/prefix] Twilio is configured with. When set,
            it replaces the scheme and host of every request (and prefixes the path).
        trust_forwarded: read ``X-Forwarded-Proto``/``-Host``/``-Port`` when no
            ``public_url`` is set.  Off by default: a client sets those headers as it
            likes, so they are only believed behind a proxy we run that overwrites them
            (``MAJLIS_TRUST_PROXY=1``); otherwise the request's own URL is checked.
    """

    public_url: Optional[str] = None
    trust_forwarded: bool = False


class _FormParams(Dict[str, List[str]]):
    """RequestValidator reads multi-valued fields through ``getlist`` (Django style)."""

    def getlist(self, name: str) -> List[str]:
        return self[name]


def _first(value: Optional[str]) -> Optional[str]:
    """First hop of a comma-separated forwarded header, or None when blank."""
    if not value:
        return None
    head = value.split(",")[0].strip()
    return head or None


def public_request_url(
    *,
    scheme: str,
    host: str,
    path: str,
    query_string: str,
    headers: Mapping[str, str],
    policy: UrlPolicy,
) -> str:
    """The URL Twilio requested, as it signed it.

    Args:
        scheme: the scheme the app saw (``http`` behind a TLS-terminating proxy).
        host: the ``Host`` header the app saw, with its port if any.
        path: the request path, e.g. ``/webhooks/twilio_whatsapp/webhook``.
        query_string: the raw query string, without ``?``.
        headers: request headers (case-insensitive mapping).
        policy: where the public scheme and host come from.

    Returns:
        The absolute URL to validate the signature against.
    """
    query = f"?{query_string}" if query_string else ""
    if policy.public_url:
        return f"{policy.public_url.rstrip('/')}{path}{query}"
    if policy.trust_forwarded:
        scheme = _first(headers.get("X-Forwarded-Proto")) or scheme
        forwarded_host = _first(headers.get("X-Forwarded-Host"))
        if forwarded_host:
            host = forwarded_host
            port = _first(headers.get("X-Forwarded-Port"))
            if port and ":" not in host and port not in {"80", "443"}:
                host = f"{host}:{port}"
    return f"{scheme}://{host}{path}{query}"


def is_valid_signature(
    auth_token: str,
    url: str,
    params: Union[Mapping[str, List[str]], str],
    signature: Optional[str],
) -> bool:
    """Check ``X-Twilio-Signature`` with twilio's own ``RequestValidator``.

    The validator tries the URL with and without its port (Twilio's own signing is
    inconsistent there) and compares in constant time for equal-length strings.

    Args:
        auth_token: the account's auth token (the HMAC key).
        url: the public URL from :func:`public_request_url`.
        params: decoded form fields (name → all values, blanks kept), or the raw body
            for JSON webhooks whose URL carries ``bodySHA256``.
        signature: the header value; missing or empty never validates.

    Returns:
        True when the signature matches.
    """
    if not signature or not auth_token:
        return False
    validator = RequestValidator(auth_token)
    if isinstance(params, str):
        return bool(validator.validate(url, params, signature))
    return bool(validator.validate(url, _FormParams(params), signature))


def compute_signature(auth_token: str, url: str, params: Mapping[str, List[str]]) -> str:
    """The signature Twilio would send for this URL and these fields (tests, the fake)."""
    return str(RequestValidator(auth_token).compute_signature(url, _FormParams(params)))
