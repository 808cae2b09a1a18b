"""The workbench API on the desk: roles, CSRF, labelling into data/nlu (comments kept, no duplicates, conflicts)."""
from __future__ import annotations

from contextlib import asynccontextmanager

import aiohttp

from bot.agent_desk.accounts import SCOPES, AccountStore
from bot.workbench.schema import nlu_audit
from tests.bot.agent_desk.conftest import login, serve_desk
from tests.bot.workbench.conftest import ARABIZI, GULF, stand_in_agent


@asynccontextmanager
async def workbench(tmp_path, project, trackers, monkeypatch):
    monkeypatch.setenv("MAJLIS_WORKBENCH_ROOT", str(project))
    async with serve_desk(tmp_path) as desk:
        stand_in_agent(desk.app.workbench.agent(), trackers)
        yield desk


async def inbox(desk, query=""):
    async with desk.session.get(desk.url(f"/workbench/api/inbox{query}")) as answer:
        assert answer.status == 200, await answer.text()
        return await answer.json()


async def test_agents_cannot_use_the_workbench(tmp_path, project, trackers, monkeypatch) -> None:
    async with workbench(tmp_path, project, trackers, monkeypatch) as desk:
        async with desk.session.get(desk.url("/workbench/api/inbox")) as answer:
            assert answer.status == 401
        await login(desk.session, desk.url(""), "noura@example.com")
        async with desk.session.get(desk.url("/workbench/api/inbox")) as answer:
            assert answer.status == 403
        async with desk.session.get(desk.url("/workbench")) as answer:
            assert answer.status == 403
        # Integration tokens cannot use it, whatever their scopes: trainers work signed in.
        accounts = AccountStore(desk.app.accounts.engine)
        token = accounts.create_token(name="crm", scopes=list(SCOPES))
        accounts.shutdown()
        async with aiohttp.ClientSession() as client:
            async with client.get(desk.url("/workbench/api/inbox"), headers={"Authorization": f"Bearer {token}"}) as answer:
                assert answer.status == 403 and "workbench" in (await answer.json())["error"]


async def test_a_trainer_labels_a_group_into_the_language_files(tmp_path, project, trackers, monkeypatch) -> None:
    ar_file, arabizi_file = project / "data/nlu/ar/bundles.yml", project / "data/nlu/arabizi/bundles.yml"
    ar_before, arabizi_before = ar_file.read_text(encoding="utf-8"), arabizi_file.read_text(encoding="utf-8")
    async with workbench(tmp_path, project, trackers, monkeypatch) as desk:
        csrf = await login(desk.session, desk.url(""), "tina@example.com")
        async with desk.session.get(desk.url("/workbench")) as answer:
            assert answer.status == 200 and "script-src 'self'" in answer.headers["Content-Security-Policy"]
        group = (await inbox(desk))["groups"][0]
        assert group["count"] == 4
        path = f"/workbench/api/groups/{group['group']}/label"
        async with desk.session.post(desk.url(path), json={"intent": "buy_data_bundle"}) as answer:
            assert answer.status == 403, "no CSRF token"
        async with desk.session.post(desk.url(path), json={"intent": "buy_data_bundle"},
                                     headers={"X-CSRF-Token": csrf}) as answer:
            assert answer.status == 200, await answer.text()
            outcome = await answer.json()
        assert outcome["messages"] == 4 and outcome["conflicts"] == []
        assert {w["path"] for w in outcome["written"]} == {"data/nlu/ar/bundles.yml", "data/nlu/arabizi/bundles.yml"}
        after = (await inbox(desk))["groups"]
        assert all(g["group"] != group["group"] for g in after), "a labelled group leaves the inbox"
        with desk.app.workbench.engine.connect() as conn:
            audit = conn.execute(nlu_audit.select()).all()
    ar_after, arabizi_after = ar_file.read_text(encoding="utf-8"), arabizi_file.read_text(encoding="utf-8")
    # One new line per wording, everything else (comments, order, layout) unchanged.
    added = [line for line in ar_after.splitlines() if line not in ar_before.splitlines()]
    assert len(added) == 1 and added[0].strip() in (f"- {GULF}", "- الباقه خلصت قبل وقتها!!")
    assert [line for line in ar_before.splitlines() if line not in ar_after.splitlines()] == []
    assert ar_after.count("#") == ar_before.count("#")
    assert sorted(l.strip() for l in arabizi_after.splitlines() if l not in arabizi_before.splitlines()) == \
        sorted([f"- {ARABIZI}", "- el baqa 5elsat"])
    assert {(a.author, a.action, a.intent) for a in audit} == {("Tina", "label", "buy_data_bundle")}
    assert len(audit) == 3


async def test_personal_data_is_replaced_and_conflicts_are_flagged(tmp_path, project, trackers, monkeypatch) -> None:
    async with workbench(tmp_path, project, trackers, monkeypatch) as desk:
        csrf = await login(desk.session, desk.url(""), "tina@example.com")
        groups = (await inbox(desk))["groups"]
        with_phone = next(g for g in groups if "باقتي" in g["text"])
        text = with_phone["training_text"]
        start = text.index("باقتي")
        async with desk.session.post(desk.url(f"/workbench/api/groups/{with_phone['group']}/label"),
                                     json={"intent": "buy_data_bundle", "message_id": with_phone["id"],
                                           "entities": [{"start": start, "end": start + 5, "entity": "bundle_size"}]},
                                     headers={"X-CSRF-Token": csrf}) as answer:
            outcome = await answer.json()
        written = outcome["written"][0]["text"]
        assert "0501234567" not in written and "مريم" not in written
        assert "0500000000" in written and "[باقتي](bundle_size)" in written
        # The English message labelled under check_bill, although "my bill is wrong ..." -> same text again
        # under another intent is a conflict, not written.
        english = next(g for g in groups if g["language"] == "en")
        for intent, expected in (("dispute_charge", "written"), ("check_bill", "conflict")):
            async with desk.session.post(desk.url(f"/workbench/api/groups/{english['group']}/label"),
                                         json={"intent": intent}, headers={"X-CSRF-Token": csrf}) as answer:
                result = await answer.json()
            if expected == "written":
                assert result["written"] and "customer@example.com" in result["written"][0]["text"]
                # put it back in the inbox to try the conflicting label
                with desk.app.workbench.engine.begin() as conn:
                    conn.exec_driver_sql("UPDATE majlis_nlu_message SET status='open' WHERE group_id=?",
                                         (english["group"],))
            else:
                assert result["written"] == [] and result["conflicts"][0]["other_intent"] == "dispute_charge"
        async with desk.session.get(desk.url("/workbench/api/coverage")) as answer:
            coverage = await answer.json()
        row = next(r for r in coverage["rows"] if r["intent"] == "buy_data_bundle")
        assert row["counts"]["ar"] > 10 and "ar:gulf" in row["counts"]
