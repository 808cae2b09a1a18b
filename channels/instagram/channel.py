"""Instagram messaging and comments, as a Rasa input/output channel.

credentials.yml::

    channels.instagram.channel.InstagramInput:
      app_secret: ${INSTAGRAM_APP_SECRET}
      verify_token: ${INSTAGRAM_VERIFY_TOKEN}
      access_token: ${INSTAGRAM_ACCESS_TOKEN}

Routes (prefix ``/webhooks/instagram``): ``GET /`` health, ``GET /webhook`` the
verification handshake, ``POST /webhook`` events.  Everything durable (dedupe,
ordering, retries, the 24-hour window) is :mod:`bot.delivery`; the pieces:

- :mod:`channels.instagram.webhook`: verify, parse, accept (framework-independent);
- :mod:`channels.instagram.parse`: webhook JSON → frozen dataclasses;
- :mod:`channels.instagram.payloads`: pure Send API builders (1,000-byte split, quick replies);
- :mod:`channels.instagram.sender`: one Graph request per attempt, errors classified;
- :mod:`channels.instagram.comments`: the comment → private reply funnel;
- :mod:`channels._takeover` (record: :mod:`bot.storage.takeover`): a person answering from the Instagram inbox;
- :mod:`channels.instagram.window`: 24 h / 7-day HUMAN_AGENT policy for agent replies.

Docs: docs/channels/instagram.md.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Text
from urllib.parse import urlsplit

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.button_payloads import mark_button
from bot.cluster.wiring import make_delivery
from bot.delivery import (
    Delivery, DeliveryStore, InboundItem, OutboundMessage, Outbox, OutboxState, RetryPolicy, utcnow,
)
from bot.delivery.ports import AgentOutbox, CustomerChannel, MediaFile, ReplyOutbox, TakeoverListener
from bot.errors import MediaUnavailable
from bot.entry_links import METADATA_KEY, EntrySource, EntrySourceStore, parse_ref
from bot.identity import provider_id, sender_id
from bot.language.reply import default_language, reply_language
from channels._media import download
from channels._settings import settings_from_credentials
from channels.instagram.comments import decide
from channels.instagram.parse import InstagramEvent, Kind, RawEvent, parse_event
from channels.instagram.payloads import (
    KIND_PRIVATE_REPLY, KIND_PUBLIC_REPLY, MESSAGE_TAG, RESPONSE, build_attachment, build_private_reply,
    build_public_reply, build_quick_replies, build_text_payloads, payload_text, with_tag,
)
from channels.instagram.sender import InstagramSender
from channels.instagram.settings import InstagramSettings
from bot.storage.takeover import TakeoverStore
from channels._takeover import EchoTakeover
from channels.instagram.webhook import InstagramWebhook, WebhookRequest
from channels.instagram.window import HUMAN_AGENT_WINDOW, MessagingWindowClosed, SendPolicy, agent_reply_policy
from channels.meta.graph import SIGNATURE_HEADER, GraphClient
from channels._reactions import Reaction, ReactionRecorder, Reactions
from channels._structured import get_started_payload, media_payload, parse_data_for

logger = logging.getLogger(__name__)

CHANNEL_NAME = "instagram"
TAKEOVER_REASON = "instagram_inbox_echo"



def _to(recipient_id: str) -> str:
    """The IGSID in Rasa's recipient id (``instagram:<IGSID>`` → ``<IGSID>``)."""
    return provider_id(CHANNEL_NAME, recipient_id)


class InstagramOutput(OutputChannel):
    """Turns Rasa responses into Send API payloads stored in a :class:`bot.delivery.ports.ReplyOutbox`."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    def __init__(self, outbox: ReplyOutbox) -> None:
        self._outbox = outbox

    async def _store(self, payloads: List[Dict[str, Any]], kind: str) -> None:
        for payload in payloads:
            await self._outbox.add(payload, kind=kind)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        """One message per 1,000-byte part (Rasa's ``\\n\\n`` split is not applied)."""
        await self._store(build_text_payloads(_to(recipient_id), text), "text")

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        """Buttons become quick replies (the tap comes back as ``quick_reply.payload``)."""
        await self._store(build_quick_replies(_to(recipient_id), text, buttons), "quick_replies")

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self._store([build_attachment(_to(recipient_id), "image", image)], "media")

    async def send_attachment(self, recipient_id: Text, attachment: Any, **kwargs: Any) -> None:
        """``{"type": "video", "url": …}`` or a plain URL (sent as an image)."""
        if isinstance(attachment, Mapping) and attachment.get("url"):
            await self._store([build_attachment(_to(recipient_id), str(attachment.get("type", "file")),
                                                str(attachment["url"]))], "media")
        elif isinstance(attachment, str) and attachment.startswith(("https://", "http://")):
            await self.send_image_url(recipient_id, attachment)
        else:
            await self.send_text_message(recipient_id, str(attachment))

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        """``{"text": …}`` or ``{"attachment": {"type", "url"}}``; anything else is dropped with a warning."""
        if isinstance(json_message.get("attachment"), Mapping):
            await self.send_attachment(recipient_id, json_message["attachment"])
        elif json_message.get("text"):
            await self.send_text_message(recipient_id, str(json_message["text"]))
        else:
            logger.warning("Custom message with keys %s has nothing Instagram can send", sorted(json_message))


class InstagramAgentOutput(InstagramOutput):
    """A person's messages from the agent desk (replies, hand-back), under the window policy.

    Text goes through :meth:`InstagramInput.send_agent_reply`: normal within 24 hours,
    tagged ``HUMAN_AGENT`` up to 7 days, refused later (:class:`MessagingWindowClosed`,
    nothing queued).  Idempotency keys are ``<key>:<n>``.
    """

    def __init__(self, channel: "InstagramInput", *, account: str, key: str) -> None:
        self._agent = _AgentOutbox(channel, account=account, key=key)
        super().__init__(self._agent)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        """Raises :class:`MessagingWindowClosed` past 7 days (nothing queued)."""
        agent = self._agent
        await agent.channel.send_agent_reply(customer=_to(recipient_id), text=text, reply_id=agent.key,
                                             account=agent.account, key=agent.next_key())


class _AgentOutbox:
    """The :class:`bot.delivery.ports.ReplyOutbox` of a person's media and quick replies: under the
    window policy (:meth:`InstagramInput.send_agent_payloads`), the n-th call keyed ``<key>:<n>``."""

    def __init__(self, channel: "InstagramInput", *, account: str, key: str) -> None:
        self.channel, self.account, self.key, self._calls = channel, account, key, 0

    def next_key(self) -> str:
        key = self.key if self._calls == 0 else f"{self.key}:{self._calls}"
        self._calls += 1
        return key

    async def add(self, payload: Mapping[str, Any], *, kind: str = "message", free_form: bool = True,
                  key: Optional[str] = None) -> None:
        """Raises :class:`MessagingWindowClosed` past 7 days (nothing queued)."""
        await self.channel.send_agent_payloads(customer=str(payload["recipient"]["id"]), payloads=[payload],
                                               kind=kind, key=key or self.next_key(), account=self.account)


class ProactiveOutbox:
    """The :class:`bot.delivery.ports.ReplyOutbox` of messages Rasa sends unprompted (random keys)."""

    def __init__(self, delivery: Delivery, account: str) -> None:
        self.delivery, self.account = delivery, account

    async def add(self, payload: Mapping[str, Any], *, kind: str = "message", free_form: bool = True,
                  key: Optional[str] = None) -> Optional[OutboundMessage]:
        return await self.delivery.enqueue(OutboundMessage(
            channel=CHANNEL_NAME, account=self.account, customer=str(payload["recipient"]["id"]), payload=payload,
            idempotency_key=key or f"proactive:{uuid.uuid4().hex}", kind=kind,
        ))


#: Instagram's reaction names (``reaction.reaction``) as the emoji an agent sees.
REACTION_EMOJI = {"love": "❤️", "like": "👍", "haha": "😆", "wow": "😮", "sad": "😢", "angry": "😠"}


def is_like(event: InstagramEvent) -> bool:
    """A heart sent as a message (``like_heart`` attachment, no text): a reaction, not a request."""
    return (event.kind is Kind.MESSAGE and not event.text.strip() and bool(event.attachments)
            and all(item.type == "like_heart" for item in event.attachments))


def metadata_for(event: InstagramEvent, entry: Optional[EntrySource]) -> Dict[str, Any]:
    """``UserMessage.metadata``: everything but the text, for actions, agents and transcripts.

    Top-level keys follow the other channels (``media``, ``reply_to``, ``referral``) so
    the handoff packet reads them alike; Instagram-only details sit under ``instagram``.
    """
    instagram: Dict[str, Any] = {"mid": event.mid, "account": event.account}
    if event.quick_reply_payload:
        instagram["quick_reply_payload"] = event.quick_reply_payload
    if event.kind is Kind.POSTBACK:
        instagram["postback"] = {"title": event.postback_title, "payload": event.postback_payload}
    metadata: Dict[str, Any] = {
        "channel": CHANNEL_NAME,
        "display_text": event.display_text,
        "customer": {"igsid": event.customer},
        "instagram": instagram,
        "media": [{"type": a.type, "url": a.url, "title": a.title, "target_id": a.target_id}
                  for a in event.attachments],
    }
    if event.story is not None:
        metadata["reply_to"] = {"mid": event.reply_to_mid, "story": {"id": event.story.id, "url": event.story.url}}
    elif event.reply_to_mid:
        metadata["reply_to"] = {"mid": event.reply_to_mid}
    if event.referral:
        metadata["referral"] = dict(event.referral)
    if entry is not None:
        metadata[METADATA_KEY] = entry.as_metadata()
    if event.quick_reply_payload or event.postback_payload:
        mark_button(metadata)  # Meta signed the tap: its /intent payload may pick the intent
    return metadata


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentReplyResult:
    """What happened to an agent's reply (the desk shows it).

    Attributes:
        messages: how many messages were queued (long text is split).
        messaging_type: ``RESPONSE`` or ``MESSAGE_TAG``.
        tag: ``HUMAN_AGENT`` between 24 hours and 7 days, else None.
        open_until: until when replies of this kind are allowed.
    """

    messages: int
    messaging_type: str
    tag: Optional[str]
    open_until: datetime


#: Hosts Meta serves Instagram attachments from.
MEDIA_HOSTS = ("lookaside.fbsbx.com", ".cdninstagram.com", ".fbcdn.net")


def _meta_media_url(url: str, graph_url: str) -> bool:
    parts, graph = urlsplit(url), urlsplit(graph_url)
    if parts.username or parts.password:
        return False
    if (parts.scheme, parts.netloc) == (graph.scheme, graph.netloc):
        return True
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and parts.port in (None, 443) and any(
        host == pattern or (pattern.startswith(".") and host.endswith(pattern)) for pattern in MEDIA_HOSTS)


class InstagramInput(InputChannel, CustomerChannel):
    """Receives Instagram messaging and comment webhooks; answers through :mod:`bot.delivery`.

    Args:
        settings: validated settings (see :mod:`channels.instagram.settings`).
        store: the delivery store; default: the shared engine (``MAJLIS_DATABASE_URL``).
        retry: backoff policy for transient send failures.
        clock: the current aware UTC time (tests run it at the time of recorded events).
    """

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """Build from credentials.yml values, falling back to the environment.

        Raises:
            RasaException: a required setting is missing or unreadable.
        """
        return cls(settings_from_credentials(cls, InstagramSettings.from_credentials, credentials))

    def __init__(self, settings: InstagramSettings, *, store: Optional[DeliveryStore] = None,
                 retry: Optional[RetryPolicy] = None, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        if store is None:
            from bot.storage import get_engine

            store = DeliveryStore(get_engine())
        self.graph = GraphClient(settings.graph_url, timeout_s=settings.timeout)
        sender = InstagramSender(self.graph, token=settings.access_token, messages_path=settings.messages_path)
        # Several Rasa servers (a work queue configured): the conversation-leased kind (bot/cluster),
        # so whichever server the load balancer gives a webhook, one works the conversation at a time.
        self.delivery = make_delivery(channel=CHANNEL_NAME, store=store, sender=sender,
                                      retry=retry or RetryPolicy(), clock=clock)
        # The delivery store's thread pool: every call on an SQLite connection in one thread.
        self.takeovers = TakeoverStore(store.engine, run=store.run_blocking)
        self.takeover = EchoTakeover(channel=CHANNEL_NAME, store=self.takeovers, reason=TAKEOVER_REASON,
                                     clock=lambda: self.delivery.clock())
        self.entry_sources = EntrySourceStore(store.engine, run=store.run_blocking)
        self.reactions = Reactions()
        self.agent: Any = None
        self._on_new_message: Optional[Callable[[UserMessage], Awaitable[Any]]] = None

    def attach_handoff(self, listener: "TakeoverListener") -> None:
        """Called by the agent desk at start: inbox takeovers become handoffs.

        With it, a takeover opens (or finds) a handoff, and the customer's messages go to
        the handoff gate, which keeps the bot silent and shows them in the desk; closing
        the handoff calls :meth:`release_to_bot`.  Without it, the takeover alone keeps the
        bot silent.
        """
        self.takeover.attach(listener)

    def attach_reactions(self, recorder: ReactionRecorder) -> None:
        """The desk shows reactions and likes in handed-off conversations (:mod:`channels._reactions`)."""
        self.reactions.attach(recorder)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        self._on_new_message = on_new_message
        self.delivery.set_handler(self.process)
        webhook = InstagramWebhook(channel=CHANNEL_NAME, settings=self.settings, delivery=self.delivery)
        bp = Blueprint("instagram_webhook", __name__)

        @bp.listener("after_server_start")
        async def start(app: Any, _loop: Any) -> None:
            self.agent = getattr(app.ctx, "agent", None)
            await self.delivery.start()

        @bp.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            await self.delivery.stop()
            await self.graph.close()

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            args = {key: request.args.get(key, "") for key in ("hub.mode", "hub.verify_token", "hub.challenge")}
            body, status, content_type = webhook.verify(args)
            return response.text(body, status=status, content_type=content_type)

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            answer = WebhookRequest(body=request.body or b"", signature=request.headers.get(SIGNATURE_HEADER))
            body, status, content_type = await webhook.handle(answer)
            return response.text(body, status=status, content_type=content_type)

        return bp

    # -- processing (in the delivery worker, per conversation, in order) -------

    async def process(self, item: InboundItem, outbox: Outbox) -> None:
        """Handle one stored event: the delivery layer's handler."""
        event = parse_event(RawEvent.from_payload(item.payload))
        if event is None or event.standby:
            logger.debug("Instagram item %s: %s, not answered", item.id, "standby" if event else "unreadable")
            return
        if event.kind is Kind.ECHO:
            await self._echo(event, item)
        elif event.kind is Kind.COMMENT:
            await self._comment(event, item, outbox)
        elif event.kind is Kind.REACTION or is_like(event):
            await self._reaction(event, item)
        elif event.kind in (Kind.MESSAGE, Kind.POSTBACK):
            await self._message(event, item, outbox)
        elif event.kind is Kind.REFERRAL:
            await self._entry_source(event, item)
        else:  # reads, unsends, handover: recorded in the inbox, never answered
            logger.debug("Instagram item %s (%s) recorded", item.id, event.kind.value)

    async def _reaction(self, event: InstagramEvent, item: InboundItem) -> None:
        """A reaction or a heart: recorded (the inbox; the desk in a handoff), never answered."""
        if event.reaction is not None:
            emoji = "" if event.reaction.action == "unreact" else (
                event.reaction.emoji or REACTION_EMOJI.get(event.reaction.reaction or "", "❤️"))
        else:
            emoji = "❤️"  # the like_heart sticker
        await self.reactions.record(Reaction(channel=CHANNEL_NAME, account=item.account, customer=item.customer,
                                             emoji=emoji, message_id=event.mid if event.reaction else None))

    async def _message(self, event: InstagramEvent, item: InboundItem, outbox: Outbox) -> None:
        entry = await self._entry_source(event, item)
        silenced = await self.takeover.bot_silenced(item.account, item.customer)
        if silenced:
            logger.info("Instagram item %s: a person owns this conversation; bot not run", item.id)
            return
        if silenced is False:
            # The gate sees the open handoff: records the message for the desk, bot silent.
            logger.info("Instagram item %s: a person owns this conversation; to the desk", item.id)
        if event.is_unsupported or (event.is_story_mention and not event.text):
            texts = self.settings.funnel.unsupported if event.is_unsupported else self.settings.funnel.story_mention
            text = texts[await self._language(item.customer)]
            await outbox.add(build_text_payloads(item.customer, text)[0], kind="notice")
            return
        assert self._on_new_message is not None, "blueprint() was not called"
        parse_data = self._parse_data(event, item.account)
        await self._on_new_message(UserMessage(
            text=event.display_text if parse_data else event.intent_text, output_channel=InstagramOutput(outbox),
            sender_id=sender_id(CHANNEL_NAME, item.customer), parse_data=parse_data,
            input_channel=CHANNEL_NAME, message_id=item.message_id, metadata=metadata_for(event, entry),
        ))

    def _parse_data(self, event: InstagramEvent, account: str) -> Optional[Dict[str, Any]]:
        """The intent where the channel knows it (None: NLU reads the text).

        - a quick reply or postback whose payload is a Rasa payload (``/check_bill``): it;
        - any other postback ("Get started", an ice-breaker question, a menu item whose
          payload is the app's own): the greeting with the menu, in the account's language;
        - an attachment without text (photo, video, file, voice message): what arrived.
        """
        payload = event.quick_reply_payload or event.postback_payload
        if payload and payload.startswith("/"):
            return parse_data_for(payload, event.display_text)
        if event.kind is Kind.POSTBACK:
            return parse_data_for(get_started_payload(), event.display_text,
                                  language=self.settings.language_of(account))
        if not event.text.strip() and event.attachments:
            return parse_data_for(media_payload(event.attachments[0].type), event.display_text)
        return None

    async def _entry_source(self, event: InstagramEvent, item: InboundItem) -> Optional[EntrySource]:
        ref = (event.referral or {}).get("ref")
        entry = parse_ref(str(ref)) if ref else None
        if entry is not None:
            await self.entry_sources.record(CHANNEL_NAME, item.customer, entry, self.delivery.clock())
        return entry

    async def _language(self, customer: str) -> str:
        """The conversation's reply language (tracker), else the default."""
        store = getattr(self.agent, "tracker_store", None)
        if store is None:
            return default_language()
        tracker = await store.retrieve(sender_id(CHANNEL_NAME, customer))
        return reply_language(tracker.events if tracker is not None else [])

    async def _echo(self, event: InstagramEvent, item: InboundItem) -> None:
        """An echo the bot did not send: a person answered from the Instagram inbox.

        Echoes of story mentions are the brand mentioning the customer in its own
        story, not an answer in the conversation, so they never count.
        """
        if event.is_story_mention:
            return
        if (self.settings.app_id and event.app_id == self.settings.app_id) or await self._bot_sent(event, item):
            return
        if await self.takeover.person_answered(item.account, item.customer):
            logger.info("Instagram item %s: a person answered from the inbox; bot paused for this customer",
                        item.id)

    async def _bot_sent(self, event: InstagramEvent, item: InboundItem) -> bool:
        """Whether the outbox holds the echoed message (by id, else by text)."""
        records = [r for r in await self.delivery.outbox_records(item.customer) if r.message.account == item.account]
        if event.mid and any(r.provider_message_id == event.mid for r in records):
            return True
        live = [r for r in records if r.state in (OutboxState.SENT, OutboxState.PENDING)]
        if event.text:
            return any(payload_text(r.message.payload) == event.text for r in live)
        return any(r.message.kind == "media" for r in live) and bool(event.attachments)

    async def _comment(self, event: InstagramEvent, item: InboundItem, outbox: Outbox) -> None:
        assert event.comment is not None
        comment = event.comment
        decision = await decide(self.settings.funnel, comment, event.sent_at, self.delivery.clock(), self._intent_of)
        logger.info("Instagram comment item %s: %s (%s)", item.id, "private reply" if decision.reply else "no reply",
                    decision.reason)
        if not decision.reply or decision.private_text is None:
            return
        await outbox.add(build_private_reply(comment.id, decision.private_text), kind=KIND_PRIVATE_REPLY,
                         free_form=False, key=f"private-reply:{comment.id}")
        if decision.public_text:
            await outbox.add(build_public_reply(comment.id, decision.public_text), kind=KIND_PUBLIC_REPLY,
                             free_form=False, key=f"public-reply:{comment.id}")
        source = EntrySource(ref="ig-comment", source="instagram_comment", campaign=comment.media_id)
        await self.entry_sources.record(CHANNEL_NAME, item.customer, source, self.delivery.clock())

    async def _intent_of(self, text: str) -> Optional[tuple]:
        if self.agent is None:
            return None
        parsed = await self.agent.parse_message(text)
        intent = parsed.get("intent") or {}
        return (intent.get("name"), float(intent.get("confidence") or 0.0)) if intent.get("name") else None

    # -- for the agent desk ----------------------------------------------------

    def _account(self, account: Optional[str]) -> str:
        if account:
            return account
        if not self.settings.account_ids:
            raise ValueError("account is required when INSTAGRAM_ACCOUNT_ID is not set")
        return self.settings.account_ids[0]

    async def send_agent_reply(self, *, customer: str, text: str, reply_id: str,
                               account: Optional[str] = None, key: Optional[str] = None) -> AgentReplyResult:
        """Queue a person's reply, tagged ``HUMAN_AGENT`` when 24 hours have passed.

        Args:
            customer: the customer's IGSID.
            text: the reply (split at 1,000 bytes).
            reply_id: the desk's stable id of this reply; sending it twice sends once.
            account: the business account (default: the first configured one).
            key: the idempotency key prefix of the parts (default ``agent:<reply_id>``);
                part n is stored as ``<key>:<n>``.

        Raises:
            MessagingWindowClosed: more than 7 days since the customer wrote (or never):
                nothing was queued; ``reason`` and ``closed_at`` say why.
        """
        account = self._account(account)
        policy = await self._agent_policy(account, customer)
        payloads = build_text_payloads(customer, text, tag=policy.tag)
        await self._enqueue_agent(account, customer, payloads, policy, key or f"agent:{reply_id}", "agent_text")
        return AgentReplyResult(messages=len(payloads), messaging_type=MESSAGE_TAG if policy.tag else RESPONSE,
                                tag=policy.tag, open_until=policy.open_until)

    async def send_agent_payloads(self, *, customer: str, payloads: List[Mapping[str, Any]], kind: str, key: str,
                                  account: Optional[str] = None) -> None:
        """Queue built payloads (media, quick replies) of a person under the same window policy.

        Raises:
            MessagingWindowClosed: as :meth:`send_agent_reply`.
        """
        account = self._account(account)
        policy = await self._agent_policy(account, customer)
        await self._enqueue_agent(account, customer, [with_tag(p, policy.tag) for p in payloads], policy, key, kind)

    async def _agent_policy(self, account: str, customer: str) -> SendPolicy:
        last = await self.delivery.store.last_inbound_at(CHANNEL_NAME, account, customer)
        return agent_reply_policy(customer, last, self.delivery.clock())

    async def _enqueue_agent(self, account: str, customer: str, payloads: List[Mapping[str, Any]],
                             policy: SendPolicy, key: str, kind: str) -> None:
        for index, payload in enumerate(payloads):
            await self.delivery.enqueue(OutboundMessage(
                channel=CHANNEL_NAME, account=account, customer=customer, payload=payload,
                idempotency_key=f"{key}:{index}", free_form=policy.free_form, kind=kind,
            ))

    async def fetch_media(self, account: Optional[str], item: Mapping[str, Any], *, max_bytes: int) -> MediaFile:
        """A customer's attachment for the desk's proxy: its CDN URL (signed by Meta, no token needed).

        Only HTTPS URLs on Meta's media hosts are fetched (or the configured Graph URL's
        origin, where the fake Graph API serves them in tests): never any URL a message names.
        """
        url = item.get("url")
        if not isinstance(url, str) or not _meta_media_url(url, self.settings.graph_url):
            raise MediaUnavailable("not an Instagram media URL")
        return await download(self.graph.session(), url, max_bytes=max_bytes, timeout=self.settings.timeout,
                              content_type=item.get("mime_type"), allow_redirects=False)

    async def release_to_bot(self, customer: str, account: Optional[str] = None) -> bool:
        """End a takeover: the bot answers this customer again. False if none was active."""
        return await self.takeover.release(self._account(account), customer)

    def get_output_channel(self) -> Optional[OutputChannel]:
        """For Rasa's proactive endpoints (``/conversations/{id}/trigger_intent``)."""
        account = self.settings.account_ids[0] if self.settings.account_ids else ""
        return InstagramOutput(ProactiveOutbox(self.delivery, account))

    def agent_output(self, outbox: AgentOutbox) -> OutputChannel:
        """A person's messages: 24 h as usual, then ``HUMAN_AGENT`` for 7 days, then refused.

        Past 7 days ``send_text_message`` raises ``MessagingWindowClosed`` (a
        :class:`bot.errors.ChannelError`): nothing is queued and the caller reports why.
        The outbox gives the account and key; the window policy enqueues itself.
        """
        return InstagramAgentOutput(self, account=outbox.account, key=outbox.key)

    async def window_expires_at(self, account: str, customer: str) -> Optional[datetime]:
        """Until when a *person* may reply free-form: 7 days after the customer's last message.

        The bot's window is 24 hours, but an agent's reply is sent with the ``HUMAN_AGENT``
        tag up to 7 days (:mod:`channels.instagram.window`), and the desk orders and
        escalates its queue by the window an agent actually has.
        """
        if self.delivery is None:
            return None
        last = await self.delivery.store.last_inbound_at(self.name(), account, customer)
        return last + HUMAN_AGENT_WINDOW if last else None

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        """Metadata is built from the stored event in the handler, not the request."""
        return None


__all__ = ["CHANNEL_NAME", "AgentReplyResult", "InstagramAgentOutput", "InstagramInput", "InstagramOutput",
           "MessagingWindowClosed"]
