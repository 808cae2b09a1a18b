"""WhatsApp Business Platform (Cloud API) connector.

The parts every connector has (``tests/channels/test_channel_port.py`` checks them):

- :mod:`.settings`: business numbers, tokens, limits (env and credentials.yml);
- :mod:`.webhook`: signature check, parse and durable record of one POST
  (framework-free; also run by the receiver process :mod:`channels.whatsapp_receiver`);
- :mod:`.parse`: webhook JSON to frozen :class:`~.parse.InboundMessage` values;
- :mod:`.payloads`: our replies to Graph ``/messages`` bodies (pure builders);
- :mod:`.sender`: one Graph attempt per outbox message, errors classified;
- :mod:`.channel`: the Rasa input/output channel (``channels.whatsapp_cloud.channel.WhatsAppCloudInput``).

WhatsApp's own: :mod:`.address` (a customer is a phone ``wa_id``, a business-scoped
user id or a group). Docs: docs/channels/whatsapp.md.
"""
