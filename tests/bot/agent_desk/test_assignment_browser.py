"""Assignment in headless Chromium: offers, decline, timeout, capacity, notifications, queue switches, windows.

Each agent has their own browser context with the notifications permission granted;
an init script records every ``new Notification(...)`` and every sound played (then
lets the real ones run), so the test sees what the agent would have seen and heard.
"""
from __future__ import annotations

import re
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator, Dict, List

import pytest
from playwright.async_api import Page, async_playwright, expect
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.agent_desk.accounts import AccountStore
from bot.delivery import DeliveryStore
from bot.delivery.types import InboundItem
from bot.handoff.assignment_store import AssignmentStore
from bot.storage import create_engine, migrate
from channels.whatsapp_cloud.channel import WhatsAppCloudInput
from tests.bot.agent_desk.conftest import PASSWORDS, Desk, serve_desk, user_event
from tests.channels.whatsapp_harness import settings as whatsapp_settings
from tests.e2e.browser import launch, sign_in
from tests.e2e.handoff_harness import DESK, artifact
from tests.fakes.fake_graph import FakeGraph, fake_graph  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser]

ACCOUNT = "1122334455667"  # the business account conftest's handoffs are written to
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__notes = [];
  window.__sounds = 0;
  function Recording(title, options) {
    window.__notes.push({ title, body: (options || {}).body || "" });
    try { return new Real(title, options); } catch (e) { return {}; }
  }
  Object.defineProperty(Recording, "permission", { get: () => Real.permission });
  Recording.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recording;
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () { window.__sounds += 1; return play.call(this); };
})();
"""
OFFER_NOTIFIED = "window.__notes.some((n) => n.title.includes('New conversation offered'))"


def add_agent(engine: Any, email: str, password: str, *, languages: List[str], queues: List[str],
              name: str, capacity: int) -> None:
    accounts, assignment = AccountStore(engine), AssignmentStore(engine)
    account = accounts.create_agent(email=email, password=password, role="agent", languages=languages,
                                    queues=queues, display_name=name)
    assignment.set_capacity_now(account.id, capacity, datetime.now(timezone.utc))
    accounts.shutdown()
    assignment.shutdown()
    PASSWORDS.setdefault(email, password)


def add_fahad(engine: Any) -> None:
    """Fahad: Arabic and English, queue general, one conversation at a time."""
    add_agent(engine, "fahad@example.com", "fahad-pass-123", languages=["ar", "en"], queues=["general"],
              name="Fahad", capacity=1)


@pytest.fixture
def database(tmp_path: Any) -> AsyncIterator[Any]:
    """A migrated SQLite database the test adds agents to (conftest's four accounts are added by serve_desk)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'assign.sqlite'}")
    migrate(engine)
    yield engine
    engine.dispose()


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            yield browser
        finally:
            await browser.close()


async def agent_page(browser: Any, desk: Desk, email: str) -> Page:
    """A signed-in desk page in its own context, notifications granted and recorded."""
    context = await browser.new_context(viewport={"width": 1300, "height": 850}, locale="ar")
    await context.grant_permissions(["notifications"], origin=desk.base_url)
    await context.add_init_script(RECORD_NOTIFICATIONS)
    page = await context.new_page()
    await sign_in(page, desk.base_url, email, PASSWORDS[email])
    await expect(page.locator("#presence")).to_contain_text("Away")
    return page


async def go_available(page: Page) -> None:
    await page.click("#presence")
    await expect(page.locator("#presence")).to_contain_text("Available")


async def notes(page: Page) -> List[Dict[str, str]]:
    return await page.evaluate("window.__notes")


def offer_of(page: Page, handoff_id: str) -> Any:
    return page.locator(f'#offers-list li[data-handoff="{handoff_id}"]')


async def offers_of(desk: Desk, handoff_id: str) -> List[Any]:
    record = await desk.app.service.store.get(handoff_id)
    return [o for o in await desk.app.assigner.store.offers() if o.handoff_id == record.id]


async def test_offers_follow_skills_and_capacity_and_a_decline_goes_to_the_next_agent(database, tmp_path) -> None:
    async with serve_desk(tmp_path, engine=database) as desk:
        noura_id = next(a.id for a in await desk.app.accounts.agents() if a.email == "noura@example.com")
        desk.app.assigner.store.set_capacity_now(noura_id, 2, datetime.now(timezone.utc))
        add_fahad(database)
        async with chromium() as browser:
            noura = await agent_page(browser, desk, "noura@example.com")
            fahad = await agent_page(browser, desk, "fahad@example.com")
            john = await agent_page(browser, desk, "john@example.com")  # English, billing
            for page in (noura, fahad, john):
                await go_available(page)

            first = await desk.create_handoff("971500000101")
            # Equal load, never offered before: the lower id (Noura) first; nobody else sees it.
            await expect(offer_of(noura, first.public_id)).to_be_visible(timeout=15000)
            await noura.wait_for_function(OFFER_NOTIFIED)
            assert await noura.evaluate("window.__sounds") >= 1
            await noura.screenshot(path=str(artifact("1-offer.png", "assignment")))
            assert await offer_of(fahad, first.public_id).count() == 0
            assert await offer_of(john, first.public_id).count() == 0

            await offer_of(noura, first.public_id).locator(".offer-decline").click()
            await expect(offer_of(fahad, first.public_id)).to_be_visible(timeout=15000)  # the next agent
            await expect(offer_of(noura, first.public_id)).to_have_count(0)
            await fahad.wait_for_function(OFFER_NOTIFIED)
            await offer_of(fahad, first.public_id).locator(".offer-accept").click()
            await expect(fahad.locator("#ctx-state")).to_contain_text("assigned")
            await expect(fahad.locator("#presence-load")).to_contain_text("1 / 1")
            assert (await desk.app.service.store.get(first.public_id)).agent_id is not None

            # Fahad is at his capacity (1): the next two go to Noura (capacity 2), the third to nobody.
            second = await desk.create_handoff("971500000102")
            await expect(offer_of(noura, second.public_id)).to_be_visible(timeout=15000)
            third = await desk.create_handoff("971500000103")
            await expect(offer_of(noura, third.public_id)).to_be_visible(timeout=15000)
            fourth = await desk.create_handoff("971500000104")
            await desk.app.assigner.step()
            assert await offers_of(desk, fourth.public_id) == []
            assert await offer_of(fahad, second.public_id).count() == 0
            await noura.screenshot(path=str(artifact("2-two-offers-at-capacity.png", "assignment")))

            # An English billing handoff goes to John, the only one with that skill.
            billing = await desk.create_handoff("971500000105", queue="billing", language="en")
            await expect(offer_of(john, billing.public_id)).to_be_visible(timeout=15000)


async def test_an_unanswered_offer_times_out_to_the_next_agent(database, tmp_path) -> None:
    async with serve_desk(tmp_path, engine=database, MAJLIS_OFFER_TIMEOUT_SECONDS="2") as desk:
        add_fahad(database)
        async with chromium() as browser:
            noura = await agent_page(browser, desk, "noura@example.com")
            fahad = await agent_page(browser, desk, "fahad@example.com")
            await go_available(noura)
            await go_available(fahad)
            record = await desk.create_handoff("971500000201")
            await expect(offer_of(noura, record.public_id)).to_be_visible(timeout=15000)
            # Noura does nothing: after the timeout Fahad is offered it, and Noura's offer is gone.
            await expect(offer_of(fahad, record.public_id)).to_be_visible(timeout=20000)
            await expect(offer_of(noura, record.public_id)).to_have_count(0)
            kinds = [e.type for e in await desk.app.service.store.events_since(0) if e.handoff_id == record.id]
            assert kinds[:4] == ["handoff.created", "handoff.offered", "handoff.offer_expired", "handoff.offered"]


async def test_a_customer_reply_in_an_owned_conversation_notifies(desk: Desk) -> None:
    record = await desk.create_handoff("971500000301")
    async with chromium() as browser:
        noura = await agent_page(browser, desk, "noura@example.com")
        await noura.locator("#queue-list li").first.click()
        await noura.click("#claim")
        await expect(noura.locator("#ctx-state")).to_contain_text("assigned")
        await expect(noura.locator("#mine-list li")).to_have_count(1)
        before = len(await notes(noura))
        # The customer writes again while Noura owns the conversation (what the gate does with it):
        # the tracker holds the message, and the service tells the desk.
        text = "متى بيوصل الطلب؟"
        desk.trackers.events_by_sender[record.customer].append(user_event(text))
        tracker = DialogueStateTracker.from_events(record.customer, [
            UserUttered(text, parse_data={"intent": {"name": "order_status", "confidence": 0.9}})])
        await desk.app.service.customer_message(await desk.app.service.store.get(record.public_id), tracker)
        await expect(noura.locator("#transcript")).to_contain_text("متى بيوصل", timeout=15000)
        await noura.wait_for_function(f"window.__notes.length > {before}")
        latest = (await notes(noura))[-1]
        assert "Customer replied" in latest["title"]
        assert "متى" not in latest["body"], "the customer's words must not leave the page in a notification"


async def test_a_queue_switched_off_by_a_supervisor_makes_no_offers(desk: Desk) -> None:
    async with chromium() as browser:
        sup = await agent_page(browser, desk, "sup@example.com")
        await sup.goto(f"{desk.base_url}{DESK}/supervisor")
        general = sup.locator('#auto-assign button[data-queue="general"]')
        await expect(general).to_have_text("Turn off")
        await general.click()
        await expect(sup.locator("#auto-assign tbody tr").first).to_contain_text("off")
        noura = await agent_page(browser, desk, "noura@example.com")
        await go_available(noura)
        await expect(noura.locator("#auto-assign")).to_contain_text("general")
        record = await desk.create_handoff("971500000401")
        await expect(noura.locator("#queue-list li")).to_have_count(1)
        await desk.app.assigner.step()
        assert await offers_of(desk, record.public_id) == []
        assert await noura.locator("#offers-list li").count() == 0
        # The switch is stored: turned on again, the waiting handoff is offered at once.
        await sup.locator('#auto-assign button[data-queue="general"]').click()
        await expect(offer_of(noura, record.public_id)).to_be_visible(timeout=15000)


async def test_the_queue_orders_by_closing_window_and_escalates(tmp_path, fake_graph: FakeGraph) -> None:  # noqa: F811
    def whatsapp(engine: Any) -> List[Any]:
        return [WhatsAppCloudInput(whatsapp_settings(fake_graph.url), store=DeliveryStore(engine))]

    async with serve_desk(tmp_path, channels=whatsapp, MAJLIS_WINDOW_ESCALATE_MINUTES="60") as desk:
        async with chromium() as browser:
            sup = await agent_page(browser, desk, "sup@example.com")  # at the desk before anything arrives
            now = datetime.now(timezone.utc)
            store = desk.app.registry.delivery("whatsapp_cloud").store
            # The customers last wrote 1 h and 23.5 h ago: 23 h and 30 min of WhatsApp's 24 h window are left.
            await store.accept([InboundItem(channel="whatsapp_cloud", message_id="wamid.w1", account=ACCOUNT,
                                            customer="971500000501", sent_at=now - timedelta(hours=1)),
                                InboundItem(channel="whatsapp_cloud", message_id="wamid.w2", account=ACCOUNT,
                                            customer="971500000502", sent_at=now - timedelta(hours=23, minutes=30))],
                               now)
            fresh = await desk.create_handoff("971500000501")
            closing = await desk.create_handoff("971500000502")
            rows = sup.locator("#queue-list li")
            await expect(rows).to_have_count(2, timeout=15000)
            await expect(rows.first).to_have_class(re.compile(r"\bwindow-escalated\b"), timeout=15000)
            assert [await r.get_attribute("data-id") for r in await rows.all()] == [
                closing.public_id, fresh.public_id]  # same priority: the window closing soonest first
            await expect(rows.first.locator(".window")).to_contain_text("⚠ reply window")
            await expect(rows.nth(1).locator(".window")).to_contain_text("⏳ reply window 2")
            # The supervisor was told live, once, and only about the closing one.
            await sup.wait_for_function("window.__notes.some((n) => n.title.includes('Reply window closing'))")
            escalated = [e for e in await desk.app.service.store.events_since(0)
                         if e.type == "handoff.window_escalated"]
            assert [e.handoff_id for e in escalated] == [closing.id]
            left = escalated[0].payload["minutes_left"]
            assert 0 < left <= 30
            assert [n for n in await notes(sup) if "Reply window closing" in n["title"]] == [
                {"title": "Reply window closing · نافذة الرد تنتهي", "body": f"general: {left} min"}]
            await sup.goto(f"{desk.base_url}{DESK}/supervisor")
            await expect(sup.locator("#escalations tbody tr")).to_have_count(1)
            await expect(sup.locator("#escalations tbody tr")).to_contain_text(closing.public_id[:8])
            await sup.screenshot(path=str(artifact("3-supervisor-window.png", "assignment")), full_page=True)
