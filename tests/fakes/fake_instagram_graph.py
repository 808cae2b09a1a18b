"""A local stand-in for the Instagram Send API, built on :mod:`tests.fakes.fake_graph`.

Adds to the WhatsApp fake what Instagram needs:

- ``POST /<version>/<IG-ID|PAGE-ID|me>/messages`` with Instagram bodies
  (``recipient.id`` or, for private replies, ``recipient.comment_id``), Meta's
  validations (text ≤ 1,000 UTF-8 bytes, ≤ 13 quick replies with titles ≤ 20
  characters, ``MESSAGE_TAG`` needs ``tag``, one private reply per comment), and
  Instagram's answer ``{"recipient_id", "message_id"}``;
- ``POST /<version>/<comment-id>/replies`` (public comment replies, ``{"id"}``);
- Instagram failures on top of the WhatsApp ones: ``"window"`` (400, code 10,
  subcode 2018278: outside the allowed window) and ``"613"`` (rate limit).

Pytest: ``from tests.fakes.fake_instagram_graph import fake_instagram_graph``.
"""
from __future__ import annotations

import itertools
from typing import Any, AsyncIterator, List, Mapping, Optional, Set, Tuple

import pytest_asyncio
from aiohttp import web

from tests.fakes.fake_graph import FAILURES, FakeGraph, Recorded, start

#: failure name → (HTTP status, Graph code, message, error_subcode)
IG_FAILURES: Mapping[str, Tuple[int, int, str, Optional[int]]] = {
    "window": (400, 10, "This message is sent outside of allowed window.", 2018278),
    "613": (400, 613, "Calls to this api have exceeded the rate limit.", None),
}
MAX_TEXT_BYTES = 1000
MAX_QUICK_REPLIES = 13


class FakeInstagramGraph(FakeGraph):
    """The fake; ``app()`` serves Instagram's routes, ``start()`` from fake_graph runs it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.replied_comments: Set[str] = set()
        self._mids = itertools.count(1)

    def fail(self, *names: str) -> None:
        for name in names:
            if name not in IG_FAILURES:
                super().fail(name)
            else:
                self.failures.append(name)

    def messages(self, outcome: Optional[str] = "ok") -> List[Recorded]:
        """Recorded sends (Send API and public replies), optionally of one outcome."""
        return [r for r in self.requests if isinstance(r.json, dict) and (outcome is None or r.outcome == outcome)]

    def sent(self) -> List[Mapping[str, Any]]:
        """The JSON bodies accepted, in order."""
        return [r.json for r in self.messages("ok")]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/_fake/requests", self._list)
        app.router.add_post("/_fake/fail", self._queue)
        app.router.add_post("/_fake/reset", self._reset)
        app.router.add_post("/{version}/{account}/messages", self._send)
        app.router.add_post("/{version}/{comment_id}/replies", self._reply)
        return app

    async def _gate(self, request: web.Request, body: Any) -> Tuple[Recorded, Optional[web.Response]]:
        recorded = Recorded("POST", request.path, dict(request.headers), body)
        self.requests.append(recorded)
        if not self._authorized(request):
            await self._record(recorded, "unauthorized")
            return recorded, _ig_error(401, 190, "Invalid OAuth access token")
        if self.failures:
            name = self.failures.popleft()
            if name in IG_FAILURES:
                await self._record(recorded, f"failed:{name}")
                return recorded, _ig_error(*IG_FAILURES[name])
            return recorded, await self._failure(recorded, name)
        return recorded, None

    async def _send(self, request: web.Request) -> web.Response:
        body = await _json(request)
        recorded, refused = await self._gate(request, body)
        if refused is not None:
            return refused
        problem = validate(body, self.replied_comments)
        if problem:
            await self._record(recorded, "invalid")
            return _ig_error(400, 100, problem)
        recipient = body["recipient"]
        if "comment_id" in recipient:
            self.replied_comments.add(str(recipient["comment_id"]))
        recorded.message_id = f"aWdfZAG1fake{next(self._mids)}"
        await self._record(recorded, "ok")
        return web.json_response({"recipient_id": str(recipient.get("id", "igsid-of-commenter")),
                                  "message_id": recorded.message_id})

    async def _reply(self, request: web.Request) -> web.Response:
        body = await _json(request)
        recorded, refused = await self._gate(request, body)
        if refused is not None:
            return refused
        if not isinstance(body, dict) or not str(body.get("message", "")).strip():
            await self._record(recorded, "invalid")
            return _ig_error(400, 100, "message is required")
        recorded.message_id = f"1790{next(self._mids)}"
        await self._record(recorded, "ok")
        return web.json_response({"id": recorded.message_id})


async def _json(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def _ig_error(status: int, code: int, message: str, subcode: Optional[int] = None) -> web.Response:
    error: dict = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AfakeTrace"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return web.json_response({"error": error}, status=status)


def validate(body: Any, replied_comments: Set[str]) -> Optional[str]:
    """The first Send API rule a body breaks, or None (a subset of Meta's rules)."""
    if not isinstance(body, dict) or not isinstance(body.get("recipient"), dict):
        return "recipient is required"
    recipient, message = body["recipient"], body.get("message")
    if not isinstance(message, dict):
        return "message is required"
    if "comment_id" in recipient:
        if str(recipient["comment_id"]) in replied_comments:
            return "a private reply was already sent to this comment"
    elif not recipient.get("id"):
        return "recipient.id is required"
    if body.get("messaging_type") == "MESSAGE_TAG" and not body.get("tag"):
        return "MESSAGE_TAG requires a tag"
    text = message.get("text")
    if text is not None and not (0 < len(str(text).encode("utf-8")) <= MAX_TEXT_BYTES):
        return "text must be 1..1000 bytes"
    replies = message.get("quick_replies")
    if replies is not None and (len(replies) > MAX_QUICK_REPLIES or any(len(r.get("title", "")) > 20 for r in replies)):
        return "at most 13 quick replies with titles of at most 20 characters"
    if text is None and "attachment" not in message:
        return "message needs text or an attachment"
    return None


@pytest_asyncio.fixture
async def fake_instagram_graph() -> AsyncIterator[FakeInstagramGraph]:
    """A running fake; ``fake_instagram_graph.url`` is the INSTAGRAM_GRAPH_URL to use."""
    graph = FakeInstagramGraph()
    runner = await start(graph)
    try:
        yield graph
    finally:
        graph.reset()
        await runner.cleanup()


__all__ = ["FAILURES", "IG_FAILURES", "FakeInstagramGraph", "fake_instagram_graph"]
