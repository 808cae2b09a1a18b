"""Twilio Programmable Messaging connector: WhatsApp and SMS through one Twilio account.

The parts every connector has (``tests/channels/test_channel_port.py`` checks them):

- :mod:`.settings`: account, numbers, template and URL policy (env and credentials.yml);
- :mod:`.webhook`: verify, parse and durably accept one form POST (framework-free);
- :mod:`.parse`: Twilio's form fields to frozen :class:`~.parse.TwilioInbound` / status values;
- :mod:`.payloads`: our replies to ``messages.create`` arguments (1,600-char and SMS-segment split);
- :mod:`.sender`: one non-blocking ``create_async`` attempt, errors classified;
- :mod:`.channel`: the Rasa input/output channel (``channels.twilio.channel.TwilioWhatsAppInput``).

Twilio's own: :mod:`.signature` (``X-Twilio-Signature`` over the public URL and the
form) and :mod:`.http_client` (twilio-python's async client on our aiohttp session).
Docs: docs/channels/twilio.md.
"""
