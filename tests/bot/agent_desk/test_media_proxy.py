"""The desk's media proxy over HTTP, against the fake Graph API: who gets a customer's file, the
limits, provider failures, the cache and its retention, and an agent's file reaching WhatsApp."""
from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator, Dict, List, Tuple

import aiohttp
import pytest

from bot.agent_desk.media_cache import MediaCache
from bot.request_limits import MAX_REQUEST_BYTES
from bot.delivery import DeliveryStore, InboundItem
from bot.delivery.ports import MediaFile
from channels.whatsapp_cloud.channel import WhatsAppCloudInput
from tests.bot.agent_desk.conftest import Desk, login, serve_desk, user_event
from tests.channels.whatsapp_harness import PHONE_NUMBER_ID, settings as whatsapp_settings
from tests.fakes.fake_graph import FakeGraph, fake_graph  # noqa: F401  (fixture)
from tests.fakes.media_samples import ogg_opus_voice_note, png

TOKEN = "token-brand-a"  # the business number's Graph token (tests/channels/whatsapp_harness.py)
CUSTOMER = "971500000601"
PHOTO, VOICE = png(), ogg_opus_voice_note()


def media_event(text: str, media_id: str, mime_type: str, kind: str, **extra: Any) -> Dict[str, Any]:
    event = user_event(text)
    event["metadata"]["whatsapp"] = {"phone_number_id": PHONE_NUMBER_ID,
                                     "media": {"id": media_id, "mime_type": mime_type, "kind": kind, **extra}}
    return event


@asynccontextmanager
async def desk_with_whatsapp(tmp_path: Any, graph: FakeGraph, **env: str) -> AsyncIterator[Desk]:
    def whatsapp(engine: Any) -> List[Any]:
        return [WhatsAppCloudInput(whatsapp_settings(graph.url), store=DeliveryStore(engine))]

    async with serve_desk(tmp_path, channels=whatsapp, MAJLIS_DESK_MEDIA_DIR=str(tmp_path / "media"),
                          app_config={"REQUEST_MAX_SIZE": MAX_REQUEST_BYTES}, **env) as desk:
        yield desk


async def handoff_with_media(desk: Desk, graph: FakeGraph) -> Tuple[str, Dict[str, Any], Dict[str, Any]]:
    """A handoff whose customer sent a photo and a voice note; (handoff id, photo entry, voice entry)."""
    graph.add_media("wa-photo-1", PHOTO, "image/png")
    graph.add_media("wa-voice-1", VOICE, "audio/ogg")
    record = await desk.create_handoff(CUSTOMER, events=[
        media_event("", "wa-photo-1", "image/png", "image"),
        media_event("", "wa-voice-1", "audio/ogg; codecs=opus", "audio", voice=True)])
    await login(desk.session, desk.url(""), "noura@example.com")
    async with desk.session.get(desk.url(f"/api/v1/handoffs/{record.public_id}")) as answer:
        assert answer.status == 200
        page = await answer.text()
        shown = await answer.json()
    assert "wa-photo-1" not in page and TOKEN not in page and graph.base_url not in page
    photo, voice = [m for turn in shown["context"]["transcript"] for m in turn.get("media") or []]
    return record.public_id, photo, voice


async def customer_wrote(desk: Desk) -> None:
    """The customer wrote just now: WhatsApp's 24-hour window is open (else a template goes out)."""
    now = datetime.now(timezone.utc)
    store = desk.app.registry.delivery("whatsapp_cloud").store
    await store.accept([InboundItem(channel="whatsapp_cloud", message_id=f"wamid.{now.timestamp()}",
                                    account=PHONE_NUMBER_ID, customer=CUSTOMER, sent_at=now)], now)


async def refused_status(session: aiohttp.ClientSession, url: str, data: bytes, headers: Dict[str, str]) -> int:
    """The status of an upload the server may refuse by its declared length alone: then it answers 413 and
    closes the connection without reading the body (as Sanic's own request limit does), and a client still
    writing the body may see the connection close before the answer."""
    try:
        async with session.post(url, data=data, headers=headers) as answer:
            return answer.status
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError, ConnectionError):
        return 0  # closed before the answer could be read


async def get(session: aiohttp.ClientSession, url: str) -> Tuple[int, bytes, Any]:
    async with session.get(url) as answer:
        return answer.status, await answer.read(), answer.headers


async def test_a_photo_and_a_voice_note_reach_the_agent_through_the_proxy(tmp_path, fake_graph) -> None:  # noqa: F811
    async with desk_with_whatsapp(tmp_path, fake_graph) as desk:
        _handoff, photo, voice = await handoff_with_media(desk, fake_graph)
        assert (photo["kind"], photo["url"], photo["ref"]) == ("image", None, None)
        assert (voice["kind"], voice["voice"]) == ("audio", True)
        status, data, headers = await get(desk.session, desk.url(f"/api/v1/media/{photo['media_id']}"))
        assert (status, data, headers["Content-Type"]) == (200, PHOTO, "image/png")
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["Content-Disposition"].startswith("inline")
        assert "sandbox" in headers["Content-Security-Policy"]
        status, data, headers = await get(desk.session, desk.url(f"/api/v1/media/{voice['media_id']}"))
        assert (status, data, headers["Content-Type"]) == (200, VOICE, "audio/ogg")
        # The server asked Graph with the number's token: lookup then download, for each file.
        calls = fake_graph.media_calls()
        assert [c.path.split("/")[-1] for c in calls] == ["wa-photo-1", "wa-photo-1", "wa-voice-1", "wa-voice-1"]
        assert all(c.headers["Authorization"] == f"Bearer {TOKEN}" for c in calls)


async def test_only_a_signed_in_agent_who_may_see_the_handoff_gets_the_file(tmp_path, fake_graph) -> None:  # noqa: F811
    async with desk_with_whatsapp(tmp_path, fake_graph) as desk:
        _handoff, photo, _voice = await handoff_with_media(desk, fake_graph)
        url = desk.url(f"/api/v1/media/{photo['media_id']}")
        async with aiohttp.ClientSession() as stranger:
            assert (await get(stranger, url))[0] == 401
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as john:
            await login(john, desk.url(""), "john@example.com")  # English billing agent: not his handoff
            status, data, _ = await get(john, url)
            assert status in (403, 404) and data != PHOTO
            # A made-up key on a handoff he cannot see, and a key that is in no transcript.
            assert (await get(john, desk.url(f"/api/v1/media/{photo['media_id'][:-1]}0")))[0] in (403, 404)
        assert (await get(desk.session, desk.url(f"/api/v1/media/{photo['media_id'].split('.')[0]}.c{'0' * 40}")))[0] == 404
        assert (await get(desk.session, desk.url("/api/v1/media/..%2Fetc%2Fpasswd")))[0] == 404
        assert fake_graph.media_calls() == []  # nobody who may not see it made the server fetch anything


async def test_a_cached_file_is_not_fetched_again_until_past_its_retention(tmp_path, fake_graph) -> None:  # noqa: F811
    async with desk_with_whatsapp(tmp_path, fake_graph) as desk:
        _handoff, photo, _voice = await handoff_with_media(desk, fake_graph)
        url = desk.url(f"/api/v1/media/{photo['media_id']}")
        assert (await get(desk.session, url))[:2] == (200, PHOTO)
        fetched = len(fake_graph.media_calls())
        assert (await get(desk.session, url))[:2] == (200, PHOTO)
        assert len(fake_graph.media_calls()) == fetched == 2
        proxy = desk.app.files
        later = datetime.now(timezone.utc) + proxy.cache.retention + timedelta(minutes=1)
        proxy.cache.clock = lambda: later
        assert proxy.cache.sweep() == 1 and list((tmp_path / "media").glob("*.bin")) == []
        assert (await get(desk.session, url))[:2] == (200, PHOTO)  # fetched again from the provider
        assert len(fake_graph.media_calls()) == 4


@pytest.mark.parametrize("failure", ["500", "404"])
async def test_a_provider_failure_is_a_502(tmp_path, fake_graph, failure: str) -> None:  # noqa: F811
    async with desk_with_whatsapp(tmp_path, fake_graph) as desk:
        _handoff, photo, _voice = await handoff_with_media(desk, fake_graph)
        fake_graph.fail_media(failure)
        status, data, _ = await get(desk.session, desk.url(f"/api/v1/media/{photo['media_id']}"))
        assert status == 502 and b"provider" in data
        assert (await get(desk.session, desk.url(f"/api/v1/media/{photo['media_id']}")))[:2] == (200, PHOTO)


async def test_files_over_the_limit_are_refused_with_413(tmp_path, fake_graph) -> None:  # noqa: F811
    async with desk_with_whatsapp(tmp_path, fake_graph, MAJLIS_DESK_MEDIA_MAX_BYTES="200000") as desk:
        _handoff, photo, voice = await handoff_with_media(desk, fake_graph)
        fake_graph.add_media("wa-photo-1", b"\x89PNG" + b"\0" * 200000, "image/png")  # Graph says it is too big
        assert (await get(desk.session, desk.url(f"/api/v1/media/{photo['media_id']}")))[0] == 413
        fake_graph.fail_media("oversize")  # Graph says 1 KB, the download goes on for 4 MB
        assert (await get(desk.session, desk.url(f"/api/v1/media/{voice['media_id']}")))[0] == 413
        assert list((tmp_path / "media").glob("*.bin")) == []


async def test_html_and_svg_are_never_served(tmp_path, fake_graph) -> None:  # noqa: F811
    async with desk_with_whatsapp(tmp_path, fake_graph) as desk:
        fake_graph.add_media("wa-doc-1", b"<svg onload=alert(1)>", "image/svg+xml")
        fake_graph.add_media("wa-doc-2", b"%PDF-1.4 tiny", "application/pdf")
        record = await desk.create_handoff(CUSTOMER, events=[
            media_event("", "wa-doc-1", "image/svg+xml", "document"),
            media_event("", "wa-doc-2", "application/pdf", "document", filename="فاتورة.pdf")])
        await login(desk.session, desk.url(""), "noura@example.com")
        async with desk.session.get(desk.url(f"/api/v1/handoffs/{record.public_id}")) as answer:
            svg, pdf = [m for t in (await answer.json())["context"]["transcript"] for m in t.get("media") or []]
        assert (await get(desk.session, desk.url(f"/api/v1/media/{svg['media_id']}")))[0] == 415
        status, data, headers = await get(desk.session, desk.url(f"/api/v1/media/{pdf['media_id']}"))
        assert (status, data, headers["Content-Type"]) == (200, b"%PDF-1.4 tiny", "application/pdf")
        assert headers["Content-Disposition"].startswith("attachment;") and "%D9%81" in headers["Content-Disposition"]


async def test_an_agent_sends_a_photo_and_whatsapp_receives_it_by_uploaded_id(tmp_path, fake_graph) -> None:  # noqa: F811
    async with desk_with_whatsapp(tmp_path, fake_graph) as desk:
        await customer_wrote(desk)
        record = await desk.create_handoff(CUSTOMER)
        csrf = await login(desk.session, desk.url(""), "noura@example.com")
        headers = {"X-CSRF-Token": csrf}
        attach = desk.url(f"/api/v1/handoffs/{record.public_id}/attachments?filename=receipt.png&caption=الإيصال")
        async with desk.session.post(attach, data=PHOTO, headers={**headers, "Content-Type": "image/png"}) as answer:
            assert answer.status == 409  # not hers yet
        async with desk.session.post(desk.url(f"/api/v1/handoffs/{record.public_id}/claim"), headers=headers) as answer:
            assert answer.status == 200
        async with desk.session.post(attach, data=PHOTO, headers={"Content-Type": "image/png"}) as answer:
            assert answer.status == 403  # no CSRF token
        async with desk.session.post(attach, data=b"<html>", headers={**headers, "Content-Type": "image/png"}) as answer:
            assert answer.status == 415  # not what it says it is
        async with desk.session.post(attach, data=b"<svg/>", headers={**headers, "Content-Type": "image/svg+xml"}) as answer:
            assert answer.status == 415
        big = PHOTO + b"\0" * (5 * 1024 * 1024)
        assert await refused_status(desk.session, attach, big, {**headers, "Content-Type": "image/png"}) in (413, 0)
        assert fake_graph.uploads == []
        # 2 MiB: over the server's 1 MiB request limit, under the 5 MB photo limit (the route streams).
        async with desk.session.post(attach + "&client_key=large", data=PHOTO + b"\0" * (2 * 1024 * 1024),
                                     headers={**headers, "Content-Type": "image/png"}) as answer:
            assert answer.status == 201, await answer.text()
        async with desk.session.post(attach, data=PHOTO, headers={**headers, "Content-Type": "image/png"}) as answer:
            assert answer.status == 201, await answer.text()
            message = (await answer.json())["message"]
        assert message["text"] == "الإيصال"
        large, sent = await fake_graph.wait_for(2)
        assert len(fake_graph.uploads[0]["data"]) == len(PHOTO) + 2 * 1024 * 1024
        upload = fake_graph.uploads[1]
        assert (upload["data"], upload["type"], upload["phone_number_id"]) == (PHOTO, "image/png", PHONE_NUMBER_ID)
        assert sent.json["type"] == "image" and sent.json["to"] == CUSTOMER
        assert sent.json["image"] == {"id": upload["id"], "caption": "الإيصال"}
        # The agent sees the photo she sent in the transcript, through the proxy.
        async with desk.session.get(desk.url(f"/api/v1/handoffs/{record.public_id}")) as answer:
            turn = next(t for t in (await answer.json())["context"]["transcript"] if t["id"] == f"m{message['id']}")
        assert (await get(desk.session, desk.url(f"/api/v1/media/{turn['media'][0]['media_id']}")))[:2] == (200, PHOTO)


async def test_a_failed_upload_fails_the_reply_and_a_retry_sends_it(tmp_path, fake_graph) -> None:  # noqa: F811
    async with desk_with_whatsapp(tmp_path, fake_graph) as desk:
        await customer_wrote(desk)
        record = await desk.create_handoff(CUSTOMER)
        csrf = await login(desk.session, desk.url(""), "noura@example.com")
        headers = {"X-CSRF-Token": csrf}
        await desk.session.post(desk.url(f"/api/v1/handoffs/{record.public_id}/claim"), headers=headers)
        fake_graph.fail_media("500")
        attach = desk.url(f"/api/v1/handoffs/{record.public_id}/attachments?filename=bill.pdf")
        async with desk.session.post(attach, data=b"%PDF-1.4 bill",
                                     headers={**headers, "Content-Type": "application/pdf"}) as answer:
            message = (await answer.json())["message"]
        assert message["delivery_state"] == "failed" and message["text"] == "📎 bill.pdf"
        retry = desk.url(f"/api/v1/handoffs/{record.public_id}/messages/{message['id']}/retry")
        async with desk.session.post(retry, headers=headers) as answer:
            assert answer.status == 200, await answer.text()
        [sent] = await fake_graph.wait_for(1)
        assert sent.json["type"] == "document"
        assert sent.json["document"] == {"id": fake_graph.uploads[0]["id"], "filename": "bill.pdf"}


async def test_an_upload_over_the_configured_limit_is_a_413(tmp_path, fake_graph) -> None:  # noqa: F811
    async with desk_with_whatsapp(tmp_path, fake_graph, MAJLIS_DESK_UPLOAD_MAX_BYTES="1000") as desk:
        record = await desk.create_handoff(CUSTOMER)
        csrf = await login(desk.session, desk.url(""), "noura@example.com")
        headers = {"X-CSRF-Token": csrf}
        await desk.session.post(desk.url(f"/api/v1/handoffs/{record.public_id}/claim"), headers=headers)
        attach = desk.url(f"/api/v1/handoffs/{record.public_id}/attachments?filename=x.png")
        for size in (1001, 1500):
            async with desk.session.post(attach, data=PHOTO + b"\0" * (size - len(PHOTO)),
                                         headers={**headers, "Content-Type": "image/png"}) as answer:
                assert answer.status == 413 and "1000 bytes" in (await answer.json())["error"]
        async with desk.session.post(attach, data=PHOTO, headers={**headers, "Content-Type": "image/png"}) as answer:
            assert answer.status == 201
        assert len(fake_graph.uploads) <= 1 and all(u["data"] == PHOTO for u in fake_graph.uploads)


def test_the_cache_deletes_files_past_the_retention(tmp_path) -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
    cache = MediaCache(tmp_path, timedelta(hours=2), clock=lambda: now)
    cache.put("c" + "1" * 40, MediaFile(data=b"old", content_type="image/png"))
    now += timedelta(hours=1)
    cache.put("c" + "2" * 40, MediaFile(data=b"new", content_type="audio/ogg"))
    now += timedelta(hours=1, minutes=30)
    assert cache.get("c" + "1" * 40) is None and cache.get("c" + "2" * 40).media.data == b"new"
    assert cache.sweep() == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c" + "2" * 40 + ".bin", "c" + "2" * 40 + ".json"]
    with pytest.raises(ValueError):
        cache.get("../../etc/passwd")
