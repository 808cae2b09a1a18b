"""Done-when of issue 15, end to end in headless Chromium with the real model.

A Gulf Arabic and an Arabizi message the shipped model does not understand arrive on
WhatsApp (fake Graph API), with their rephrasings; they appear in the trainer's inbox
as one group with a count; the trainer labels the group; a candidate trains in the
background and its comparison shows the labelled messages now understood; the
trainer activates it while customers keep writing (every one of them is answered);
the same messages sent again on WhatsApp get the bundle answer, with no restart.
Screenshots: test-artifacts/workbench/ (docs/img/ has copies for docs/trainers.md).
"""
from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from bot.agent_desk.accounts import AccountStore
from bot.handoff.config import ROOT
from bot.storage import create_engine, migrate
from tests.bot.workbench.conftest import project_copy
from tests.conftest import free_port
from tests.e2e.browser import launch, sign_in, wait_until
from tests.e2e.handoff_harness import artifact, served_majlis, texts_to
from tests.fakes.fake_graph import FakeGraph, fake_graph  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.timeout(3600)]

PASSWORD = "trainer-pass-123"
#: What customers wrote (probed against the shipped model: fallback / a wrong intent).
GULF = ["الباقه خلصت بسرعه", "باقتي خلصت بسرعة"]  # shipped model 2026-12-07: out_of_scope (0.54, 0.56)
ARABIZI = ["el bakeh 5elsat", "el bakeh 5elsat bdri"]  # shipped model: report_network_outage (0.61, 0.40)
FALLBACK_AR = "ما فهمت"
BUNDLE_QUESTION = "أي باقة تبي"
GREETING = "مرحبا"


@pytest.fixture
def own_agent(trained_model: Path, action_server_url: str, tmp_path: Path, monkeypatch):
    """A Rasa agent of its own (activating a model must not change the session's shared agent)."""
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import TrackerStore
    from rasa.core.utils import AvailableEndpoints

    from bot.rasa_fixes import apply

    apply()
    monkeypatch.setenv("MAJLIS_ACTION_ENDPOINT", action_server_url)
    monkeypatch.setenv("MAJLIS_TRACKER_DB", str(tmp_path / "tracker.db"))
    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    return Agent.load(trained_model, generator=endpoints.nlg, action_endpoint=endpoints.action,
                      tracker_store=TrackerStore.create(endpoints.tracker_store))


def customer_id() -> str:
    return f"9715{uuid.uuid4().int % 10**8:08d}"


async def test_labelled_messages_are_understood_after_activation(own_agent, fake_graph: FakeGraph,  # noqa: F811
                                                                   tmp_path, monkeypatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    project_copy(project)
    monkeypatch.setenv("MAJLIS_WORKBENCH_ROOT", str(project))
    engine = create_engine(f"sqlite:///{tmp_path / 'majlis.sqlite'}")
    migrate(engine)
    accounts = AccountStore(engine)
    accounts.create_agent(email="tina@example.com", password=PASSWORD, role="trainer", languages=["ar", "en"],
                          queues=["*"], display_name="Tina")
    accounts.shutdown()
    shipped = own_agent.processor.model_path.name
    (project / "models").mkdir()
    shutil.copy(own_agent.processor.model_path, project / "models" / shipped)  # listed, so one can roll back to it

    async with async_playwright() as playwright:
        browser = await launch(playwright)
        page = await browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            async with served_majlis(own_agent, engine, fake_graph.url, free_port()) as majlis:
                # 1. Customers write; the shipped model does not understand them.
                for gulf, arabizi in zip(GULF, ARABIZI):
                    for text in (gulf, arabizi):
                        sender = customer_id()
                        await majlis.customer(sender).say(text)
                        await majlis.settle()
                        replies = texts_to(fake_graph, sender)
                        assert replies and BUNDLE_QUESTION not in replies[0], (text, replies)

                # 2. The trainer finds them as one group and labels it.
                await sign_in(page, majlis.base_url, "tina@example.com", PASSWORD)
                await page.goto(f"{majlis.base_url}/webhooks/agent_desk/workbench")
                group = page.locator(".wb-group").first
                await expect(group.locator(".wb-count")).to_have_text("×4", timeout=20000)
                await group.locator(".wb-show-variants").click()
                for text in GULF + ARABIZI:
                    await expect(group.locator(".wb-variants")).to_contain_text(text)
                await group.locator(".wb-label").click()
                await page.fill("#intent-search", "bundle")
                await page.locator("#intent-list li[data-intent=buy_data_bundle]").click()
                await page.click("#accept")
                await expect(page.locator("#label-result")).to_contain_text("4 messages", timeout=60000)

                # 3. A candidate trains in the background while customers keep writing (until after the switch).
                load_senders: list = []
                stop = asyncio.Event()

                async def load() -> None:
                    while not stop.is_set():
                        sender = customer_id()
                        load_senders.append(sender)
                        await majlis.customer(sender).say(GREETING)
                        await asyncio.sleep(1.0)

                task = asyncio.create_task(load())
                await page.click(".wb-tabs .tab[data-tab=models]")
                await page.click("#train")
                # The data checks (rasa data validate + Majlis' own) run first, then rasa train.
                await expect(page.locator("#training-state")).to_have_text(re.compile("^(validating|training)$"),
                                                                           timeout=10000)
                await expect(page.locator("#training-components")).not_to_have_text("0", timeout=600_000)
                await page.screenshot(path=str(artifact("workbench-training.png", "workbench")), full_page=True)
                await expect(page.locator("#training-state")).to_have_text("ready", timeout=2_700_000)
                labelled = page.locator("#comparison table.changed-labelled")
                for text in GULF[:1] + ARABIZI:
                    await expect(labelled).to_contain_text(text)
                await expect(page.locator("#comparison h3").first).to_contain_text("candidate 100%")
                await page.screenshot(path=str(artifact("workbench-comparison.png", "workbench")), full_page=True)

                # 4. Activate while customers keep writing: every one of them is answered.
                candidate = bench_candidate(majlis)
                before_switch = len(load_senders)
                await page.locator(f"#models tr[data-model='{candidate}'] button.activate").click()
                await expect(page.locator("#activate-result")).to_contain_text(f"Active: {candidate}",
                                                                                timeout=300_000)
                await wait_until(lambda: len(load_senders) >= before_switch + 3, what="load after the switch")
                stop.set()
                await task
                await majlis.settle()
                unanswered = [s for s in load_senders if not texts_to(fake_graph, s)]
                assert unanswered == [], f"{len(unanswered)} of {len(load_senders)} messages lost"
                assert own_agent.processor.model_path.name == candidate != shipped
                await page.screenshot(path=str(artifact("workbench-activated.png", "workbench")), full_page=True)

                # 5. The same messages, from new customers, are now understood.
                for text in (GULF[0], ARABIZI[0]):
                    sender = customer_id()
                    await majlis.customer(sender).say(text)
                    await majlis.settle()
                    replies = texts_to(fake_graph, sender)
                    assert replies and BUNDLE_QUESTION in replies[0], (text, replies)

                # 6. Roll back in one action: the shipped model serves again.
                await page.locator(f"#models tr[data-model='{shipped}'] button.activate").click()
                await expect(page.locator("#activate-result")).to_contain_text(f"Active: {shipped}")
                sender = customer_id()
                await majlis.customer(sender).say(GULF[0])
                await majlis.settle()
                replies = texts_to(fake_graph, sender)
                assert replies and BUNDLE_QUESTION not in replies[0], replies
        finally:
            await browser.close()
    engine.dispose()


def bench_candidate(majlis) -> str:
    run = majlis.desk.desk.workbench.models.training
    assert run is not None and run.state == "ready", run
    return f"{run.name}.tar.gz"
