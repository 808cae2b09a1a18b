"""Meta Graph API plumbing shared by the WhatsApp Cloud and Instagram channels.

- :func:`verify_signature`: ``X-Hub-Signature-256`` over the raw request bytes,
  compared in constant time.
- :func:`verify_handshake`: the ``hub.mode`` / ``hub.verify_token`` / ``hub.challenge``
  GET handshake, framework-free (returns ``(body, status)``).
- :class:`GraphClient`: one attempt per call against the Graph API, with explicit
  timeouts and errors classified into :class:`bot.errors.ProviderAPIError`
  (transient or not) / :class:`bot.errors.WindowClosedError`.  Retries are the
  delivery layer's job.

Sources: https://developers.facebook.com/docs/graph-api/webhooks/getting-started/
and https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from typing import Any, Dict, Mapping, Optional, Tuple

import aiohttp

from bot.config import Secret
from bot.errors import ProviderAPIError, SignatureError, WindowClosedError

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE_PREFIX = "sha256="
_SHA256_HEX_LEN = 64

DEFAULT_GRAPH_URL = "https://graph.facebook.com/v21.0"
DEFAULT_TIMEOUT_S = 10.0

#: Graph error codes worth retrying with backoff: rate limits (130429 throughput,
#: 131056 pair rate, 131048 spam rate, 4/80007/133016 app/WABA/registration limits),
#: temporary errors (1, 2, 131000 "something went wrong") and 131053 (media fetch).
TRANSIENT_CODES = frozenset({1, 2, 4, 17, 341, 80007, 130429, 131000, 131048, 131053, 131056, 133016})
#: Free-form message outside the 24-hour customer-service window ("re-engagement").
WINDOW_CLOSED_CODES = frozenset({131047, 470})


def sign(body: bytes, app_secret: Secret) -> str:
    """The ``X-Hub-Signature-256`` header value Meta would send for ``body``."""
    digest = hmac.new(app_secret.reveal().encode(), body, hashlib.sha256).hexdigest()
    return _SIGNATURE_PREFIX + digest


def verify_signature(body: bytes, header: Optional[str], app_secret: Secret) -> None:
    """Check a webhook's ``X-Hub-Signature-256`` against the raw body bytes.

    Hash exactly the bytes received: Meta signs its ``\\uXXXX``-escaped wire form,
    so re-serialised JSON would not match.

    Args:
        body: the raw request body.
        header: the ``X-Hub-Signature-256`` header value (None if absent).
        app_secret: the Meta app secret.

    Raises:
        SignatureError: missing, malformed or wrong signature (``reason`` says which,
            never the body or the secret).
    """
    if not header:
        raise SignatureError("missing")
    header = header.strip()
    if not header.startswith(_SIGNATURE_PREFIX):
        raise SignatureError("malformed")
    given = header[len(_SIGNATURE_PREFIX):].lower()
    if len(given) != _SHA256_HEX_LEN:
        raise SignatureError("malformed")
    expected = sign(body, app_secret)[len(_SIGNATURE_PREFIX):]
    if not hmac.compare_digest(given.encode("ascii", "replace"), expected.encode("ascii")):
        raise SignatureError("mismatch")


def verify_handshake(args: Mapping[str, str], verify_token: Secret) -> Tuple[str, int]:
    """Answer Meta's webhook verification GET.

    Args:
        args: the URL-decoded query parameters (``hub.mode``, ``hub.verify_token``,
            ``hub.challenge``).
        verify_token: the token configured in the App Dashboard.

    Returns:
        ``(body, status)``: the challenge and 200 when mode is ``subscribe`` and the
        token matches (constant-time compare), otherwise 403 with the reason.
    """
    mode = args.get("hub.mode", "")
    token = args.get("hub.verify_token", "")
    challenge = args.get("hub.challenge", "")
    token_ok = hmac.compare_digest(token.encode(), verify_token.reveal().encode())
    if mode == "subscribe" and token_ok and challenge and verify_token:
        return challenge, 200
    logger.warning("Webhook verification refused (mode ok: %s, token ok: %s)", mode == "subscribe", token_ok)
    return "webhook verification refused: wrong hub.mode, hub.verify_token or no hub.challenge", 403


def graph_error(status: int, body: Any) -> ProviderAPIError:
    """Classify a Graph API error answer.

    Args:
        status: the HTTP status.
        body: the decoded JSON body (or anything else if it was not JSON).

    Returns:
        :class:`WindowClosedError` for 131047, otherwise a :class:`ProviderAPIError`
        that is transient for the codes in :data:`TRANSIENT_CODES`, HTTP 429 and 5xx.
    """
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    code = code if isinstance(code, int) else status
    message = str(error.get("message") or f"HTTP {status}")[:200]
    raw = body if isinstance(body, dict) else {"body": str(body)[:500]}
    if code in WINDOW_CLOSED_CODES:
        return WindowClosedError(code, message, raw, http_status=status)
    transient = code in TRANSIENT_CODES or status == 429 or status >= 500
    return ProviderAPIError(code, message, transient, raw, http_status=status)


class GraphClient:
    """Thin async Graph API client: one attempt per call, typed errors.

    Args:
        base_url: e.g. ``https://graph.facebook.com/v21.0`` (tests point it at the
            fake Graph API).
        session: an injected ``aiohttp.ClientSession``; when None, one is created on
            first use and closed by :meth:`close`.
        timeout_s: total timeout of each request.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_GRAPH_URL,
        session: Optional[aiohttp.ClientSession] = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._owns_session = session is None
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
            self._owns_session = True
        return self._session

    def session(self) -> aiohttp.ClientSession:
        """The HTTP session (for bounded media downloads, :mod:`channels._media`)."""
        return self._get_session()

    async def upload(self, path: str, token: Secret, form: aiohttp.FormData) -> Dict[str, Any]:
        """One multipart POST (a media upload); errors as :meth:`request`."""
        return await self._call("POST", self.url(path), token, data=form)

    async def close(self) -> None:
        """Close the session if this client created it."""
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()

    def url(self, path: str) -> str:
        """Absolute URL of a Graph path (``"<phone-number-id>/messages"``)."""
        return f"{self.base_url}/{path.lstrip('/')}"

    async def request(
        self,
        method: str,
        path_or_url: str,
        token: Secret,
        json: Optional[Mapping[str, Any]] = None,
    ) -> Dict[str, Any]:
        """Make one Graph request and return the decoded JSON answer.

        Raises:
            ProviderAPIError: any failure; network errors and timeouts are code 0
                and transient.
        """
        url = path_or_url if path_or_url.startswith("http") else self.url(path_or_url)
        return await self._call(method, url, token, json=json)

    async def _call(self, method: str, url: str, token: Secret, **content: Any) -> Dict[str, Any]:
        """One authenticated request (``json=`` or ``data=``): the decoded answer, or ProviderAPIError."""
        headers = {"Authorization": f"Bearer {token.reveal()}"}
        try:
            async with self._get_session().request(
                method, url, headers=headers, timeout=self.timeout, **content
            ) as response:
                try:
                    body: Any = await response.json(content_type=None)
                except ValueError:
                    body = await response.text()
                if response.status >= 400:
                    raise graph_error(response.status, body)
                return body if isinstance(body, dict) else {"body": body}
        except asyncio.TimeoutError:
            raise ProviderAPIError(0, "timeout", True) from None
        except aiohttp.ClientError as exc:
            raise ProviderAPIError(0, f"network error: {type(exc).__name__}", True) from None

    async def download(self, url: str, token: Secret) -> bytes:
        """Download a media file from its short-lived URL (Bearer auth)."""
        headers = {"Authorization": f"Bearer {token.reveal()}"}
        try:
            async with self._get_session().get(url, headers=headers, timeout=self.timeout) as response:
                if response.status >= 400:
                    raise graph_error(response.status, await response.text())
                return await response.read()
        except asyncio.TimeoutError:
            raise ProviderAPIError(0, "timeout", True) from None
        except aiohttp.ClientError as exc:
            raise ProviderAPIError(0, f"network error: {type(exc).__name__}", True) from None
