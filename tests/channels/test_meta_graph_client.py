"""channels/meta/graph.py's GraphClient against the fake Graph API over real HTTP: one attempt per
call, typed errors, Bearer auth, session ownership (fast: no Rasa; the mutation run uses it)."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest

from bot.config import Secret
from bot.errors import ProviderAPIError, WindowClosedError
from channels.meta.graph import DEFAULT_GRAPH_URL, DEFAULT_TIMEOUT_S, SIGNATURE_HEADER, GraphClient
from tests.conftest import free_port
from tests.fakes.fake_graph import FakeGraph, serving

TOKEN = Secret("token-brand-a")
TEXT = {"messaging_product": "whatsapp", "to": "971500000001", "type": "text", "text": {"body": "مرحبا"}}


def test_the_constants_meta_documents() -> None:
    assert SIGNATURE_HEADER == "X-Hub-Signature-256"
    assert DEFAULT_GRAPH_URL == "https://graph.facebook.com/v21.0"
    assert DEFAULT_TIMEOUT_S == 10.0
    client = GraphClient()
    assert client.base_url == DEFAULT_GRAPH_URL and client.timeout.total == 10.0
    assert GraphClient("http://h/v21.0/", timeout_s=3).url("/123/messages") == "http://h/v21.0/123/messages"
    assert GraphClient("http://h/v21.0").url("123/messages") == "http://h/v21.0/123/messages"
    assert GraphClient("http://h/BOX/").url("XYZ") == "http://h/BOX/XYZ"  # only slashes are trimmed


async def test_a_send_with_bearer_auth_returns_the_answer() -> None:
    async with serving(FakeGraph(tokens=["token-brand-a"])) as graph:
        client = GraphClient(graph.url, timeout_s=30)
        answer = await client.request("POST", "1122334455667/messages", TOKEN, json=TEXT)
        assert answer["messages"][0]["id"].startswith("wamid.fake")
        [sent] = graph.messages()
        assert sent.headers["Authorization"] == "Bearer token-brand-a" and sent.json == TEXT
        absolute = await client.request("POST", f"{graph.url}/1122334455667/messages", TOKEN, json=TEXT)
        assert absolute["messages"][0]["id"] != answer["messages"][0]["id"]
        with pytest.raises(ProviderAPIError) as refused:
            await client.request("POST", "1122334455667/messages", Secret("wrong"), json=TEXT)
        assert refused.value.code == 190 and refused.value.http_status == 401 and not refused.value.is_transient
        await client.close()


@pytest.mark.parametrize("failure, code, transient, window", [
    ("500", 1, True, False), ("429", 4, True, False), ("130429", 130429, True, False),
    ("131026", 131026, False, False), ("131047", 131047, False, True),
])
async def test_graph_failures_become_typed_errors(failure, code, transient, window) -> None:
    async with serving(FakeGraph()) as graph:
        client = GraphClient(graph.url, timeout_s=30)
        graph.fail(failure)
        with pytest.raises(ProviderAPIError) as caught:
            await client.request("POST", "1/messages", TOKEN, json=TEXT)
        assert caught.value.code == code and caught.value.is_transient is transient
        assert isinstance(caught.value, WindowClosedError) is window
        await client.close()


async def test_network_errors_and_timeouts_are_transient_code_0() -> None:
    client = GraphClient(f"http://127.0.0.1:{free_port()}/v21.0", timeout_s=30)
    with pytest.raises(ProviderAPIError) as refused:
        await client.request("POST", "1/messages", TOKEN, json=TEXT)
    assert refused.value.code == 0 and refused.value.is_transient
    assert refused.value.message.startswith("network error: ")
    with pytest.raises(ProviderAPIError) as refused_download:
        await client.download(f"http://127.0.0.1:{free_port()}/x", TOKEN)
    assert refused_download.value.code == 0 and refused_download.value.is_transient
    assert refused_download.value.message.startswith("network error: ")
    await client.close()
    async with serving(FakeGraph()) as graph:
        slow = GraphClient(graph.url, timeout_s=0.2)
        graph.fail("hang")
        with pytest.raises(ProviderAPIError) as timed_out:
            await slow.request("POST", "1/messages", TOKEN, json=TEXT)
        assert timed_out.value.code == 0 and timed_out.value.message == "timeout" and timed_out.value.is_transient
        graph.reset()
        await slow.close()


async def test_media_download() -> None:
    async with serving(FakeGraph(tokens=["token-brand-a"])) as graph:
        graph.media["m1"] = b"\xff\xd8 jpeg bytes"
        client = GraphClient(graph.url, timeout_s=30)
        info = await client.request("GET", "m1", TOKEN)
        assert await client.download(info["url"], TOKEN) == b"\xff\xd8 jpeg bytes"
        with pytest.raises(ProviderAPIError) as refused:
            await client.download(info["url"], Secret("wrong"))
        assert refused.value.http_status == 401 and refused.value.code == 401
        with pytest.raises(ProviderAPIError) as unknown:
            await client.request("GET", "no-such-media", TOKEN)
        assert unknown.value.code == 100
        await client.close()


async def test_a_non_json_or_non_object_answer_and_download_failures() -> None:
    async def text(_request):
        return aiohttp.web.Response(text="plain words")

    async def array(_request):
        return aiohttp.web.json_response([1, 2])

    async def bad_request(_request):
        return aiohttp.web.Response(status=400, text="bad")

    async def slow(_request):
        await asyncio.sleep(30)
        return aiohttp.web.Response(text="late")

    app = aiohttp.web.Application()
    app.router.add_get("/v/text", text)
    app.router.add_get("/v/array", array)
    app.router.add_get("/v/400", bad_request)
    app.router.add_get("/v/slow", slow)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await aiohttp.web.TCPSite(runner, "127.0.0.1", port).start()
    client = GraphClient(f"http://127.0.0.1:{port}/v", timeout_s=30)
    try:
        assert await client.request("GET", "text", TOKEN) == {"body": "plain words"}
        assert await client.request("GET", "array", TOKEN) == {"body": [1, 2]}
        with pytest.raises(ProviderAPIError) as refused:
            await client.download(f"http://127.0.0.1:{port}/v/400", TOKEN)
        assert refused.value.http_status == 400
        hurried = GraphClient(f"http://127.0.0.1:{port}/v", timeout_s=0.2)
        with pytest.raises(ProviderAPIError) as timed_out:
            await hurried.download(f"http://127.0.0.1:{port}/v/slow", TOKEN)
        await hurried.close()
        assert (timed_out.value.code, timed_out.value.message, timed_out.value.is_transient) == (0, "timeout", True)
    finally:
        await client.close()
        await runner.cleanup()


async def test_an_injected_session_is_used_and_left_open() -> None:
    async with serving(FakeGraph()) as graph:
        async with aiohttp.ClientSession(headers={"X-Session": "injected"}) as session:
            client = GraphClient(graph.url, session=session, timeout_s=30)
            await client.request("POST", "1/messages", TOKEN, json=TEXT)
            assert graph.messages()[-1].headers.get("X-Session") == "injected"  # the given session was used
            await client.close()
            assert not session.closed  # not ours to close
        own = GraphClient(graph.url, timeout_s=30)
        await own.request("POST", "1/messages", TOKEN, json=TEXT)
        created = own._session
        await own.close()
        assert created is not None and created.closed
        await own.request("POST", "1/messages", TOKEN, json=TEXT)  # a closed session is replaced
        assert own._session is not created and not own._session.closed
        await own.close()
