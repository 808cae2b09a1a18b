"""The gate every customer message passes before the bot may answer.

Installed on the Rasa agent at server start (bot/agent_desk/channel.py), around
``Agent.handle_message``, so it sees the messages of every channel.  Under Rasa's
conversation lock it:

1. looks up the conversation's open handoff in Majlis' database;
2. if a person owns it (queued or assigned): records the message in the tracker
   (NLU included, no session restart, ``ConversationPaused`` re-applied if missing)
   and hands it to the desk; the bot says nothing, whatever the tracker's flags say,
   so it stays silent after a restart or a session expiry too;
3. if an agent closed it but the hand-back was interrupted: finishes the hand-back;
4. takes a 1–5 rating the bot asked for after a hand-back, or after a conversation it
   settled alone (:mod:`bot.handoff.bot_rating`);
5. otherwise runs NLU, asks :func:`bot.handoff.triggers.evaluate` (handoff.yml), and
   either hands off before the bot answers, or lets the bot run its turn exactly as
   ``MessageProcessor.handle_message`` does — and if the dialogue itself asked for a
   person this turn (``requested_human`` set, e.g. by ``action_request_human``, or an
   action returned ``ConversationPaused``), creates the handoff; if not, and the customer
   has just thanked or said goodbye after an answer, asks for a rating.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable, List, Optional

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import ConversationPaused
from rasa.shared.data import TrainingType

from bot.handoff.bot_rating import BotRating
from bot.handoff.context import OwnerState
from bot.identity import channel_of

if TYPE_CHECKING:
    from rasa.core.agent import Agent
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.handoff.service import HandoffService

logger = logging.getLogger(__name__)

#: Channels whose messages are not customer conversations.
UNGATED_CHANNELS = frozenset({"agent_desk"})
_INSTALLED = "_majlis_handoff_gate"


def _collected(message: UserMessage) -> Optional[List[Any]]:
    if isinstance(message.output_channel, CollectingOutputChannel):
        return message.output_channel.messages
    return None


def poses_as_another_channel(message: UserMessage) -> bool:
    """Whether the sender id is namespaced for another customer channel than the one it came in on."""
    named = channel_of(str(message.sender_id or ""))
    return named is not None and named != (message.input_channel or "")


class HandoffGate:
    """Decides, per customer message, whether the bot or a person answers.

    Args:
        service: the handoff service (store, triggers, desk notifications).
    """

    def __init__(self, service: "HandoffService") -> None:
        self.service = service
        #: Called with the tracker after each turn the bot answered (e.g. customer links from a
        #: verification, bot.handoff.customer_links); a failing hook costs a log line, not the turn.
        self.turn_hooks: List[Callable[["DialogueStateTracker"], Awaitable[Any]]] = []
        self.bot_rating = BotRating(service)

    def install(self, agent: "Agent") -> None:
        """Route ``agent.handle_message`` through the gate (idempotent)."""
        if getattr(agent, _INSTALLED, None) is self:
            return
        original = getattr(agent, "_majlis_original_handle_message", agent.handle_message)

        async def handle_message(message: UserMessage) -> Optional[List[Any]]:
            if poses_as_another_channel(message):
                # e.g. a REST caller naming "whatsapp_cloud:9715…": it would write into that
                # customer's conversation. Refused before NLU, nothing stored.
                logger.warning("Message refused: a %s sender id arrived on channel %s",
                               channel_of(message.sender_id), message.input_channel)
                return []
            processor = agent.processor
            if (not agent.is_ready() or processor is None or message.input_channel in UNGATED_CHANNELS
                    or processor.model_metadata.training_type == TrainingType.NLU):
                return await original(message)
            async with agent.lock_store.lock(message.sender_id):
                return await self.process(processor, message)

        agent._majlis_original_handle_message = original  # type: ignore[attr-defined]
        agent.handle_message = handle_message  # type: ignore[method-assign]
        setattr(agent, _INSTALLED, self)
        self._agent = agent

    def uninstall(self) -> None:
        """Give ``handle_message`` back to Rasa (server stop; tests sharing one agent)."""
        agent = getattr(self, "_agent", None)
        if agent is None or getattr(agent, _INSTALLED, None) is not self:
            return
        del agent.handle_message  # the instance attribute; the class method shows through again
        delattr(agent, _INSTALLED)
        self._agent = None

    async def _after_turn(self, tracker: "DialogueStateTracker") -> None:
        for hook in self.turn_hooks:
            try:
                await hook(tracker)
            except Exception:  # the customer's turn goes on whatever a hook does
                logger.exception("A turn hook failed")

    async def process(self, processor: "MessageProcessor", message: UserMessage) -> Optional[List[Any]]:
        """Handle one message; the caller holds the conversation lock."""
        channel = message.input_channel or "rest"
        record = await self.service.open_for(channel, message.sender_id)
        if record is not None and record.state in (OwnerState.QUEUED, OwnerState.ASSIGNED):
            tracker = await processor.get_tracker(message.sender_id)
            await processor._handle_message_with_tracker(message, tracker)
            if not tracker.is_paused():
                tracker.update(ConversationPaused(), processor.domain)
            await processor.save_tracker(tracker)
            await self.service.customer_message(record, tracker)
            return _collected(message)

        tracker = await processor.log_message(message, should_save_tracker=False)
        if record is not None:
            await self.service.complete_handback(record, tracker=tracker)
        if (await self.service.take_rating(channel, tracker, message.output_channel)
                or await self.bot_rating.take(tracker, message.output_channel)):
            await processor.save_tracker(tracker)
            return _collected(message)
        decision = self.service.decide(tracker)
        if decision is not None:
            await self.service.hand_off(tracker, message, decision)
            await processor.save_tracker(tracker)
            return _collected(message)

        tracker = await processor.run_action_extract_slots(message.output_channel, tracker)
        await processor._run_prediction_loop(message.output_channel, tracker)
        await processor.run_anonymization_pipeline(tracker)
        await self._after_turn(tracker)
        if tracker.is_paused() or self.service.requested_this_turn(tracker):
            await self.service.hand_off(tracker, message, self.service.dialogue_decision(tracker),
                                        acknowledged=self.service.bot_spoke_this_turn(tracker))
        else:
            await self.bot_rating.ask(tracker, message.output_channel, processor.tracker_store)
        await processor.save_tracker(tracker)
        return _collected(message)
