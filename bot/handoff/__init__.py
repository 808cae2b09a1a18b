"""Human handoff: when the bot hands over, who owns the conversation, the context packet.

Public API::

    from bot.handoff import (
        HandoffService, DeskOperations, HandoffGate, HandoffStore,   # services
        HandoffContext, OwnerState, Actor,                           # values
        load_settings, HandoffSettings,                              # handoff.yml
    )

See docs/handoff.md.
"""
from bot.handoff.config import HandoffSettings, load_settings
from bot.handoff.context import CONTEXT_VERSION, HandoffContext, OwnerState
from bot.handoff.desk import Actor, Conflict, DeskError, DeskOperations, Forbidden, NotFound
from bot.handoff.gate import HandoffGate
from bot.handoff.service import HandoffService
from bot.handoff.store import HandoffStore

__all__ = [
    "CONTEXT_VERSION", "Actor", "Conflict", "DeskError", "DeskOperations", "Forbidden", "HandoffContext",
    "HandoffGate", "HandoffService", "HandoffSettings", "HandoffStore", "NotFound", "OwnerState", "load_settings",
]
