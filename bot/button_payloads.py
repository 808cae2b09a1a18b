"""``/intent{...}`` is a button's payload, never something a customer can type to steer the bot.

Rasa reads any message that starts with ``/`` as a hard-coded prediction
(``RegexMessageHandler``): a customer typing ``/buy_bundle{"bundle_size": "10GB"}``
would pick the intent and fill the entities themselves.  Majlis honours that syntax
only when a message *is* a button payload:

- the channel says so, from what the provider signed (Instagram quick replies and
  postbacks: :func:`mark_button`; WhatsApp and Twilio button replies already pass
  their parse data directly and never reach the handler);
- or the text is exactly the payload of a button the bot offered in its last turn (the
  web chat and REST send a tapped button's payload as text; the tracker knows what was
  offered, so typing it is the same as tapping it).

Anything else starting with ``/`` is ordinary text for the NLU.  The check runs in the
processor (:mod:`bot.rasa_fixes`), which alone sees both the message and the tracker.
The marker lives in ``UserMessage.metadata``, which only channels build: no Majlis
channel copies client metadata into it.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Set

from rasa.shared.core.events import BotUttered, UserUttered

#: Metadata key a channel sets (server side) on a message that is a tapped button's payload.
BUTTON_KEY = "majlis_button_payload"
INTENT_PREFIX = "/"


def mark_button(metadata: Dict[str, Any]) -> Dict[str, Any]:
    """``metadata`` marked as the payload of a provider-signed button tap; returns it."""
    metadata[BUTTON_KEY] = True
    return metadata


def is_marked(metadata: Optional[Mapping[str, Any]]) -> bool:
    return isinstance(metadata, Mapping) and metadata.get(BUTTON_KEY) is True


def looks_like_payload(text: Optional[str]) -> bool:
    """Whether Rasa's regex handler would read ``text`` as ``/intent{...}``."""
    return isinstance(text, str) and text.strip().startswith(INTENT_PREFIX)


def offered_payloads(tracker: Any) -> Set[str]:
    """Payloads of the buttons the bot sent since the customer's last message."""
    offered: Set[str] = set()
    for event in reversed(getattr(tracker, "events", None) or ()):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            for button in (event.data or {}).get("buttons") or ():
                if isinstance(button, Mapping) and isinstance(button.get("payload"), str):
                    offered.add(button["payload"].strip())
    return offered


def honoured(text: Optional[str], metadata: Optional[Mapping[str, Any]], tracker: Any) -> bool:
    """Whether ``/intent{...}`` in ``text`` may pick the intent (see the module docstring)."""
    if not looks_like_payload(text):
        return False
    return is_marked(metadata) or (text or "").strip() in offered_payloads(tracker)
