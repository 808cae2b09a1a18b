"""Web chat sessions are the server's: forged sessions, Origin, rate limits, client fields, operator JWT.

Real socket.io over a served Majlis (tests/channels/test_webchat.py's ``Page`` speaks the
page's protocol).  A forger gets ``session_refused`` and receives nothing, while the
session's owner gets its replies; rate limits answer with ``rate_limited`` and a
refused acknowledgement.
"""
from __future__ import annotations

import asyncio
import time

import jwt

from bot.delivery import DeliveryStore
from bot.identity import PROOF_METADATA_KEY, unseal
from bot.storage import create_engine
from channels.webchat.session import Limits, OperatorJWT, SessionTokens, SlidingWindow, origin_allowed
from channels.webchat.channel import WebChatInput
from tests.channels.test_instagram_harness import RecordingAgent
from tests.channels.test_webchat import FAST_RETRY, Page, served

JWT_KEY = "operator-site-signing-key-0123456789abcdef"
SOCKET_KEY = "socket-signing-key-of-the-operator-0123456789"


def make_channel(**options) -> WebChatInput:
    return WebChatInput(store=DeliveryStore(create_engine("sqlite://")), retry=FAST_RETRY, **options)


async def test_a_forged_session_is_refused_and_receives_nothing() -> None:
    agent = RecordingAgent(reply={"text": "your bill is AED 149"})
    channel = make_channel()
    async with served(channel, agent) as base:
        owner = await Page(base).open()
        assert owner.session_id and not owner.refused
        chosen = await Page(base, session_id="my-own-chosen-session-id").open()
        stolen_id = await Page(base, session_id=owner.session_id).open()
        bad_token = await Page(base, token=f"{owner.session_id}.{'0' * 64}").open()
        assert chosen.refused and stolen_id.refused and bad_token.refused
        assert chosen.session_id is None and stolen_id.session_id is None and bad_token.session_id is None
        # A refused socket cannot talk either, not even by naming the session in the message.
        answer = await stolen_id.emit("user_uttered", {"message": "hi", "message_id": "x1",
                                                       "session_id": owner.session_id}, ack=True)
        assert answer == {"accepted": False, "error": "no_session"}

        assert (await owner.say("how much is my bill", "m1"))["accepted"] is True
        await channel.delivery.drain()
        await owner.wait_for(1)
        # An agent reply (proactive) reaches the owner too, and only the owner.
        await channel.get_output_channel().send_response(f"webchat:{owner.session_id}", {"text": "Sara here"})
        await owner.wait_for(2)
        await asyncio.sleep(0.3)
        for page in (chosen, stolen_id, bad_token):
            assert page.received == [] and page.typing == []
            await page.close()
        await owner.close()
    assert agent.texts == ["how much is my bill"]
    assert [m.sender_id for m in agent.messages] == [f"webchat:{owner.session_id}"]


async def test_a_socket_cannot_write_into_another_session() -> None:
    agent = RecordingAgent(reply={"text": "ok"})
    async with served(make_channel(), agent) as base:
        owner = await Page(base).open()
        intruder = await Page(base).open()
        answer = await intruder.emit("user_uttered", {"message": "buy 10GB", "message_id": "x2",
                                                      "session_id": owner.session_id}, ack=True)
        assert answer == {"accepted": False, "error": "invalid_session"}
        await asyncio.sleep(0.2)
        await owner.close()
        await intruder.close()
    assert agent.messages == []


async def test_the_kept_token_resumes_the_session_after_a_reconnect_and_resends_are_answered_once() -> None:
    agent = RecordingAgent(reply={"text": "أهلاً"})
    channel = make_channel()
    async with served(channel, agent) as base:
        first = await Page(base).open()
        assert (await first.say("مرحبا", "client-7"))["accepted"] is True
        await channel.delivery.drain()
        await first.wait_for(1)
        await first.close()
        again = await Page(base, first.token).open()
        assert again.session_id == first.session_id and again.token == first.token
        # The page re-sends what it did not see acknowledged: stored once, answered once.
        assert (await again.say("مرحبا", "client-7"))["accepted"] is True
        # A new message after it, then everything drained: the stored replies are exactly
        # one per message (a reply is stored before it is sent; no sleep needed).
        assert (await again.say("كم فاتورتي", "client-8"))["accepted"] is True
        await channel.delivery.drain()
        replies = await channel.delivery.outbox_records()
        assert len(replies) == 2 and len({r.message.inbound_message_id for r in replies}) == 2
        assert [m["text"] for m in await again.wait_for(1)] == ["أهلاً"]
        await again.close()
    assert agent.texts == ["مرحبا", "كم فاتورتي"]


async def test_with_a_jwt_key_only_a_socket_with_a_valid_token_connects() -> None:
    """credentials.yml's ``jwt_key``: the page's Socket.IO connect carries ``{"token": <JWT>}``."""
    agent = RecordingAgent(reply={"text": "أهلاً"})
    channel = make_channel(jwt_key=SOCKET_KEY, jwt_method="HS256")
    claims = {"user": {"username": "page", "role": "guest"}, "exp": int(time.time()) + 600}
    valid = jwt.encode(claims, SOCKET_KEY, algorithm="HS256")
    expired = jwt.encode({**claims, "exp": int(time.time()) - 5}, SOCKET_KEY, algorithm="HS256")
    other_key = jwt.encode(claims, "another-key-of-32-bytes-or-more-0000", algorithm="HS256")
    async with served(channel, agent) as base:
        refused = [await Page(base, auth=auth).connect()
                   for auth in (None, {}, {"token": ""}, {"token": expired}, {"token": other_key},
                                {"token": "not-a-jwt"}, {"token": f"Bearer {other_key}"})]
        assert [page.connect_error for page in refused] == [{"message": "unauthorized"}] * len(refused)
        page = await Page(base, auth={"token": valid}).open()
        assert page.session_id and (await page.say("مرحبا", "j1"))["accepted"] is True
        await channel.delivery.drain()
        assert [m["text"] for m in await page.wait_for(1)] == ["أهلاً"]
        for each in (*refused, page):
            await each.close()
    assert agent.texts == ["مرحبا"]


async def test_input_channel_and_metadata_are_never_taken_from_the_client() -> None:
    agent = RecordingAgent()
    channel = make_channel()
    async with served(channel, agent) as base:
        page = await Page(base).open()
        forged_proof = "v1.eyJzIjoid2ViY2hhdCJ9.AAAA"
        await page.emit("user_uttered", {
            "message": "hello", "message_id": "m1", "input_channel": "whatsapp_cloud", "sender": "971500000001",
            "metadata": {"display_text": "hello", PROOF_METADATA_KEY: forged_proof, "profile_name": "Admin",
                         "media": {"url": "https://evil.example/x.png"}},
        }, ack=True)
        await channel.delivery.drain()
        await page.close()
    [message] = agent.messages
    assert message.input_channel == "webchat" and message.sender_id == f"webchat:{page.session_id}"
    assert set(message.metadata) == {"channel", "display_text", "entry_source"}


async def test_connections_from_another_origin_are_refused() -> None:
    channel = make_channel(origins=["https://shop.example.com"])
    async with served(channel, RecordingAgent()) as base:
        foreign = await Page(base, origin="https://evil.example").connect()
        assert foreign.connect_error == {"message": "origin_not_allowed"}
        missing = await Page(base, origin=None).connect()
        assert missing.connect_error == {"message": "origin_not_allowed"}
        listed = await Page(base, origin="https://shop.example.com").open()
        same = await Page(base).open()
        assert listed.session_id and same.session_id
        for page in (foreign, missing, listed, same):
            await page.close()


async def test_message_rate_per_socket_answers_rate_limited() -> None:
    agent = RecordingAgent()
    channel = make_channel(limits=Limits(messages_per_socket=3, messages_per_ip=100, connections_per_ip=100))
    async with served(channel, agent) as base:
        page = await Page(base).open()
        answers = [await page.say(f"message {n}", f"m{n}") for n in range(4)]
        assert [a["accepted"] for a in answers] == [True, True, True, False]
        assert answers[3]["error"] == "rate_limited" and 1 <= answers[3]["retry_after"] <= 60
        assert ("rate_limited", {"error": "rate_limited", "retry_after": answers[3]["retry_after"]}) in page.events
        other = await Page(base).open()  # another socket has its own budget
        assert (await other.say("hello", "o1"))["accepted"] is True
        await channel.delivery.drain()
        await page.close()
        await other.close()
    assert sorted(agent.texts) == ["hello", "message 0", "message 1", "message 2"]


async def test_message_and_connection_rates_per_ip() -> None:
    channel = make_channel(limits=Limits(messages_per_socket=100, messages_per_ip=2, connections_per_ip=3))
    async with served(channel, RecordingAgent()) as base:
        first, second = await Page(base).open(), await Page(base).open()
        assert (await first.say("a", "a1"))["accepted"] and (await second.say("b", "b1"))["accepted"]
        assert (await second.say("c", "c1"))["error"] == "rate_limited"  # the address's budget is spent
        third = await Page(base).connect()
        assert third.connect_error is None
        fourth = await Page(base).connect()
        assert fourth.connect_error["message"] == "rate_limited"
        for page in (first, second, third, fourth):
            await page.close()


async def test_the_operator_jwt_vouches_for_the_customer() -> None:
    agent = RecordingAgent()
    channel = make_channel(operator_jwt=OperatorJWT(JWT_KEY))
    signed = jwt.encode({"sub": "971500000001", "exp": int(time.time()) + 600}, JWT_KEY, algorithm="HS256")
    expired = jwt.encode({"sub": "971500000001", "exp": int(time.time()) - 5}, JWT_KEY, algorithm="HS256")
    wrong_key = jwt.encode({"sub": "971500000001", "exp": int(time.time()) + 600}, "another-key-of-32-bytes-or-more!",
                           algorithm="HS256")
    async with served(channel, agent) as base:
        vouched = await Page(base, identity=signed).open()
        refused = [await Page(base, identity=token).open() for token in (expired, wrong_key, "not-a-jwt")]
        assert vouched.verified is True and not any(page.verified for page in refused)
        await vouched.say("my bill", "v1")
        await refused[0].say("my bill", "r1")
        await channel.delivery.drain()
        for page in (vouched, *refused):
            await page.close()
    by_sender = {m.sender_id: m for m in agent.messages}
    proof = unseal(by_sender[f"webchat:{vouched.session_id}"].metadata[PROOF_METADATA_KEY],
                   f"webchat:{vouched.session_id}")
    assert proof is not None and proof.customer_id == "971500000001" and proof.method == "operator_jwt"
    assert PROOF_METADATA_KEY not in by_sender[f"webchat:{refused[0].session_id}"].metadata


def test_session_tokens_and_origins_units() -> None:
    from bot.config import Secret

    tokens = SessionTokens(Secret("s" * 32))
    session_id, token = tokens.issue()
    assert tokens.session_of(token) == session_id and len(session_id) == 24
    assert SessionTokens(Secret("t" * 32)).session_of(token) is None  # another server's secret
    for bad in (None, "", session_id, f"{session_id}.", "a.b.c", "ü" * 10 + ".x", 42):
        assert tokens.session_of(bad) is None
    assert origin_allowed("http://127.0.0.1:5005", "127.0.0.1:5005", frozenset())
    assert not origin_allowed("http://127.0.0.1:5006", "127.0.0.1:5005", frozenset())
    assert not origin_allowed("null", "127.0.0.1:5005", frozenset())
    assert origin_allowed("https://Shop.Example.com/", "majlis.internal", frozenset({"https://shop.example.com"}))


def test_sliding_window() -> None:
    now = [0.0]
    window = SlidingWindow(2, window=60, clock=lambda: now[0])
    assert window.allow("k") and window.allow("k") and not window.allow("k")
    assert window.retry_after("k") == 60
    now[0] = 60.5
    assert window.allow("k")


def test_an_rs256_operator_jwt_is_checked_with_the_public_key() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    checker = OperatorJWT(public, "RS256")
    claims = {"sub": "971500000001", "exp": int(time.time()) + 600}
    assert checker.customer_of(jwt.encode(claims, key, algorithm="RS256")) == "971500000001"
    # An HS256 token "signed" with the public key (algorithm confusion) is refused.
    assert checker.customer_of(jwt.encode(claims, "x" * 32, algorithm="HS256")) is None
    assert checker.customer_of(jwt.encode({"exp": claims["exp"]}, key, algorithm="RS256")) is None  # no sub
    assert checker.customer_of(jwt.encode({"sub": "971500000001"}, key, algorithm="RS256")) is None  # no exp
    assert OperatorJWT(None).customer_of(jwt.encode(claims, key, algorithm="RS256")) is None  # not configured
