"""Between a webhook receiver process and the Rasa process that does the work.

A receiver (e.g. :mod:`channels.whatsapp_receiver`) appends each verified webhook to
its private :mod:`bot.gateway.journal` and answers the provider at once; its
:mod:`bot.gateway.relay` then records the journal in the shared delivery store.  The
Rasa process processes the stored inbox rows with its usual per-conversation workers.  Two ways tell it
there is work, so that a lost message is impossible:

- :mod:`bot.gateway.notice`: the receiver POSTs the conversations it stored to an
  internal route of the channel (shared secret, 127.0.0.1): fast path;
- :mod:`bot.gateway.sweep`: the Rasa process looks for pending inbox rows every
  couple of seconds: safety net for a notice that never arrived.

With several Rasa servers the notice is replaced by a RabbitMQ work queue
(:mod:`bot.cluster.workqueue`): any server takes the work, and acknowledges it only once
done; the sweep stays the safety net.
"""
