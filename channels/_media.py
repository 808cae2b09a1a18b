"""Downloading a customer's media from a provider, bounded in size (the desk's media proxy).

Every connector that can fetch media (WhatsApp Cloud, Twilio, Instagram) downloads
through :func:`download`: the declared ``Content-Length`` is checked first and the
body is read in chunks, so a file over the limit is refused after at most
``max_bytes`` + one chunk, whatever the provider claims.  Provider credentials go in
``headers``/``auth`` and never leave the server.
"""
from __future__ import annotations

import asyncio
from typing import Mapping, Optional

import aiohttp

from bot.delivery.ports import MediaFile
from bot.errors import MediaTooLarge, ProviderAPIError

CHUNK = 64 * 1024


def bare_type(value: Optional[str]) -> str:
    """``audio/ogg; codecs=opus`` → ``audio/ogg`` (lower case; empty when unknown)."""
    return (value or "").split(";", 1)[0].strip().lower()


async def download(session: aiohttp.ClientSession, url: str, *, max_bytes: int, timeout: float,
                   headers: Optional[Mapping[str, str]] = None, auth: Optional[aiohttp.BasicAuth] = None,
                   content_type: Optional[str] = None, allow_redirects: bool = True) -> MediaFile:
    """GET ``url`` and return its bytes.

    Args:
        content_type: the type the (signed) webhook declared; the answer's header otherwise.

    Raises:
        MediaTooLarge: the body (declared or read) is larger than ``max_bytes``.
        ProviderAPIError: HTTP error (code = status), network error or timeout (code 0).
    """
    try:
        async with session.get(url, headers=dict(headers or {}), auth=auth, allow_redirects=allow_redirects,
                               timeout=aiohttp.ClientTimeout(total=timeout)) as answer:
            if answer.status >= 400:
                raise ProviderAPIError(answer.status, f"media download answered HTTP {answer.status}",
                                       answer.status >= 500 or answer.status == 429, http_status=answer.status)
            if answer.content_length is not None and answer.content_length > max_bytes:
                raise MediaTooLarge(f"the file is larger than {max_bytes} bytes")
            data = bytearray()
            async for chunk in answer.content.iter_chunked(CHUNK):
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise MediaTooLarge(f"the file is larger than {max_bytes} bytes")
            kind = bare_type(content_type) or bare_type(answer.headers.get("Content-Type"))
            return MediaFile(data=bytes(data), content_type=kind or "application/octet-stream")
    except asyncio.TimeoutError:
        raise ProviderAPIError(0, "media download timed out", True) from None
    except aiohttp.ClientError as exc:
        raise ProviderAPIError(0, f"network error: {type(exc).__name__}", True) from None
