"""The agent desk assembled: services, the Sanic blueprint, start and stop.

bot/agent_desk/channel.py mounts :meth:`DeskApp.blueprint` inside the Rasa server, so
the desk shares the process (and the agent, tracker store and channels) with the
bot.  Tests build a :class:`DeskApp` the same way around their own agent.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Mapping, Optional

from sanic import Blueprint
from sqlalchemy.engine import Engine

from bot.agent_desk.accounts import AccountStore
from bot.agent_desk.api import register_api
from bot.agent_desk.assignment_api import register_assignment_api
from bot.agent_desk.capacity_api import register_capacity_api
from bot.agent_desk.links_api import register_links_api
from bot.agent_desk.templates_api import register_templates_api
from bot.agent_desk.http import no_cors
from bot.agent_desk.media import MediaPolicy
from bot.agent_desk.media_proxy import MediaProxy, register_media
from bot.agent_desk.pages import register_pages
from bot.handoff.customer_links import CustomerLinks, links_from_turn
from bot.agent_desk.stream import KEEPALIVE_SECONDS, register_stream
from bot.agent_desk.throttle import SignInThrottle
from bot.agent_desk.webhooks import WebhookSender, WebhookStore, subscribers
from bot.cluster import desk_signal
from bot.config import Config, config
from bot.reports.routes import register_reports
from bot.delivery import utcnow
from bot.handoff.assignment import Assigner
from bot.handoff.assignment_store import AssignmentStore
from bot.handoff.config import HandoffSettings
from bot.handoff.desk import DeskOperations
from bot.handoff.gate import HandoffGate
from bot.handoff.outbound import ChannelRegistry
from bot.handoff.records import EventRecord, HandoffRecord
from bot.handoff.service import HandoffService
from bot.handoff.store import HandoffStore
from bot.handoff.tracker import TrackerAccess
from bot.handoff.window_store import WindowStore
from bot.workbench.routes import register_workbench
from bot.workbench.service import Workbench

if TYPE_CHECKING:
    from rasa.core.agent import Agent

logger = logging.getLogger(__name__)


@dataclass
class DeskApp:
    """Everything the desk needs, wired once per process."""

    settings: HandoffSettings
    accounts: AccountStore
    service: HandoffService
    desk: DeskOperations
    webhooks: WebhookSender
    gate: HandoffGate
    registry: ChannelRegistry
    assigner: Assigner
    cookie_secure: Optional[bool] = None
    clock: Callable[[], datetime] = utcnow
    throttle: SignInThrottle = field(default_factory=SignInThrottle)
    media: MediaPolicy = field(default_factory=MediaPolicy)
    #: seconds between keep-alives on the event stream; the session is re-checked as often
    heartbeat: float = KEEPALIVE_SECONDS
    #: the handoff database; on PostgreSQL, live updates also come from other instances
    engine: Optional[Engine] = None
    signal: Optional[desk_signal.DeskSignal] = None
    #: the trainer's workbench (bot/workbench/), on the same sign-in
    workbench: Optional[Workbench] = None
    #: customers' and agents' files through the desk (bot/agent_desk/media_proxy.py)
    files: Optional[MediaProxy] = None
    #: one customer's conversations across channels (bot/handoff/customer_links.py)
    links: Optional[CustomerLinks] = None

    @classmethod
    def create(cls, *, settings: HandoffSettings, engine: Engine, agent: Callable[[], "Agent"],
               cookie_secure: Optional[bool] = None, clock: Callable[[], datetime] = utcnow,
               media: Optional[MediaPolicy] = None, cfg: Config = config) -> "DeskApp":
        """Build the services around ``engine`` (``bot.storage``) and the Rasa agent."""
        store = HandoffStore(engine, webhook_targets=subscribers(settings.webhooks))
        accounts = AccountStore(engine)
        registry = ChannelRegistry()
        service = HandoffService(settings=settings, store=store, registry=registry,
                                 trackers=TrackerAccess(agent), clock=clock)
        windows = WindowStore(engine)
        desk = DeskOperations(service, accounts.names, accounts.actor, windows=windows)
        app = cls(settings=settings, accounts=accounts, service=service, desk=desk, gate=HandoffGate(service),
                  registry=registry, assigner=Assigner(service, AssignmentStore(engine), desk, windows),
                  cookie_secure=cookie_secure, clock=clock, media=media or MediaPolicy(), engine=engine,
                  webhooks=WebhookSender(targets=settings.webhooks, store=WebhookStore(engine), events=store.event,
                                         build=lambda event: app.webhook_body(event)))
        service.listeners.append(app.webhooks.wake)
        app.links = CustomerLinks(engine)
        app.gate.turn_hooks.append(lambda tracker: links_from_turn(app.links, tracker, clock()))
        app.workbench = Workbench.create(engine, agent, clock=clock)
        app.files = MediaProxy.from_config(app, cfg)
        desk.attachment_for = app.files.attachment_for
        return app

    def now(self) -> datetime:
        return self.clock()

    async def show_media(self, record: HandoffRecord, context: Dict[str, Any]) -> None:
        """Media in a context packet for the desk: through the proxy, never a provider's URL."""
        if self.files is not None:
            await self.files.show(record, context)
        else:
            self.media.filter_context(record.channel, context)

    async def start(self, agent: Optional["Agent"], input_channels: Iterable[Any]) -> None:
        """Find the customer channels, gate the agent, recover unfinished work."""
        self.registry.discover(input_channels)
        if agent is None:
            logger.warning("No Rasa agent: the handoff gate is not installed")
        else:
            self.gate.install(agent)
        await self.service.start()
        if self.engine is not None:  # several instances: events logged by the others (bot/cluster/desk_signal.py)
            self.signal = desk_signal.attach(self.service, self.engine)
        await self.desk.recover()
        await self.assigner.start()
        await self.webhooks.start()
        if self.workbench is not None and agent is not None:  # models activated on any instance (issue 15)
            await self.workbench.follow()
        if self.files is not None:
            self.files.start()
        logger.info("Agent desk started")

    async def stop(self) -> None:
        self.gate.uninstall()
        if self.workbench is not None:
            await self.workbench.unfollow()
        if self.files is not None:
            await self.files.stop()
        if self.signal is not None:
            await self.signal.stop()
            self.signal = None
        self.service.hub.close()
        await self.webhooks.stop()
        await self.assigner.stop()
        await self.desk.stop()
        await self.service.stop()

    async def webhook_body(self, event: EventRecord) -> Mapping[str, Any]:
        """What a webhook carries: the event and the handoff's context packet."""
        record = await self.service.store.get_by_id(event.handoff_id)
        body: Dict[str, Any] = {"id": event.id, "type": event.type, "created_at": event.created_at.isoformat(),
                                "data": dict(event.payload), "context": None}
        if record is not None:
            body["context"] = (await self.desk.context(record)).to_dict()
        return body

    def blueprint(self, name: str, base: str) -> Blueprint:
        """The desk's routes; ``base`` is where it is mounted (for links in pages)."""
        bp = Blueprint(name)
        no_cors(bp)
        register_pages(bp, self, base)
        register_api(bp, self)
        register_assignment_api(bp, self)
        if self.files is not None:
            register_media(bp, self, self.files)
        register_templates_api(bp, self)
        register_capacity_api(bp, self)
        if self.links is not None:
            register_links_api(bp, self, self.links)
        register_stream(bp, self)
        if self.workbench is not None:
            register_workbench(bp, self, base, self.workbench)
        register_reports(bp, self, base)
        return bp
