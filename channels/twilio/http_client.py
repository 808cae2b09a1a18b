"""twilio-python's async transport over an injected aiohttp session.

twilio 8 ships ``AsyncTwilioHttpClient``, but it creates its own ``ClientSession`` in
``__init__`` (outside any event loop), logs every request at INFO, retries on its own
(``aiohttp_retry``) behind the delivery layer's back, and cannot be pointed at a local
fake. This class keeps twilio's request building and error parsing
(``client.messages.create_async``) and replaces only the transport:

- the ``aiohttp.ClientSession`` is injected, so the app owns its life cycle;
- every request has an explicit total timeout;
- one attempt per call: retries and backoff belong to ``bot.delivery``;
- ``api_url`` replaces the scheme and host of ``https://api.twilio.com`` (``TWILIO_API_URL``,
  for the fake in tests and local runs);
- only the method and path are logged, at DEBUG.
"""
from __future__ import annotations

import logging
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.http import AsyncHttpClient
from twilio.http.response import Response

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0


def rebase_url(url: str, api_url: Optional[str]) -> str:
    """Send ``url`` to ``api_url`` instead of Twilio's host, keeping the path and query.

    ``api_url`` may carry a path prefix (``http://127.0.0.1:4010/twilio``).
    """
    if not api_url:
        return url
    target, base = urlsplit(url), urlsplit(api_url)
    path = base.path.rstrip("/") + target.path
    return urlunsplit((base.scheme, base.netloc, path, target.query, target.fragment))


def _form_items(data: Optional[Dict[str, object]]) -> Optional[List[Tuple[str, str]]]:
    """Flatten twilio's form dict; list values (MediaUrl) become repeated fields."""
    if data is None:
        return None
    items: List[Tuple[str, str]] = []
    for name, value in data.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        items.extend((name, str(item)) for item in values)
    return items


class AiohttpTwilioClient(AsyncHttpClient):
    """An ``AsyncHttpClient`` for ``twilio.rest.Client(http_client=...)``.

    Args:
        session: the aiohttp session to send with (not closed by this class); may be
            attached later with :meth:`attach`, once an event loop runs.
        api_url: base URL replacing ``https://api.twilio.com``; None for the real API.
        timeout: total seconds for one request, connect and read included.
    """

    def __init__(
        self,
        session: Optional[aiohttp.ClientSession] = None,
        *,
        api_url: Optional[str] = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        super().__init__(logger, True, timeout)
        self._session = session
        self._api_url = api_url

    def attach(self, session: aiohttp.ClientSession) -> None:
        """Use ``session`` from now on (the channel opens it at server start)."""
        self._session = session

    async def request(
        self,
        method: str,
        url: str,
        params: Optional[Dict[str, object]] = None,
        data: Optional[Dict[str, object]] = None,
        headers: Optional[Dict[str, str]] = None,
        auth: Optional[Tuple[str, str]] = None,
        timeout: Optional[float] = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Make one request; network errors and timeouts propagate to the sender.

        Raises:
            asyncio.TimeoutError: no complete answer within the timeout.
            aiohttp.ClientError: the connection failed.
        """
        if self._session is None:
            raise RuntimeError("AiohttpTwilioClient has no session; attach() one first")
        target = rebase_url(url, self._api_url)
        logger.debug("Twilio API %s %s", method.upper(), urlsplit(target).path)
        async with self._session.request(
            method.upper(),
            target,
            params=params,
            data=_form_items(data),
            headers=headers,
            auth=aiohttp.BasicAuth(auth[0], auth[1]) if auth else None,
            timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
            allow_redirects=allow_redirects,
        ) as answer:
            text = await answer.text()
            logger.debug("Twilio API answered %s", answer.status)
            return Response(answer.status, text, answer.headers)
