"""Fixtures for the action tests: a fresh demo backend per test, the real domain, trackers.

Every test gets its own ``MAJLIS_DATA_DIR`` (so recorded cases never leak between
tests) and the default demo backend; trackers are plain ``rasa_sdk.Tracker``s built
from event dicts as the action server receives them.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.api.care_backend import CareBackend, get_backend

ROOT = Path(__file__).resolve().parents[2]
CHANNEL = "whatsapp_cloud"
SENDER = "whatsapp_cloud:971509999999"
"""A WhatsApp number (proven by Meta's signature) the seed does not list, so it is the demo account."""


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MAJLIS_DATA_DIR", str(tmp_path))
    for name in ("MAJLIS_CARE_BACKEND", "MAJLIS_DEMO_SEED", "MAJLIS_COMPENSATION_AUTO_LIMIT",
                 "MAJLIS_DEFAULT_LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def backend(data_dir: Path) -> CareBackend:
    """The backend the actions will use in this test."""
    return get_backend()


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def user(text: str, intent: str = "inform", entities: Iterable[Dict[str, Any]] = (),
         language: Optional[str] = None, clear: bool = True, input_channel: Optional[str] = CHANNEL,
         metadata: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """A ``user`` event as the action server receives it."""
    parse_data: Dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": [dict(e) for e in entities],
    }
    if language:
        parse_data["language"] = {"code": language, "form": "x", "confidence": 1.0, "clear": clear}
    parse_data["metadata"] = dict(metadata or {})
    return {"event": "user", "timestamp": None, "text": text, "parse_data": parse_data,
            "input_channel": input_channel, "metadata": dict(metadata or {})}


def entity(name: str, value: Any) -> Dict[str, Any]:
    return {"entity": name, "value": value, "start": 0, "end": 1}


def slot(name: str, value: Any) -> Dict[str, Any]:
    return SlotSet(name, value)


def make_tracker(events: Optional[List[Dict[str, Any]]] = None, slots: Optional[Dict[str, Any]] = None,
                 active_loop: Optional[str] = None, sender_id: str = SENDER) -> Tracker:
    """A tracker whose slots are the result of ``events`` (plus ``slots``) and whose latest message is the last user event."""
    events = list(events or [])
    state: Dict[str, Any] = {}
    latest: Dict[str, Any] = {}
    for event in events:
        if event.get("event") == "slot":
            state[event["name"]] = event["value"]
        elif event.get("event") == "user":
            latest = dict(event["parse_data"], text=event["text"])
    state.update(slots or {})
    if not any(event.get("event") == "user" for event in events):
        # The conversation came in on the sender id's channel (actions trust a namespace only then).
        events = [user("", input_channel=sender_id.split(":", 1)[0] if ":" in sender_id else None), *events]
    return Tracker(sender_id, state, latest, events, False, None,
                   {"name": active_loop} if active_loop else {}, "action_listen")


def responses(dispatcher: CollectingDispatcher) -> List[str]:
    """The names of the responses dispatched, in order."""
    return [message.get("response") for message in dispatcher.messages]


_PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")


def assert_fills(domain: Dict[str, Any], message: Dict[str, Any]) -> None:
    """Every variable in every variation of the dispatched response is supplied by the action."""
    name = message["response"]
    assert name in domain["responses"], f"{name} is not in domain.yml"
    for variation in domain["responses"][name]:
        missing = set(_PLACEHOLDER.findall(variation.get("text", ""))) - set(message)
        assert not missing, f"{name}: the action does not pass {sorted(missing)}"
