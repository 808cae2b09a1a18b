"""The workbench page in headless Chromium: the inbox grouped, RTL, the conversation, labelling, coverage.

Screenshots of each screen go to test-artifacts/workbench/ (docs/img/ has copies for docs/trainers.md).
"""
from __future__ import annotations

import pytest
from playwright.async_api import async_playwright, expect

from tests.bot.agent_desk.conftest import PASSWORDS, serve_desk
from tests.bot.workbench.conftest import ARABIZI, GULF, stand_in_agent
from tests.e2e.browser import launch, sign_in
from tests.e2e.handoff_harness import artifact

pytestmark = pytest.mark.browser


async def test_a_trainer_labels_a_group_in_the_browser(tmp_path, project, trackers, monkeypatch) -> None:
    monkeypatch.setenv("MAJLIS_WORKBENCH_ROOT", str(project))
    async with serve_desk(tmp_path) as desk:
        stand_in_agent(desk.app.workbench.agent(), trackers)
        async with async_playwright() as playwright:
            browser = await launch(playwright)
            page = await browser.new_page(viewport={"width": 1400, "height": 1000})
            try:
                await sign_in(page, desk.base_url, "tina@example.com", PASSWORDS["tina@example.com"])
                await page.click("#workbench-link")
                group = page.locator(".wb-group").first
                await expect(group.locator(".wb-count")).to_have_text("×4")
                await expect(page.locator("#inbox-total")).to_contain_text("groups")
                # Customer text shown as written, right to left, personal data masked.
                phone_group = page.locator(".wb-group", has_text="باقتي")
                await expect(phone_group.locator(".wb-text")).to_contain_text("•••")
                await expect(phone_group.locator(".wb-text")).to_have_attribute("dir", "rtl")
                await expect(page.locator(".wb-group", has_text="0501234567")).to_have_count(0)
                await group.locator(".wb-show-variants").click()
                await expect(group.locator(".wb-variants")).to_contain_text(ARABIZI)
                await expect(group.locator(".wb-variants")).to_contain_text("el baqa 5elsat")
                await group.locator(".wb-conversation").click()
                await expect(group.locator(".wb-turns li.this")).to_have_count(1)
                await expect(group).to_contain_text("→")  # the Arabizi transliteration the NLU saw
                await page.screenshot(path=str(artifact("workbench-inbox.png", "workbench")), full_page=True)

                await page.select_option("#filters select[name=form]", "arabizi")
                await page.click("#filters button[type=submit]")
                await expect(page.locator(".wb-group .wb-lang").first).to_contain_text("arabizi")
                await page.select_option("#filters select[name=form]", "")
                await page.click("#filters button[type=submit]")

                await page.locator(".wb-group").first.locator(".wb-label").click()
                await page.fill("#intent-search", "باقة")  # searching by an Arabic example finds the intent
                await expect(page.locator("#intent-list li[data-intent=buy_data_bundle]")).to_be_visible()
                await page.locator("#intent-list li[data-intent=buy_data_bundle]").click()
                await page.screenshot(path=str(artifact("workbench-label.png", "workbench")), full_page=True)
                await page.click("#accept")
                await expect(page.locator("#label-result")).to_contain_text("data/nlu/arabizi/bundles.yml", timeout=60000)
                await expect(page.locator(".wb-group .wb-count", has_text="×4")).to_have_count(0)

                await page.click(".wb-tabs .tab[data-tab=coverage]")
                await expect(page.locator("#coverage tbody tr").first).to_be_visible()
                await expect(page.locator("#coverage td.weak").first).to_be_visible()
                await page.screenshot(path=str(artifact("workbench-coverage.png", "workbench")), full_page=True)
                await page.click(".wb-tabs .tab[data-tab=audit]")
                await expect(page.locator("#audit tbody")).to_contain_text("buy_data_bundle")
                await expect(page.locator("#audit tbody")).to_contain_text("Tina")
                await page.screenshot(path=str(artifact("workbench-audit.png", "workbench")), full_page=True)
            finally:
                await browser.close()
    text = (project / "data/nlu/ar/bundles.yml").read_text(encoding="utf-8")
    assert GULF in text or "الباقه خلصت قبل وقتها!!" in text
