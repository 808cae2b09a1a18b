"""channels/whatsapp_cloud/settings.py: numbers and tokens from env and credentials.yml."""
from __future__ import annotations

import json

import pytest
from rasa.shared.exceptions import RasaException

from bot.config import Config, ConfigError
from channels.whatsapp_cloud.settings import Template, WhatsAppSettings
from channels.whatsapp_cloud.channel import WhatsAppCloudInput

BASE = {"WHATSAPP_APP_SECRET": "app-secret", "WHATSAPP_VERIFY_TOKEN": "verify"}


def read(**env: str) -> WhatsAppSettings:
    return WhatsAppSettings.from_config(Config({**BASE, **env}))


def test_numbers_from_json_with_tokens_templates_and_token_env():
    settings = read(
        WHATSAPP_NUMBERS=json.dumps({
            "111": {"token": "t1", "template": "reengage", "template_language": "ar"},
            "222": "t2",
            "333": {"token_env": "BRAND_C_TOKEN"},
        }),
        BRAND_C_TOKEN="t3",
        WHATSAPP_TEMPLATE="hello:en",
    )
    assert {n: s.token.reveal() for n, s in settings.numbers.items()} == {"111": "t1", "222": "t2", "333": "t3"}
    assert settings.numbers["111"].template == Template(name="reengage", language="ar")
    assert settings.numbers["222"].template == Template(name="hello", language="en")


def test_numbers_from_per_number_variables_and_the_single_pair():
    settings = read(WHATSAPP_111_TOKEN="t1", WHATSAPP_111_TEMPLATE="re:ar",
                    WHATSAPP_PHONE_NUMBER_ID="222", WHATSAPP_ACCESS_TOKEN="t2")
    assert set(settings.numbers) == {"111", "222"}
    assert settings.numbers["111"].template == Template(name="re", language="ar")
    assert settings.numbers["222"].template is None


def test_defaults_and_overrides():
    settings = read(WHATSAPP_111_TOKEN="t")
    assert settings.graph_url == "https://graph.facebook.com/v21.0"
    assert settings.max_body_bytes == 1024 * 1024 and settings.retention.days == 7
    tuned = read(WHATSAPP_111_TOKEN="t", WHATSAPP_GRAPH_URL="http://fake/v21.0/", WHATSAPP_MAX_BODY_BYTES="10",
                 DELIVERY_MAX_ATTEMPTS="2", DELIVERY_RETENTION_DAYS="9", WHATSAPP_MARK_READ="false")
    assert tuned.graph_url == "http://fake/v21.0" and tuned.max_body_bytes == 10
    assert tuned.retry.max_attempts == 2 and tuned.retention.days == 9 and not tuned.mark_read


@pytest.mark.parametrize("env", [
    {},
    {"WHATSAPP_NUMBERS": "not json"},
    {"WHATSAPP_NUMBERS": "[]"},
    {"WHATSAPP_NUMBERS": json.dumps({"1": {}})},
    {"WHATSAPP_111_TOKEN": "t", "WHATSAPP_MAX_BODY_BYTES": "-1"},
])
def test_bad_settings_fail_loudly(env):
    with pytest.raises(ConfigError):
        read(**env)


def test_secrets_never_show_in_repr():
    settings = read(WHATSAPP_NUMBERS=json.dumps({"111": "very-secret-token"}))
    assert "very-secret-token" not in repr(settings) and "app-secret" not in repr(settings)


def test_credentials_win_over_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MAJLIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WHATSAPP_APP_SECRET", "from-env")
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", "verify")
    monkeypatch.setenv("WHATSAPP_111_TOKEN", "t")
    channel = WhatsAppCloudInput.from_credentials({"app_secret": "from-yaml", "numbers": {"222": "t2"}})
    assert channel.settings.app_secret.reveal() == "from-yaml"
    assert set(channel.settings.numbers) == {"111", "222"}


def test_missing_credentials_raise_rasas_error(monkeypatch):
    for key in ("WHATSAPP_APP_SECRET", "WHATSAPP_NUMBERS", "WHATSAPP_PHONE_NUMBER_ID"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(RasaException):
        WhatsAppCloudInput.from_credentials({})
