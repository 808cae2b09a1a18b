"""Validation before training: a failing check blocks the candidate, with the reasons on the page."""
from __future__ import annotations

import re

import pytest
from playwright.async_api import async_playwright, expect

from bot.answers.book import ANSWERS_FILE
from bot.handoff.config import ROOT
from bot.workbench.checks import _findings, majlis_checks
from tests.bot.agent_desk.conftest import PASSWORDS, login
from tests.bot.workbench.test_api import workbench
from tests.e2e.browser import launch, sign_in, wait_until
from tests.e2e.handoff_harness import artifact

RASA_OUTPUT = """\x1b[93m/x/rasa/shared/utils/io.py:100: UserWarning: The utterance 'utter_no_bill' is not used in any story or rule.
Found intent 'greeet' in stories which is not part of the domain.
/x/rasa/shared/utils/io.py:100: UserWarning: The intent 'greeet' is used in your stories, but it is not listed in the domain file.
2026-12-07 14:35:38 INFO     rasa.validator  - No story structure conflicts found.\x1b[0m"""


def without_greet_owner(project) -> None:
    path = project / ANSWERS_FILE
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:text.index("  utter_greet:")] + text[text.index("  utter_goodbye:"):], encoding="utf-8")


def misspelt_rule(project) -> None:
    path = project / "data/rules/social.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("intent: greet", "intent: greeet", 1), encoding="utf-8")


def test_the_shipped_data_passes_majlis_checks() -> None:
    report = majlis_checks(ROOT)
    assert report.ok, report.errors


def test_rasa_findings_are_read_without_noise() -> None:
    assert _findings(RASA_OUTPUT) == [
        "Found intent 'greeet' in stories which is not part of the domain.",
        "The intent 'greeet' is used in your stories, but it is not listed in the domain file."]


async def test_a_candidate_with_failing_checks_is_not_trained(tmp_path, project, trackers, monkeypatch) -> None:
    without_greet_owner(project)
    misspelt_rule(project)
    async with workbench(tmp_path, project, trackers, monkeypatch) as desk:
        csrf = await login(desk.session, desk.url(""), "tina@example.com")
        async with desk.session.post(desk.url("/workbench/api/models/train"), headers={"X-CSRF-Token": csrf}) as answer:
            assert answer.status == 202 and (await answer.json())["state"] == "validating"
        manager = desk.app.workbench.models
        await wait_until(lambda: manager.training.state == "failed", timeout=600, what="the checks")
        async with desk.session.get(desk.url("/workbench/api/models")) as answer:
            run = (await answer.json())["training"]
    assert run["error"].startswith("The data did not pass the checks, nothing was trained")
    errors = run["checks"]["errors"]
    assert f"{ANSWERS_FILE}: utter_greet (a response in domain.yml) has no owner and review date" in errors
    assert any(re.search(r"rasa data validate: .*'greeet'", e) for e in errors), errors
    assert run["components_done"] == 0 and not list((project / "models").glob("*.tar.gz"))


@pytest.mark.browser
async def test_the_page_says_why_the_candidate_was_blocked(tmp_path, project, trackers, monkeypatch) -> None:
    without_greet_owner(project)
    async with workbench(tmp_path, project, trackers, monkeypatch) as desk:
        async with async_playwright() as playwright:
            browser = await launch(playwright)
            page = await browser.new_page(viewport={"width": 1300, "height": 800})
            try:
                await sign_in(page, desk.base_url, "tina@example.com", PASSWORDS["tina@example.com"])
                await page.click("#workbench-link")
                await page.click(".wb-tabs .tab[data-tab=models]")
                await page.click("#train")
                await expect(page.locator("#training-state")).to_contain_text("failed", timeout=600_000)
                await expect(page.locator("#training-state")).to_contain_text("nothing was trained")
                await expect(page.locator("#checks")).to_contain_text("Data checks failed")
                await expect(page.locator("#checks li.worse")).to_contain_text(["utter_greet"])
                await expect(page.locator("#train")).to_be_enabled()
                await page.screenshot(path=str(artifact("workbench-checks.png", "workbench")), full_page=True)
            finally:
                await browser.close()
