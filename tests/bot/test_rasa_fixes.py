"""bot.rasa_fixes: action-server answers are validated as Rasa validates them, once-built.

The reference is ``jsonschema.validate`` with Rasa's own answer schema, which is what
Rasa 3.6.21's ``RemoteAction._validate_action_result`` calls.
"""
from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot import rasa_fixes

VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "order_number", "value": "4821937", "timestamp": None}],
     "responses": [{"response": "utter_order_status", "order_number": "4821937"}]},
    {"events": [{"event": "active_loop", "name": None}, {"event": "slot", "name": "language", "value": "ar"}],
     "responses": [{"text": "طلبك رقم ٤٨٢١٩٣٧ في الطريق"}]},
]
INVALID = [
    {"events": {"event": "slot"}},                       # events must be a list
    {"events": [{"event": "slot", "name": 42}]},          # a slot name is text
    {"events": [{"event": "no_such_event"}]},             # unknown event type
    {"responses": "utter_greet"},                         # responses must be a list
]


@pytest.fixture(scope="module")
def action() -> RemoteAction:
    rasa_fixes.apply()
    return RemoteAction("action_check_bill", None)


@pytest.mark.parametrize("answer", VALID)
def test_valid_answers_pass(action, answer):
    jsonschema.validate(answer, RemoteAction.action_response_format_spec())  # the reference agrees
    assert action._validate_action_result(answer) is True


@pytest.mark.parametrize("answer", INVALID)
def test_invalid_answers_fail_with_rasas_error(action, answer):
    with pytest.raises(jsonschema.ValidationError) as reference:
        jsonschema.validate(answer, RemoteAction.action_response_format_spec())
    with pytest.raises(jsonschema.ValidationError) as raised:
        action._validate_action_result(answer)
    assert raised.value.message.startswith(reference.value.message)
    assert "Failed to validate Action server response from API" in raised.value.message
    assert list(raised.value.path) == list(reference.value.path)


def test_the_schema_is_checked_once(action):
    for answer in VALID * 5:
        action._validate_action_result(answer)
    assert rasa_fixes._answer_validator.cache_info().misses == 1


def test_apply_is_idempotent_and_installs_the_fix():
    rasa_fixes.apply()
    rasa_fixes.apply()
    assert RemoteAction._validate_action_result is rasa_fixes._validate_action_result
