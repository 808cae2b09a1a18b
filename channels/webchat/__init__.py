"""Web chat connector: Majlis' own chat page over socket.io, with durable delivery.

The parts every connector has (``tests/channels/test_channel_port.py`` checks them):

- :mod:`.parse`: a browser's ``user_uttered`` data to the stored message (client metadata not trusted);
- :mod:`.payloads`: our replies as ``bot_uttered`` bodies (and the "agent joined" notice);
- :mod:`.sender`: emits an outbox message to the session's socket.io room;
- :mod:`.channel`: the Rasa input/output channel (``channels.webchat.channel.WebChatInput``).

No ``settings.py``: the few options (socket.io path, events, title) come from
credentials.yml in :meth:`~.channel.WebChatInput.from_credentials`, and the secrets
and rates from the environment in :mod:`.session`.  No ``webhook.py``: there is no
provider posting signed webhooks; the browser connects to socket.io, and what it may
do (origin, rates, server-issued session tokens, the operator's identity JWT) is
:mod:`.session`. Docs: docs/channels/webchat.md.
"""
