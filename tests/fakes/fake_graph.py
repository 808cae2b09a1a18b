"""A local stand-in for Meta's Graph API (WhatsApp Cloud), for tests and local runs.

Emulates ``POST /<version>/<phone-number-id>/messages`` (messages, read receipts,
typing indicators) and ``GET /<version>/<media-id>`` + the media download, with
Graph's JSON error bodies (``{"error": {"message", "type", "code", "fbtrace_id"}}``)
and a few of its validations (text ≤ 4096, ≤ 3 reply buttons with titles ≤ 20, list
≤ 10 rows).  Every request is recorded (path, headers, JSON, outcome).  Failures
are queued on demand and apply to message sends only (not read receipts):

=============  ==============================================================
``"130429"``   400, code 130429 (rate limit hit)            transient
``"131056"``   400, code 131056 (pair rate limit)            transient
``"429"``      429, code 4 (application request limit)       transient
``"500"``      500, code 1 (unknown error)                   transient
``"timeout"``  answers 503 after ``hang_seconds`` (the client times out first)
``"hang"``     never answers until reset (for kill tests)
``"131047"``   400, code 131047 (re-engagement: window closed)  permanent
``"131026"``   400, code 131026 (message undeliverable)         permanent
=============  ==============================================================

Pytest: ``from tests.fakes.fake_graph import fake_graph`` and use the fixture.
Command line::

    python -m tests.fakes.fake_graph --port 4020 --fail 500 --fail 130429
    WHATSAPP_GRAPH_URL=http://127.0.0.1:4020/v21.0 rasa run ...

Control endpoints: ``GET /_fake/requests``, ``POST /_fake/fail`` (``{"failures":
["500"]}``), ``POST /_fake/reset``, ``POST /_fake/statuses`` (``{"url", "app_secret",
"withhold"}``).

Media: :meth:`FakeGraph.add_media` serves a file by media id (``GET /<version>/<media-id>``
answers its download URL, mime type and size; the URL answers the bytes, bearer token
required); ``POST /<version>/<phone-number-id>/media`` (multipart, as Meta's upload)
records the file in :attr:`FakeGraph.uploads` and answers a new media id.
:meth:`FakeGraph.fail_media` queues failures of media calls (lookup, download, upload):
``"500"`` (Graph error), ``"404"`` (download URL gone) or ``"oversize"`` (a download of
more bytes than ``file_size`` said).

Status webhooks, as Meta sends them: once told where (:meth:`FakeGraph.post_statuses`),
every accepted message send is followed by a ``sent`` status webhook to that URL,
signed ``X-Hub-Signature-256`` with the app secret over the exact bytes posted, and
echoing the request's ``biz_opaque_callback_data``.  Like Meta, an answer other than
200 (or none: the server is down) is retried with backoff until it is accepted.
``withhold_statuses = True`` keeps them back (a status that never comes, or comes late:
:meth:`FakeGraph.release_statuses` posts the ones kept back).
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import json
import logging
import re
import time
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, AsyncIterator, Deque, Dict, List, Mapping, Optional, Set, Tuple, TypeVar

import aiohttp
import pytest_asyncio
from aiohttp import web

logger = logging.getLogger(__name__)

VERSION = "v21.0"
#: Meta takes documents up to 100 MB (aiohttp's default body limit would be 1 MiB).
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
G = TypeVar("G", bound="FakeGraph")

#: failure name → (HTTP status, Graph code, message)
FAILURES: Mapping[str, Tuple[int, int, str]] = {
    "130429": (400, 130429, "Rate limit hit"),
    "131056": (400, 131056, "(Business Account, Consumer Account) pair rate limit hit"),
    "429": (429, 4, "Application request limit reached"),
    "500": (500, 1, "An unknown error occurred"),
    "131047": (400, 131047, "Re-engagement message"),
    "131026": (400, 131026, "Message undeliverable"),
}


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    headers: Dict[str, str]
    json: Any
    """The request body, without ``biz_opaque_callback_data`` (in :attr:`callback_data`): the
    message as the customer gets it, comparable with the payloads our builders make."""
    outcome: str = "pending"
    """``ok``, ``failed:<name>``, ``invalid``, ``hung`` or ``unauthorized``."""
    message_id: Optional[str] = None
    at: float = field(default_factory=time.monotonic)
    """When the request arrived (``time.monotonic()``)."""
    callback_data: Optional[str] = None
    """The request's ``biz_opaque_callback_data`` (our outbox key), echoed in its status webhooks."""


@dataclass
class PostedStatus:
    """One status webhook the fake delivered (answered 200) to the configured URL."""

    message_id: str
    status: str
    callback_data: Optional[str]
    tries: int


@dataclass
class FakeGraph:
    """State and behaviour of the fake; ``app()`` serves it."""

    tokens: Optional[List[str]] = None
    """Accepted bearer tokens (None: any)."""
    hang_seconds: float = 30.0
    requests: List[Recorded] = field(default_factory=list)
    failures: Deque[str] = field(default_factory=deque)
    media: Dict[str, bytes] = field(default_factory=dict)
    media_types: Dict[str, str] = field(default_factory=dict)
    uploads: List[Dict[str, Any]] = field(default_factory=list)
    media_failures: Deque[str] = field(default_factory=deque)
    base_url: str = ""
    status_url: Optional[str] = None
    """Where status webhooks go (None: nowhere, as before a callback URL is configured)."""
    app_secret: Optional[str] = None
    withhold_statuses: bool = False
    """Accept sends but never post their statuses (a status lost on Meta's side)."""
    statuses: List[PostedStatus] = field(default_factory=list)
    withheld: List[Tuple[str, str, Dict[str, Any], Optional[str]]] = field(default_factory=list)
    """(phone_number_id, wamid, request body, callback data) of the statuses kept back."""
    _posting: Set["asyncio.Task[None]"] = field(default_factory=set)
    _session: Optional[aiohttp.ClientSession] = None
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        """What ``WHATSAPP_GRAPH_URL`` should be set to."""
        return f"{self.base_url}/{VERSION}"

    def fail(self, *names: str) -> None:
        """Queue failures for the next message sends, in order."""
        for name in names:
            if name not in FAILURES and name not in ("timeout", "hang"):
                raise ValueError(f"unknown failure {name!r}")
            self.failures.append(name)

    def add_media(self, media_id: str, data: bytes, mime_type: str) -> None:
        """Serve ``data`` as the customer's media ``media_id``."""
        self.media[media_id] = data
        self.media_types[media_id] = mime_type

    def fail_media(self, *names: str) -> None:
        """Queue failures for the next media calls (lookup, download or upload), in order."""
        for name in names:
            if name not in ("500", "404", "oversize"):
                raise ValueError(f"unknown media failure {name!r}")
            self.media_failures.append(name)

    def media_calls(self) -> List[Recorded]:
        """Recorded media lookups, downloads and uploads (never message sends)."""
        return [r for r in self.requests if r.path.endswith("/media") or "/_fake/media/" in r.path
                or (r.method == "GET" and r.path.rsplit("/", 1)[-1] in self.media)]

    def post_statuses(self, url: str, app_secret: str, *, withhold: bool = False) -> None:
        """Post a signed ``sent`` status webhook for every accepted send to ``url`` (as Meta does)."""
        self.status_url, self.app_secret, self.withhold_statuses = url, app_secret, withhold

    def release_statuses(self) -> None:
        """Stop withholding: post every status kept back so far, and the later ones as they come."""
        self.withhold_statuses = False
        held, self.withheld = self.withheld, []
        for phone_number_id, wamid, body, callback_data in held:
            self._status_later(phone_number_id, wamid, body, callback_data)

    def reset(self) -> None:
        self.withheld.clear()
        for task in self._posting:
            task.cancel()
        self._posting.clear()
        self.statuses.clear()
        self.requests.clear()
        self.failures.clear()
        self.media_failures.clear()
        self._release.set()
        self._release = asyncio.Event()

    def messages(self, outcome: Optional[str] = "ok") -> List[Recorded]:
        """Recorded message sends (not read receipts), optionally of one outcome."""
        return [
            r for r in self.requests
            if isinstance(r.json, dict) and ("to" in r.json or "recipient" in r.json)
            and (outcome is None or r.outcome == outcome)
        ]

    def receipts(self) -> List[Recorded]:
        """Recorded mark-as-read / typing-indicator requests."""
        return [r for r in self.requests if isinstance(r.json, dict) and r.json.get("status") == "read"]

    async def wait_for(self, count: int, *, outcome: Optional[str] = "ok", timeout: float = 10.0) -> List[Recorded]:
        """Wait until at least ``count`` message sends with ``outcome`` were recorded."""
        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.messages(outcome)) >= count)

        await asyncio.wait_for(enough(), timeout)
        return self.messages(outcome)

    async def _record(self, recorded: Recorded, outcome: str) -> None:
        recorded.outcome = outcome
        async with self._changed:
            self._changed.notify_all()

    # -- HTTP --------------------------------------------------------------

    def control_routes(self) -> web.Application:
        """A new app with the ``/_fake/...`` control endpoints (fakes built on this add their API)."""
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        app.router.add_get("/_fake/requests", self._list)
        app.router.add_post("/_fake/fail", self._queue)
        app.router.add_post("/_fake/reset", self._reset)
        app.router.add_post("/_fake/statuses", self._statuses)
        return app

    def app(self) -> web.Application:
        app = self.control_routes()
        app.router.add_get("/_fake/media/{media_id}", self._download)
        app.router.add_post("/{version}/{phone_number_id}/messages", self._messages)
        app.router.add_post("/{version}/{phone_number_id}/media", self._upload)
        app.router.add_get("/{version}/{media_id}", self._media_url)
        return app

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and (self.tokens is None or header[7:] in self.tokens)

    async def _messages(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        callback_data = body.pop("biz_opaque_callback_data", None) if isinstance(body, dict) else None
        recorded = Recorded("POST", request.path, dict(request.headers), body, callback_data=callback_data)
        self.requests.append(recorded)
        if not self._authorized(request):
            await self._record(recorded, "unauthorized")
            return _error(401, 190, "Invalid OAuth access token")
        if isinstance(body, dict) and body.get("status") == "read":
            await self._record(recorded, "ok")
            return web.json_response({"success": True})
        if self.failures:
            name = self.failures.popleft()
            return await self._failure(recorded, name)
        problem = validate(body)
        if problem:
            await self._record(recorded, "invalid")
            return _error(400, 100, problem)
        recorded.message_id = f"wamid.fake{next(self._ids)}"
        # Meta accepts a BSUID in "to" (200, a wamid) and then never delivers it (chatwoot/chatwoot#15150):
        # recorded as "dropped", so a test waiting for a delivered send fails as the customer would.
        address = body.get("to") or body.get("recipient")
        dropped = bool(body.get("to")) and BSUID.match(str(body["to"])) is not None
        await self._record(recorded, "dropped" if dropped else "ok")
        if not dropped:
            self._status_later(request.match_info["phone_number_id"], recorded.message_id, body, callback_data)
        contact = {"input": address, "user_id": address} if body.get("recipient") and not body.get("to") \
            else {"input": address, "wa_id": address}
        return web.json_response({
            "messaging_product": "whatsapp",
            "contacts": [contact],
            "messages": [{"id": recorded.message_id}],
        })

    # -- status webhooks ------------------------------------------------------

    def _status_later(self, phone_number_id: str, wamid: str, body: Mapping[str, Any],
                      callback_data: Optional[str]) -> None:
        """Post the ``sent`` status of an accepted send in the background (after or before our answer lands)."""
        if self.status_url is None:
            return
        if self.withhold_statuses:
            self.withheld.append((phone_number_id, wamid, dict(body), callback_data))
            return
        task = asyncio.get_running_loop().create_task(self._post_status(phone_number_id, wamid, body, callback_data))
        self._posting.add(task)
        task.add_done_callback(self._posting.discard)

    async def _post_status(self, phone_number_id: str, wamid: str, body: Mapping[str, Any],
                           callback_data: Optional[str]) -> None:
        status: Dict[str, Any] = {
            "id": wamid, "status": "sent", "timestamp": str(int(time.time())),
            "recipient_id": body.get("to") or body.get("recipient"),
            "pricing": {"billable": True, "pricing_model": "PMP", "category": "service"},
        }
        if callback_data is not None:
            status["biz_opaque_callback_data"] = callback_data
        envelope = {"object": "whatsapp_business_account", "entry": [{"id": "WABA_FAKE", "changes": [{
            "field": "messages", "value": {"messaging_product": "whatsapp",
                                           "metadata": {"display_phone_number": "15550000000",
                                                        "phone_number_id": phone_number_id},
                                           "statuses": [status]}}]}]}
        # Meta signs the escaped-unicode bytes it posts: ensure_ascii gives the same kind of body.
        raw = json.dumps(envelope, separators=(",", ":")).encode("ascii")
        signature = "sha256=" + hmac.new((self.app_secret or "").encode(), raw, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        pause, tries = 0.1, 0
        while True:  # Meta keeps trying for days; the fake until it is reset or stopped
            tries += 1
            try:
                async with self._session.post(str(self.status_url), data=raw, headers=headers) as answer:
                    await answer.read()
                    if answer.status == 200:
                        self.statuses.append(PostedStatus(wamid, "sent", callback_data, tries))
                        return
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(pause)
            pause = min(2.0, pause * 2)

    async def close(self) -> None:
        """Stop posting statuses and close the client session."""
        self.reset()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _failure(self, recorded: Recorded, name: str) -> web.Response:
        if name == "hang":
            recorded.outcome = "hung"
            await self._release.wait()
            return _error(503, 2, "Service temporarily unavailable")
        if name == "timeout":
            await self._record(recorded, "failed:timeout")
            try:
                await asyncio.wait_for(self._release.wait(), self.hang_seconds)
            except asyncio.TimeoutError:
                pass
            return _error(503, 2, "Service temporarily unavailable")
        await self._record(recorded, f"failed:{name}")
        status, code, message = FAILURES[name]
        return _error(status, code, message)

    async def _media_url(self, request: web.Request) -> web.Response:
        media_id = request.match_info["media_id"]
        self.requests.append(Recorded("GET", request.path, dict(request.headers), None, "ok"))
        if not self._authorized(request):
            return _error(401, 190, "Invalid OAuth access token")
        if self.media_failures and self.media_failures[0] == "500":
            self.media_failures.popleft()
            return _error(500, 1, "An unknown error occurred")
        if media_id not in self.media:
            return _error(400, 100, "Unsupported get request")
        return web.json_response({
            "messaging_product": "whatsapp",
            "url": f"{self.base_url}/_fake/media/{media_id}",
            "mime_type": self.media_types.get(media_id, "image/jpeg"),
            "sha256": hashlib.sha256(self.media[media_id]).hexdigest(),
            "id": media_id,
            "file_size": len(self.media[media_id]),
        })

    async def _download(self, request: web.Request) -> web.Response:
        self.requests.append(Recorded("GET", request.path, dict(request.headers), None, "ok"))
        if not self._authorized(request):
            return web.Response(status=401)
        data = self.media.get(request.match_info["media_id"], b"")
        failure = self.media_failures.popleft() if self.media_failures else None
        if failure == "404":
            return web.Response(status=404)
        if failure == "oversize":  # more than the lookup's file_size said, and no Content-Length
            response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            for _ in range(64):
                await response.write(b"\0" * 65536)
            await response.write_eof()
            return response
        return web.Response(body=data, content_type=self.media_types.get(request.match_info["media_id"],
                                                                         "application/octet-stream"))

    async def _upload(self, request: web.Request) -> web.Response:
        recorded = Recorded("POST", request.path, dict(request.headers), None)
        self.requests.append(recorded)
        if not self._authorized(request):
            await self._record(recorded, "unauthorized")
            return _error(401, 190, "Invalid OAuth access token")
        if self.media_failures:
            self.media_failures.popleft()
            await self._record(recorded, "failed:500")
            return _error(500, 1, "An unknown error occurred")
        form = await request.post()
        upload = form.get("file")
        if form.get("messaging_product") != "whatsapp" or not isinstance(upload, web.FileField):
            await self._record(recorded, "invalid")
            return _error(400, 100, "messaging_product and file are required")
        media_id = f"fake-upload-{next(self._ids)}"
        data = upload.file.read()
        self.uploads.append({"id": media_id, "type": form.get("type"), "filename": upload.filename,
                             "content_type": upload.content_type, "data": data,
                             "phone_number_id": request.match_info["phone_number_id"]})
        self.add_media(media_id, data, str(form.get("type")))
        recorded.json = {"type": form.get("type"), "filename": upload.filename, "size": len(data)}
        await self._record(recorded, "ok")
        return web.json_response({"id": media_id})

    async def _list(self, _request: web.Request) -> web.Response:
        return web.json_response([asdict(r) for r in self.requests])

    async def _queue(self, request: web.Request) -> web.Response:
        self.fail(*(await request.json()).get("failures", []))
        return web.json_response({"queued": list(self.failures)})

    async def _statuses(self, request: web.Request) -> web.Response:
        config = await request.json()
        self.post_statuses(config["url"], config["app_secret"], withhold=bool(config.get("withhold")))
        return web.json_response({"status_url": self.status_url, "withhold": self.withhold_statuses})

    async def _reset(self, _request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"reset": True})


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AfakeTrace"}},
        status=status,
    )


#: A business-scoped user id: two-letter country, a dot, optional ENT., up to 128 alphanumerics.
BSUID = re.compile(r"^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$")


def validate(body: Any) -> Optional[str]:
    """The first Graph validation a message body fails, or None (a subset of Meta's rules).

    Addressing (Meta, "Business-scoped user IDs"): ``to`` (a phone number) or ``recipient``
    (a BSUID), ``recipient_type`` ``individual`` or ``group``.
    """
    if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
        return "messaging_product is required"
    if not (body.get("to") or body.get("recipient")):
        return "to or recipient is required"
    if body.get("recipient_type", "individual") not in ("individual", "group"):
        return "recipient_type must be individual or group"
    kind = body.get("type")
    if kind not in body:
        return f"missing {kind!r} object"
    content = body[kind]
    if kind == "text":
        text = content.get("body", "")
        if not text or len(text.encode("utf-16-le")) // 2 > 4096:
            return "text.body must have 1..4096 characters"
    if kind == "interactive":
        action = content.get("action", {})
        if content.get("type") == "button":
            buttons = action.get("buttons", [])
            if not 1 <= len(buttons) <= 3 or any(len(b["reply"]["title"]) > 20 for b in buttons):
                return "1..3 buttons with titles of at most 20 characters"
        if content.get("type") == "list":
            rows = [row for section in action.get("sections", []) for row in section.get("rows", [])]
            if not 1 <= len(rows) <= 10 or any(len(r["title"]) > 24 for r in rows) or len(action.get("button", "")) > 20:
                return "1..10 rows with titles of at most 24 characters"
        if len(content.get("body", {}).get("text", "")) > 1024:
            return "interactive body at most 1024 characters"
    return None


async def start(graph: FakeGraph, host: str = "127.0.0.1", port: int = 0) -> web.AppRunner:
    """Serve ``graph``; sets ``graph.base_url``.  Stop with ``await runner.cleanup()``."""
    runner = web.AppRunner(graph.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    sockets = site._server.sockets  # type: ignore[union-attr]
    graph.base_url = f"http://{host}:{sockets[0].getsockname()[1]}"
    return runner


@asynccontextmanager
async def serving(graph: G) -> AsyncIterator[G]:
    """Serve any :class:`FakeGraph` (subclasses too) on a free port for a block."""
    runner = await start(graph)
    try:
        yield graph
    finally:
        await graph.close()
        await runner.cleanup()


@pytest_asyncio.fixture
async def fake_graph() -> AsyncIterator[FakeGraph]:
    """A running fake Graph API; ``fake_graph.url`` is the WHATSAPP_GRAPH_URL to use."""
    async with serving(FakeGraph()) as graph:
        yield graph


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4020)
    parser.add_argument("--fail", action="append", default=[], help="queue a failure (repeatable)")
    parser.add_argument("--token", action="append", help="accepted bearer token (repeatable; default any)")
    parser.add_argument("--status-url", help="post signed status webhooks of accepted sends here")
    parser.add_argument("--app-secret", default="", help="the app secret status webhooks are signed with")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)

    async def serve() -> None:
        graph = FakeGraph(tokens=args.token)
        graph.fail(*args.fail)
        if args.status_url:
            graph.post_statuses(args.status_url, args.app_secret)
        await start(graph, args.host, args.port)
        logger.info("Fake Graph API at %s", graph.url)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
