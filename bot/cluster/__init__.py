"""Running several Rasa servers and webhook receivers on one shared database.

One process per database needs nothing of this package (SQLite, ``./majlis start``).
With several (``./majlis start --instances N``, docs/deploy.md):

- :mod:`bot.cluster.lease`: one instance at a time works a conversation
  (a PostgreSQL advisory lock per conversation, freed by the server when the holder dies);
- :mod:`bot.cluster.delivery`: :class:`~bot.delivery.Delivery` under that lease, with
  per-conversation recovery instead of the one-process "reset everything at start";
- :mod:`bot.cluster.workqueue`: receivers publish "conversation X has new rows" to a
  RabbitMQ queue; every Rasa server consumes it, acknowledging only after the rows are processed;
- :mod:`bot.cluster.desk_signal`: desk live updates across instances (PostgreSQL LISTEN/NOTIFY).
"""
