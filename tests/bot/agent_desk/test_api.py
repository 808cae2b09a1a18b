"""The desk's sign-in, CSRF, authorisation, token scopes and REST API, over real HTTP."""
from __future__ import annotations

import asyncio
import json

import aiohttp
import sqlalchemy as sa
import yaml

from bot.agent_desk.accounts import AccountStore
from bot.storage.schema import agent
from tests.bot.agent_desk.conftest import PASSWORDS, login, user_event
from tests.logs import printed


async def test_sign_in_sets_a_hardened_session_cookie(desk) -> None:
    async with desk.session.get(desk.url("/login")) as answer:
        page = await answer.text()
        assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"csrf_token": token, "email": "noura@example.com", "password": PASSWORDS["noura@example.com"]}
    async with desk.session.post(desk.url("/login"), data=form, allow_redirects=False) as answer:
        assert answer.status == 303
        cookie = answer.headers.getall("Set-Cookie")
    session_cookie = next(c for c in cookie if c.startswith("majlis_desk="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    async with desk.session.get(desk.url("/desk")) as answer:
        assert answer.status == 200 and "Noura" in await answer.text()


async def test_wrong_password_and_missing_login_csrf_are_refused(desk) -> None:
    async with desk.session.get(desk.url("/login")) as answer:
        token = (await answer.text()).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    bad = {"csrf_token": token, "email": "noura@example.com", "password": "not the password"}
    async with desk.session.post(desk.url("/login"), data=bad) as answer:
        assert answer.status == 401
    forged = {"csrf_token": "forged", "email": "noura@example.com", "password": PASSWORDS["noura@example.com"]}
    async with desk.session.post(desk.url("/login"), data=forged, allow_redirects=False) as answer:
        assert answer.status == 403


async def test_passwords_are_stored_as_scrypt_hashes(desk) -> None:
    with desk.app.accounts.engine.connect() as conn:
        hashes = conn.execute(sa.select(agent.c.password_hash)).scalars().all()
    assert all(h.startswith("scrypt$16384$8$1$") for h in hashes)
    assert not any(password in h for h in hashes for password in PASSWORDS.values())


async def test_state_changing_calls_need_the_csrf_token(desk) -> None:
    record = await desk.create_handoff("c1")
    csrf = await login(desk.session, desk.url(""), "noura@example.com")
    claim = desk.url(f"/api/v1/handoffs/{record.public_id}/claim")
    async with desk.session.post(claim) as answer:
        assert answer.status == 403
    async with desk.session.post(claim, headers={"X-CSRF-Token": "wrong"}) as answer:
        assert answer.status == 403
    async with desk.session.post(claim, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"}) as answer:
        assert answer.status == 403
    async with desk.session.post(claim, headers={"X-CSRF-Token": csrf}) as answer:
        assert answer.status == 200
    logout_without_token = desk.url("/logout")
    async with desk.session.post(logout_without_token, data={}, allow_redirects=False) as answer:
        assert answer.status == 403


async def test_unauthenticated_api_calls_are_refused(desk) -> None:
    async with desk.session.get(desk.url("/api/v1/handoffs")) as answer:
        assert answer.status == 401
    async with desk.session.get(desk.url("/api/v1/handoffs"),
                                headers={"Authorization": "Bearer mjl_not-a-token"}) as answer:
        assert answer.status == 401
    async with desk.session.get(desk.url("/desk"), allow_redirects=False) as answer:
        assert answer.status == 303 and answer.headers["Location"].endswith("/login")


async def test_an_agent_cannot_read_a_queue_they_do_not_serve(desk) -> None:
    arabic_general = await desk.create_handoff("c-ar", queue="general", language="ar")
    english_billing = await desk.create_handoff("c-en", queue="billing", language="en")
    await login(desk.session, desk.url(""), "noura@example.com")
    async with desk.session.get(desk.url("/api/v1/handoffs")) as answer:
        listed = [h["id"] for h in (await answer.json())["handoffs"]]
    assert listed == [arabic_general.public_id]
    async with desk.session.get(desk.url(f"/api/v1/handoffs/{english_billing.public_id}")) as answer:
        assert answer.status == 403
    async with desk.session.get(desk.url("/api/v1/stats")) as answer:
        assert answer.status == 403
    async with desk.session.get(desk.url("/supervisor")) as answer:
        assert answer.status == 403


async def test_supervisor_sees_everything_and_the_overview(desk) -> None:
    await desk.create_handoff("c-ar", queue="general", language="ar")
    await desk.create_handoff("c-en", queue="billing", language="en")
    await login(desk.session, desk.url(""), "sup@example.com")
    async with desk.session.get(desk.url("/api/v1/handoffs")) as answer:
        assert len((await answer.json())["handoffs"]) == 2
    async with desk.session.get(desk.url("/api/v1/stats")) as answer:
        stats = await answer.json()
    assert stats["waiting_total"] == 2
    assert {q["queue"]: q["waiting"] for q in stats["queues"]}["billing"] == 1


async def test_a_trainer_reads_but_cannot_take_conversations(desk) -> None:
    record = await desk.create_handoff("c1")
    csrf = await login(desk.session, desk.url(""), "tina@example.com")
    async with desk.session.get(desk.url(f"/api/v1/handoffs/{record.public_id}")) as answer:
        assert answer.status == 200
    async with desk.session.post(desk.url(f"/api/v1/handoffs/{record.public_id}/claim"),
                                 headers={"X-CSRF-Token": csrf}) as answer:
        assert answer.status == 403


async def test_tokens_act_only_within_their_scopes(desk) -> None:
    record = await desk.create_handoff("c1")
    accounts = AccountStore(desk.app.accounts.engine)
    reader = accounts.create_token(name="dashboard", scopes=["handoffs:read"])
    worker = accounts.create_token(name="crm", scopes=["handoffs:read", "handoffs:claim", "handoffs:reply",
                                                       "handoffs:close"], queues=["general"])
    billing_only = accounts.create_token(name="billing-bot", scopes=["handoffs:read"], queues=["billing"])
    accounts.shutdown()
    async with aiohttp.ClientSession() as client:  # no cookies: bearer tokens only
        as_reader = {"Authorization": f"Bearer {reader}"}
        async with client.get(desk.url("/api/v1/handoffs"), headers=as_reader) as answer:
            assert answer.status == 200 and len((await answer.json())["handoffs"]) == 1
        async with client.post(desk.url(f"/api/v1/handoffs/{record.public_id}/claim"), headers=as_reader) as answer:
            assert answer.status == 403 and "handoffs:claim" in (await answer.json())["error"]
        async with client.get(desk.url(f"/api/v1/handoffs/{record.public_id}"),
                              headers={"Authorization": f"Bearer {billing_only}"}) as answer:
            assert answer.status == 403
        AccountStore(desk.app.accounts.engine).revoke_token("dashboard")
        async with client.get(desk.url("/api/v1/handoffs"), headers=as_reader) as answer:
            assert answer.status == 401
        as_worker = {"Authorization": f"Bearer {worker}"}
        async with client.post(desk.url(f"/api/v1/handoffs/{record.public_id}/claim"), headers=as_worker) as answer:
            assert answer.status == 200
            detail = await answer.json()
        assert detail["handoff"]["state"] == "assigned" and detail["context"]["version"] == 1
        async with client.post(desk.url(f"/api/v1/handoffs/{record.public_id}/messages"), headers=as_worker,
                               json={"text": "hello", "client_key": "k1"}) as answer:
            assert answer.status == 201
            message = (await answer.json())["message"]
        # the customer's channel is not served in this test: the reply shows as failed
        assert message["delivery_state"] == "failed"
        async with client.post(desk.url(f"/api/v1/handoffs/{record.public_id}/close"), headers=as_worker,
                               json={"resolution": "nonsense"}) as answer:
            assert answer.status == 400
        async with client.post(desk.url(f"/api/v1/handoffs/{record.public_id}/close"), headers=as_worker,
                               json={"resolution": "resolved"}) as answer:
            assert answer.status == 200
    final = await desk.app.service.store.get(record.public_id)
    assert final.state.value == "bot"
    assert desk.trackers.appended, "the hand-back was not appended to the tracker"


async def test_two_agents_claim_at_once_one_gets_409(desk) -> None:
    record = await desk.create_handoff("c1")
    accounts = AccountStore(desk.app.accounts.engine)
    tokens = [accounts.create_token(name=f"t{i}", scopes=["handoffs:read", "handoffs:claim"]) for i in range(2)]
    accounts.shutdown()
    async with aiohttp.ClientSession() as client:
        async def claim(token: str) -> int:
            async with client.post(desk.url(f"/api/v1/handoffs/{record.public_id}/claim"),
                                   headers={"Authorization": f"Bearer {token}"}) as answer:
                return answer.status
        statuses = sorted(await asyncio.gather(*(claim(t) for t in tokens)))
    assert statuses == [200, 409]


async def test_reply_needs_ownership_and_notes_stay_internal(desk) -> None:
    record = await desk.create_handoff("c1")
    csrf = await login(desk.session, desk.url(""), "noura@example.com")
    headers = {"X-CSRF-Token": csrf}
    base = desk.url(f"/api/v1/handoffs/{record.public_id}")
    async with desk.session.post(f"{base}/messages", json={"text": "hi"}, headers=headers) as answer:
        assert answer.status == 409
    async with desk.session.post(f"{base}/notes", json={"text": "VIP customer"}, headers=headers) as answer:
        assert answer.status == 201
    async with desk.session.get(base) as answer:
        transcript = (await answer.json())["context"]["transcript"]
    assert [t["role"] for t in transcript][-1] == "note"


async def test_context_packet_carries_intents_entities_and_summary(desk) -> None:
    events = [user_event("طلبي رقم 4821937 ما وصل", entities=[{"entity": "order_number", "value": "4821937",
                                                              "start": 9, "end": 16}]),
              {"event": "bot", "text": "رقم طلبك 4821937 في الطريق", "timestamp": 1.0},
              user_event("أبي أكلم موظف", intent="talk_to_human")]
    record = await desk.create_handoff("c1", events=events)
    await login(desk.session, desk.url(""), "noura@example.com")
    async with desk.session.get(desk.url(f"/api/v1/handoffs/{record.public_id}")) as answer:
        context = (await answer.json())["context"]
    assert context["customer"]["display_name"] == "Customer"
    customer_turns = [t for t in context["transcript"] if t["role"] == "customer"]
    assert customer_turns[0]["intent"] == {"name": "order_status", "confidence": 0.93,
                                           "label": {"en": "order status", "ar": "حالة الطلب"}}
    assert customer_turns[0]["entities"][0]["value"] == "4821937"
    assert len(customer_turns[0]["ranking"]) == 2
    assert context["summary"]["facts"] == {"order_number": "4821937"}
    assert "حالة الطلب" in context["summary"]["ar"] and "order status" in context["summary"]["en"]


async def test_openapi_file_is_served(desk) -> None:
    async with desk.session.get(desk.url("/api/v1/openapi.yaml")) as answer:
        spec = yaml.safe_load(await answer.text())
    assert spec["openapi"].startswith("3.")
    assert {"/handoffs", "/handoffs/{handoff_id}/claim", "/handoffs/{handoff_id}/close"} <= set(spec["paths"])


async def test_live_events_reach_a_subscribed_desk(desk) -> None:
    accounts = AccountStore(desk.app.accounts.engine)
    token = accounts.create_token(name="live", scopes=["handoffs:read"])
    accounts.shutdown()
    async with aiohttp.ClientSession() as client:
        async with client.get(desk.url("/api/v1/events"), headers={"Authorization": f"Bearer {token}"}) as stream:
            assert stream.status == 200
            await stream.content.readline()  # ": connected"
            record = await desk.create_handoff("c-live")
            event = None
            while event is None:
                line = (await asyncio.wait_for(stream.content.readline(), 10)).decode()
                if line.startswith("data: "):
                    event = json.loads(line[6:])
    assert event["type"] == "handoff.created" and event["handoff_id"] == record.public_id


async def test_no_personal_data_is_logged_at_info(desk, caplog) -> None:
    import logging

    caplog.set_level(logging.INFO)
    events = [user_event("رقمي 0501234567 وطلبي 4821937", name="Fatima Al-Secret")]
    record = await desk.create_handoff("971509998877", events=events)
    csrf = await login(desk.session, desk.url(""), "noura@example.com")
    headers = {"X-CSRF-Token": csrf}
    base = desk.url(f"/api/v1/handoffs/{record.public_id}")
    async with desk.session.post(f"{base}/claim", headers=headers) as answer:
        assert answer.status == 200
    async with desk.session.post(f"{base}/messages", json={"text": "private reply text"}, headers=headers) as answer:
        assert answer.status == 201
    async with desk.session.post(f"{base}/close", json={"resolution": "resolved"}, headers=headers) as answer:
        assert answer.status == 200
    logged = printed(caplog.records)  # tracebacks included
    for secret in ("971509998877", "0501234567", "Fatima", "private reply text", "noura@example.com",
                   PASSWORDS["noura@example.com"]):
        assert secret not in logged


async def test_transfer_moves_a_conversation_to_another_queue(desk) -> None:
    record = await desk.create_handoff("c1", language="ar")
    csrf = await login(desk.session, desk.url(""), "noura@example.com")
    headers = {"X-CSRF-Token": csrf}
    base = desk.url(f"/api/v1/handoffs/{record.public_id}")
    async with desk.session.post(f"{base}/transfer", json={"queue": "billing"}, headers=headers) as answer:
        assert answer.status == 403  # not hers yet
    async with desk.session.post(f"{base}/claim", headers=headers) as answer:
        assert answer.status == 200
    async with desk.session.post(f"{base}/transfer", json={"queue": "nowhere"}, headers=headers) as answer:
        assert answer.status == 400
    async with desk.session.post(f"{base}/transfer", json={"queue": "billing"}, headers=headers) as answer:
        moved = (await answer.json())["handoff"]
    assert moved["state"] == "queued" and moved["queue"] == "billing"
    async with desk.session.get(base) as answer:
        assert answer.status == 403  # Noura does not serve billing


async def test_the_csrf_token_of_a_form_and_what_each_refusal_says(desk) -> None:
    """The sign-out button is a form: its ``csrf_token`` field counts, a valid header wins over a
    wrong field, a navigation the browser marks ``Sec-Fetch-Site: none`` is not cross-site, and
    every refusal says why (the desk shows these texts)."""
    logout = desk.url("/logout")
    await login(desk.session, desk.url(""), "noura@example.com")
    async with desk.session.post(logout, data={"csrf_token": "wrong"}, allow_redirects=False) as answer:
        assert answer.status == 403 and await answer.text() == "missing or invalid CSRF token"
    async with desk.session.get(desk.url("/api/v1/handoffs"), headers={"Origin": "https://evil.example"}) as answer:
        assert answer.status == 403 and (await answer.json())["error"] == "the desk API cannot be read from another site"
    csrf = await login(desk.session, desk.url(""), "noura@example.com")
    async with desk.session.post(logout, data={"csrf_token": "wrong"}, headers={"X-CSRF-Token": csrf},
                                 allow_redirects=False) as answer:
        assert answer.status == 303
    async with desk.session.get(desk.url("/api/v1/handoffs")) as answer:
        assert answer.status == 401 and (await answer.json())["error"] == "sign in first"

    csrf = await login(desk.session, desk.url(""), "noura@example.com")
    async with desk.session.post(logout, data={"csrf_token": csrf}, headers={"Sec-Fetch-Site": "none"},
                                 allow_redirects=False) as answer:
        assert answer.status == 303
    async with desk.session.get(desk.url("/api/v1/handoffs")) as answer:
        assert answer.status == 401, "the form's token did not sign the agent out"
    async with desk.session.get(desk.url("/api/v1/handoffs"),
                                headers={"Authorization": "Bearer mjl_not-a-token"}) as answer:
        assert answer.status == 401 and (await answer.json())["error"] == "invalid or revoked token"
