"""Events for other systems: one versioned schema, published on RabbitMQ (docs/events.md).

- :mod:`bot.events.schema`: the envelope and how tracker and desk events map onto it;
- :mod:`bot.events.publisher`: the AMQP publisher (aio-pika, a topic exchange);
- :mod:`bot.events.install`: wiring into the Rasa server app (on when
  ``MAJLIS_EVENTS_AMQP_URL`` is set).
"""
