"""Whose account an action may touch: the conversation's proven customer, or nobody.

A conversation's customer is known only when something vouches for it
(docs/security.md#identities):

- a WhatsApp (Cloud or Twilio) conversation: the number, proven by the provider's
  signature, which the backend maps to a customer (:meth:`CareBackend.customer_for_line`);
- an Instagram conversation: the IGSID, if the backend links it to a customer;
- any conversation: an :class:`bot.identity.IdentityProof` for this very sender id,
  in the ``verified_identity`` slot (written only by ``validate_verification_form``
  after the backend accepted a one-time code) or in the latest message's metadata
  (written by the web chat after checking the operator's signed JWT).

The raw sender id is never used as a customer id, and the sender id's namespace
counts only when the conversation's messages really came in on that channel.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Text

from rasa_sdk.events import FollowupAction, SlotSet

from actions.api.care_backend import CareBackend
from bot.identity import (
    PHONE_CHANNELS,
    PROOF_METADATA_KEY,
    CustomerIdentity,
    IdentityError,
    channel_of,
    normalise_line,
    parse,
    unseal,
)

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

#: The slot holding a sealed proof; custom mapping: no NLU entity or client can fill it.
PROOF_SLOT = "verified_identity"
#: The account action to run once the customer is verified.
PENDING_SLOT = "pending_account_action"
VERIFICATION_FORM = "verification_form"
LINE_SLOT = "verification_line"
CODE_SLOT = "verification_code"


def _proofs(tracker: "Tracker") -> List[Any]:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return [tracker.get_slot(PROOF_SLOT), metadata.get(PROOF_METADATA_KEY) if isinstance(metadata, dict) else None]


async def _vouched_customer(sender: str, identity: CustomerIdentity, came_in_on: Optional[str],
                            backend: CareBackend) -> Optional[str]:
    """The customer a channel's signature vouches for (only on the channel the sender id names)."""
    if came_in_on != identity.channel or channel_of(sender) != identity.channel:
        return None
    if identity.channel in PHONE_CHANNELS:
        line = normalise_line(identity.provider_id)
        return await backend.customer_for_line(line) if line else None
    if identity.channel == "instagram":
        return await backend.linked_customer(identity.channel, identity.provider_id)
    return None


async def resolve_identity(tracker: "Tracker", backend: CareBackend) -> CustomerIdentity:
    """The conversation's identity, with ``verified_customer_id`` set only when proven."""
    came_in_on = tracker.get_latest_input_channel()
    try:
        identity = parse(tracker.sender_id, came_in_on)
    except IdentityError:  # a sender id of one channel arriving on another: prove nothing
        return CustomerIdentity(channel=came_in_on or "", provider_id=tracker.sender_id)
    for value in _proofs(tracker):
        proof = unseal(value, tracker.sender_id)
        if proof is not None:
            return replace(identity, verified_customer_id=proof.customer_id)
    vouched = await _vouched_customer(tracker.sender_id, identity, came_in_on, backend)
    return replace(identity, verified_customer_id=vouched)


async def verified_customer(tracker: "Tracker", backend: CareBackend) -> Optional[str]:
    """The proven customer id of the conversation, or None."""
    return (await resolve_identity(tracker, backend)).verified_customer_id


def start_verification(dispatcher: "CollectingDispatcher", pending_action: Text) -> List[Dict[Text, Any]]:
    """Ask the customer to verify, then run ``pending_action`` (``action_after_verification``)."""
    dispatcher.utter_message(response="utter_verify_first")
    return [SlotSet(PENDING_SLOT, pending_action), SlotSet(LINE_SLOT, None), SlotSet(CODE_SLOT, None),
            FollowupAction(VERIFICATION_FORM)]


__all__ = ["CODE_SLOT", "LINE_SLOT", "PENDING_SLOT", "PROOF_METADATA_KEY", "PROOF_SLOT", "VERIFICATION_FORM",
           "resolve_identity", "start_verification", "verified_customer"]
