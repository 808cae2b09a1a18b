"""Entry links (Snapchat and other campaigns): refs, links, QR codes, the CLI, the per-conversation record."""
from __future__ import annotations

import io
import sys
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from bot.entry_links import (
    EntryLinksConfig, EntrySource, EntrySourceStore, from_metadata, from_query, instagram_link, main, make_ref,
    parse_ref, qr_code, split_ref, webchat_link, whatsapp_link,
)
from bot.storage import create_engine

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
CONFIG = """
whatsapp_number: "+971 50 123 4567"
webchat_url: https://care.example.com/webhooks/webchat/
instagram_username: "@majlis_care"
campaigns:
  snap-ramadan:
    source: snapchat
    campaign: ramadan
    prefill: "مرحبا، عندي سؤال"
"""


def test_refs_round_trip_and_reject_odd_characters() -> None:
    assert make_ref("snapchat", "ramadan") == "snap-ramadan"
    assert make_ref("tiktok") == "tt"
    assert parse_ref("snap-ramadan") == EntrySource(ref="snap-ramadan", source="snapchat", campaign="ramadan")
    assert parse_ref("billboard-dxb-2026") == EntrySource(ref="billboard-dxb-2026", source="billboard",
                                                           campaign="dxb-2026")
    assert parse_ref("<script>") is None and parse_ref("") is None
    with pytest.raises(ValueError):
        make_ref("snap chat", "x")


def test_split_ref_from_a_first_whatsapp_text() -> None:
    text, source = split_ref("مرحبا، عندي سؤال [ref:snap-ramadan]")
    assert text == "مرحبا، عندي سؤال"
    assert source == EntrySource(ref="snap-ramadan", source="snapchat", campaign="ramadan")
    assert split_ref("[REF:snap-eid] hi") == ("hi", EntrySource(ref="snap-eid", source="snapchat", campaign="eid"))
    assert split_ref("no ref here") == ("no ref here", None)
    assert split_ref("[ref:bad ref]")[1] is None


def test_webchat_query_and_client_metadata() -> None:
    assert from_query({"src": "snapchat", "campaign": "ramadan"}) == EntrySource(
        ref="snap-ramadan", source="snapchat", campaign="ramadan")
    assert from_query({"ref": "snap-eid"}) == EntrySource(ref="snap-eid", source="snapchat", campaign="eid")
    assert from_query({"src": "<b>"}) is None and from_query({}) is None
    assert from_metadata({"source": "snapchat", "campaign": "x y"}) == EntrySource(ref="snap", source="snapchat")
    assert from_metadata("snapchat") is None


def test_links() -> None:
    link = whatsapp_link("+971 50 123 4567", "snap-ramadan", "مرحبا")
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "wa.me", "/971501234567")
    assert parse_qs(parts.query)["text"] == ["مرحبا [ref:snap-ramadan]"]
    assert split_ref(unquote(parts.query[len("text="):]))[1].ref == "snap-ramadan"
    assert webchat_link("https://care.example.com/webhooks/webchat/?lang=en", "snapchat", "ramadan") == (
        "https://care.example.com/webhooks/webchat/?lang=en&src=snapchat&campaign=ramadan")
    assert instagram_link("@majlis_care", "snap-ramadan") == "https://ig.me/m/majlis_care?ref=snap-ramadan"
    with pytest.raises(ValueError):
        whatsapp_link("call us", "snap")


def test_qr_codes_are_real_png_and_svg() -> None:
    url = "https://wa.me/971501234567?text=%5Bref%3Asnap-ramadan%5D"
    png = qr_code(url, "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 200
    svg = qr_code(url, "svg").decode()
    assert svg.startswith("<?xml") and "<svg" in svg
    with pytest.raises(ValueError):
        qr_code(url, "gif")


def test_cli_list_and_link_with_qr(tmp_path, monkeypatch, capsys) -> None:
    config = tmp_path / "entry_links.yml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert main(["--config", str(config), "list"]) == 0
    listing = sys.stdout.getvalue().splitlines()
    assert [line.split("\t")[1] for line in listing] == ["whatsapp", "webchat", "instagram"]
    assert "src=snapchat&campaign=ramadan" in listing[1]
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    qr = tmp_path / "snap.svg"
    assert main(["--config", str(config), "link", "snap-ramadan", "--channel", "whatsapp", "--qr", str(qr)]) == 0
    out = sys.stdout.getvalue().splitlines()
    assert out[0].startswith("https://wa.me/971501234567?text=") and "%5Bref%3Asnap-ramadan%5D" in out[0]
    assert qr.read_text().startswith("<?xml")
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert main(["link", "snap-eid", "--channel", "webchat", "--webchat-url", "https://x.example/chat"]) == 0
    assert sys.stdout.getvalue().strip() == "https://x.example/chat?src=snapchat&campaign=eid"
    assert main(["link", "snap-eid", "--channel", "instagram"]) == 2  # no username configured
    assert "no instagram target" in capsys.readouterr().err
    assert EntryLinksConfig.from_file(str(config)).campaigns["snap-ramadan"].ref == "snap-ramadan"


async def test_store_keeps_the_first_source_per_conversation() -> None:
    store = EntrySourceStore(create_engine("sqlite://"))
    first = EntrySource(ref="snap-ramadan", source="snapchat", campaign="ramadan")
    assert await store.record("whatsapp_cloud", "971501234567", first, T0)
    assert not await store.record("whatsapp_cloud", "971501234567", parse_ref("tt-eid"), T0 + timedelta(days=1))
    assert await store.get("whatsapp_cloud", "971501234567") == (first, T0)
    assert await store.get("webchat", "971501234567") is None
