"""Channels whose replies go out only where the customer is connected (web chat).

A web chat reply is a socket.io emit: it reaches the customer only from the Rasa server
the customer's page is connected to (the load balancer keeps a page on one server:
sticky sessions, docs/deploy.md).  With several servers,
:class:`ConnectedDelivery` works a conversation only on that server: it is a
:class:`~bot.cluster.delivery.ClusterDelivery` (one server at a time, under the
conversation lease) that does not even try to hold a conversation whose customer is
not connected here.  Work stored by another server (an agent's reply from the desk on
server B for a customer connected to A) is found by the sweep (:class:`bot.gateway.sweep.InboxSweep`,
every server), whose kick does something only on the server holding the customer's socket.
A page that reconnects elsewhere (its server died) is worked there from then on: the
lease of a dead server is free at once.
"""
from __future__ import annotations

from typing import Any, Callable, Tuple

from bot.cluster.delivery import ClusterDelivery

Conversation = Tuple[str, str]


class ConnectedDelivery(ClusterDelivery):
    """:class:`ClusterDelivery` that works a conversation only while its customer is connected here.

    Args:
        present: whether the conversation's customer has a connection to this server.
        **kwargs: as for :class:`ClusterDelivery`.
    """

    def __init__(self, *, present: Callable[[Conversation], bool], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.present = present

    async def _try_hold(self, conv: Conversation) -> bool:
        if not self.present(conv):
            return False  # the server the customer is connected to works it (the sweep wakes it there)
        return await super()._try_hold(conv)


__all__ = ["ConnectedDelivery"]
