"""The supervisor sets an agent's capacity on the supervisor page (headless Chromium), and the
assigner uses it: the stored capacity, the presence table and the next offers follow.
Refusals (not a supervisor, a negative number, a trainer) answer 4xx with the reason."""
from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.bot.agent_desk.conftest import login, serve_desk
from tests.bot.agent_desk.test_assignment_browser import agent_page, chromium
from tests.e2e.handoff_harness import DESK, artifact

pytestmark = [pytest.mark.browser]


async def test_a_supervisor_sets_an_agents_capacity_on_the_supervisor_page(tmp_path) -> None:
    async with serve_desk(tmp_path) as desk:
        agents = {a.email: a.id for a in await desk.app.accounts.agents()}
        noura = agents["noura@example.com"]
        async with chromium() as browser:
            sup = await agent_page(browser, desk, "sup@example.com")
            await sup.goto(f"{desk.base_url}{DESK}/supervisor")
            row = sup.locator(f'#capacity tr[data-agent="{noura}"]')
            default = desk.app.settings.assignment.default_capacity
            await expect(row.locator("input")).to_have_value(str(default))
            await expect(sup.locator(f'#capacity tr[data-agent="{agents["tina@example.com"]}"]')).to_have_count(0)

            await row.locator("input").fill("-1")
            await row.locator("button").click()
            await expect(row).to_contain_text("capacity must be a whole number from 0 to 50")
            assert (await desk.app.assigner.store.presence(noura)).capacity is None

            await row.locator("input").fill("3")
            await row.locator("button").click()
            await expect(row).to_contain_text("saved")
            assert (await desk.app.assigner.store.presence(noura)).capacity == 3
            presence = sup.locator("#presence tbody tr", has_text="Noura")
            await expect(presence).to_contain_text("/ 3")  # the assigner's view follows
            await sup.screenshot(path=str(artifact("capacity.png", "assignment")), full_page=True)


async def test_only_supervisors_set_capacity_and_trainers_have_none(tmp_path) -> None:
    async with serve_desk(tmp_path) as desk:
        agents = {a.email: a.id for a in await desk.app.accounts.agents()}
        path = desk.url(f"/api/v1/agents/{agents['john@example.com']}/capacity")
        csrf = await login(desk.session, desk.url(""), "noura@example.com")
        async with desk.session.post(path, json={"capacity": 9}, headers={"X-CSRF-Token": csrf}) as answer:
            assert answer.status == 403
        csrf = await login(desk.session, desk.url(""), "sup@example.com")
        headers = {"X-CSRF-Token": csrf}
        trainer = desk.url(f"/api/v1/agents/{agents['tina@example.com']}/capacity")
        for url, payload, status in [(trainer, {"capacity": 2}, 400), (path, {"capacity": "2"}, 400),
                                     (path, {}, 400), (desk.url("/api/v1/agents/99999/capacity"), {"capacity": 2}, 404),
                                     (path, {"capacity": None}, 200)]:
            async with desk.session.post(url, json=payload, headers=headers) as answer:
                assert answer.status == status, (payload, await answer.text())
        assert (await desk.app.assigner.store.presence(agents["john@example.com"])).capacity is None
