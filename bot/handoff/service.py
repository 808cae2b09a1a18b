"""The customer side of a handoff: hand off, record messages, update, hand back, rate.

One :class:`HandoffService` per Rasa server process (created by
bot/agent_desk/channel.py).  The agent side (claim, reply, close, ...) is
:class:`bot.handoff.desk.DeskOperations`.  Every change is written to the store
first (with its event-log row), then published to live desk views and webhooks by
:meth:`HandoffService.flush_events`.  Nothing here logs personal data at INFO.
"""
from __future__ import annotations

import asyncio
import logging
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence

from bot.delivery import utcnow
from bot.handoff.config import HandoffSettings, Route
from bot.handoff.context import OwnerState, Summary
from bot.handoff.hub import Hub
from bot.handoff.outbound import ChannelRegistry
from bot.handoff.packet import latest_language
from bot.handoff.records import HandoffRecord
from bot.handoff.store import HandoffStore, conversation_of
from bot.handoff.summary import summarise
from bot.handoff.tracker import HANDOFF_METADATA_KEY, TrackerAccess, handoff_utterance, pause_events, resume_events
from bot.handoff.triggers import Decision, evaluate, slot_values
from bot.language import reply_language
from bot.language.dialect import conversation_dialect
from bot.rating import AGENT, parse_rating, thanks_utterance

if TYPE_CHECKING:
    from rasa.core.channels.channel import OutputChannel, UserMessage
    from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

def _event_dicts(tracker: "DialogueStateTracker") -> List[Dict[str, Any]]:
    return [event.as_dict() for event in tracker.events]


def _snapshot(signals: List[str], form: Optional[str], summary: Summary,
              events: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """What a handoff row keeps of its conversation for the queue (the card is built fresh)."""
    return {"signals": signals, "form": form, "summary": {"ar": summary.ar, "en": summary.en},
            "wants": summary.wants, "wants_label": summary.wants_label, "facts": dict(summary.facts),
            "dialect": _dialect(events)}


def _dialect(events: List[Dict[str, Any]]) -> Dict[str, object]:
    """The conversation's Arabic dialect region, kept in the snapshot for routing (Actor.reads)."""
    return conversation_dialect(e.get("parse_data") or {} for e in events if e.get("event") == "user").as_dict()


class HandoffService:
    """Creates handoffs, keeps the desk informed, hands conversations back.

    Args:
        settings: handoff.yml.
        store: the handoff store.
        registry: the customer channels (proactive sends, statuses, windows).
        trackers: the Rasa trackers (hand-back events).
        hub: live subscribers (desk pages).
        clock: the current aware UTC time.
    """

    def __init__(self, *, settings: HandoffSettings, store: HandoffStore, registry: ChannelRegistry,
                 trackers: TrackerAccess, hub: Optional[Hub] = None, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings, self.store, self.registry, self.trackers = settings, store, registry, trackers
        self.hub = hub or Hub()
        self.clock = clock
        self.listeners: List[Callable[[], Any]] = []
        self._last_event_id = 0
        self._flush_lock = asyncio.Lock()
        self._loop_task: Optional[asyncio.Task] = None

    # -- life cycle --------------------------------------------------------

    async def start(self) -> None:
        """Migrate, finish interrupted hand-backs, start queue updates."""
        await self.store.setup()
        self._last_event_id = await self.store.last_event_id()
        self.registry.attach(self.taken_over)
        self.registry.attach_reactions(self.customer_reaction)
        for record in await self.store.list(states=[OwnerState.CLOSED]):
            try:
                await self.complete_handback(record)
            except Exception:  # boundary: one broken conversation must not stop the desk
                logger.exception("Hand-back of handoff %s could not be finished at start-up", record.public_id)
        if self.settings.update_interval > 0:
            self._loop_task = asyncio.get_running_loop().create_task(self._update_loop())

    async def stop(self) -> None:
        if self._loop_task:
            self._loop_task.cancel()
            self._loop_task = None

    async def flush_events(self) -> None:
        """Publish new event-log entries to live views and wake the webhook sender."""
        async with self._flush_lock:
            while True:
                events = await self.store.events_since(self._last_event_id)
                if not events:
                    break
                for event in events:
                    self.hub.publish(event)
                    self._last_event_id = event.id
        for listener in self.listeners:
            listener()

    # -- decisions ---------------------------------------------------------

    async def open_for(self, channel: str, customer: str) -> Optional[HandoffRecord]:
        return await self.store.open_for(channel, customer)

    def decide(self, tracker: "DialogueStateTracker") -> Optional[Decision]:
        """Whether handoff.yml hands the latest message to a person."""
        return evaluate(_event_dicts(tracker), self.settings)

    @staticmethod
    def _this_turn(tracker: "DialogueStateTracker") -> List[Dict[str, Any]]:
        events = _event_dicts(tracker)
        last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
        return events[last_user + 1:]

    def requested_this_turn(self, tracker: "DialogueStateTracker") -> bool:
        """Whether the dialogue set ``requested_human`` to true after the latest customer message."""
        return any(e.get("event") == "slot" and e.get("name") == "requested_human" and e.get("value") is True
                   for e in self._this_turn(tracker))

    def bot_spoke_this_turn(self, tracker: "DialogueStateTracker") -> bool:
        """Whether the bot already answered the latest customer message (e.g. ``utter_handoff``)."""
        return any(e.get("event") == "bot" for e in self._this_turn(tracker))

    def dialogue_decision(self, tracker: "DialogueStateTracker") -> Decision:
        """The dialogue paused the conversation itself (an action returned ``ConversationPaused``)."""
        asked = tracker.get_slot("requested_human") is True
        route = Route(reason="customer_request" if asked else "bot_requested", queue=self.settings.default_queue)
        return Decision(route=route, priority=self.settings.level(route.priority), signals=("dialogue",))

    # -- customer side -----------------------------------------------------

    def language_of(self, events: List[Dict[str, Any]]) -> str:
        return reply_language(events)

    async def _ack_text(self, record: HandoffRecord, language: str, key: str = "queued") -> str:
        now = self.clock()
        hours = self.settings.hours
        if not hours.is_open(now):
            return self.settings.messages["after_hours"].get(language).format(
                opens_at=hours.describe_next_open(now, language))
        position = await self.store.position(record)
        wait = max(1, math.ceil(position * self.settings.minutes_per_position))
        return self.settings.messages[key].get(language).format(position=position, wait_minutes=wait)

    async def over_limit(self, channel: str, customer: str, now: datetime) -> Optional[str]:
        """Which hourly limit a new handoff of this conversation would break ("customer", "channel"), or None."""
        limits, since = self.settings.limits, now - timedelta(hours=1)
        if limits.per_customer > 0 and await self.store.created_since(channel, since, customer) >= limits.per_customer:
            return "customer"
        per_channel = limits.per_channel.get(channel, 0)
        if per_channel > 0 and await self.store.created_since(channel, since) >= per_channel:
            return "channel"
        return None

    async def _refuse(self, tracker: "DialogueStateTracker", message: "UserMessage", language: str,
                      limit: str) -> None:
        """Tell the customer the handoff was not opened; the bot keeps the conversation."""
        from rasa.shared.core.events import ConversationResumed, SlotSet

        text = self.settings.messages["rate_limited"].get(language)
        await message.output_channel.send_text_message(message.sender_id, text)
        tracker.update(handoff_utterance(text, "", "rate_limited"))
        if tracker.get_slot("requested_human"):
            tracker.update(SlotSet("requested_human", None))
        if tracker.is_paused():
            tracker.update(ConversationResumed())
        logger.info("Handoff not created on %s: the per-%s hourly limit is reached", message.input_channel, limit)

    async def hand_off(self, tracker: "DialogueStateTracker", message: "UserMessage", decision: Decision,
                       acknowledged: bool = False) -> Optional[HandoffRecord]:
        """bot → queued: store the handoff, pause the bot, acknowledge in the customer's language.

        The caller holds the conversation lock and saves ``tracker`` afterwards.  When the
        dialogue already acknowledged the request (``acknowledged``), only the queue
        position and expected wait are added.  Above the hourly limits (handoff.yml
        ``limits``) nothing is created: the customer is told so and None returned.
        """
        now = self.clock()
        channel = message.input_channel or "rest"
        events = _event_dicts(tracker)
        language = self.language_of(events)
        if await self.store.open_for(channel, message.sender_id) is None:
            limit = await self.over_limit(channel, message.sender_id, now)
            if limit is not None:
                await self._refuse(tracker, message, language, limit)
                return None
        _code, form = latest_language(events, language)
        history = await self.store.history(channel, message.sender_id, limit=5)
        returning = any(h.created_at > now - timedelta(days=self.settings.returning_days) for h in history)
        priority = min(decision.priority + (1 if returning else 0), max(self.settings.priority_levels.values()))
        summary = summarise(events, slot_values(events), decision.route.reason, self.settings)
        snapshot = _snapshot(list(decision.signals), form, summary, events)
        record, created = await self.store.create(
            channel=channel, account=await self.registry.account_of(channel, message.message_id),
            customer=message.sender_id, queue=decision.route.queue, language=language, priority=priority,
            reason=decision.route.reason, context=snapshot, now=now,
            event={"reason": decision.route.reason, "queue": decision.route.queue, "priority": priority})
        for event in pause_events(tracker):
            tracker.update(event)
        if created:
            text = await self._ack_text(record, language, "queue_position" if acknowledged else "queued")
            await message.output_channel.send_text_message(message.sender_id, text)
            tracker.update(handoff_utterance(text, record.public_id, "ack"))
            await self.store.update(record.public_id, last_notice_at=now)
            logger.info("Handoff %s created: reason %s, queue %s, priority %d, signals %s", record.public_id,
                        record.reason, record.queue, record.priority, ",".join(decision.signals))
        await self.flush_events()
        return record

    async def taken_over(self, channel: str, account: Optional[str], customer: str,
                         reason: str) -> Optional[HandoffRecord]:
        """A person answered outside the desk (the Instagram inbox): the conversation is theirs.

        Opens a queued handoff (or returns the open one), so the gate keeps the bot silent,
        the customer's messages reach the desk, and closing it in the desk hands the
        conversation back (``release_to_bot``).  Nothing is said to the customer: a
        person is already talking to them.
        """
        now = self.clock()
        customer = conversation_of(channel, customer)  # the channel names the customer by its provider id
        events = await self.trackers.events(customer)
        language = self.language_of(events)
        _code, form = latest_language(events, language)
        route = Route(reason=reason, queue=self.settings.default_queue)
        priority = self.settings.level(route.priority)
        summary = summarise(events, slot_values(events), reason, self.settings)
        snapshot = _snapshot(["takeover"], form, summary, events)
        record, created = await self.store.create(
            channel=channel, account=account, customer=customer, queue=route.queue, language=language,
            priority=priority, reason=reason, context=snapshot, now=now,
            event={"reason": reason, "queue": route.queue, "priority": priority})
        if created:
            logger.info("Handoff %s created: a person took over on %s", record.public_id, channel)
        await self.flush_events()
        return record

    async def customer_message(self, record: HandoffRecord, tracker: "DialogueStateTracker") -> None:
        """A customer message while a person owns the conversation: to the desk at once."""
        latest = next((e for e in reversed(_event_dicts(tracker)) if e.get("event") == "user"), None)
        if latest is None:
            return
        parse = latest.get("parse_data") or {}
        metadata = latest.get("metadata") or {}
        payload = {"role": "customer", "text": metadata.get("display_text") or latest.get("text") or "",
                   "at": latest.get("timestamp"), "message_id": latest.get("message_id"),
                   "intent": (parse.get("intent") or {}).get("name"),
                   "language": (parse.get("language") or {}).get("code")}
        now = self.clock()
        await self.store.add_event(record, "handoff.customer_message", payload, now)
        await self.store.update(record.public_id, last_customer_at=now)
        logger.debug("Customer message recorded for handoff %s", record.public_id)
        await self.flush_events()

    async def customer_reaction(self, reaction: Any) -> bool:
        """A reaction or like (``channels._reactions.Reaction``) while a person owns the conversation:
        a transcript line and a live event for the desk.  False when the bot owns it (nothing to show)."""
        record = await self.open_for(reaction.channel, reaction.customer)
        if record is None or record.state not in (OwnerState.QUEUED, OwnerState.ASSIGNED):
            return False
        now = self.clock()
        await self.store.add_message(record, kind="reaction", text=reaction.emoji or "∅", now=now,
                                     event={"emoji": reaction.emoji, "removed": reaction.removed,
                                            "reacted_to": reaction.message_id})
        await self.store.update(record.public_id, last_customer_at=now)
        await self.flush_events()
        return True

    async def take_rating(self, channel: str, tracker: "DialogueStateTracker", output: "OutputChannel") -> bool:
        """The answer to "rate 1–5" after a hand-back; True when the message was a rating."""
        history = await self.store.history(channel, tracker.sender_id, limit=1)
        if not history or history[0].rating_state != "requested":
            return False
        record = history[0]
        rating = parse_rating(str((tracker.latest_message.text if tracker.latest_message else "") or ""))
        if rating is None:
            await self.store.update(record.public_id, rating_state="skipped")
            return False
        await self.store.update(record.public_id, rating=rating, rating_state="received")
        text = self.settings.messages["rating_thanks"].get(self.language_of(_event_dicts(tracker)))
        await output.send_text_message(tracker.sender_id, text)
        tracker.update(thanks_utterance(text, rating, AGENT, **{HANDOFF_METADATA_KEY: {
            "id": record.public_id, "kind": "rating_thanks"}}))
        await self.store.add_event(record, "handoff.rated", {"rating": rating}, self.clock())
        logger.info("Handoff %s rated %d", record.public_id, rating)
        await self.flush_events()
        return True

    async def complete_handback(self, record: HandoffRecord, tracker: Optional["DialogueStateTracker"] = None) -> None:
        """closed → bot: hand-back message (+ rating request), resume the bot.

        Idempotent: messages are keyed by the handoff id, so a hand-back interrupted by a
        restart is finished without sending anything twice.  Pass ``tracker`` when the
        caller already holds the conversation lock (and saves the tracker itself).
        """
        if record.state != OwnerState.CLOSED:
            return
        events = _event_dicts(tracker) if tracker is not None else await self.trackers.events(record.customer)
        language = self.language_of(events) if events else record.language
        keys = ["handback"] + (["rating_request"] if self.settings.ask_rating else [])
        texts = [self.settings.messages[key].get(language) for key in keys]
        sent = True
        for key, text in zip(keys, texts):
            sent = await self.registry.send_text(record.channel, account=record.account, customer=record.customer,
                                                 text=text, key=f"handoff:{record.public_id}:{key}") and sent
        utterances = [handoff_utterance(text, record.public_id, key) for key, text in zip(keys, texts)]
        if tracker is not None:
            for event in resume_events(tracker, utterances):
                tracker.update(event)
        else:
            await self.trackers.append(record.customer, lambda t: resume_events(t, utterances))
        ask = self.settings.ask_rating and sent
        await self.store.mark_returned(record.public_id, self.clock(), "requested" if ask else None)
        if await self.registry.release(record.channel, account=record.account, customer=record.customer):
            logger.info("Handoff %s: the channel's takeover was released", record.public_id)
        logger.info("Handoff %s handed back to the bot", record.public_id)
        await self.flush_events()

    # -- while waiting -----------------------------------------------------

    async def send_updates(self) -> int:
        """Send "still waiting" messages to queued customers whose last one is old enough."""
        now, interval = self.clock(), self.settings.update_interval
        if interval <= 0 or not self.settings.hours.is_open(now):
            return 0
        sent = 0
        for record in await self.store.list(states=[OwnerState.QUEUED]):
            last = record.last_notice_at or record.created_at
            if (now - last).total_seconds() < interval:
                continue
            number = int((now - record.created_at).total_seconds() // interval)
            text = await self._ack_text(record, record.language, "queued_update")
            if await self.registry.send_text(record.channel, account=record.account, customer=record.customer,
                                             text=text, key=f"handoff:{record.public_id}:update:{number}"):
                utterance = handoff_utterance(text, record.public_id, "update")
                await self.trackers.append(record.customer, lambda _t, u=utterance: [u])
                sent += 1
            await self.store.update(record.public_id, last_notice_at=now)
        return sent

    async def _update_loop(self) -> None:
        tick = max(1.0, min(30.0, self.settings.update_interval / 4))
        while True:
            await asyncio.sleep(tick)
            try:
                await self.send_updates()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must survive a database or channel hiccup
                logger.exception("Queue updates failed; trying again in %.0fs", tick)
