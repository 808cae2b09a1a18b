"""An agent sends an approved WhatsApp template from the desk (after the 24-hour window).

The template (:mod:`bot.handoff.message_templates`) is stored as the agent's reply (the
transcript shows the body as the customer reads it), then queued on the conversation's
channel under the reply's idempotency key, so the desk follows its delivery like any
reply and sending it twice (same ``client_key``) sends it once.
"""
from __future__ import annotations

import logging
from typing import Any, Optional, Sequence

from bot.handoff.context import OwnerState
from bot.handoff.desk import Actor, Conflict, DeskError, DeskOperations
from bot.handoff.message_templates import MessageTemplate, TemplateError
from bot.handoff.records import MessageRecord

logger = logging.getLogger(__name__)

#: The channel whose templates these are (Instagram has its 7-day HUMAN_AGENT tag instead).
TEMPLATE_CHANNEL = "whatsapp_cloud"


async def send_template(ops: DeskOperations, actor: Actor, public_id: str, template: MessageTemplate,
                        values: Sequence[Any], client_key: Optional[str] = None) -> MessageRecord:
    """Store and queue ``template`` with ``values`` for the handoff's customer.

    Raises:
        NotFound, Forbidden: as every desk action.
        Conflict: the caller does not own the conversation.
        DeskError: not a WhatsApp conversation, or values WhatsApp would refuse.
    """
    record = await ops.acting(actor, public_id)
    if record.channel != TEMPLATE_CHANNEL:
        raise DeskError("templates are sent on WhatsApp only")
    if record.state != OwnerState.ASSIGNED or record.agent_id != actor.id:
        raise Conflict("take the conversation before sending")
    try:
        checked = template.check(values)
    except TemplateError as exc:
        raise DeskError(str(exc)) from None
    service = ops.service
    message, created = await ops.store.add_message(
        record, kind="agent", text=template.text(checked), now=service.clock(), agent_id=actor.id,
        author=actor.name, client_key=client_key, event={"author": actor.name, "template": template.key})
    if created:
        attempt = 1
        output = service.registry.output(record.channel, account=record.account or "", customer=record.customer,
                                         key=message.outbox_key(attempt))
        if output is None or not record.account:
            await ops.store.set_delivery(message.id, state="failed", attempt=attempt)
            raise Conflict("this conversation's WhatsApp number is unknown; the template was not sent")
        await output.send_custom_json(record.customer, template.message(checked))
        await ops.store.set_delivery(message.id, state="queued", attempt=attempt)
        ops.watch(message.id, "queued")
        logger.info("Handoff %s: template %s queued (reply %d)", public_id, template.key, message.id)
    await service.flush_events()
    return await ops.store.message(message.id) or message
