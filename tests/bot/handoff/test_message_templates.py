"""bot/handoff/message_templates.py: the shipped whatsapp_templates.yml, filling from the context,
the values WhatsApp would refuse, and the exact template message built."""
from __future__ import annotations

import pytest

from bot.config import Config, ConfigError
from bot.handoff.message_templates import DEFAULT_FILE, TemplateError, load_templates, parse_templates

CONTEXT = {"customer": {"display_name": "مريم"}, "agent": "نورة", "slots": {"order_number": "ORD-4821937"},
           "summary": {"facts": {"order_number": "ORD-4821937"}}}


def test_the_shipped_file_parses_and_every_template_fills_from_a_context():
    templates = load_templates(Config({}))
    assert {"order_followup:ar", "order_followup:en", "conversation_reopen:ar"} <= set(templates)
    assert templates["order_followup:ar"].values_from(CONTEXT) == ["مريم", "نورة", "ORD-4821937"]
    assert load_templates(Config({"MAJLIS_WHATSAPP_TEMPLATES": str(DEFAULT_FILE) + ".absent"})) == {}


def test_missing_context_values_are_empty_for_the_agent_to_fill():
    template = load_templates(Config({}))["order_followup:en"]
    assert template.values_from({"customer": {"display_name": None}, "slots": {}}) == ["", "", ""]


def test_the_message_is_exactly_the_whatsapp_template_object():
    template = load_templates(Config({}))["order_followup:ar"]
    values = template.check(["مريم أحمد", "نورة", "ORD-4821937"])
    assert template.message(values) == {"type": "template", "template": {
        "name": "order_followup", "language": {"code": "ar"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "مريم أحمد"},
                                                       {"type": "text", "text": "نورة"},
                                                       {"type": "text", "text": "ORD-4821937"}]}]}}
    assert template.text(values).startswith("مرحباً مريم أحمد، معك نورة")


@pytest.mark.parametrize("values,why", [
    (["مريم", "نورة"], "needs 3"),
    (["مريم", " ", "ORD-1"], "is empty"),
    (["مريم\nأحمد", "نورة", "ORD-1"], "line breaks"),
    (["مريم     أحمد", "نورة", "ORD-1"], "4 spaces"),
    (["x" * 1025, "نورة", "ORD-1"], "1024"),
    ("مريم", "needs 3"),
    ([{"a": 1}, "نورة", "ORD-1"], "is empty"),
])
def test_values_whatsapp_would_refuse_are_refused_with_the_reason(values, why):
    template = load_templates(Config({}))["order_followup:ar"]
    with pytest.raises(TemplateError, match=why):
        template.check(values)


@pytest.mark.parametrize("data,why", [
    ({"templates": "x"}, "must be a list"),
    ({"templates": [{"name": "a"}]}, "name and a language"),
    ({"templates": [{"name": "a", "language": "ar", "body": "{{1}}", "parameters": [{"label": "x"}]}]}, "'from'"),
    ({"templates": [{"name": "a", "language": "ar", "body": "hi", "parameters": [{"from": "agent"}]}]},
     "placeholder"),
])
def test_a_malformed_file_fails_loudly_naming_the_entry(data, why):
    with pytest.raises(ConfigError, match=why):
        parse_templates(data)
