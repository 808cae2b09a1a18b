"""One customer across channels: a verification (or the operator's backend) links an Instagram
account and a WhatsApp number, and the context card shows both histories, labelled by channel.

The Instagram conversation passed the one-time code for the line 050 123 4567 (a sealed proof in
its slots, as actions/verification.py leaves it); the gate's after-turn hook links it and that
line's WhatsApp conversation.  A copied proof, or a bare claim in a slot, links nothing.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List

import pytest
from playwright.async_api import expect
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

from bot.agent_desk.accounts import AccountStore
from bot.handoff.customer_links import CustomerLinks, proven_links
from bot.identity import IdentityProof
from bot.storage import create_engine, migrate
from tests.bot.agent_desk.conftest import login, serve_desk, user_event
from tests.bot.agent_desk.test_assignment_browser import agent_page, chromium
from tests.e2e.handoff_harness import artifact

pytestmark = [pytest.mark.browser]

LINE = "971501234567"
INSTAGRAM = "instagram:1784000222"
WHATSAPP = f"whatsapp_cloud:{LINE}"


def verified_events(sender: str, customer_id: str = "C-1001") -> List[Dict[str, Any]]:
    now = datetime.now(timezone.utc).timestamp()
    return [user_event("أبي أعرف حالة طلبي", intent="order_status", name="مريم"),
            {"event": "slot", "name": "verification_line", "value": "050 123 4567", "timestamp": now},
            user_event("482913", intent="inform"),
            {"event": "slot", "name": "verified_identity",
             "value": IdentityProof.issue(sender, customer_id, "sms_code").seal(), "timestamp": now},
            {"event": "slot", "name": "verification_line", "value": None, "timestamp": now},
            {"event": "bot", "text": "شكراً، تم التحقق منك.", "timestamp": now}]


def tracker_of(sender: str, events: List[Dict[str, Any]]) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(sender, [Event.from_parameters(e) for e in events],
                                            slots=Domain.empty().slots)


def test_a_proof_links_its_own_conversation_and_the_verified_line() -> None:
    assert proven_links(INSTAGRAM, verified_events(INSTAGRAM)) == [
        ("instagram", INSTAGRAM, "C-1001"), ("whatsapp_cloud", WHATSAPP, "C-1001")]


def test_a_copied_proof_or_a_bare_claim_links_nothing() -> None:
    assert proven_links("instagram:999", verified_events(INSTAGRAM)) == []  # sealed for another sender
    claim = [{"event": "slot", "name": "verified_identity", "value": "C-1001", "timestamp": 0.0}]
    assert proven_links(INSTAGRAM, claim) == []


async def test_the_context_card_shows_the_customers_history_on_both_channels(tmp_path) -> None:
    async with serve_desk(tmp_path) as desk:
        instagram_events = verified_events(INSTAGRAM)
        desk.trackers.events_by_sender[INSTAGRAM] = instagram_events
        # The gate's hook after the turn that verified the Instagram conversation.
        await desk.app.gate._after_turn(tracker_of(INSTAGRAM, instagram_events))
        record = await desk.create_handoff(LINE, events=[user_event("الطلب ما وصلني", intent="order_status")])
        async with chromium() as browser:
            page = await agent_page(browser, desk, "noura@example.com")
            await page.click(f'#queue-list li[data-id="{record.public_id}"]')
            linked = page.locator("#linked-history")
            await expect(linked).to_be_visible()
            section = linked.locator('section[data-channel="instagram"]')
            await expect(section.locator(".linked-channel")).to_contain_text("Instagram · إنستغرام")
            await expect(section).to_contain_text("أبي أعرف حالة طلبي")
            await expect(section).to_contain_text("شكراً، تم التحقق منك.")
            await expect(section).to_contain_text("verification")
            await expect(page.locator("#transcript")).to_contain_text("الطلب ما وصلني")  # its own history, as before
            await page.screenshot(path=str(artifact("linked-history.png", "history")), full_page=True)


async def test_the_operators_backend_links_with_a_token_and_nobody_else_can(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'links.sqlite'}")
    migrate(engine)
    async with serve_desk(tmp_path, engine=engine) as desk:
        accounts = AccountStore(engine)
        token = accounts.create_token(name="crm", scopes=["customers:link"])
        reader = accounts.create_token(name="reader", scopes=["handoffs:read"])
        accounts.shutdown()
        url = desk.url("/api/v1/customer-links")
        body = {"person": "C-2002", "identities": [{"channel": "whatsapp_cloud", "id": "971509999999"},
                                                   {"channel": "instagram", "id": "1784000333"}]}
        for auth, payload, status in [(reader, body, 403), (token, {"person": "C-2002"}, 400),
                                      (token, {**body, "identities": [{"channel": "no such!", "id": "1"}]}, 400),
                                      (token, body, 200)]:
            async with desk.session.post(url, json=payload, headers={"Authorization": f"Bearer {auth}"}) as answer:
                assert answer.status == status, await answer.text()
        csrf = await login(desk.session, desk.url(""), "sup@example.com")  # a person at the desk: never
        async with desk.session.post(url, json=body, headers={"X-CSRF-Token": csrf}) as answer:
            assert answer.status == 403
        found = await CustomerLinks(engine).of("instagram", "instagram:1784000333")
        assert [(link.sender, link.person, link.source) for link in found] == [
            ("instagram:1784000333", "C-2002", "backend"), ("whatsapp_cloud:971509999999", "C-2002", "backend")]
    engine.dispose()
