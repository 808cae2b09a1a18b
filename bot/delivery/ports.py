"""The channel port: what a connector provides to :mod:`bot.delivery` and to the handoff layer.

Every connector (``channels/<name>/``) plugs in the same way:

- to delivery, a :class:`bot.delivery.Sender` (one provider attempt per outbox
  message) and output channels that store each payload in a :class:`ReplyOutbox`;
- to handoff, its InputChannel is a :class:`CustomerChannel`: it builds its own
  :class:`AgentReplyOutput` for a person's messages, says whether its page shows
  "an agent joined" notices, when the customer-service window ends, and takes the
  handoff's listeners where the provider has takeovers or reactions.

The handoff registry (:class:`bot.handoff.outbound.ChannelRegistry`) finds connectors
among Rasa's input channels by this type, so nothing in ``bot/`` imports ``channels/``
and nothing probes attributes by name.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Awaitable, Callable, ClassVar, Dict, Mapping, Optional, Protocol

from bot.delivery.service import Delivery
from bot.delivery.types import OutboundMessage
from bot.errors import MediaUnavailable

#: ``taken_over(channel, account, customer, reason)`` → the open handoff record (or None).
TakeoverListener = Callable[[str, str, str, str], Awaitable[Any]]
#: ``recorder(reaction)``: a customer's reaction for the desk (a connector's reaction value).
ReactionRecorder = Callable[[Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaFile:
    """The bytes of a customer's or an agent's file, with its MIME type (no parameters)."""

    data: bytes
    content_type: str
    filename: Optional[str] = None


class ReplyOutbox(Protocol):
    """Where an output channel stores each payload; nothing is sent directly.

    Implemented by :class:`bot.delivery.Outbox` (replies to one inbound message, keys
    ``<message id>:<n>``), :class:`bot.handoff.outbound.KeyedOutbox` (a person's
    messages, keys chosen by the desk) and each connector's proactive outbox (Rasa's
    ``trigger_intent`` and reminders: fresh keys).
    """

    async def add(self, payload: Mapping[str, Any], *, kind: str = "message", free_form: bool = True,
                  key: Optional[str] = None) -> Optional[OutboundMessage]:
        """Store one provider payload; None when its key was stored before (sent once)."""


class AgentOutbox(ReplyOutbox, Protocol):
    """A :class:`ReplyOutbox` for one customer of a handoff, with the identities it binds."""

    account: str
    customer: str
    key: str


class AgentReplyOutput(Protocol):
    """A person's text and media to a customer, outside a dialogue turn (Rasa's OutputChannel calls).

    A connector may refuse (Instagram more than 7 days after the customer wrote) by
    raising :class:`bot.errors.ChannelError`: nothing is queued and the desk shows why.
    """

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Queue ``text`` for the customer named by Rasa's ``recipient_id``."""

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Queue an image by URL."""

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        """Queue a file or media attachment."""

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        """Queue a channel-specific message (a template, a notice the page renders)."""


class CustomerChannel(abc.ABC):
    """Mixed into a connector's Rasa InputChannel: how handoff reaches its customers.

    Attributes:
        delivery: the connector's delivery service (None until its blueprint is built).
        shows_agent_notices: its page renders "an agent joined / left" (custom
            payloads); elsewhere such a payload would reach the customer as a
            meaningless message, so the desk sends none.
    """

    delivery: Optional[Delivery]
    shows_agent_notices: ClassVar[bool] = False

    @classmethod
    @abc.abstractmethod
    def name(cls) -> str:
        """The channel name (Rasa's ``input_channel``, the delivery rows' channel)."""

    @abc.abstractmethod
    def agent_output(self, outbox: AgentOutbox) -> AgentReplyOutput:
        """An output channel for a person's messages, storing each payload in ``outbox``."""

    async def window_expires_at(self, account: str, customer: str) -> Optional[datetime]:
        """End of the customer-service window (None: no window, or the customer never wrote)."""
        delivery = self.delivery
        if delivery is None or delivery.window is None:
            return None
        last = await delivery.store.last_inbound_at(self.name(), account, customer)
        return last + delivery.window if last else None

    async def release_to_bot(self, customer: str, account: Optional[str] = None) -> bool:
        """A handoff closed: end a takeover made at the provider. False: there was none."""
        return False

    def attach_handoff(self, listener: TakeoverListener) -> None:
        """Takeovers made at the provider (outside the desk) open handoffs through ``listener``."""

    def attach_reactions(self, recorder: ReactionRecorder) -> None:
        """Customer reactions go to ``recorder`` (shown in a handed-off conversation)."""

    async def fetch_media(self, account: Optional[str], item: Mapping[str, Any], *, max_bytes: int) -> MediaFile:
        """Download a customer's media, with the provider's credentials (the desk's media proxy).

        ``item`` is a context packet media entry (``ref``: the provider's media id,
        ``url``: the provider's URL, ``mime_type``).

        Raises:
            bot.errors.MediaUnavailable: this channel has no such media.
            bot.errors.MediaTooLarge: larger than ``max_bytes``.
            bot.errors.ProviderAPIError: the provider refused or failed.
        """
        raise MediaUnavailable(f"channel {self.name()} cannot fetch media")

    async def upload_media(self, account: str, media: MediaFile) -> Optional[Mapping[str, Any]]:
        """Make an agent's file sendable: the attachment for ``send_attachment`` (None: not supported).

        Raises:
            bot.errors.ProviderAPIError: the provider refused or failed the upload.
        """
        return None
