"""REST connector: ``POST /webhooks/rest/webhook`` for ``./majlis chat``, scripts and integrations.

The parts every connector has (``tests/channels/test_channel_port.py`` checks them):

- :mod:`.webhook`: the bearer-token check (constant time);
- :mod:`.parse`: a request body to ``(sender, text)`` or the reason it is refused;
- :mod:`.channel`: the Rasa input channel (``channels.rest.channel.RestInput``).

No ``settings.py``: its one setting, the token, is read from credentials.yml in
:meth:`~.channel.RestInput.from_credentials`.  No ``payloads.py`` nor ``sender.py``:
there is no provider to call; the replies are the HTTP answer, in Rasa's own REST
shape (``CollectingOutputChannel``).  Hence no agent-reply output either: a REST
conversation only gets replies inside a dialogue turn.
"""
