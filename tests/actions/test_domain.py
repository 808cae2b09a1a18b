"""The domain as docs/design.md and the bilingual contract require it."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from rasa_sdk.executor import ActionExecutor

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text(encoding="utf-8"))

ARABIC_LETTER = re.compile("[\u0621-\u064a]")
PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")
AR_CONDITION = [{"type": "slot", "name": "language", "value": "ar"}]

DESIGN_INTENTS = {
    "greet", "goodbye", "thanks", "affirm", "deny", "bot_challenge", "out_of_scope", "change_language",
    "talk_to_human", "complain", "check_bill", "dispute_charge", "buy_data_bundle", "roaming",
    "report_network_outage", "sim_or_esim", "order_status", "store_locator", "request_compensation", "inform",
    "chitchat_how_are_you", "chitchat_ask_name", "chitchat_compliment", "chitchat_insult",
    # Messages without text, also set by the channels (docs/channels/*.md, channels/_structured.py).
    "send_media", "voice_note", "share_location", "get_started",
}
DESIGN_ENTITIES = {"order_number", "area", "bundle_size", "amount", "date", "media_kind", "latitude", "longitude"}
DESIGN_SLOTS = {"order_number", "area", "bundle_size", "amount", "complaint_details", "case_id", "language",
                "requested_human"}


def entity_names(domain: Dict[str, Any]) -> set:
    return {e if isinstance(e, str) else next(iter(e)) for e in domain["entities"]}


def test_intents_and_entities_are_exactly_the_design(domain):
    assert set(domain["intents"]) == DESIGN_INTENTS
    assert entity_names(domain) == DESIGN_ENTITIES


def test_slots_of_the_design_exist(domain):
    assert DESIGN_SLOTS <= set(domain["slots"])


def test_language_slot_is_set_only_by_the_change_language_action(domain):
    language = domain["slots"]["language"]
    assert language["type"] == "categorical"
    assert language["values"] == ["ar", "en"]
    assert language["influence_conversation"] is False
    assert language["mappings"] == [{"type": "custom"}]


def test_no_slot_influences_the_conversation(domain):
    # Dialogue is RulePolicy + MemoizationPolicy: branching is by intent, entity and form state.
    assert all(slot.get("influence_conversation") is False for slot in domain["slots"].values())


def test_session_config(domain):
    assert domain["session_config"] == {"session_expiration_time": 60, "carry_over_slots_to_new_session": True}


def _variations(domain: Dict[str, Any]) -> List[tuple]:
    return [(name, variation) for name, variations in domain["responses"].items() for variation in variations]


@pytest.mark.parametrize("name", sorted(DOMAIN["responses"]))
def test_every_response_has_an_english_default_and_an_arabic_variation(domain, name):
    variations = domain["responses"][name]
    english = [v for v in variations if "condition" not in v]
    arabic = [v for v in variations if v.get("condition") == AR_CONDITION]
    assert english, f"{name}: no unconditioned (English) variation"
    assert arabic, f"{name}: no Arabic variation"
    assert len(english) + len(arabic) == len(variations), f"{name}: unexpected conditions"
    for variation in arabic:
        assert ARABIC_LETTER.search(variation["text"]), f"{name}: Arabic variation without Arabic text"
    for variation in english:
        assert not ARABIC_LETTER.search(variation["text"]), f"{name}: Arabic letters in the English variation"
    # The same variables in both languages (up to the _en/_ar suffix), so one dispatch fills both.
    def names(vs):
        return {re.sub(r"_(en|ar)$", "", p) for v in vs for p in PLACEHOLDER.findall(v["text"])}
    assert names(english) == names(arabic), f"{name}: variables differ between languages"
    # Buttons: same payloads, titles in the right language.
    payloads = {tuple(b["payload"] for b in v.get("buttons", [])) for v in variations}
    assert len(payloads) == 1, f"{name}: button payloads differ between variations"
    for variation in arabic:
        for button in variation.get("buttons", []):
            assert ARABIC_LETTER.search(button["title"])
    for variation in english:
        for button in variation.get("buttons", []):
            assert not ARABIC_LETTER.search(button["title"])


def test_no_hand_written_isolates_or_arabic_digits_in_responses(domain):
    # Isolates are added by the actions around Latin ids; amounts stay in Western digits.
    for name, variation in _variations(domain):
        assert not re.search("[\u2066-\u2069\u0660-\u0669]", variation["text"]), name


def test_currency_follows_the_number_in_arabic(domain):
    for name, variation in _variations(domain):
        if variation.get("condition"):
            assert "درهم {" not in variation["text"], f"{name}: currency before the number"


@pytest.mark.parametrize("name", ["utter_greet", "utter_goodbye", "utter_you_are_welcome", "utter_ack_complaint",
                                  "utter_ack_outage", "utter_ack_dispute", "utter_ack_compensation"])
def test_frequent_responses_have_variations(domain, name):
    variations = domain["responses"][name]
    assert len([v for v in variations if "condition" not in v]) >= 2
    assert len([v for v in variations if v.get("condition")]) >= 2


def test_domain_actions_are_exactly_the_action_servers(domain):
    executor = ActionExecutor()
    executor.register_package("actions")
    assert set(domain["actions"]) == set(executor.actions)


def test_every_form_slot_can_be_asked_for(domain):
    asks = set(domain["actions"]) | set(domain["responses"])
    for form, spec in domain["forms"].items():
        assert f"validate_{form}" in domain["actions"]
        for slot in spec["required_slots"]:
            options = {f"action_ask_{form}_{slot}", f"utter_ask_{form}_{slot}", f"action_ask_{slot}",
                       f"utter_ask_{slot}"}
            assert options & asks, f"{form}: nothing asks for {slot}"
