"""Handing the conversation to a person.

The request is recorded as the ``requested_human`` slot and a case of kind
``handoff`` in the operator's backend (the customer's recent messages, so the
colleague does not have to ask again).  Setting ``requested_human`` is what hands
over: Majlis' handoff gate (bot/handoff/gate.py) sees it at the end of the turn,
queues the conversation for the agent desk with its full context, tells the
customer their place in the queue, pauses the bot, and resets the slot when the
agent hands the conversation back (docs/handoff.md).  With handoff.yml's
``talk_to_human`` rule the gate hands off even before this action would run.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Text

from rasa_sdk.events import SlotSet

from actions import formatting
from actions.api.care_backend import CareBackend
from actions.common import CareAction, user_messages
from bot.identity import CustomerIdentity
from bot.language import reply_language

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

RECENT_MESSAGES = 5


def handoff_details(tracker: "Tracker") -> str:
    """What the colleague needs at a glance: reply language and the latest customer messages."""
    lines = [f"Reply language: {reply_language(tracker.events)}", "Recent customer messages:"]
    for event in user_messages(tracker)[-RECENT_MESSAGES:]:
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or "?"
        lines.append(f"- [{intent}] {event.get('text') or ''}")
    return "\n".join(lines)


class ActionRequestHuman(CareAction):
    """Records the request for a person and says, honestly, that a colleague will reply in this chat."""

    def name(self) -> Text:
        return "action_request_human"

    async def act(self, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                  backend: CareBackend, identity: CustomerIdentity) -> List[Dict[Text, Any]]:
        if tracker.get_slot("requested_human") is True:
            dispatcher.utter_message(response="utter_handoff_already")
            return []
        case_id = await backend.record_case(identity.verified_customer_id, "handoff", handoff_details(tracker), None)
        dispatcher.utter_message(response="utter_handoff", case_id=formatting.isolate(case_id))
        return [SlotSet("requested_human", True), SlotSet("case_id", case_id)]
