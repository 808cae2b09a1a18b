"""Customer media never as a remote URL (only through the media proxy; CSP 'self'); the Secure cookie flag
follows HTTPS or the setting."""
from __future__ import annotations

from typing import Any, List

import aiohttp
import pytest

from bot.agent_desk.media import MediaPolicy
from bot.config import Config
from bot.agent_desk.channel import secure_cookie_setting
from tests.bot.agent_desk.conftest import PASSWORDS, login, serve_desk, user_event

TRACKER = "https://attacker.example/pixel.png?agent=1"
INSTAGRAM_CDN = "https://scontent-ams2-1.cdninstagram.com/v/t51/photo.jpg"


def with_media(text: str, urls: List[str]) -> dict:
    event = user_event(text)
    event["metadata"]["media"] = [{"type": "image", "url": url} for url in urls]
    return event


async def shown_media(desk: Any, channel: str, urls: List[str]) -> List[Any]:
    record = await desk.create_handoff("c-media", events=[with_media("شوف الصورة", urls)])
    if channel != "whatsapp_cloud":
        await desk.app.service.store.update(record.public_id, channel=channel)
    await login(desk.session, desk.url(""), "sup@example.com")
    async with desk.session.get(desk.url(f"/api/v1/handoffs/{record.public_id}")) as answer:
        transcript = (await answer.json())["context"]["transcript"]
    return [m["url"] for turn in transcript for m in turn.get("media") or []]


async def test_media_urls_never_reach_the_desk_only_proxy_ids(desk) -> None:
    urls = await shown_media(desk, "instagram", [TRACKER, INSTAGRAM_CDN, "http://scontent.cdninstagram.com/x.jpg",
                                                  "https://cdninstagram.com.attacker.example/x.jpg"])
    assert urls == [None, None, None, None]


async def test_pages_allow_images_and_media_only_from_self(desk) -> None:
    async with desk.session.get(desk.url("/login")) as answer:
        csp = answer.headers["Content-Security-Policy"]
    assert "img-src 'self';" in csp and "media-src 'self';" in csp
    assert MediaPolicy().all_hosts() == ()


async def test_configured_hosts_are_added_to_the_csp(tmp_path) -> None:
    async with serve_desk(tmp_path, MAJLIS_DESK_MEDIA_HOSTS="cdn.example.com") as desk:
        urls = await shown_media(desk, "instagram", [INSTAGRAM_CDN])
        async with desk.session.get(desk.url("/desk")) as answer:
            csp = answer.headers["Content-Security-Policy"]
    assert urls == [None]
    assert "img-src 'self' https://cdn.example.com;" in csp


@pytest.mark.parametrize("raw, expected", [("auto", None), ("", None), ("true", True), ("0", False)])
def test_the_secure_cookie_setting(raw: str, expected: Any) -> None:
    assert secure_cookie_setting(Config({"MAJLIS_DESK_SECURE_COOKIE": raw})) is expected


async def sign_in_cookie(desk: Any, headers: dict) -> str:
    """The Set-Cookie line of the session cookie after a successful sign-in.

    Cookies are passed by hand: a client keeps Secure cookies off plain http, which is the point.
    """
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as client:
        async with client.get(desk.url("/login"), headers=headers) as answer:
            token = (await answer.text()).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            login_cookie = answer.cookies["majlis_login_csrf"].value
        form = {"csrf_token": token, "email": "noura@example.com", "password": PASSWORDS["noura@example.com"]}
        async with client.post(desk.url("/login"), data=form, allow_redirects=False,
                               headers={**headers, "Cookie": f"majlis_login_csrf={login_cookie}"}) as answer:
            assert answer.status == 303
            return next(c for c in answer.headers.getall("Set-Cookie") if c.startswith("majlis_desk="))


async def test_cookie_is_secure_behind_a_configured_tls_proxy_only(tmp_path) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}  # as a TLS proxy sends
    for name in ("plain", "proxied", "forced"):
        (tmp_path / name).mkdir()
    async with serve_desk(tmp_path / "plain", cookie_secure=None) as desk:
        plain = await sign_in_cookie(desk, {})
        spoofed = await sign_in_cookie(desk, forwarded)  # no proxy configured: the header is the client's claim
    async with serve_desk(tmp_path / "proxied", cookie_secure=None, app_config={"PROXIES_COUNT": 1}) as desk:
        proxied = await sign_in_cookie(desk, forwarded)
    async with serve_desk(tmp_path / "forced", cookie_secure=True) as desk:
        forced = await sign_in_cookie(desk, {})
    for cookie in (plain, spoofed, proxied, forced):
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/webhooks/agent_desk" in cookie
    assert "Secure" not in plain and "Secure" not in spoofed
    assert "Secure" in proxied and "Secure" in forced
