"""The REST channel, for ``./majlis chat``, scripts and integrations: authenticated.

credentials.yml::

    channels.rest.channel.RestInput:
      token: ${MAJLIS_REST_TOKEN}

``POST /webhooks/rest/webhook`` with ``Authorization: Bearer <token>`` and
``{"sender": "<id>", "message": "<text>"}``; the answer is the list of bot messages
(``[{"recipient_id": …, "text": …, "buttons": […]}, …]``), as Rasa's own REST channel
answers, so existing clients only add the header.  ``GET /webhooks/rest/`` is a
health check.

What differs from Rasa's ``rest`` channel, and why (docs/security.md):

- the bearer token is required and compared in constant time; without a token in
  the credentials the channel refuses to start, so ``./majlis start`` leaves it out
  (``scripts/serve.py`` generates one for a local install);
- whoever holds the token is an integration, not a customer: the sender it names is
  namespaced (``rest:<sender>``), so it can never be a WhatsApp, Instagram or web
  chat customer's conversation or care-backend account;
- the channel name is pinned (``rest``) and client ``metadata`` / ``input_channel``
  are ignored: a client cannot pose as another channel nor put data in the desk;
- bad input gets a 4xx with a reason (401 no or wrong token, 400 malformed, 413 too
  large), never a 500.
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config import Secret
from channels.rest.parse import MAX_BODY_BYTES, read_request
from channels.rest.webhook import WRONG_TOKEN, token_matches
from channels.webhook_errors import TOO_LARGE, malformed

logger = logging.getLogger(__name__)

CHANNEL_NAME = "rest"


def namespaced(sender: str) -> str:
    """The conversation id Rasa gets for a REST ``sender`` (``rest:<sender>``)."""
    return f"{CHANNEL_NAME}:{sender}"


class RestInput(InputChannel):
    """Authenticated REST channel (see the module docstring).

    Args:
        token: the bearer secret clients must send; required.
    """

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "RestInput":
        token = str((credentials or {}).get("token") or "").strip()
        return cls(Secret(token))

    def __init__(self, token: Secret) -> None:
        if not token:
            raise ValueError("the REST channel needs a bearer token (MAJLIS_REST_TOKEN); it is not served without one")
        self.token = token

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("majlis_rest", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not token_matches(request.headers.get("Authorization"), self.token):
                return response.json(WRONG_TOKEN.body, status=WRONG_TOKEN.status,
                                     headers={"WWW-Authenticate": 'Bearer realm="majlis-rest"'})
            if len(request.body or b"") > MAX_BODY_BYTES:
                return response.json(TOO_LARGE.body, status=TOO_LARGE.status)
            parsed, reason = read_request(request.body or b"")
            if parsed is None:
                refusal = malformed(reason)
                return response.json(refusal.body, status=refusal.status)
            sender, text = parsed
            collector = CollectingOutputChannel()
            # Channel pinned, metadata empty: nothing the client sends picks either.
            await on_new_message(UserMessage(text, collector, namespaced(sender), input_channel=CHANNEL_NAME,
                                             metadata={}))
            return response.json(collector.messages)

        return hook
