"""The desk's media proxy: customers' photos, voice notes, videos and files, and agents' uploads.

The browser never talks to a provider.  A transcript's media entry carries only an
opaque ``media_id`` (``<handoff id>.<key>``); ``GET /api/v1/media/<media_id>``
answers its bytes to a signed-in agent (or a token with ``handoffs:read``) who may
see that handoff, and to nobody else.  The server fetches the file once with the
provider's credentials (WhatsApp Cloud: ``GET /{media-id}`` then its URL with the
bearer token; Twilio: the ``MediaUrl`` with Basic auth; Instagram: the attachment's
CDN URL), through the channel (:meth:`bot.delivery.ports.CustomerChannel.fetch_media`),
and keeps it in :class:`bot.agent_desk.media_cache.MediaCache` for the retention.
Only media that is in that handoff's transcript can be fetched: an id names no URL.

Answers: the file's own type from :data:`SHOWN_TYPES` (anything else, HTML and SVG
included, is refused with 415), ``X-Content-Type-Options: nosniff``, a sandboxing
CSP, and ``Content-Disposition: attachment`` for everything but images, audio and
video.  Larger than ``MAJLIS_DESK_MEDIA_MAX_BYTES`` (default 16 MB, WhatsApp's
largest audio/video): 413; the provider failing: 502; never a 500.

Agents send a photo or a PDF with ``POST /api/v1/handoffs/<id>/attachments`` (the
raw file as body, its type as ``Content-Type``, ``?filename=&caption=&client_key=``;
CSRF as every desk write; at most ``MAJLIS_DESK_UPLOAD_MAX_BYTES``, default 5 MB,
WhatsApp's image limit; the bytes must be what the type says).  The file is kept
here, the reply is stored like a text reply (``📎 name`` or the caption), and
:meth:`MediaProxy.attachment_for` lets the delivery of that reply upload it to the
channel (WhatsApp: ``POST /{phone-number-id}/media``, then a message by media id).
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import unicodedata
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Tuple
from urllib.parse import quote

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.agent_desk.http import Caller, api_route
from bot.agent_desk.media_cache import MediaCache
from bot.agent_desk.serialize import message_item
from bot.config import Config
from bot.delivery.ports import MediaFile
from bot.errors import MediaTooLarge, MediaUnavailable, ProviderAPIError
from bot.handoff.context import OwnerState
from bot.handoff.desk import Conflict, DeskError, NotFound

if TYPE_CHECKING:
    from bot.agent_desk.app import DeskApp
    from bot.handoff.records import HandoffRecord, MessageRecord

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
DEFAULT_UPLOAD_MAX_BYTES = 5 * 1024 * 1024
SWEEP_SECONDS = 3600.0
#: Types the proxy serves; shown in the page (True) or only downloaded (False).  Never HTML, SVG or scripts.
SHOWN_TYPES: Mapping[str, bool] = {
    "image/jpeg": True, "image/png": True, "image/webp": True, "image/gif": True,
    "audio/ogg": True, "audio/opus": True, "audio/mpeg": True, "audio/mp4": True, "audio/aac": True,
    "audio/amr": True, "audio/wav": True, "video/mp4": True, "video/3gpp": True, "video/webm": True,
    "application/pdf": False, "text/plain": False, "application/msword": False,
    "application/vnd.ms-excel": False, "application/vnd.ms-powerpoint": False,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": False,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": False,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": False,
}
#: What an agent may send, with the bytes each file of that type starts with.
UPLOAD_TYPES: Mapping[str, Tuple[bytes, str]] = {
    "image/jpeg": (b"\xff\xd8\xff", "jpg"), "image/png": (b"\x89PNG\r\n\x1a\n", "png"),
    "application/pdf": (b"%PDF-", "pdf"),
}
ATTACHMENT_KEY_PREFIX = "att:"
MAX_CAPTION = 1024
MAX_FILENAME = 100
_PART = re.compile(r"^[cu][0-9a-f]{40}$")


class TooLarge(DeskError):
    status = 413


class UnsupportedType(DeskError):
    status = 415


class ProviderFailed(DeskError):
    status = 502


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:40]


def bare_type(value: Optional[str]) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def clean_filename(raw: Optional[str], content_type: str) -> str:
    """A file name safe to show and to send: no path, no control characters, bounded."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")[:MAX_FILENAME]
    return name or f"file.{UPLOAD_TYPES.get(content_type, (b'', 'bin'))[1]}"


def file_answer(media: MediaFile) -> HTTPResponse:
    """The bytes with their type, never sniffed, never run; only images/audio/video inline."""
    inline = SHOWN_TYPES.get(media.content_type, False)
    answer = response.raw(media.data, content_type=media.content_type)
    name = quote(clean_filename(media.filename, media.content_type))
    answer.headers["Content-Disposition"] = f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{name}"
    answer.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    answer.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return answer


class MediaProxy:
    """Finds, fetches, caches and serves a handoff's media; keeps agents' uploads until sent."""

    def __init__(self, desk: "DeskApp", cache: MediaCache, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 upload_max_bytes: int = DEFAULT_UPLOAD_MAX_BYTES) -> None:
        self.desk, self.cache = desk, cache
        self.max_bytes, self.upload_max_bytes = max_bytes, upload_max_bytes
        self._sweeper: Optional[asyncio.Task] = None

    @classmethod
    def from_config(cls, desk: "DeskApp", cfg: Config) -> "MediaProxy":
        return cls(desk, MediaCache.from_config(cfg, clock=desk.now),
                   max_bytes=cfg("MAJLIS_DESK_MEDIA_MAX_BYTES", cast=int, default=DEFAULT_MAX_BYTES),
                   upload_max_bytes=cfg("MAJLIS_DESK_UPLOAD_MAX_BYTES", cast=int, default=DEFAULT_UPLOAD_MAX_BYTES))

    # -- what the desk shows -------------------------------------------------

    @staticmethod
    def customer_key(channel: str, item: Mapping[str, Any]) -> Optional[str]:
        """The cache key of a customer's media (None: nothing the provider could give us)."""
        ref = item.get("ref") or item.get("url")
        return "c" + _digest(channel, str(ref)) if ref else None

    @staticmethod
    def upload_key(handoff_id: str, client_key: str) -> str:
        return "u" + _digest(handoff_id, client_key)

    async def show(self, record: "HandoffRecord", context: Dict[str, Any]) -> Dict[str, Any]:
        """Replace providers' references in a context packet by proxy ids; add agents' sent files."""
        for turn in context.get("transcript") or ():
            for item in turn.get("media") or ():
                key = self.customer_key(record.channel, item)
                item["media_id"] = f"{record.public_id}.{key}" if key else None
                item["url"] = item["ref"] = None
        sent = {f"m{m.id}": m for m in await self.desk.desk.store.messages(record.id)
                if m.kind == "agent" and (m.client_key or "").startswith(ATTACHMENT_KEY_PREFIX)}
        for turn in context.get("transcript") or ():
            message = sent.get(turn.get("id") or "")
            if message is None:
                continue
            key = self.upload_key(record.public_id, message.client_key or "")
            stored = await asyncio.to_thread(self.cache.get, key)
            kind = stored.media.content_type.split("/")[0] if stored else "file"
            turn["media"] = [{"kind": kind, "media_id": f"{record.public_id}.{key}" if stored else None,
                              "filename": stored.media.filename if stored else None, "caption": None,
                              "mime_type": stored.media.content_type if stored else None, "url": None,
                              "ref": None, "voice": False}]
        return context

    # -- serving -------------------------------------------------------------

    async def serve(self, caller: Caller, media_id: str) -> MediaFile:
        """The file behind ``media_id`` if ``caller`` may see its handoff.

        Raises:
            NotFound / Forbidden: no such media, or not this caller's to see.
            TooLarge, UnsupportedType, ProviderFailed: see the module docstring.
        """
        handoff_id, _, part = media_id.rpartition(".")
        if not handoff_id or not _PART.match(part):
            raise NotFound("no such media")
        record = await self.desk.desk.get(caller.actor, handoff_id)
        stored = await asyncio.to_thread(self.cache.get, part)
        if part.startswith("u"):
            if stored is None or stored.extra.get("handoff") != record.public_id:
                raise NotFound("no such media (or past its retention)")
            return stored.media
        if stored is not None and stored.extra.get("handoff") == record.public_id:
            return stored.media
        item = await self._find(record, part)  # also an earlier handoff's file, seen again in this one
        if stored is not None:
            return stored.media
        media = await self._fetch(record, item)
        await asyncio.to_thread(self.cache.put, part, media, handoff=record.public_id)
        return media

    async def _find(self, record: "HandoffRecord", part: str) -> Mapping[str, Any]:
        """The transcript entry with this key: only media of this conversation is ever fetched."""
        context = (await self.desk.desk.context(record)).to_dict()
        for turn in context.get("transcript") or ():
            for item in turn.get("media") or ():
                if self.customer_key(record.channel, item) == part:
                    return item
        raise NotFound("no such media")

    async def _fetch(self, record: "HandoffRecord", item: Mapping[str, Any]) -> MediaFile:
        try:
            media = await self.desk.registry.fetch_media(record.channel, account=record.account,
                                                         customer=record.customer, item=item,
                                                         max_bytes=self.max_bytes)
        except MediaTooLarge:
            raise TooLarge(f"the file is larger than the desk's limit of {self.max_bytes} bytes") from None
        except MediaUnavailable as exc:
            raise NotFound(f"this media cannot be fetched: {exc.reason}") from None
        except ProviderAPIError as exc:
            logger.warning("Desk media: the provider of %s failed (code %s)", record.channel, exc.code)
            raise ProviderFailed(f"the provider did not give the file (code {exc.code})") from None
        content_type = bare_type(media.content_type)
        if content_type not in SHOWN_TYPES:
            raise UnsupportedType("the desk does not serve files of this type")
        filename = media.filename or item.get("filename")
        return MediaFile(data=media.data, content_type=content_type, filename=filename)

    # -- agents' files -------------------------------------------------------

    async def upload(self, caller: Caller, handoff_id: str, request: Request) -> "MessageRecord":
        """Keep an agent's file, then store and send the reply that carries it."""
        record = await self.desk.desk.acting(caller.actor, handoff_id)
        if record.state != OwnerState.ASSIGNED or record.agent_id != caller.actor.id:
            raise Conflict("take the conversation before replying")
        content_type = bare_type(request.headers.get("Content-Type"))
        if content_type not in UPLOAD_TYPES:
            raise UnsupportedType("send a JPEG or PNG photo or a PDF document")
        data = await self._read_body(request)
        if not data:
            raise DeskError("the file is empty")
        if not data.startswith(UPLOAD_TYPES[content_type][0]):
            raise UnsupportedType(f"the file is not a {content_type} file")
        caption = (request.args.get("caption") or "").strip()
        if len(caption) > MAX_CAPTION:
            raise DeskError(f"the caption is longer than {MAX_CAPTION} characters")
        filename = clean_filename(request.args.get("filename"), content_type)
        given = (request.args.get("client_key") or "")[:60] or secrets.token_urlsafe(16)
        client_key = ATTACHMENT_KEY_PREFIX + given
        media = MediaFile(data=data, content_type=content_type, filename=filename)
        await asyncio.to_thread(self.cache.put, self.upload_key(record.public_id, client_key), media,
                                handoff=record.public_id, caption=caption)
        return await self.desk.desk.reply(caller.actor, handoff_id, caption or f"📎 {filename}", client_key)

    async def _read_body(self, request: Request) -> bytes:
        """The streamed body, at most :attr:`upload_max_bytes` (the route streams: the server's 1 MiB
        request limit, bot/request_limits.py, is for everything else)."""
        too_large = TooLarge(f"the file is larger than {self.upload_max_bytes} bytes")
        declared = request.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.upload_max_bytes:
            raise too_large
        stream = request.stream
        if stream is None:  # not a streaming route (a test app): the body is already read
            data = request.body or b""
        else:
            stream.request_max_size = self.upload_max_bytes + 1  # sanic/http.py: raised per route
            chunks = bytearray()
            while True:
                chunk = await stream.read()
                if chunk is None:
                    break
                chunks.extend(chunk)
                if len(chunks) > self.upload_max_bytes:
                    raise too_large
            data = bytes(chunks)
        if len(data) > self.upload_max_bytes:
            raise too_large
        return data

    async def attachment_for(self, record: "HandoffRecord",
                             message: "MessageRecord") -> Optional[Tuple[MediaFile, Optional[str]]]:
        """The file an agent reply carries, for its delivery (None: a text reply)."""
        if not (message.client_key or "").startswith(ATTACHMENT_KEY_PREFIX):
            return None
        stored = await asyncio.to_thread(self.cache.get, self.upload_key(record.public_id, message.client_key or ""))
        if stored is None:
            raise MediaUnavailable("the file is no longer kept; send it again")
        return stored.media, stored.extra.get("caption") or None

    # -- retention -----------------------------------------------------------

    def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_loop())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None

    async def _sweep_loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.cache.sweep)
            except OSError as exc:
                logger.warning("Desk media sweep failed: %s", type(exc).__name__)
            await asyncio.sleep(SWEEP_SECONDS)


def register_media(bp: Blueprint, desk: "DeskApp", proxy: MediaProxy) -> None:
    """Add the media routes to ``bp``."""

    @bp.route("/api/v1/media/<media_id>", methods=["GET"])
    @api_route(desk, "handoffs:read")
    async def media(_request: Request, caller: Caller, media_id: str) -> HTTPResponse:
        return file_answer(await proxy.serve(caller, media_id))

    @bp.route("/api/v1/handoffs/<handoff_id>/attachments", methods=["POST"], stream=True)
    @api_route(desk, "handoffs:reply")
    async def attach(request: Request, caller: Caller, handoff_id: str) -> HTTPResponse:
        return response.json({"message": message_item(await proxy.upload(caller, handoff_id, request))}, status=201)
