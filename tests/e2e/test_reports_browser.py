"""A known history through the real channels, then every report figure (in Chromium) and
every Prometheus series checked against it.

The trained model answers on WhatsApp Cloud (fake Graph API) and Twilio WhatsApp (fake
Twilio API), served by Rasa's ``configure_app`` with Majlis' fixes (as ``./majlis start``
does, so ``/metrics`` is the real one).  History: two bot-only conversations (English and
Arabic), one bot-only conversation whose first reply fails at the provider (131026), an
English bot-only conversation the customer ends with thanks and rates 4 when the bot asks,
an Arabic handoff on WhatsApp and an English handoff on Twilio, both claimed, answered and
closed by agents through the desk API, and rated 5 and 3 by the customers, and an Arabic
handoff on WhatsApp whose customer fell silent for 25 hours before the agent answered (the
stored window is moved back, as the clock cannot be): the reply is not sent, the
conversation is lost to the expired window.

Expected values come from the history itself and from what the stores recorded (the
NLU's intent, language and dialect of each first message, handoff and claim times),
never from the report code.
"""
from __future__ import annotations

import asyncio
import csv
import io
import json
import math
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import sqlalchemy as sa
from playwright.async_api import async_playwright

from bot.agent_desk.accounts import AccountStore
from bot.delivery import DeliveryStore
from bot.reports.builder import tracker_events
from bot.reports.service import tracker_engine_of
from bot.reports.tables import create_report_tables, report_cursor
from bot.storage import create_engine, migrate
from bot.storage.schema import contact_window, handoff, handoff_event, handoff_message, outbox
from bot.agent_desk.channel import AgentDeskInput
from channels.twilio.channel import TwilioWhatsAppInput
from channels.whatsapp_cloud.channel import WhatsAppCloudInput
from tests.bot.agent_desk.conftest import PASSWORDS, login
from tests.bot.metrics.scrape import changed, scrape, value
from tests.channels import test_twilio_whatsapp_harness as twilio_harness
from tests.channels.whatsapp_harness import APP_SECRET, PHONE_NUMBER_ID, WEBHOOK_PATH, settings
from tests.e2e.browser import launch, sign_in
from tests.e2e.handoff_harness import DESK, artifact, handoff_settings
from tests.fakes.fake_customer import FakeCustomer
from tests.fakes.fake_graph import FakeGraph, fake_graph  # noqa: F401  (fixture)
from tests.fakes.fake_twilio import FakeTwilio, fake_twilio  # noqa: F401  (fixture)
from tests.rasa_server_app import served_rasa_app

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
RATING_QUESTION_EN = handoff_settings().messages["rating_request"].get("en")

ZONE = ZoneInfo("Asia/Dubai")
WA = {"bot_en": "971502220001", "bot_ar": "971502220002", "failed": "971502220003", "handoff_ar": "971502220004",
      "rated": "971502220006", "window": "971502220007"}
TWILIO_CUSTOMER = "+971502220005"
SENDERS = [f"whatsapp_cloud:{n}" for n in WA.values()] + [f"twilio_whatsapp:{TWILIO_CUSTOMER}"]
HANDOFF_AR, RATED, WINDOW, HANDOFF_EN = SENDERS[3], SENDERS[4], SENDERS[5], SENDERS[6]


def accounts(engine) -> None:
    store = AccountStore(engine)
    for email, role, languages in (("noura@example.com", "agent", ["ar"]), ("john@example.com", "agent", ["en"]),
                                   ("sup@example.com", "supervisor", ["ar", "en"]),
                                   ("tina@example.com", "trainer", ["ar", "en"])):
        store.create_agent(email=email, password=PASSWORDS[email], role=role, languages=languages, queues=["*"],
                           display_name=email.split("@")[0].title())
    store.shutdown()


def start_reports_now(engine, tracker_engine) -> None:
    """The session's tracker database holds other tests' conversations: report from here on."""
    create_report_tables(engine)
    with tracker_engine.connect() as conn:
        newest = conn.execute(sa.select(sa.func.max(tracker_events.c.id))).scalar() or 0
    with engine.begin() as conn:
        conn.execute(report_cursor.insert().values(name="tracker_events", position=newest,
                                                   updated_at=datetime.utcnow()))


def rounded_seconds(value: float) -> str:
    return f"{math.floor(value + 0.5)} s"  # as the page's Math.round


def percent(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f}%"


def nearest_rank(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


async def table(page, table_id: str) -> Dict[str, List[str]]:
    """A report table as {row key: [cells after the key]}."""
    rows = await page.locator(f"#{table_id} tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.children].map(td => td.textContent))")
    return {row[0]: row[1:] for row in rows}


async def test_report_page_and_metrics_match_a_known_history(majlis_agent, fake_graph: FakeGraph,  # noqa: F811
                                                             fake_twilio: FakeTwilio, tmp_path,  # noqa: F811
                                                             monkeypatch) -> None:
    monkeypatch.setenv("MAJLIS_REPORT_SETTLE_SECONDS", "0")  # fold the turns the test just made
    monkeypatch.setenv("MAJLIS_REPORT_TZ", "Asia/Dubai")
    monkeypatch.delenv("MAJLIS_METRICS_TOKEN", raising=False)
    fake_twilio.account_sid, fake_twilio.auth_token = twilio_harness.ACCOUNT_SID, twilio_harness.AUTH_TOKEN
    engine = create_engine(f"sqlite:///{tmp_path / 'majlis.sqlite'}")
    migrate(engine)
    accounts(engine)
    tracker_engine = tracker_engine_of(majlis_agent)
    assert tracker_engine is not None
    start_reports_now(engine, tracker_engine)

    whatsapp = WhatsAppCloudInput(settings(fake_graph.url), store=DeliveryStore(engine))
    twilio = TwilioWhatsAppInput(twilio_harness.settings(TWILIO_API_URL=fake_twilio.base_url),
                                 store=DeliveryStore(engine), retry=twilio_harness.FAST_RETRY)
    desk_channel = AgentDeskInput(handoff_settings(), engine=engine, cookie_secure=False)
    posts = Counter()

    async with served_rasa_app([whatsapp, twilio, desk_channel], majlis_agent) as port:
        base = f"http://127.0.0.1:{port}"

        async def settle() -> None:
            for _ in range(2):
                await whatsapp.delivery.drain(timeout=120)
                await twilio.delivery.drain(timeout=120)
                await desk_channel.desk.service.flush_events()
                await asyncio.sleep(0.2)

        async with aiohttp.ClientSession() as plain:
            running_twilio = twilio_harness.RunningChannel(channel=twilio, base_url=base, session=plain)

            async def wa_say(key: str, text: str) -> None:
                customer = FakeCustomer(f"{base}{WEBHOOK_PATH}", APP_SECRET, PHONE_NUMBER_ID, WA[key])
                status, _ = await customer.say(text)
                assert status == 200
                posts["whatsapp_cloud"] += 1
                await settle()

            async def twilio_say(text: str) -> None:
                sid = f"SM{posts['twilio_whatsapp']:032d}"
                status, _, _ = await running_twilio.post_signed(
                    twilio_harness.inbound_body(sid=sid, body=text, customer=TWILIO_CUSTOMER))
                assert status == 200
                posts["twilio_whatsapp"] += 1
                await settle()

            before = await scrape(f"{base}/metrics")
            await wa_say("bot_en", "Hello, how much is my bill this month?")
            await wa_say("bot_ar", "مرحبا، أبي أعرف فاتورتي")
            fake_graph.fail("131026")  # the next send fails for good: undeliverable
            await wa_say("failed", "السلام عليكم")
            await wa_say("handoff_ar", "أبي أكلم موظف لو سمحت")
            await twilio_say("I want to talk to a human agent please")
            # served by the bot alone, ended with thanks: the bot asks for a rating once, in English
            await wa_say("rated", "how do I get an esim?")
            await wa_say("rated", "thank you so much")
            asked = [m.json["interactive"] for m in fake_graph.messages() if m.json.get("to") == WA["rated"]
                     and m.json.get("type") == "interactive" and m.json["interactive"]["body"]["text"] == RATING_QUESTION_EN]
            assert len(asked) == 1, [m.json for m in fake_graph.messages() if m.json.get("to") == WA["rated"]]
            assert [row["id"] for section in asked[0]["action"]["sections"] for row in section["rows"]] == [
                "5", "4", "3", "2", "1"]
            await wa_say("rated", "4")
            await wa_say("window", "أبي أكلم موظف ضروري")
            with engine.begin() as conn:  # the customer has been silent for 25 hours since
                stored = conn.execute(sa.select(contact_window).where(
                    contact_window.c.channel == "whatsapp_cloud", contact_window.c.customer.in_(
                        [WA["window"], WINDOW]))).one()
                conn.execute(contact_window.update().where(
                    contact_window.c.channel == stored.channel, contact_window.c.account == stored.account,
                    contact_window.c.customer == stored.customer).values(
                    last_inbound_at=stored.last_inbound_at - timedelta(hours=25)))

            with engine.connect() as conn:
                opened = {row.customer: row for row in conn.execute(sa.select(handoff))}
            assert set(opened) == {HANDOFF_AR, HANDOFF_EN, WINDOW}, "three customers should be waiting for a person"
            waiting = await scrape(f"{base}/metrics")

            for email, sender, text in (("noura@example.com", HANDOFF_AR, "هلا، معك نورة. كيف أقدر أساعدك؟"),
                                        ("john@example.com", HANDOFF_EN, "Hi, John here. How can I help?"),
                                        ("noura@example.com", WINDOW, "هلا، معك نورة. آسفين على التأخير")):
                async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as agent_session:
                    csrf = await login(agent_session, f"{base}{DESK}", email)
                    api = f"{base}{DESK}/api/v1/handoffs/{opened[sender].public_id}"
                    for path, body in (("/claim", None), ("/messages", {"text": text}),
                                       ("/close", {"resolution": "resolved"})):
                        async with agent_session.post(api + path, json=body, headers={"X-CSRF-Token": csrf}) as answer:
                            assert answer.status in (200, 201), (path, await answer.text())
                        await settle()
            await wa_say("handoff_ar", "5")
            await twilio_say("3")

            with engine.connect() as conn:
                handoffs = {row.customer: row for row in conn.execute(sa.select(handoff))}
                claims = dict(conn.execute(sa.select(handoff_event.c.handoff_id, handoff_event.c.created_at).where(
                    handoff_event.c.type == "handoff.claimed")).all())
                replies = dict(conn.execute(sa.select(handoff_message.c.handoff_id, handoff_message.c.created_at).where(
                    handoff_message.c.kind == "agent")).all())
                sent = Counter((row.channel, row.kind) for row in conn.execute(
                    sa.select(outbox.c.channel, outbox.c.kind).where(outbox.c.state == "sent")))
                skipped = Counter(row.channel for row in conn.execute(
                    sa.select(outbox.c.channel, outbox.c.customer).where(outbox.c.state == "skipped")))
                skipped_to = {row.customer for row in conn.execute(
                    sa.select(outbox.c.customer).where(outbox.c.state == "skipped"))}
                templates = Counter(row.channel for row in conn.execute(
                    sa.select(outbox.c.channel).where(outbox.c.kind == "template")))
                failed = Counter((row.channel, str(row.error_code)) for row in conn.execute(
                    sa.select(outbox.c.channel, outbox.c.error_code).where(outbox.c.state == "failed")))
            assert [handoffs[s].rating for s in (HANDOFF_AR, HANDOFF_EN, WINDOW)] == [5, 3, None], \
                "the ratings were not stored"
            assert failed == {("whatsapp_cloud", "131026"): 1}
            assert skipped_to == {WA["window"]} and skipped["whatsapp_cloud"] >= 1, "the late reply should be skipped"
            assert WA["window"] not in {m.json.get("to") for m in fake_graph.messages()
                                        if m.json.get("type") == "text" and "نورة" in m.json["text"]["body"]}
            with tracker_engine.connect() as conn:
                user_events = [(row.sender_id, json.loads(row.data)) for row in conn.execute(
                    sa.select(tracker_events.c.sender_id, tracker_events.c.data).where(
                        tracker_events.c.sender_id.in_(SENDERS), tracker_events.c.type_name == "user").order_by(
                        tracker_events.c.id))]
            after = await scrape(f"{base}/metrics")

            # -- Prometheus: every majlis_* counter and histogram count that moved, and by how much
            first: Dict[str, Dict[str, Any]] = {}
            nlu = Counter()
            for sender, event in user_events:
                first.setdefault(sender, event)
                language = event["parse_data"].get("language") or {}
                nlu[(language.get("code"), language.get("form"))] += 1
            fallbacks = Counter((e["parse_data"]["language"]["code"], e["parse_data"]["language"]["form"])
                                for _s, e in user_events if e["parse_data"]["intent"]["name"] == "nlu_fallback")
            turns = Counter(e["input_channel"] for _s, e in user_events)
            expected = {}
            for channel, count in posts.items():
                expected[("majlis_webhooks_received_total", frozenset({("channel", channel)}))] = count
                expected[("majlis_webhooks_acknowledged_total",
                          frozenset({("channel", channel), ("status", "2xx")}))] = count
                expected[("majlis_webhook_ack_seconds_count", frozenset({("channel", channel)}))] = count
            for channel, count in turns.items():
                expected[("majlis_turn_seconds_count", frozenset({("channel", channel)}))] = count
            for (language, form), count in nlu.items():
                expected[("majlis_nlu_confidence_count", frozenset({("language", language), ("form", form)}))] = count
            for (language, form), count in fallbacks.items():
                expected[("majlis_nlu_fallbacks_total", frozenset({("language", language), ("form", form)}))] = count
            for labels, count in Counter(frozenset({("reason", r.reason), ("channel", r.channel), ("language", r.language)})
                                         for r in handoffs.values()).items():
                expected[("majlis_handoffs_created_total", labels)] = count
            for name in ("majlis_handoff_time_to_claim_seconds_count", "majlis_handoff_first_response_seconds_count",
                         "majlis_handoff_handling_seconds_count"):
                for queue, count in Counter(r.queue for r in handoffs.values()).items():
                    expected[(name, frozenset({("queue", queue)}))] = count
            for (channel, kind), count in sent.items():
                expected[("majlis_messages_sent_total", frozenset({("channel", channel), ("kind", kind)}))] = count
            expected[("majlis_messages_failed_total",
                      frozenset({("channel", "whatsapp_cloud"), ("error_code", "131026")}))] = 1
            for channel, count in skipped.items():
                expected[("majlis_window_expiries_total", frozenset({("channel", channel)}))] = count
            for channel, count in templates.items():
                expected[("majlis_template_fallbacks_total", frozenset({("channel", channel)}))] = count
            for handled_by, rating in (("agent", 5), ("agent", 3), ("bot-only", 4)):
                expected[("majlis_ratings_total", frozenset({("handled_by", handled_by), ("rating", str(rating))}))] = 1
            moved = {key: delta for key, delta in changed(before, after, "majlis_").items()
                     if key[0].endswith(("_total", "_count"))}
            assert moved == expected
            queues = {r.queue for r in handoffs.values()}
            assert sum(value(waiting, "majlis_handoff_queue_length", queue=q) for q in queues) == 3
            assert all(value(after, "majlis_handoff_queue_length", queue=q) == 0 for q in queues)

            # -- who may read the reports
            for email, status in (("noura@example.com", 403), ("tina@example.com", 200)):
                async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
                    await login(other, f"{base}{DESK}", email)
                    async with other.get(f"{base}{DESK}/reports") as answer:
                        assert answer.status == status, email
                    async with other.get(f"{base}{DESK}/api/v1/reports") as answer:
                        assert answer.status == status, email

        # -- what the report must show, from the history and the stored facts
        conversations = len(SENDERS)
        handed = {HANDOFF_AR, HANDOFF_EN, WINDOW}
        dims = {"intent": lambda e: e["parse_data"]["intent"]["name"],
                "language": lambda e: e["parse_data"]["language"]["code"],
                "form": lambda e: e["parse_data"]["language"]["form"],
                "dialect": lambda e: (e["parse_data"]["language"].get("dialect") or {}).get("region") or "none",
                "channel": lambda e: e["input_channel"],
                "source": lambda _e: "direct"}
        waits = [(claims[handoffs[s].id] - handoffs[s].created_at).total_seconds() for s in handed]
        firsts = [(replies[handoffs[s].id] - handoffs[s].created_at).total_seconds() for s in handed]
        handling = [(handoffs[s].closed_at - claims[handoffs[s].id]).total_seconds() for s in handed]
        hours = Counter(datetime.fromtimestamp(first[s]["timestamp"], tz=timezone.utc).astimezone(ZONE).hour
                        for s in SENDERS)

        async with async_playwright() as playwright:
            browser = await launch(playwright)
            page = await browser.new_page(viewport={"width": 1300, "height": 900})
            problems: List[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
            try:
                await sign_in(page, base, "sup@example.com", PASSWORDS["sup@example.com"])
                await page.goto(f"{base}{DESK}/reports")
                await page.wait_for_selector("body[data-loaded]", timeout=30000)
                summary = await table(page, "t-summary")
                assert summary == {
                    "Conversations": [str(conversations)], "Bot only (contained)": ["4"],
                    "Containment": [percent(4, conversations)], "Handed off": ["3"],
                    "Handoff rate": [percent(3, conversations)], "Lost to an expired window": ["1"],
                    "Customer messages": [str(len(user_events))]}
                assert await table(page, "t-csat") == {"Bot only": ["4.00", "1"], "Agent handled": ["4.00", "2"]}
                assert await table(page, "t-times") == {
                    "Time to agent": [rounded_seconds(nearest_rank(waits, .5)), rounded_seconds(nearest_rank(waits, .9)), "3"],
                    "First agent response": [rounded_seconds(nearest_rank(firsts, .5)),
                                             rounded_seconds(nearest_rank(firsts, .9)), "3"],
                    "Handling time": [rounded_seconds(nearest_rank(handling, .5)),
                                      rounded_seconds(nearest_rank(handling, .9)), "3"]}
                assert await table(page, "t-reasons") == {
                    reason: [str(n)] for reason, n in Counter(handoffs[s].reason for s in handed).items()}
                for name, of in dims.items():
                    groups: Dict[str, List[int]] = {}
                    for sender in SENDERS:
                        group = groups.setdefault(str(of(first[sender])), [0, 0])
                        group[0] += 1
                        group[1] += sender in handed
                    assert await table(page, f"t-by-{name}") == {
                        key: [str(n), str(h), percent(h, n)] for key, (n, h) in groups.items()}, name
                assert await table(page, "t-hours") == {f"{h:02d}:00": [str(hours.get(h, 0))] for h in range(24)}
                today = datetime.now(ZONE).date().isoformat()
                assert await table(page, "t-days") == {today: [str(conversations), "3"]}
                # every figure is also a chart: a drawn canvas per section
                drawn = await page.locator("section.report-block canvas").evaluate_all(
                    "cs => cs.map(c => !!Chart.getChart(c) && c.width > 0)")
                assert drawn and all(drawn), drawn
                await page.screenshot(path=str(artifact("report-page.png", "reports")), full_page=True)

                # a filter narrows every figure: Arabic only
                await page.select_option("select[name=language]", "ar")
                await page.click("#apply")
                await page.wait_for_selector('body[data-loaded*="ar"]')
                arabic = [s for s in SENDERS if first[s]["parse_data"]["language"]["code"] == "ar"]
                assert (await table(page, "t-summary"))["Conversations"] == [str(len(arabic))]
                assert (await table(page, "t-summary"))["Handed off"] == [str(len(set(arabic) & handed))]
                assert (await table(page, "t-summary"))["Lost to an expired window"] == [str(int(WINDOW in arabic))]
                csv_url = await page.locator("#csv").get_attribute("href")
                assert problems == []
            finally:
                await browser.close()

        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as sup:
            await login(sup, f"{base}{DESK}", "sup@example.com")
            async with sup.get(f"http://127.0.0.1:{port}{csv_url}") as answer:
                assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/csv")
                lines = list(csv.reader(io.StringIO(await answer.text())))
        assert ["summary", "", "conversations", str(len(arabic))] in lines
        assert ["csat", "agent", "average", "5.0"] in lines and ["csat", "agent", "count", "1"] in lines
    engine.dispose()
