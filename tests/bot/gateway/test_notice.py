"""bot/gateway/notice.py: the notice format, the secret check, the route logic, the notifier."""
from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp import web

from bot.config import Config, Secret
from bot.gateway.notice import (
    SECRET_HEADER,
    InboxNotifier,
    authorized,
    decode_notice,
    encode_notice,
    handle_notice,
    inbox_secret,
)
from tests.conftest import free_port

CONVS = [("1122334455667", "971500000001"), ("1122334455667", "US.1349")]


async def arrived(received: list, notifier: InboxNotifier, bound_s: float = 20.0) -> None:
    """Wait until the fake Rasa side got a notice, or the notifier's task ended without sending one.

    The bound only ends a broken run (no timing is asserted).
    """
    async def poll() -> None:
        while not received and not (notifier._task is not None and notifier._task.done()):
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(poll(), bound_s)
    except asyncio.TimeoutError:
        pass
    assert received, "no notice arrived"


def test_round_trip_keeps_order_and_unicode():
    convs = [*CONVS, ("acc", "عميل")]
    assert decode_notice(encode_notice(convs)) == convs


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"{}", b'{"conversations": {}}',
                                 b'{"conversations": [["a", "b"]]}', b'{"conversations": [{"account": "a"}]}'])
def test_malformed_notices_raise_value_error(raw):
    with pytest.raises(ValueError):
        decode_notice(raw)


def test_secret_comes_from_the_environment_and_hides_its_value():
    assert inbox_secret(Config({})) is None
    secret = inbox_secret(Config({"MAJLIS_INBOX_SECRET": "s3"}))
    assert secret == Secret("s3") and "s3" not in repr(secret)


@pytest.mark.parametrize("header,ok", [("s3", True), ("s4", False), ("", False), (None, False), ("s3 ", False)])
def test_authorized(header, ok):
    assert authorized(header, Secret("s3")) is ok
    assert authorized(header, None) is False


def test_handle_notice_status_codes():
    kicked = []
    good = encode_notice(CONVS + CONVS[:1])
    assert handle_notice(good, "s3", None, kicked.append)[1] == 404
    assert handle_notice(good, "nope", Secret("s3"), kicked.append)[1] == 403
    assert handle_notice(b"{", "s3", Secret("s3"), kicked.append)[1] == 400
    assert handle_notice(b" " * (1024 * 1024 + 1), "s3", Secret("s3"), kicked.append)[1] == 413
    assert handle_notice(good, "s3", Secret("s3"), kicked.append, ready=False)[1] == 503
    assert kicked == []
    assert handle_notice(good, "s3", Secret("s3"), kicked.append) == ({"kicked": 3}, 200)
    assert kicked == CONVS  # each conversation once


async def test_notifier_coalesces_while_a_notice_is_in_flight():
    received = []
    gate = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        assert request.headers[SECRET_HEADER] == "s3"
        received.append(decode_notice(await request.read()))
        await gate.wait()
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/inbox", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    notifier = InboxNotifier(f"http://127.0.0.1:{port}/inbox", Secret("s3"))
    try:
        notifier.notify([CONVS[0]])
        await arrived(received, notifier)
        for _ in range(5):  # arrive while the first notice is in flight
            notifier.notify(CONVS)
        gate.set()
        await notifier.close()
    finally:
        await runner.cleanup()
    assert received == [[CONVS[0]], CONVS]
    assert (notifier.sent, notifier.failed) == (2, 0)


async def test_notifier_failures_are_logged_once_without_personal_data(caplog):
    notifier = InboxNotifier(f"http://127.0.0.1:{free_port()}/inbox", Secret("s3"), timeout=1)
    with caplog.at_level(logging.DEBUG):
        for _ in range(3):
            notifier.notify(CONVS)
            while notifier._task is not None and not notifier._task.done():
                await asyncio.sleep(0.01)
    await notifier.close()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert notifier.failed == 3 and len(warnings) == 1
    assert "971500000001" not in caplog.text and "s3" not in caplog.text.replace("s3cret", "")


def test_every_refusal_says_why_and_the_log_says_which(caplog):
    """Clear 4xx/5xx answers with their reason; the size limit is inclusive; no secret in the log."""

    from bot.gateway.notice import MAX_NOTICE_BYTES, SECRET_HEADER

    assert SECRET_HEADER == "X-Majlis-Inbox-Secret" and MAX_NOTICE_BYTES == 1024 * 1024
    good, secret, kicked = encode_notice(CONVS), Secret("s3"), []
    with caplog.at_level(logging.WARNING, logger="bot.gateway.notice"):
        assert handle_notice(good, "s3", None, kicked.append) == ({"error": "inbox notices are disabled"}, 404)
        assert handle_notice(good, None, secret, kicked.append) == ({"error": "forbidden"}, 403)
        assert handle_notice(good, "nope", secret, kicked.append) == ({"error": "forbidden"}, 403)
        assert handle_notice(b"{", "s3", secret, kicked.append) == ({"error": "malformed notice"}, 400)
        assert handle_notice(good, "s3", secret, kicked.append, ready=False) == ({"error": "not started"}, 503)
    assert [r.getMessage() for r in caplog.records] == [
        "Inbox notice refused: missing secret", "Inbox notice refused: wrong secret",
        "Inbox notice refused: JSONDecodeError"]
    padded = good + b" " * (MAX_NOTICE_BYTES - len(good))  # exactly the limit: accepted
    assert handle_notice(padded, "s3", secret, kicked.append) == ({"kicked": len(CONVS)}, 200)
    assert handle_notice(padded + b" ", "s3", secret, kicked.append) == ({"error": "notice too large"}, 413)


def test_a_header_that_is_not_valid_text_is_refused_not_a_crash():
    """Servers hand undecodable header bytes over as lone surrogates: a 403, never a 500."""
    assert authorized("s3\udcff", Secret("s3")) is False
    assert handle_notice(encode_notice(CONVS), "\udcff", Secret("s3"), [].append) == ({"error": "forbidden"}, 403)


async def test_a_hanging_rasa_process_costs_one_timed_out_notice_not_a_stuck_notifier():
    """The notifier's request timeout holds: the next notice is sent after the hung one gives up."""
    received, hang = [], asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        received.append(decode_notice(await request.read()))
        if len(received) == 1:
            await hang.wait()  # never set: the first notice hangs
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/inbox", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    notifier = InboxNotifier(f"http://127.0.0.1:{port}/inbox", Secret("s3"), timeout=0.5)
    try:
        notifier.notify([CONVS[0]])
        await arrived(received, notifier)
        notifier.notify([CONVS[1]])  # queued behind the hung notice
        # Without a timeout aiohttp waits 5 minutes: the bound here only ends a broken run.
        await asyncio.wait_for(notifier.close(timeout=60), 60)
    finally:
        await runner.cleanup()
    assert received == [[CONVS[0]], [CONVS[1]]]
    assert (notifier.failed, notifier.sent) == (1, 1)
