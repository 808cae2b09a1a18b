"""Each channel's side of the desk's media proxy: Twilio's ``MediaUrl`` with Basic auth, Instagram's
CDN URL, and the URLs they refuse to send credentials to or to fetch at all."""
from __future__ import annotations

import pytest

from bot.errors import MediaTooLarge, MediaUnavailable, ProviderAPIError
from channels.instagram.channel import _meta_media_url
from tests.channels.test_twilio_whatsapp_harness import make_channel, settings
from tests.fakes.fake_twilio import FakeTwilio, fake_twilio  # noqa: F401  (fixture)
from tests.fakes.media_samples import ogg_opus_voice_note, png

VOICE = ogg_opus_voice_note(0.5)


async def test_twilio_media_is_fetched_with_basic_auth_from_twilio_only(fake_twilio: FakeTwilio) -> None:  # noqa: F811
    fake_twilio.media["ME1"] = (VOICE, "audio/ogg")
    channel = make_channel(settings(TWILIO_API_URL=fake_twilio.base_url, TWILIO_ACCOUNT_SID=fake_twilio.account_sid,
                                    TWILIO_AUTH_TOKEN=fake_twilio.auth_token))
    await channel.open()
    try:
        item = {"url": fake_twilio.media_url("ME1"), "mime_type": "audio/ogg"}
        media = await channel.fetch_media("whatsapp:+14123456789", item, max_bytes=1 << 20)
        assert (media.data, media.content_type) == (VOICE, "audio/ogg")
        assert fake_twilio.media_downloads == [(fake_twilio.account_sid, fake_twilio.auth_token)]
        with pytest.raises(MediaTooLarge):
            await channel.fetch_media(None, item, max_bytes=100)
        with pytest.raises(ProviderAPIError) as missing:
            await channel.fetch_media(None, {"url": fake_twilio.media_url("ME404")}, max_bytes=1 << 20)
        assert missing.value.code == 404
        for elsewhere in (f"{fake_twilio.base_url}/2010-04-01/Media/ME1", "https://api.twilio.com.evil.example/x",
                          "http://api.twilio.com/2010-04-01/Media/ME1", None):
            with pytest.raises(MediaUnavailable):
                await channel.fetch_media(None, {"url": elsewhere}, max_bytes=1 << 20)
        assert len(fake_twilio.media_downloads) == 3  # the refused URLs were never requested
    finally:
        await channel.close()


@pytest.mark.parametrize("url, fetched", [
    ("https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1", True),
    ("https://scontent-ams2-1.cdninstagram.com/v/t51/photo.jpg", True),
    ("https://video.xx.fbcdn.net/v/clip.mp4", True),
    ("http://scontent.cdninstagram.com/x.jpg", False),
    ("https://cdninstagram.com.attacker.example/x.jpg", False),
    ("https://user:pw@lookaside.fbsbx.com/x", False),
    ("http://127.0.0.1:4020/_fake/media/1", True),   # the configured Graph URL's origin (the fake, in tests)
    ("http://127.0.0.1:4021/_fake/media/1", False),
])
def test_instagram_fetches_only_meta_media_hosts(url: str, fetched: bool) -> None:
    assert _meta_media_url(url, "http://127.0.0.1:4020/v21.0") is fetched


def test_the_samples_are_what_they_claim() -> None:
    photo = png(3, 2)
    assert photo.startswith(b"\x89PNG\r\n\x1a\n") and photo[16:24] == b"\0\0\0\x03\0\0\0\x02"
    assert VOICE.startswith(b"OggS") and b"OpusHead" in VOICE and b"OpusTags" in VOICE
