"""The web-chat page in headless Chromium (Debian's, /usr/bin/chromium) against a served Majlis.

The scripted tests check the page's mechanics with a fixed answer; the end-to-end test
talks to the real assistant (the session's ``majlis_agent``) and saves a screenshot
under test-artifacts/.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, List, Tuple

import pytest
from playwright.async_api import Page, async_playwright

from bot.delivery import DeliveryStore
from bot.identity import provider_id
from bot.storage import create_engine
from channels.webchat.channel import WebChatInput
from tests.channels.test_instagram_harness import RecordingAgent
from tests.channels.whatsapp_harness import running_channel
from tests.conftest import ROOT
from tests.e2e.browser import launch, write

ARTIFACTS = ROOT / "test-artifacts"
ARABIC_QUESTION = "مرحبا، أبي أعرف فاتورتي"
XSS = "<img src=x onerror=alert(1)>"

pytestmark = pytest.mark.browser


@asynccontextmanager
async def chat_page(agent: Any, query: str = "") -> AsyncIterator[Tuple[Page, WebChatInput, List[str]]]:
    """The page served by a real Majlis server with ``agent``; yields (page, channel, dialogs)."""
    channel = WebChatInput(store=DeliveryStore(create_engine("sqlite://")))
    async with running_channel(channel, agent) as running:  # type: ignore[arg-type]
        async with async_playwright() as playwright:
            browser = await launch(playwright)
            try:
                page = await browser.new_page(viewport={"width": 480, "height": 760})
                dialogs: List[str] = []
                page.on("dialog", lambda dialog: (dialogs.append(dialog.message),
                                                  page.context.loop.create_task(dialog.dismiss())))
                await page.goto(f"{running.base_url}/webhooks/webchat/{query}")
                await page.wait_for_selector("#majlis-status.online", timeout=15000)
                yield page, channel, dialogs
            finally:
                await browser.close()


async def direction(page: Page, selector: str) -> str:
    return await page.eval_on_selector(selector, "el => getComputedStyle(el).direction")


async def test_arabic_message_rtl_buttons_and_entry_source() -> None:
    buttons = [{"title": "فاتورتي", "payload": "/check_bill"},
               {"title": "Talk to a person", "payload": "/talk_to_human"}]
    agent = RecordingAgent(reply={"text": "فاتورتك هذا الشهر ١٨٥ درهم.", "buttons": buttons})
    async with chat_page(agent, "?src=snapchat&campaign=ramadan") as (page, channel, _dialogs):
        await write(page, ARABIC_QUESTION)
        answer = page.locator(".msg.bot").first
        await answer.wait_for(timeout=15000)
        assert await answer.text_content() == "فاتورتك هذا الشهر ١٨٥ درهم."
        assert await direction(page, ".msg.bot") == "rtl"
        assert await direction(page, ".msg.user") == "rtl"
        assert await direction(page, ".buttons button:nth-child(2)") == "ltr"
        await page.click(".buttons button >> text=فاتورتي")
        await page.locator(".msg.user").nth(1).wait_for(timeout=15000)
        assert await page.locator(".msg.user").nth(1).text_content() == "فاتورتي"
        await page.locator(".msg.bot").nth(1).wait_for(timeout=15000)
        assert await page.locator(".buttons button").first.is_disabled()
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "webchat-scripted.png"))
        source = await channel.entry_sources.get("webchat", provider_id("webchat", agent.messages[0].sender_id))
    assert agent.texts == [ARABIC_QUESTION, "/check_bill"]
    assert agent.messages[1].metadata["display_text"] == "فاتورتي"
    assert source is not None and source[0].ref == "snap-ramadan"


async def test_customer_html_is_shown_as_text() -> None:
    agent = RecordingAgent(reply={"text": XSS, "buttons": [{"title": XSS, "payload": "/x"}]})
    async with chat_page(agent) as (page, _channel, dialogs):
        await write(page, XSS)
        await page.locator(".msg.bot").first.wait_for(timeout=15000)
        await page.wait_for_timeout(300)
        assert await page.locator(".msg.user").first.text_content() == XSS
        assert await page.locator(".msg.bot").first.text_content() == XSS
        assert await page.locator(".buttons button").first.text_content() == XSS
        assert await page.locator("#majlis-log img").count() == 0
    assert dialogs == []


async def test_agent_joined_notice_and_typing_indicator() -> None:
    from channels.webchat.payloads import agent_joined

    agent = RecordingAgent(reply={"custom": agent_joined("Sara")})
    async with chat_page(agent) as (page, _channel, _dialogs):
        await write(page, "I want a person")
        notice = page.locator(".notice").first
        await notice.wait_for(timeout=15000)
        assert "A customer-care agent has joined (Sara)" in (await notice.text_content() or "")
        assert await page.locator("#majlis-typing").is_hidden()


@pytest.mark.e2e
async def test_real_assistant_answers_arabic_right_to_left(majlis_agent: Any) -> None:
    """The trained Majlis assistant behind the page: Arabic in, Arabic out (RTL), a button tapped."""
    ARTIFACTS.mkdir(exist_ok=True)
    async with chat_page(majlis_agent, "?src=snapchat&campaign=ramadan") as (page, _channel, _dialogs):
        await write(page, ARABIC_QUESTION)
        answer = page.locator(".msg.bot").first
        await answer.wait_for(timeout=60000)
        text = await answer.text_content() or ""
        assert any("\u0600" <= ch <= "\u06ff" for ch in text), text
        assert await direction(page, ".msg.bot") == "rtl"
        if await page.locator(".buttons button").count() == 0:
            await write(page, "انت بوت ولا انسان؟")  # the bot_challenge answer offers a button
            await page.locator(".buttons button").first.wait_for(timeout=60000)
        bots_before = await page.locator(".msg.bot").count()
        button = page.locator(".buttons button").first
        title = await button.text_content()
        await button.click()
        await page.locator(".msg.user", has_text=title or "").last.wait_for(timeout=15000)
        await page.locator(".msg.bot").nth(bots_before).wait_for(timeout=60000)  # a new answer
        await page.screenshot(path=str(ARTIFACTS / "webchat-arabic.png"), full_page=True)
    assert (Path(ARTIFACTS) / "webchat-arabic.png").stat().st_size > 1000


async def _token(page: Page) -> str:
    return await page.evaluate("() => window.localStorage.getItem('majlis.session_token')")


async def test_the_server_issued_session_survives_a_reload() -> None:
    agent = RecordingAgent(reply={"text": "أهلاً"})
    async with chat_page(agent) as (page, channel, _dialogs):
        token = await _token(page)
        assert token and channel.tokens.session_of(token)
        await write(page, "مرحبا")
        await page.locator(".msg.bot").first.wait_for(timeout=15000)
        await page.reload()
        await page.wait_for_selector("#majlis-status.online", timeout=15000)
        assert await _token(page) == token
        await write(page, "ثانية")
        await page.locator(".msg.bot").first.wait_for(timeout=15000)
    assert [m.sender_id for m in agent.messages] == [f"webchat:{channel.tokens.session_of(token)}"] * 2


async def test_a_page_cannot_take_over_another_session() -> None:
    """A second browser whose storage names the first one's session (a chosen id, a token without its
    signature) gets a session of its own and never sees the first customer's messages."""
    agent = RecordingAgent(reply={"text": "your bill is AED 149"})
    async with chat_page(agent) as (owner, channel, _dialogs):
        owner_session = channel.tokens.session_of(await _token(owner))
        intruder = await owner.context.browser.new_page()
        await intruder.goto(owner.url)
        await intruder.wait_for_selector("#majlis-status.online", timeout=15000)
        await intruder.evaluate("""session => {
            localStorage.setItem('majlis.session', session);
            localStorage.setItem('majlis.session_token', session + '.' + '0'.repeat(64));
        }""", owner_session)
        await intruder.reload()
        await intruder.wait_for_selector("#majlis-status.online", timeout=15000)
        await wait_until_token_changes(intruder, owner_session)
        await write(owner, "how much is my bill")
        await owner.locator(".msg.bot").first.wait_for(timeout=15000)
        await intruder.wait_for_timeout(500)
        assert await intruder.locator(".msg").count() == 0
        intruder_session = channel.tokens.session_of(await _token(intruder))
        assert intruder_session and intruder_session != owner_session
    assert [m.sender_id for m in agent.messages] == [f"webchat:{owner_session}"]


async def wait_until_token_changes(page: Page, refused_session: str) -> None:
    """The page drops a refused token and keeps the new session's token instead."""
    await page.wait_for_function(
        "session => { const t = localStorage.getItem('majlis.session_token'); return t && !t.startsWith(session + '.'); }",
        arg=refused_session, timeout=15000)
