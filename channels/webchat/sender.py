"""The web chat's sender: an outbox message is emitted to the session's socket.io room."""
from __future__ import annotations

from typing import Any, Mapping, Optional

from socketio import AsyncServer

from bot.delivery import OutboundMessage, SendResult
from bot.errors import ProviderAPIError


class WebChatSender:
    """Implements ``bot.delivery.Sender``: emits to the session's room.

    A session with no open page is a transient failure, so the reply is retried
    (:data:`WEBCHAT_RETRY`) and reaches the customer when the page reconnects.
    """

    def __init__(self, sio: AsyncServer, event: str, namespace: Optional[str] = None) -> None:
        self._sio = sio
        self._event = event
        self._namespace = namespace or "/"

    async def send(self, message: OutboundMessage) -> SendResult:
        if not any(True for _ in self._sio.manager.get_participants(self._namespace, message.customer)):
            raise ProviderAPIError(0, "no open web-chat page for this session", True)
        await self._sio.emit(self._event, dict(message.payload), room=message.customer, namespace=self._namespace)
        return SendResult(provider_message_id=message.idempotency_key)

    def window_template(self, message: OutboundMessage) -> Optional[Mapping[str, Any]]:
        return None
