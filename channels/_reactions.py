"""Reactions and likes: recorded for the people in the conversation, never answered.

A WhatsApp reaction (👍 on a message), an Instagram reaction or a heart ("like_heart"
sticker) is not a request: the bot does not answer it.  It is kept in the channel's
inbox with the conversation (``bot.delivery``, like every inbound event), and while a
person owns the conversation it is shown to them: the desk attaches a recorder at
start (:meth:`bot.handoff.outbound.ChannelRegistry.attach_reactions`) that adds it to
the open handoff's transcript.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Awaitable, Callable, Optional

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reaction:
    """One customer reaction.

    Attributes:
        channel: the channel name.
        account: the business identity the conversation is with.
        customer: the conversation's customer key.
        emoji: the emoji (a heart for Instagram's like); "" when the reaction was removed.
        message_id: the provider id of the message reacted to, if given.
    """

    channel: str
    account: str
    customer: str
    emoji: str
    message_id: Optional[str] = None

    @property
    def removed(self) -> bool:
        return not self.emoji


#: Adds a reaction to the open handoff of its conversation; True when an agent sees it.
ReactionRecorder = Callable[[Reaction], Awaitable[bool]]


class Reactions:
    """The recorder a channel hands its reactions to (none until the desk attaches one)."""

    def __init__(self) -> None:
        self._recorder: Optional[ReactionRecorder] = None

    def attach(self, recorder: ReactionRecorder) -> None:
        self._recorder = recorder

    async def record(self, reaction: Reaction) -> bool:
        """Show the reaction to the agent owning the conversation, if any; never answered."""
        if self._recorder is None:
            logger.debug("Reaction on %s recorded in the inbox only (no desk)", reaction.channel)
            return False
        shown = await self._recorder(reaction)
        logger.debug("Reaction on %s recorded%s", reaction.channel, " for the agent" if shown else "")
        return shown
