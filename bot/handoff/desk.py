"""The agent side of a handoff: claim, release, transfer, reply, retry, note, close.

Shared by the desk pages and the REST API (both call these methods, so the rules are
written once).  Who may do what is decided by :class:`Actor`; the database decides
races (:mod:`bot.handoff.store`).  Errors carry an HTTP status, mapped in one place
per app (bot/agent_desk/http.py).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from bot.errors import ChannelError
from bot.handoff.context import OPEN_STATES, HandoffContext, OwnerState
from bot.handoff.packet import PacketInputs, build_context
from bot.handoff.records import HandoffRecord, MessageRecord
from bot.handoff.service import HandoffService
from bot.handoff.store import QueueFilter

logger = logging.getLogger(__name__)

ROLES = ("agent", "supervisor", "trainer", "admin")
MAX_TEXT = 4000
# A conversation's dialect must be at least this sure before it reorders an agent's queue.
DIALECT_CONFIDENCE = 0.5
FINAL_STATES = ("read", "failed")


class DeskError(Exception):
    """A request the desk refuses; ``status`` is the HTTP status to answer with."""

    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r})"


class NotFound(DeskError):
    status = 404


class Forbidden(DeskError):
    status = 403


class Conflict(DeskError):
    status = 409


@dataclass(frozen=True, slots=True, kw_only=True)
class Actor:
    """Who acts: a signed-in person or an integration acting as its desk identity.

    ``languages`` / ``queues`` containing ``"*"`` mean all.
    """

    id: int
    name: str
    role: str
    languages: frozenset = field(default_factory=frozenset)
    queues: frozenset = field(default_factory=frozenset)

    @property
    def oversees(self) -> bool:
        """Supervisors and admins see and move every handoff."""
        return self.role in ("supervisor", "admin")

    def serves(self, queue: str, language: str) -> bool:
        return (("*" in self.queues or queue in self.queues)
                and ("*" in self.languages or language in self.languages))

    def reads(self, record: HandoffRecord) -> bool:
        """Whether the agent has a skill for the conversation's Arabic dialect.

        Dialect skills are language entries ``ar-<region>`` (``ar-maghrebi`` reads Darija;
        regions: bot.language.dialect).  Only a dialect the conversation showed with some
        confidence counts; unknown, MSA or unsure conversations prefer no one.
        """
        dialect = record.context.get("dialect") or {}
        region = dialect.get("region")
        if region in (None, "unknown", "msa") or float(dialect.get("confidence") or 0) < DIALECT_CONFIDENCE:
            return False
        return f"{record.language}-{region}" in self.languages

    def can_view(self, record: HandoffRecord) -> bool:
        if self.oversees or self.role == "trainer" or record.agent_id == self.id:
            return True
        return self.serves(record.queue, record.language)

    def can_act(self, record: HandoffRecord) -> bool:
        return self.role != "trainer" and self.can_view(record)


def _wild(values: frozenset) -> Optional[List[str]]:
    """None for "all" (``*``), else the values."""
    return None if "*" in values else sorted(values)


def _text(text: Any) -> str:
    value = str(text or "").strip()
    if not value:
        raise DeskError("text is empty")
    if len(value) > MAX_TEXT:
        raise DeskError(f"text is longer than {MAX_TEXT} characters")
    return value


class DeskOperations:
    """What agents (and integrations) do with handoffs.

    Args:
        service: the handoff service (store, registry, trackers, events).
        agent_names: agent ids → display names (for packets).
        agents: an agent id → its desk identity, None when there is no active account
            (to check transfer targets).
        windows: the window-aware queue (bot.handoff.window_store.WindowStore):
            pages ordered by priority, then the reply window closing soonest; None: by
            priority, then waiting time.
    """

    def __init__(self, service: HandoffService,
                 agent_names: Callable[[Sequence[int]], Awaitable[Mapping[int, str]]],
                 agents: Optional[Callable[[int], Awaitable[Optional[Actor]]]] = None,
                 windows: Any = None) -> None:
        self.service = service
        self.store = service.store
        self.windows = windows
        self.agent_names = agent_names
        self.agents = agents
        self._watched: Dict[int, str] = {}
        self._watch_task: Optional[asyncio.Task] = None
        #: the file an agent reply carries, (file, caption) or None (set by the desk's media proxy)
        self.attachment_for: Optional[Callable[[HandoffRecord, MessageRecord], Awaitable[Any]]] = None

    # -- reading -----------------------------------------------------------

    async def get(self, actor: Actor, public_id: str) -> HandoffRecord:
        record = await self.store.get(public_id)
        if record is None:
            raise NotFound("no such handoff")
        if not actor.can_view(record):
            raise Forbidden("this handoff is not in a queue you serve")
        return record

    async def visible(self, actor: Actor, *, states: Sequence[OwnerState] = OPEN_STATES, offset: int = 0,
                      limit: int = 50, queue: Optional[str] = None,
                      mine: bool = False) -> Tuple[List[HandoffRecord], int]:
        """One page of the handoffs ``actor`` may see (by priority, then the reply window closing
        soonest, then waiting time) and their total; among equal windows (channels without one),
        those in a dialect the actor reads first (a Maghrebi customer is offered to Darija readers first).

        The filter is :meth:`Actor.can_view` written as SQL, so handoffs in queues the
        actor does not serve never take places on the page. The dialect order applies within
        the page (the store pages by priority, window and waiting time).
        """
        everything = actor.oversees or actor.role == "trainer"
        records, total = await (self.windows or self.store).page(
            states=states, offset=offset, limit=limit, queue=queue, agent_id=actor.id if mine else None,
            served=None if everything else QueueFilter(queues=_wild(actor.queues), languages=_wild(actor.languages),
                                                       or_agent_id=actor.id))
        marks = await self.windows.windows([r.id for r in records]) if self.windows is not None else {}

        def closes(record: HandoffRecord) -> float:
            mark = marks.get(record.id)
            return mark.expires_at.timestamp() if mark is not None and mark.expires_at else float("inf")
        # Stable sort: the store's order (priority, window, waiting time) is kept otherwise.
        return sorted(records, key=lambda record: (-record.priority, closes(record), not actor.reads(record))), total

    async def context(self, record: HandoffRecord) -> HandoffContext:
        """The full context packet of ``record`` as of now."""
        service = self.service
        events = await service.trackers.events(record.customer)
        messages = await self.store.messages(record.id)
        replies = {m.id: m.outbox_key() for m in messages if m.kind == "agent" and m.send_attempt > 0}
        states = await service.registry.states(record.channel, record.customer, replies)
        history = await self.store.history(record.channel, record.customer)
        names = await self.agent_names([i for i in {record.agent_id, *(m.agent_id for m in messages)} if i])
        inputs = PacketInputs(
            events=events, messages=messages,
            reply_status={ident: found.state for ident, found in states.items()},
            bot_status=await service.registry.statuses_by_key(record.channel, record.customer),
            history=history, agent_names=names, now=service.clock(),
            window_expires_at=await service.registry.window_expires_at(record.channel, record.account,
                                                                        record.customer))
        return build_context(record, inputs, service.settings)

    # -- ownership ---------------------------------------------------------

    async def _changed(self, record: Optional[HandoffRecord], conflict: str) -> HandoffRecord:
        if record is None:
            raise Conflict(conflict)
        await self.service.flush_events()
        return record

    async def claim(self, actor: Actor, public_id: str) -> HandoffRecord:
        record = await self.acting(actor, public_id)
        claimed = await self.store.claim(public_id, actor.id, self.service.clock())
        logger.info("Handoff %s claim by agent %d: %s", public_id, actor.id, "won" if claimed else "lost")
        changed = await self._changed(claimed, "another agent already took this conversation")
        await self._announce(changed, {"majlis": "agent_joined", "agent": {"name": actor.name}}, "agent-joined")
        return changed

    async def _announce(self, record: HandoffRecord, notice: dict, kind: str) -> None:
        """Tell the customer's page that a person joined or left (web chat only)."""
        stamp = int(self.service.clock().timestamp() * 1000)
        await self.service.registry.announce(record.channel, account=record.account, customer=record.customer,
                                             notice=notice, key=f"{kind}:{record.public_id}:{stamp}")

    async def release(self, actor: Actor, public_id: str) -> HandoffRecord:
        record = await self.acting(actor, public_id)
        owner = None if actor.oversees else actor.id
        if owner is not None and record.agent_id != actor.id:
            raise Forbidden("only the agent who owns this conversation can release it")
        return await self._changed(await self.store.release(public_id, owner, self.service.clock()),
                                   "this conversation is not assigned any more")

    async def transfer(self, actor: Actor, public_id: str, *, queue: Optional[str] = None,
                       to_agent: Optional[int] = None) -> HandoffRecord:
        record = await self.acting(actor, public_id)
        target = queue or record.queue
        if target not in self.service.settings.queues:
            raise DeskError(f"unknown queue {target!r}")
        owner = None if actor.oversees else actor.id
        if owner is not None and record.agent_id != actor.id:
            raise Forbidden("only the agent who owns this conversation can transfer it")
        if to_agent is not None:
            await self._check_target(to_agent, target, record.language)
        moved = await self.store.transfer(public_id, owner, self.service.clock(), queue=target, to_agent=to_agent)
        logger.info("Handoff %s transferred to queue %s", public_id, target)
        return await self._changed(moved, "this conversation changed meanwhile; reload and try again")

    async def _check_target(self, agent_id: int, queue: str, language: str) -> None:
        """A transfer target must be an active account that may answer in ``queue`` and ``language``.

        Raises:
            NotFound: no active account with this id.
            DeskError: the target cannot act (a trainer) or does not serve the queue/language.
        """
        target = await self.agents(agent_id) if self.agents is not None else None
        if target is None:
            raise NotFound(f"no active agent #{agent_id}")
        if target.role == "trainer":
            raise DeskError(f"agent #{agent_id} is a trainer and cannot take conversations")
        if not target.oversees and not target.serves(queue, language):
            raise DeskError(f"agent #{agent_id} does not serve queue {queue!r} in {language!r}")

    async def acting(self, actor: Actor, public_id: str) -> HandoffRecord:
        """The handoff, when ``actor`` may change it (read-only roles may not).

        Raises:
            NotFound, Forbidden.
        """
        record = await self.get(actor, public_id)
        if not actor.can_act(record):
            raise Forbidden("your role can read conversations but not change them")
        return record

    async def close(self, actor: Actor, public_id: str, resolution: str) -> HandoffRecord:
        if resolution not in self.service.settings.resolutions:
            raise DeskError(f"unknown resolution {resolution!r}")
        record = await self.acting(actor, public_id)
        owner = None if actor.oversees else actor.id
        if owner is not None and record.agent_id != actor.id:
            raise Forbidden("only the agent who owns this conversation can close it")
        closed = await self._changed(await self.store.close(public_id, owner, resolution, self.service.clock()),
                                     "this conversation is not open any more")
        await self._announce(closed, {"majlis": "agent_left"}, "agent-left")
        await self.service.complete_handback(closed)
        return closed

    # -- messages ----------------------------------------------------------

    async def reply(self, actor: Actor, public_id: str, text: Any, client_key: Optional[str] = None) -> MessageRecord:
        """Store an agent reply, then send it on the customer's channel."""
        record = await self.acting(actor, public_id)
        if record.state != OwnerState.ASSIGNED or record.agent_id != actor.id:
            raise Conflict("take the conversation before replying")
        message, created = await self.store.add_message(
            record, kind="agent", text=_text(text), now=self.service.clock(), agent_id=actor.id,
            author=actor.name, client_key=client_key, event={"author": actor.name})
        if created:
            message = await self.dispatch(record, message)
        await self.service.flush_events()
        return message

    async def note(self, actor: Actor, public_id: str, text: Any, client_key: Optional[str] = None) -> MessageRecord:
        """An internal note: never sent to the customer."""
        record = await self.acting(actor, public_id)
        message, _ = await self.store.add_message(record, kind="note", text=_text(text), now=self.service.clock(),
                                                  agent_id=actor.id, author=actor.name, client_key=client_key)
        await self.service.flush_events()
        return message

    async def retry(self, actor: Actor, public_id: str, message_id: int) -> MessageRecord:
        """Send a failed reply again (a new attempt, with a new idempotency key)."""
        record = await self.acting(actor, public_id)
        message = await self.store.message(message_id)
        if message is None or message.handoff_id != record.id or message.kind != "agent":
            raise NotFound("no such reply")
        if record.state != OwnerState.ASSIGNED or record.agent_id != actor.id:
            raise Conflict("take the conversation before retrying")
        states = await self.service.registry.states(record.channel, record.customer, {0: message.outbox_key()})
        current = states.get(0).state if 0 in states else message.delivery_state
        if current != "failed":
            raise Conflict("only a failed reply can be sent again")
        if not await self.store.set_delivery(message.id, state="pending", attempt=message.send_attempt + 1,
                                             expect_state=message.delivery_state):
            raise Conflict("this reply is being retried already")
        logger.info("Handoff %s reply %d retried", public_id, message.id)
        refreshed = await self.store.message(message.id)
        assert refreshed is not None
        return await self.dispatch(record, refreshed)

    async def dispatch(self, record: HandoffRecord, message: MessageRecord) -> MessageRecord:
        """Hand a stored reply to the delivery layer (idempotent per attempt)."""
        attempt = message.send_attempt or 1
        refused = await self._send(record, message, message.outbox_key(attempt))
        ok = refused is None
        await self.store.set_delivery(message.id, state="queued" if ok else "failed", attempt=attempt)
        if not ok:
            logger.warning("Handoff %s reply %d cannot be sent on channel %s", record.public_id, message.id,
                           record.channel)
            # The reason, as a line of the transcript right after the failed reply.
            await self.store.add_message(record, kind="system", text=f"Not sent: {refused}",
                                         now=self.service.clock(), client_key=f"refused:{message.id}:{attempt}",
                                         event={"reply_id": message.id, "reason": refused})
        self.watch(message.id, "queued" if ok else "failed")
        refreshed = await self.store.message(message.id)
        return refreshed or message

    async def _send(self, record: HandoffRecord, message: MessageRecord, key: str) -> Optional[str]:
        """Queue a reply's text, or the file it carries (:attr:`attachment_for`); None, or why not."""
        registry = self.service.registry
        try:
            attached = await self.attachment_for(record, message) if self.attachment_for else None
        except ChannelError as exc:
            return str(exc)
        if attached is None:
            return await registry.try_send_text(record.channel, account=record.account, customer=record.customer,
                                                text=message.text, key=key)
        media, caption = attached
        return await registry.try_send_media(record.channel, account=record.account, customer=record.customer,
                                             media=media, caption=caption, key=key)

    def watch(self, message_id: int, state: str) -> None:
        """Follow a reply's delivery state until final (live ticks in the desk)."""
        self._watched[message_id] = state
        self._ensure_watch()

    # -- delivery ticks ----------------------------------------------------

    async def recover(self) -> None:
        """After a restart: send replies stored but never handed over, watch the rest."""
        for message in await self.store.unsent_replies():
            record = await self.store.get_by_id(message.handoff_id)
            if record is not None and record.is_open:
                await self.dispatch(record, message)

    def _ensure_watch(self) -> None:
        if self._watch_task is None or self._watch_task.done():
            self._watch_task = asyncio.get_running_loop().create_task(self._watch_loop())

    async def poll_statuses(self) -> int:
        """Publish delivery-state changes of recent replies; returns how many changed."""
        changed = 0
        for message_id, last in list(self._watched.items()):
            message = await self.store.message(message_id)
            record = await self.store.get_by_id(message.handoff_id) if message else None
            if message is None or record is None:
                self._watched.pop(message_id, None)
                continue
            states = await self.service.registry.states(record.channel, record.customer, {0: message.outbox_key()})
            state = states[0].state if 0 in states else last
            if state != last:
                changed += 1
                self._watched[message_id] = state
                self.service.hub.publish({"type": "handoff.delivery", "handoff_id": record.public_id,
                                          "message_id": message_id, "state": state})
            if state in FINAL_STATES:
                self._watched.pop(message_id, None)
        return changed

    async def _watch_loop(self) -> None:
        while self._watched:
            await asyncio.sleep(1.0)
            try:
                await self.poll_statuses()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep watching after a database hiccup
                logger.exception("Delivery status polling failed")

    async def stop(self) -> None:
        if self._watch_task is not None:
            self._watch_task.cancel()
