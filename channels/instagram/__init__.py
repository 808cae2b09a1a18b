"""Instagram messaging and comments connector (Meta Graph API).

The parts every connector has (``tests/channels/test_channel_port.py`` checks them):

- :mod:`.settings`: accounts, tokens, comment funnel texts (env and credentials.yml);
- :mod:`.webhook`: signature check, parse and durable record of one POST (framework-free);
- :mod:`.parse`: webhook JSON to frozen :class:`~.parse.InstagramEvent` values;
- :mod:`.payloads`: our replies to Send API bodies (1,000-byte split, quick replies, tags);
- :mod:`.sender`: one Graph request per attempt, errors classified;
- :mod:`.channel`: the Rasa input/output channel (``channels.instagram.channel.InstagramInput``).

Instagram's own: :mod:`.comments` (comment → private reply funnel), :mod:`.takeover`
(a person answering from the Instagram inbox) and :mod:`.window` (the 24 h / 7-day
``HUMAN_AGENT`` policy for agent replies). Docs: docs/channels/instagram.md.
"""
