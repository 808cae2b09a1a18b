"""A local stand-in for Twilio's Messages API, for tests and local runs.

Emulates ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` closely enough for
twilio-python's ``create_async``: HTTP Basic auth, form fields, Twilio's JSON error
bodies (``{"code", "message", "more_info", "status"}``), the 1,600-character body
limit, and a 201 message resource on success. Every attempt is recorded; failures are
queued on demand:

============  =====================================================================
``"429"``     429, code 20429 (Too Many Requests)
``"500"``     500, code 20500 (Internal Server Error)
``"63016"``   400, code 63016 (outside the 24-hour window)
``"21211"``   400, code 21211 (invalid To number), a permanent refusal
``"timeout"`` hangs for ``hang_seconds`` then answers 503 without creating anything,
              as if the request was lost before Twilio accepted it
============  =====================================================================

It can also play Twilio's part in delivery reports: :meth:`FakeTwilio.send_status`
posts a signed status callback to the ``StatusCallback`` URL a message was sent with.

Use it as a pytest fixture (``fake_twilio``, import it into the test module) or from
the command line::

    python -m tests.fakes.fake_twilio --port 4010 --fail 429 --fail 500
    TWILIO_API_URL=http://127.0.0.1:4010 rasa run ...

Control endpoints: ``GET /_fake/requests``, ``POST /_fake/fail`` (``{"failures":
["429"]}``), ``POST /_fake/reset``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import secrets
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import AsyncIterator, Deque, Dict, List, Mapping, Optional, Sequence, Tuple

import aiohttp
import yarl
import pytest_asyncio
from aiohttp import web

from channels.twilio.payloads import MAX_BODY_CHARS, body_length
from channels.twilio.signature import SIGNATURE_HEADER, compute_signature

logger = logging.getLogger(__name__)

DEFAULT_ACCOUNT_SID = "AC" + "f" * 32
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token"

#: failure name → (HTTP status, Twilio code, message)
FAILURES: Mapping[str, Tuple[int, int, str]] = {
    "429": (429, 20429, "Too Many Requests"),
    "500": (500, 20500, "Internal Server Error"),
    "63016": (
        400,
        63016,
        "Failed to send freeform message because you are outside the allowed window. "
        "If you are using WhatsApp, please use a Message Template.",
    ),
    "21211": (400, 21211, "The 'To' number is not a valid phone number."),
    "timeout": (503, 20503, "Service Unavailable"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedRequest:
    """One request the fake received.

    Attributes:
        account_sid: the AccountSid in the path.
        form: every form field with all its values, in order.
        auth: the HTTP Basic (username, password), if sent.
        outcome: ``"created"``, a failure name, or ``"rejected"`` (auth/validation).
        sid: the MessageSid given to a created message.
        status: the HTTP status answered.
    """

    account_sid: str
    form: Mapping[str, Tuple[str, ...]]
    auth: Optional[Tuple[str, str]]
    outcome: str
    status: int
    sid: Optional[str] = None

    def field(self, name: str) -> Optional[str]:
        """The first value of a form field, or None."""
        values = self.form.get(name)
        return values[0] if values else None


class FakeTwilio:
    """The fake API; start it with :meth:`start`, stop it with :meth:`close`.

    Args:
        account_sid: the only account the fake serves.
        auth_token: the token Basic auth must carry (also signs status callbacks).
        hang_seconds: how long a ``"timeout"`` failure keeps the request open.
    """

    def __init__(
        self,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        hang_seconds: float = 5.0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.hang_seconds = hang_seconds
        self.requests: List[RecordedRequest] = []
        #: media sid → (bytes, content type), served at ``.../Messages/<sid>/Media/<media sid>`` (Basic auth)
        self.media: Dict[str, Tuple[bytes, str]] = {}
        self.media_downloads: List[Optional[Tuple[str, str]]] = []
        self._failures: Deque[str] = deque()
        self._changed = asyncio.Condition()
        self._runner: Optional[web.AppRunner] = None
        self.base_url = ""

    @property
    def created(self) -> List[RecordedRequest]:
        """The requests that created a message, in order."""
        return [request for request in self.requests if request.outcome == "created"]

    def fail_next(self, *failures: str) -> None:
        """Answer the next requests with these failures, in order, then succeed again."""
        unknown = [name for name in failures if name not in FAILURES]
        if unknown:
            raise ValueError(f"unknown failures: {unknown}; known: {sorted(FAILURES)}")
        self._failures.extend(failures)

    def reset(self) -> None:
        """Forget recorded requests and queued failures."""
        self.requests.clear()
        self._failures.clear()

    async def wait_for_created(self, count: int, timeout: float = 10.0) -> List[RecordedRequest]:
        """Wait until at least ``count`` messages were created; returns them all.

        Raises:
            asyncio.TimeoutError: fewer arrived in time.
        """

        async def _until() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.created) >= count)

        await asyncio.wait_for(_until(), timeout)
        return self.created

    # -- the app ---------------------------------------------------------------

    def build_app(self) -> web.Application:
        """The aiohttp application (for embedding; :meth:`start` runs it)."""
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account_sid}/Messages.json", self._create_message)
        app.router.add_get("/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}/Media/{media_sid}", self._media)
        app.router.add_get("/_fake/requests", self._list_requests)
        app.router.add_post("/_fake/fail", self._queue_failures)
        app.router.add_post("/_fake/reset", self._reset)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 picks a free port); returns the base URL."""
        self._runner = web.AppRunner(self.build_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound}"
        return self.base_url

    async def close(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def media_url(self, media_sid: str, message_sid: str = "MM" + "0" * 32) -> str:
        """The ``MediaUrl0`` Twilio would put in a webhook for ``media_sid`` (on the real API host)."""
        return f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}/Media/{media_sid}"

    async def _media(self, request: web.Request) -> web.Response:
        credentials = _basic_auth(request)
        self.media_downloads.append(credentials)
        if credentials != (self.account_sid, self.auth_token):
            return _error(401, 20003, "Authenticate")
        found = self.media.get(request.match_info["media_sid"])
        if found is None:
            return _error(404, 20404, "The requested resource was not found")
        return web.Response(body=found[0], content_type=found[1])

    async def _record(self, request: RecordedRequest) -> None:
        async with self._changed:
            self.requests.append(request)
            self._changed.notify_all()

    async def _create_message(self, request: web.Request) -> web.Response:
        account_sid = request.match_info["account_sid"]
        posted = await request.post()
        form: Dict[str, Tuple[str, ...]] = {}
        for name in posted.keys():
            form.setdefault(name, tuple(str(value) for value in posted.getall(name)))
        auth = _basic_auth(request)
        base = dict(account_sid=account_sid, form=form, auth=auth)

        refusal = self._refusal(account_sid, auth, form)
        if refusal is not None:
            status, code, message = refusal
            await self._record(RecordedRequest(**base, outcome="rejected", status=status))
            return _error(status, code, message)

        if self._failures:
            failure = self._failures.popleft()
            status, code, message = FAILURES[failure]
            if failure == "timeout":
                await asyncio.sleep(self.hang_seconds)
            await self._record(RecordedRequest(**base, outcome=failure, status=status))
            return _error(status, code, message)

        sid = "SM" + secrets.token_hex(16)
        await self._record(RecordedRequest(**base, outcome="created", status=201, sid=sid))
        return web.json_response(self._resource(sid, form), status=201)

    def _refusal(
        self,
        account_sid: str,
        auth: Optional[Tuple[str, str]],
        form: Mapping[str, Tuple[str, ...]],
    ) -> Optional[Tuple[int, int, str]]:
        """What real Twilio would refuse before queueing: auth, account, required fields."""
        if auth != (self.account_sid, self.auth_token):
            return 401, 20003, "Authenticate"
        if account_sid != self.account_sid:
            return 404, 20404, "The requested resource was not found"
        if not form.get("To"):
            return 400, 21604, "A 'To' phone number is required."
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return 400, 21603, "A 'From' phone number is required."
        to, sender = (form.get("To") or ("",))[0], (form.get("From") or ("",))[0]
        if sender and to.startswith("whatsapp:") != sender.startswith("whatsapp:"):
            # https://www.twilio.com/docs/api/errors/21910: From and To must be on the same channel.
            return 400, 21910, "Invalid 'From' and 'To' pair. 'From' and 'To' should be of the same channel"
        if not any(form.get(name) for name in ("Body", "MediaUrl", "ContentSid")):
            return 400, 21619, "A text message body or media urls must be specified."
        body = (form.get("Body") or ("",))[0]
        if body_length(body) > MAX_BODY_CHARS:
            return 400, 21617, "The concatenated message body exceeds the 1600 character limit."
        return None

    def _resource(self, sid: str, form: Mapping[str, Tuple[str, ...]]) -> Dict[str, object]:
        now = format_datetime(datetime.now(timezone.utc), usegmt=True)
        first = {name: values[0] for name, values in form.items()}
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": first.get("Body", ""),
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": first.get("From"),
            "messaging_service_sid": first.get("MessagingServiceSid"),
            "num_media": str(len(form.get("MediaUrl", ()))),
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "status": "queued",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "to": first.get("To"),
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }

    async def _list_requests(self, _request: web.Request) -> web.Response:
        return web.json_response([asdict(request) for request in self.requests])

    async def _queue_failures(self, request: web.Request) -> web.Response:
        try:
            self.fail_next(*(await request.json()).get("failures", []))
        except (ValueError, AttributeError, json.JSONDecodeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"queued": list(self._failures)})

    async def _reset(self, _request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"reset": True})

    # -- Twilio's outbound side: status callbacks ---------------------------------

    async def send_status(
        self,
        sid: str,
        status: str,
        *,
        error_code: Optional[int] = None,
        url: Optional[str] = None,
        extra: Optional[Mapping[str, str]] = None,
    ) -> int:
        """POST a signed status callback for a created message, as Twilio does.

        Args:
            sid: the MessageSid the fake gave the message.
            status: ``sent``, ``delivered``, ``read``, ``failed``, ``undelivered`` …
            error_code: ErrorCode for failures.
            url: where to post; defaults to the message's ``StatusCallback``.
            extra: more fields to send.

        Returns:
            The HTTP status the app answered.
        """
        sent = next(request for request in self.created if request.sid == sid)
        target = url or sent.field("StatusCallback")
        if not target:
            raise ValueError("the message has no StatusCallback")
        form = {
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": self.account_sid,
            "To": sent.field("To") or "",
            "From": sent.field("From") or "",
            "ChannelPrefix": "whatsapp",
            "ApiVersion": "2010-04-01",
        }
        if error_code is not None:
            form["ErrorCode"] = str(error_code)
        form.update(extra or {})
        signature = compute_signature(self.auth_token, target, {k: [v] for k, v in form.items()})
        async with aiohttp.ClientSession() as session:
            # The URL exactly as given (Twilio requests, and signs, the StatusCallback verbatim).
            async with session.post(yarl.URL(target, encoded=True), data=form,
                                    headers={SIGNATURE_HEADER: signature}) as answer:
                return answer.status


def _basic_auth(request: web.Request) -> Optional[Tuple[str, str]]:
    header = request.headers.get("Authorization")
    if not header:
        return None
    try:
        decoded = aiohttp.BasicAuth.decode(header)
    except ValueError:
        return None
    return decoded.login, decoded.password


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        status=status,
    )


@pytest_asyncio.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    """A running :class:`FakeTwilio` on a free local port (``fake_twilio.base_url``)."""
    fake = FakeTwilio(hang_seconds=2.0)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the fake until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4010)
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument("--fail", action="append", default=[], choices=sorted(FAILURES))
    parser.add_argument("--hang-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def _serve() -> None:
        fake = FakeTwilio(account_sid=args.account_sid, auth_token=args.auth_token, hang_seconds=args.hang_seconds)
        fake.fail_next(*args.fail)
        url = await fake.start(args.host, args.port)
        logger.info("Fake Twilio API on %s (account %s)", url, args.account_sid)
        try:
            await asyncio.Event().wait()
        finally:
            await fake.close()

    try:
        asyncio.run(_serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
