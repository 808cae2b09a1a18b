"""In headless Chromium, against the trained model: a WhatsApp voice note and photo reach the agent desk
through its media proxy, and an agent's photo reaches the customer on WhatsApp.

The customer writes in Arabic, sends a voice note (the bot says in Arabic it cannot listen to
voice notes and offers a person), asks for a person, then sends a photo.  The inbound shapes are
pywa's recorded ``message__voice.json`` / ``message__image.json`` (tests/fixtures/whatsapp, see
SOURCES.md) with fresh ids; the bytes are a real PNG and a real Ogg/Opus file built by
tests/fakes/media_samples.py and served by the fake Graph API behind those media ids.
"""
from __future__ import annotations

import base64

import pytest
from playwright.async_api import async_playwright, expect

from bot.agent_desk.accounts import AccountStore
from bot.storage import create_engine, migrate
from tests.conftest import free_port
from tests.e2e.browser import launch, sign_in, wait_until
from tests.e2e.handoff_harness import artifact, served_majlis
from tests.e2e.test_messages_without_text import Customer, button_titles, recorded, text_of
from tests.fakes.fake_graph import FakeGraph, fake_graph  # noqa: F401  (fixture)
from tests.fakes.media_samples import ogg_opus_voice_note, png

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CUSTOMER = "971501230077"
PASSWORD = "huda-desk-pass-1"
TOKEN = "token-brand-a"  # the number's Graph token (tests/channels/whatsapp_harness.py): never in the page
PHOTO, VOICE, SENT = png(16, 12), ogg_opus_voice_note(1.0), png(10, 10, (20, 120, 60))

FETCH = """async (src) => {
  const answer = await fetch(src, { credentials: "same-origin" });
  const bytes = new Uint8Array(await answer.arrayBuffer());
  return { status: answer.status, type: answer.headers.get("Content-Type"), size: bytes.length,
           head: String.fromCharCode(...bytes.slice(0, 4)) };
}"""


async def test_a_voice_note_and_a_photo_play_in_the_desk_and_an_agent_sends_a_photo(
        majlis_agent, fake_graph: FakeGraph, tmp_path, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("MAJLIS_DESK_MEDIA_DIR", str(tmp_path / "desk-media"))
    fake_graph.add_media("wa-voice-e2e", VOICE, "audio/ogg")
    fake_graph.add_media("wa-photo-e2e", PHOTO, "image/png")
    engine = create_engine(f"sqlite:///{tmp_path / 'majlis.sqlite'}")
    migrate(engine)
    accounts = AccountStore(engine)
    accounts.create_agent(email="huda@example.com", password=PASSWORD, role="agent", languages=["ar"],
                          queues=["general", "billing", "orders", "complaints"], display_name="Huda")
    accounts.shutdown()
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        page = await browser.new_page(viewport={"width": 1400, "height": 900}, locale="ar")
        problems: list = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        try:
            async with served_majlis(majlis_agent, engine, fake_graph.url, free_port()) as majlis:
                customer = Customer(majlis, fake_graph, CUSTOMER)
                assert await customer.say("السلام عليكم")
                [voice_answer] = await customer.send(recorded(
                    "message__voice.json", CUSTOMER,
                    audio={"id": "wa-voice-e2e", "mime_type": "audio/ogg; codecs=opus", "voice": True}))
                assert "ما أقدر أسمع الرسائل الصوتية" in text_of(voice_answer)
                assert "أكلم موظف" in button_titles(voice_answer)
                await customer.say("أبي أكلم موظف")
                await customer.send(recorded("message__image.json", CUSTOMER,
                                             image={"id": "wa-photo-e2e", "mime_type": "image/png"}))
                assert fake_graph.media_calls() == []  # nothing is fetched before an agent looks

                await sign_in(page, majlis.base_url, "huda@example.com", PASSWORD)
                await page.locator("#queue-list li").first.click()
                await page.click("#claim")
                await expect(page.locator("#ctx-state")).to_contain_text("assigned")

                # The photo is drawn from the proxy (a real image: it has a width).
                image = page.locator("#transcript img.media-image")
                await expect(image).to_have_count(1, timeout=15000)
                await page.wait_for_function(
                    "() => { const i = document.querySelector('#transcript img.media-image');"
                    " return i && i.complete && i.naturalWidth > 0; }")
                assert await image.evaluate("(i) => [i.naturalWidth, i.naturalHeight]") == [16, 12]
                # The voice note is a player in the transcript and on the context card, fed by the proxy.
                audio = page.locator("#transcript audio.voice-note")
                await expect(audio).to_have_count(1)
                await expect(page.locator("#ctx-media audio.voice-note")).to_have_count(1)
                src = await audio.evaluate("(a) => a.src")
                assert src.startswith(f"{majlis.base_url}/webhooks/agent_desk/api/v1/media/")
                fetched = await page.evaluate(FETCH, src)
                assert fetched == {"status": 200, "type": "audio/ogg", "size": len(VOICE), "head": "OggS"}
                duration = await audio.evaluate(
                    "(a) => new Promise((done) => { if (a.readyState >= 1) done(a.duration);"
                    " a.addEventListener('loadedmetadata', () => done(a.duration)); a.load(); })")
                assert 0.9 <= duration <= 1.1  # Chromium decoded the Ogg/Opus file: it plays
                html = await page.content()
                assert TOKEN not in html and fake_graph.base_url not in html and "wa-voice-e2e" not in html
                await page.screenshot(path=str(artifact("media-in-desk.png")), full_page=True)

                # The agent sends a photo: uploaded to Graph, then sent to the customer by its id.
                await page.set_input_files("#attach-file", files=[
                    {"name": "receipt.png", "mimeType": "image/png", "buffer": SENT}])
                await page.fill("#reply-text", "هذا الإيصال")
                await page.click("#attach-send")
                await wait_until(lambda: any(r.json.get("type") == "image" for r in fake_graph.messages()),
                                 what="the photo reaching the fake Graph API")
                [upload] = fake_graph.uploads
                assert upload["data"] == SENT and upload["type"] == "image/png"
                [sent] = [r.json for r in fake_graph.messages() if r.json.get("type") == "image"]
                assert sent["to"] == CUSTOMER and sent["image"] == {"id": upload["id"], "caption": "هذا الإيصال"}
                await expect(page.locator("#transcript .turn-agent img.media-image")).to_have_count(1)
                assert not [p for p in problems if "Content Security Policy" in p], problems
                assert base64.b64encode(SENT).decode() not in await page.content()
        finally:
            await browser.close()
