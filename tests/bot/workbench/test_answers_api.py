"""The Answers tab's API: due/overdue answers, reviewed by their owner (or a supervisor), audited."""
from __future__ import annotations

from datetime import date

import yaml

from bot.answers.book import ANSWERS_FILE, load
from bot.workbench.schema import nlu_audit
from tests.bot.agent_desk.conftest import login
from tests.bot.workbench.test_api import workbench

TODAY = date(2027, 1, 10)   # the shipped offers' answers (every 30 days) are then 4 days overdue


def own(project, name: str, owner: str) -> None:
    path = project / ANSWERS_FILE
    text = path.read_text(encoding="utf-8")
    start = text.index(f"  {name}:\n")
    head, rest = text[:start], text[start:]
    old = rest.split("\n")[1]
    path.write_text(head + rest.replace(old, f"    owner: {owner}", 1), encoding="utf-8")


async def test_overdue_answers_are_listed_and_only_their_owner_or_a_supervisor_reviews_them(
        tmp_path, project, trackers, monkeypatch) -> None:
    own(project, "utter_roaming_offer", "tina@example.com")
    async with workbench(tmp_path, project, trackers, monkeypatch) as desk:
        desk.app.workbench.answers.today = lambda: TODAY
        csrf = await login(desk.session, desk.url(""), "tina@example.com")
        async with desk.session.get(desk.url("/workbench/api/answers")) as answer:
            listing = await answer.json()
        names = {a["name"]: a for a in listing["answers"]}
        assert listing["counts"]["overdue"] == len([n for n in names if names[n]["state"] == "overdue"]) > 0
        roaming = names["utter_roaming_offer"]
        assert roaming["state"] == "overdue" and roaming["days"] == -4 and roaming["may_review"]
        assert "{price}" in roaming["texts"]["ar"][0] and "AED {price}" in roaming["texts"]["en"][0]
        assert not names["utter_bundle_added"]["may_review"], "owned by offers@: not Tina's"
        assert "utter_greet" not in names, "current answers are not on the review list"
        async with desk.session.get(desk.url("/workbench/api/answers/flags")) as answer:
            assert await answer.json() == {"overdue": listing["counts"]["overdue"], "due": listing["counts"]["due"]}

        post = lambda path, body=None: desk.session.post(desk.url(f"/workbench/api/answers/{path}"), json=body or {},
                                                          headers={"X-CSRF-Token": csrf})
        async with post("utter_bundle_added/confirm") as answer:
            assert answer.status == 403 and "offers@majlis.example" in (await answer.json())["error"]
        async with post("utter_nothing/confirm") as answer:
            assert answer.status == 404
        texts = {"ar": [roaming["texts"]["ar"][0].replace("تتفعل لحالها", "تشتغل لحالها")],
                 "en": [roaming["texts"]["en"][0].replace("switches on", "turns on")]}
        async with post("utter_roaming_offer/edit", {"texts": {"ar": ["بدون السعر"], "en": texts["en"]}}) as answer:
            assert answer.status == 400 and "placeholders" in (await answer.json())["error"]
        async with post("utter_roaming_offer/edit", {"texts": texts}) as answer:
            assert answer.status == 200, await answer.text()
            assert (await answer.json())["review_by"] == "2027-02-09"
        served = yaml.safe_load((project / "domain.yml").read_text(encoding="utf-8"))["responses"]["utter_roaming_offer"]
        assert [v["text"] for v in served] == texts["ar"] + texts["en"]
        assert load(project / ANSWERS_FILE).get("utter_roaming_offer").reviewed_by == "Tina"

        await login(desk.session, desk.url(""), "sup@example.com")
        async with desk.session.get(desk.url("/workbench")) as answer:
            csrf = (await answer.text()).split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        async with desk.session.post(desk.url("/workbench/api/answers/utter_bundle_added/confirm"),
                                     headers={"X-CSRF-Token": csrf}) as answer:
            assert answer.status == 200 and (await answer.json())["reviewed_by"] == "Sup"
        async with desk.session.get(desk.url("/workbench/api/answers?state=overdue")) as answer:
            overdue = {a["name"] for a in (await answer.json())["answers"]}
        assert "utter_bundle_added" not in overdue and "utter_roaming_offer" not in overdue
        async with desk.session.get(desk.url("/workbench/api/answers?state=soon")) as answer:
            assert answer.status == 400
        with desk.app.workbench.engine.connect() as conn:
            audit = [(a.author, a.action, a.text, a.path) for a in conn.execute(nlu_audit.select().order_by(nlu_audit.c.id))]
    assert audit == [("Tina", "answer_edited", "utter_roaming_offer", "domain.yml"),
                     ("Tina", "answer_confirmed", "utter_roaming_offer", ANSWERS_FILE),
                     ("Sup", "answer_confirmed", "utter_bundle_added", ANSWERS_FILE)]


async def test_agents_cannot_see_answers(tmp_path, project, trackers, monkeypatch) -> None:
    async with workbench(tmp_path, project, trackers, monkeypatch) as desk:
        csrf = await login(desk.session, desk.url(""), "noura@example.com")
        async with desk.session.get(desk.url("/workbench/api/answers")) as answer:
            assert answer.status == 403
        async with desk.session.post(desk.url("/workbench/api/answers/utter_greet/confirm"),
                                     headers={"X-CSRF-Token": csrf}) as answer:
            assert answer.status == 403
