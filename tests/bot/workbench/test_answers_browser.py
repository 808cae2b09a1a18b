"""The Answers review screen in headless Chromium: overdue answers flagged, both languages edited side by side.

Screenshots go to test-artifacts/workbench/ (docs/img/ has copies for docs/trainers.md).
"""
from __future__ import annotations

import pytest
import yaml
from playwright.async_api import async_playwright, expect

from bot.answers.book import ANSWERS_FILE, load
from tests.bot.agent_desk.conftest import PASSWORDS, serve_desk
from tests.bot.workbench.conftest import stand_in_agent
from tests.bot.workbench.test_answers_api import TODAY, own
from tests.e2e.browser import launch, sign_in
from tests.e2e.handoff_harness import DESK, artifact

pytestmark = pytest.mark.browser
#: Each step waits on what the page shows; on 2 shared cores an answer can take more than Playwright's 5 s.
STEP_MS = 60_000

NEW_AR = "مسافر {destination_ar}؟ باقة التجوال فيها {data_ar} بـ {price} درهم، صالحة {validity_ar}. تشتغل أول ما توصل."


async def test_an_owner_reviews_an_overdue_answer_in_both_languages(tmp_path, project, trackers, monkeypatch) -> None:
    own(project, "utter_roaming_offer", "tina@example.com")
    monkeypatch.setenv("MAJLIS_WORKBENCH_ROOT", str(project))
    async with serve_desk(tmp_path) as desk:
        stand_in_agent(desk.app.workbench.agent(), trackers)
        desk.app.workbench.answers.today = lambda: TODAY
        overdue = desk.app.workbench.answers.counts()["overdue"]
        async with async_playwright() as playwright:
            browser = await launch(playwright)
            page = await browser.new_page(viewport={"width": 1500, "height": 1000})
            try:
                await sign_in(page, desk.base_url, "tina@example.com", PASSWORDS["tina@example.com"])
                await page.click("#workbench-link")
                await expect(page.locator("#answers-flag")).to_have_text(str(overdue), timeout=STEP_MS)
                await page.click(".wb-tabs .tab[data-tab=answers]")
                row = page.locator("#answers tr[data-answer=utter_roaming_offer]")
                await expect(row.locator("td.state")).to_contain_text("4 days overdue", timeout=STEP_MS)
                await expect(page.locator("#answers-summary")).to_contain_text(f"{overdue} overdue")
                # Not Tina's: she cannot review it (the owner, a supervisor or an admin can).
                await expect(page.locator("#answers tr[data-answer=utter_bundle_added] button.review")).to_be_disabled()
                await row.locator("button.review").click()
                english = page.locator("#answer-en textarea")
                arabic = page.locator("#answer-ar textarea")
                await expect(english).to_have_count(1)
                await expect(arabic.first).to_have_attribute("dir", "rtl")
                await expect(arabic.first).to_have_value(
                    yaml.safe_load((project / "domain.yml").read_text(encoding="utf-8"))
                    ["responses"]["utter_roaming_offer"][0]["text"])
                await arabic.first.fill("باقة التجوال بـ 35 درهم")   # the price placeholder lost: refused
                await page.click("#answer-save")
                await expect(page.locator("#answer-result")).to_contain_text("placeholders", timeout=STEP_MS)
                await arabic.first.fill(NEW_AR)
                await page.screenshot(path=str(artifact("workbench-answers.png", "workbench")), full_page=True)
                await page.click("#answer-save")
                await expect(page.locator("#answer-result")).to_contain_text("next review 2027-02-09", timeout=STEP_MS)
                await expect(row).to_have_count(0, timeout=STEP_MS)  # reviewed: off the review list
                await expect(page.locator("#answers-flag")).to_have_text(str(overdue - 1), timeout=STEP_MS)
                await page.click(".wb-tabs .tab[data-tab=audit]")
                await expect(page.locator("#audit tbody")).to_contain_text("answer_edited", timeout=STEP_MS)

                supervisor = await browser.new_page(viewport={"width": 1300, "height": 700})
                await sign_in(supervisor, desk.base_url, "sup@example.com", PASSWORDS["sup@example.com"])
                await supervisor.goto(f"{desk.base_url}{DESK}/supervisor")
                flag = supervisor.locator("#answers-overdue")
                await expect(flag).to_be_visible(timeout=STEP_MS)
                await expect(flag.locator(".count")).to_have_text(str(overdue - 1))
                await supervisor.screenshot(path=str(artifact("workbench-answers-flag.png", "workbench")))
                await flag.locator("a").click()
                await expect(supervisor.locator("#tab-answers")).to_be_visible(timeout=STEP_MS)
                await expect(supervisor.locator("#answers tr[data-answer=utter_bundle_added] button.review")).to_be_enabled()
            finally:
                await browser.close()
    served = yaml.safe_load((project / "domain.yml").read_text(encoding="utf-8"))["responses"]["utter_roaming_offer"]
    assert served[0]["text"] == NEW_AR
    assert load(project / ANSWERS_FILE).get("utter_roaming_offer").reviewed_by == "Tina"
