"""Reading and appending to Rasa trackers from the agent desk, under Rasa's conversation lock.

The desk runs inside the Rasa server process (bot/agent_desk/channel.py), so it uses
the agent's own tracker store, lock store and processor: events appended here (the
hand-back message, ``ConversationResumed``) are saved exactly as Rasa saves its own,
and never race a customer message being processed.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Sequence

from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    SlotSet,
)
from rasa.shared.core.constants import ACTION_LISTEN_NAME

if TYPE_CHECKING:
    from rasa.core.agent import Agent
    from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

#: Marks bot turns written by the handoff (acknowledgements, updates, hand-back).
HANDOFF_METADATA_KEY = "majlis_handoff"


def handoff_utterance(text: str, handoff_id: str, kind: str) -> BotUttered:
    """A bot turn the handoff sent (so transcripts show what the customer saw)."""
    return BotUttered(text=text, metadata={HANDOFF_METADATA_KEY: {"id": handoff_id, "kind": kind}})


def pause_events(tracker: "DialogueStateTracker") -> List[Event]:
    """Events that hand the conversation over: requested_human, any form stopped, paused."""
    from rasa.shared.core.events import ActiveLoop

    events: List[Event] = []
    if tracker.active_loop_name:
        events.append(ActiveLoop(None))
    if "requested_human" in tracker.slots:
        events.append(SlotSet("requested_human", True))
    if not tracker.is_paused():
        events.append(ConversationPaused())
    return events


def resume_events(tracker: "DialogueStateTracker", texts: Sequence[BotUttered]) -> List[Event]:
    """Events that give the conversation back to the bot, listening for the next message."""
    events: List[Event] = []
    if "requested_human" in tracker.slots:
        events.append(SlotSet("requested_human", False))
    events.extend(texts)
    events.append(ConversationResumed())
    events.append(ActionExecuted(ACTION_LISTEN_NAME))
    return events


class TrackerAccess:
    """The agent's trackers, for the desk.

    Args:
        agent: returns the current Rasa agent (``app.ctx.agent``; it may be replaced).
    """

    def __init__(self, agent: Callable[[], "Agent"]) -> None:
        self._agent = agent

    @property
    def agent(self) -> "Agent":
        return self._agent()

    async def events(self, sender_id: str) -> List[Dict[str, Any]]:
        """Every event of the conversation (all sessions), as dicts; [] if unknown."""
        store = self.agent.tracker_store
        tracker = await store.retrieve_full_tracker(sender_id)
        if tracker is None:
            return []
        return [event.as_dict() for event in tracker.events]

    async def append(self, sender_id: str, build: Callable[["DialogueStateTracker"], Sequence[Event]]) -> List[Event]:
        """Append the events ``build(tracker)`` returns, under the conversation lock."""
        agent = self.agent
        processor = agent.processor
        assert processor is not None, "agent has no model loaded"
        async with agent.lock_store.lock(sender_id):
            tracker = await processor.get_tracker(sender_id)
            events = list(build(tracker))
            for event in events:
                tracker.update(event, processor.domain)
            await processor.save_tracker(tracker)
        logger.debug("Appended %d event(s) to a tracker", len(events))
        return events
