"""Verifying a customer who is not known by their channel: a one-time code sent to their line.

An account action (bill, bundle, order, dispute, compensation) asked for by an
anonymous conversation (web chat, an unlinked Instagram account) says
``utter_verify_first`` and starts ``verification_form`` (actions/identity.py):

1. ``verification_line``: the customer's mobile number; the backend sends it a code
   (``CareBackend.send_verification_code``; the answer does not reveal whether the
   line is a customer's);
2. ``verification_code``: the code typed back; when the backend accepts it, the
   validator writes a sealed :class:`bot.identity.IdentityProof` for this sender id
   into the ``verified_identity`` slot — the only place a proof enters a slot;
3. ``action_after_verification`` (rule: form completed) thanks the customer and runs
   the account action that was waiting.

Wrong codes are re-asked; an expired or locked code (too many tries) sends the
customer back to the line question for a new one.
"""
from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Text

from rasa_sdk.events import SlotSet
from rasa_sdk.forms import FormValidationAction

from actions import billing, bundles, compensation, orders  # noqa: F401  (registers the account actions)
from actions.api.care_backend import BackendError, CareBackend, get_backend
from actions.common import AskForSlot, CareAction, as_text
from actions.identity import CODE_SLOT, LINE_SLOT, PENDING_SLOT, PROOF_SLOT
from actions.parsing import to_western_digits
from bot.identity import CustomerIdentity, IdentityProof, normalise_line

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict

logger = logging.getLogger(__name__)

# A phone number inside a sentence: "+971 50 123 4567", "0501234567", "00971-50-1234567".
_LINE = re.compile(r"\+?\d[\d\s\-().]{6,20}\d")
# The code: six digits standing alone ("the code is 482913", "482 913" is also read).
_CODE = re.compile(r"(?<!\d)(\d{3})\s?(\d{3})(?!\d)")


def find_line(text: Optional[str]) -> Optional[str]:
    """The mobile line written in ``text`` (international digits), or None."""
    for match in _LINE.finditer(to_western_digits(text or "")):
        line = normalise_line(match.group(0))
        if line:
            return line
    return None


def find_code(text: Optional[str]) -> Optional[str]:
    """The 6-digit code written in ``text``, or None (a phone number is not a code)."""
    digits = to_western_digits(text or "")
    if find_line(digits):
        return None
    match = _CODE.search(digits)
    return match.group(1) + match.group(2) if match else None


class ValidateVerificationForm(FormValidationAction):
    """The line (a code is sent to it) and the code (checked by the backend)."""

    def name(self) -> Text:
        return "validate_verification_form"

    async def validate_verification_line(self, value: Any, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                                         domain: "DomainDict") -> Dict[Text, Any]:
        line = find_line(as_text(value))
        if line is None:
            dispatcher.utter_message(response="utter_invalid_verification_line")
            return {LINE_SLOT: None}
        try:
            sent = await get_backend().send_verification_code(line)
        except BackendError:
            logger.exception("The care backend could not send a verification code.")
            dispatcher.utter_message(response="utter_something_went_wrong")
            return {LINE_SLOT: None}
        if not sent:
            dispatcher.utter_message(response="utter_verification_too_many_codes")
            return {LINE_SLOT: None}
        return {LINE_SLOT: line, CODE_SLOT: None}

    async def validate_verification_code(self, value: Any, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                                         domain: "DomainDict") -> Dict[Text, Any]:
        code = find_code(as_text(value))
        line = as_text(tracker.get_slot(LINE_SLOT))
        if code is None or not line:
            dispatcher.utter_message(response="utter_invalid_verification_code")
            return {CODE_SLOT: None}
        try:
            result = await get_backend().check_verification_code(line, code)
        except BackendError:
            logger.exception("The care backend could not check a verification code.")
            dispatcher.utter_message(response="utter_something_went_wrong")
            return {CODE_SLOT: None}
        if result.outcome == "verified" and result.customer_id:
            proof = IdentityProof.issue(tracker.sender_id, result.customer_id, "sms_code")
            logger.info("A conversation was verified by a one-time code.")
            return {CODE_SLOT: "verified", PROOF_SLOT: proof.seal()}
        if result.outcome == "wrong":
            dispatcher.utter_message(response="utter_verification_code_wrong")
            return {CODE_SLOT: None}
        # Expired, or locked after too many tries: a new code is needed.
        dispatcher.utter_message(response="utter_verification_code_expired")
        return {CODE_SLOT: None, LINE_SLOT: None}


class ActionAskVerificationLine(AskForSlot):
    slot = LINE_SLOT
    response = "utter_ask_verification_line"

    def name(self) -> Text:
        return "action_ask_verification_line"


class ActionAskVerificationCode(AskForSlot):
    slot = CODE_SLOT
    response = "utter_ask_verification_code"

    def name(self) -> Text:
        return "action_ask_verification_code"


class ActionAfterVerification(CareAction):
    """Thanks the verified customer and runs the account action that was waiting for it."""

    def name(self) -> Text:
        return "action_after_verification"

    async def act(self, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                  backend: CareBackend, identity: CustomerIdentity) -> List[Dict[Text, Any]]:
        reset = [SlotSet(PENDING_SLOT, None), SlotSet(LINE_SLOT, None), SlotSet(CODE_SLOT, None)]
        if not identity.is_verified:  # the form ended without a proof (should not happen): say so
            dispatcher.utter_message(response="utter_verification_failed")
            return reset
        dispatcher.utter_message(response="utter_verified")
        pending = CareAction.registry.get(str(tracker.get_slot(PENDING_SLOT) or ""))
        if pending is None:
            return reset
        return reset + await pending.act(dispatcher, tracker, backend, identity)
