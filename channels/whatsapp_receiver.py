"""The WhatsApp Cloud webhook receiver: its own small process in front of ``rasa run``.

Inside ``rasa run`` the webhook shares one event loop with Rasa's synchronous NLU,
policies and tracker store, so under load Meta's POST waits for model inference
before it gets its 200 (docs/benchmarks.md §2).  This process loads no model: it
verifies the signature over the raw bytes and decodes the JSON
(:func:`channels.whatsapp_cloud.webhook.check_webhook`), appends the raw body to its own
durable journal (:class:`bot.gateway.journal.Journal`, a SQLite file no other process
opens) and answers.  The shared delivery database is not on that path: its write lock
is held by the Rasa process's transactions, and waiting for it made the 200 slow.

Behind the answer, :class:`bot.gateway.relay.JournalRelay` moves the journal into the
delivery database, oldest first, with :func:`channels.whatsapp_cloud.webhook.record_batch`
(the same code the in-Rasa route runs, ``schedule=False``), tells the Rasa process
which conversations have new rows and deletes the entry.  With ``MAJLIS_WORK_QUEUE_URL``
(several Rasa servers, docs/deploy.md) it publishes them to a RabbitMQ work queue that
every Rasa server consumes (:class:`bot.cluster.workqueue.WorkPublisher`); without it, it
POSTs a notice to the one Rasa server (:class:`bot.gateway.notice.InboxNotifier`,
``POST /webhooks/whatsapp_cloud/inbox``).  A crash in between
replays the entry on the next start (deduplicated on the wamid); a database outage
keeps entries in the journal (retried with backoff).  The Rasa process processes the
rows with its usual per-conversation workers; its sweep (:mod:`bot.gateway.sweep`)
picks up rows whose notice was lost.

Routes (the same paths as the in-Rasa channel, so only the port changes):

- ``GET  /webhooks/whatsapp_cloud/``         health (``{"status": "ok"}``: the process answers)
- ``GET  /webhooks/whatsapp_cloud/ready``    readiness (200 once the journal is open, with
  ``relay`` ok/failing and ``work_queue`` connected/reconnecting; 503 before)
- ``GET  /webhooks/whatsapp_cloud/webhook``  Meta's verification handshake
- ``POST /webhooks/whatsapp_cloud/webhook``  messages and statuses

Run it (``./majlis start`` does, see scripts/serve.py)::

    MAJLIS_INBOX_SECRET=... WHATSAPP_APP_SECRET=... WHATSAPP_VERIFY_TOKEN=... \\
    WHATSAPP_PHONE_NUMBER_ID=... WHATSAPP_ACCESS_TOKEN=... \\
        python -m channels.whatsapp_receiver --port 5006 --rasa-url http://127.0.0.1:5005

Settings come from the environment only (the ``WHATSAPP_*`` variables of
docs/channels/whatsapp.md, ``MAJLIS_DATABASE_URL``/``MAJLIS_DATA_DIR``,
``MAJLIS_INBOX_SECRET``, and ``MAJLIS_RECEIVER_JOURNAL`` (the journal file, default
``$MAJLIS_DATA_DIR/whatsapp_receiver_journal.sqlite``) / ``MAJLIS_RECEIVER_JOURNAL_LIMIT``
(entries held before answering 503, default 100000)); no access log (the handshake's query carries the verify
token), and log lines carry counts and reasons, never numbers or text.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
import time
from collections import deque
from typing import Callable, Deque, Dict, List, Optional, Sequence, Tuple

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Config, ConfigError, config, data_dir, positive
from bot.delivery import Delivery, DeliveryStore
from bot.cluster.workqueue import QueueSettings, WorkPublisher
from bot.gateway.journal import DEFAULT_LIMIT, DEFAULT_NAME, Journal, JournalFull
from bot.gateway.notice import SECRET_ENV, InboxNotifier, inbox_secret
from bot.gateway.relay import JournalRelay
from bot.metrics.install import instrument_aiohttp_app
from bot.storage import get_engine
from channels.meta.graph import SIGNATURE_HEADER, GraphClient, verify_handshake
from channels.whatsapp_cloud.sender import WhatsAppSender
from channels.whatsapp_cloud.settings import WhatsAppSettings
from channels.whatsapp_cloud.webhook import CHANNEL_NAME, Conversation, check_webhook, conversations_of, record_batch

logger = logging.getLogger(__name__)

PREFIX = f"/webhooks/{CHANNEL_NAME}"
NOTICE_PATH = f"{PREFIX}/inbox"
DEFAULT_PORT = 5006
#: Seconds in-flight webhooks get to finish on SIGTERM/SIGINT before the process exits.
SHUTDOWN_TIMEOUT_S = 10.0

#: The journal file and its bound (environment).
JOURNAL_ENV = "MAJLIS_RECEIVER_JOURNAL"
JOURNAL_LIMIT_ENV = "MAJLIS_RECEIVER_JOURNAL_LIMIT"
#: Seconds a webhook's answer waits for its rows to be in the delivery database (0: it does not).
RECORD_WAIT_ENV = "MAJLIS_RECEIVER_RECORD_WAIT"
RECORD_WAIT_S = 3.0

SETTINGS_KEY = web.AppKey("settings", WhatsAppSettings)
JOURNAL_KEY = web.AppKey("journal", Journal)
RELAY_KEY = web.AppKey("relay", JournalRelay)


class RecordOnlyDelivery(Delivery):
    """A :class:`~bot.delivery.Delivery` that records but never processes or sends here.

    Wherever the delivery service would wake a worker (``accept``, a failure status
    that queues the window template), the conversation goes to ``on_kick`` instead:
    the notifier, which wakes the worker in the Rasa process.  :meth:`start` is never
    called, so nothing is recovered, pruned or sent from this process.
    """

    def __init__(self, *, on_kick: Callable[[Conversation], None], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._on_kick = on_kick

    def kick(self, conv: Conversation) -> None:
        self._on_kick(conv)


def deliverer(settings: WhatsAppSettings, delivery: Delivery) -> Callable[[bytes], object]:
    """What the relay does with one journaled body: record it in the delivery database.

    The body was verified before it was journaled; the store is migrated on first use
    (so the receiver starts, and journals, while the database is down).
    """
    migrated = False

    async def deliver(raw: bytes) -> List[Conversation]:
        nonlocal migrated
        if not migrated:
            await delivery.store.setup()  # idempotent; safe while the Rasa process does the same
            migrated = True
        accepted, _statuses = await record_batch(json.loads(raw), settings=settings, delivery=delivery,
                                                 schedule=False)
        return conversations_of(accepted)

    return deliver


def build_app(
    settings: WhatsAppSettings,
    journal: Journal,
    relay: JournalRelay,
    *,
    on_cleanup: Sequence[Callable[[web.Application], object]] = (),
    ready: Callable[[], Dict[str, str]] = dict,
    record_wait: float = 0.0,
) -> web.Application:
    """The receiver's aiohttp application.

    On startup it opens ``journal`` and starts ``relay`` (which first moves whatever a
    previous run left in the journal); on cleanup it stops the relay (up to a few seconds
    of relaying; the rest waits in the journal for the next start) and closes the journal.

    Args:
        settings: the WhatsApp channel settings.
        journal: where verified bodies are written before the answer (not yet open).
        relay: moves journal entries to the delivery database and notifies Rasa.
        on_cleanup: coroutines run when the app shuts down, after the relay stopped.
        ready: more readiness details (e.g. whether the work queue is connected).
        record_wait: seconds to wait, before answering, until the body is recorded in the
            delivery database (0: answer once journaled).  With several receivers this keeps
            a customer's messages in the order the provider sent them (it sends the next after
            the 200); when the database is slow the answer goes out anyway after this long.
    """
    # aiohttp refuses bodies above client_max_size itself (413) before reading them all.
    app = web.Application(client_max_size=settings.max_body_bytes + 1)
    app[SETTINGS_KEY] = settings
    app[JOURNAL_KEY] = journal
    app[RELAY_KEY] = relay
    # (request, journal append) ms of the latest answers, summarised in the stop log line:
    # where the time to 200 goes, measured inside the process.
    timings: Deque[Tuple[float, float]] = deque(maxlen=10_000)
    held_at_open = 0  # entries a previous run left: the relay moves them before ours

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readiness(_request: web.Request) -> web.Response:
        # Ready to take webhooks as soon as the journal is open: with the delivery database or
        # RabbitMQ away the receiver still journals and answers (what it is for); those are
        # reported, not made a reason for a load balancer to send Meta's webhooks nowhere.
        details = {"relay": "failing" if relay.failing else "ok", **ready()}
        if journal.is_open:
            return web.json_response({"status": "ready", **details})
        return web.json_response({"status": "starting", **details}, status=503)

    async def verify(request: web.Request) -> web.Response:
        body, status = verify_handshake(dict(request.query), settings.verify_token)
        return web.Response(text=body, status=status)

    async def receive(request: web.Request) -> web.StreamResponse:
        if (request.content_length or 0) > settings.max_body_bytes:
            logger.warning("Webhook body of %d bytes refused (limit %d)", request.content_length,
                           settings.max_body_bytes)
            return web.json_response({"error": "body too large"}, status=413)
        started = time.perf_counter()
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            logger.warning("Webhook body refused: over the limit of %d bytes", settings.max_body_bytes)
            return web.json_response({"error": "body too large"}, status=413)
        read = time.perf_counter()
        _body, refusal = check_webhook(raw, request.headers.get(SIGNATURE_HEADER),
                                       request.headers.get("Content-Type"), settings=settings)
        if refusal is not None:
            return web.json_response(refusal.body, status=refusal.status)
        appending = time.perf_counter()
        try:
            await journal.append(raw)
        except JournalFull:
            # Bounded: Meta retries 5xx for days; better than filling the disk.
            logger.warning("Webhook refused: journal full (%d entries held; is the delivery database down?)",
                           len(journal))
            return web.json_response({"error": "temporarily unavailable"}, status=503)
        except (sqlite3.Error, OSError) as exc:
            logger.error("Webhook not journaled: %s", type(exc).__name__)
            return web.json_response({"error": "temporarily unavailable"}, status=503)
        if record_wait > 0:
            # Durable in the journal; recorded in the shared database before the 200 (order).
            ticket = held_at_open + journal.appended
            relay.wake()
            await relay.moved_past(ticket, record_wait)
        # Durable in the journal: answer first, then let the relay record and notify.
        answer = web.json_response({"status": "ok"})
        await answer.prepare(request)
        await answer.write_eof()
        relay.wake()
        done = time.perf_counter()
        timings.append((1000 * (done - started), 1000 * (done - appending)))
        logger.debug("Webhook answered 200 in %.1f ms (reading the body %.1f ms, checking + journaling %.1f ms)",
                     1000 * (done - started), 1000 * (read - started), 1000 * (done - read))
        return answer

    async def start(_app: web.Application) -> None:
        nonlocal held_at_open
        held = await journal.open()
        held_at_open = held - await journal.parked()  # parked entries never leave the journal
        if held:
            logger.info("Journal holds %d webhook(s) from a previous run; relaying them first", held)
        relay.start()

    async def stop(_app: web.Application) -> None:
        if timings:
            total = sorted(t for t, _ in timings)
            appends = sorted(a for _, a in timings)
            logger.info("Last %d answers, in this process: p50 %.1f / p99 %.1f ms (journal append + answer: "
                        "p50 %.1f / p99 %.1f ms); %d journal commit(s), %d checkpoint(s)", len(total), _pct(total, 50),
                        _pct(total, 99), _pct(appends, 50), _pct(appends, 99), journal.commits, journal.checkpoints)
        await relay.stop()
        await journal.close()
        if len(journal):
            logger.info("%d journaled webhook(s) left for the next start", len(journal))

    app.router.add_get(f"{PREFIX}/", health)
    app.router.add_get(f"{PREFIX}/ready", readiness)
    app.router.add_get(f"{PREFIX}/webhook", verify)
    app.router.add_post(f"{PREFIX}/webhook", receive)
    instrument_aiohttp_app(app)  # GET /metrics and webhook counts/latency (bot/metrics)
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    for callback in on_cleanup:
        app.on_cleanup.append(callback)  # type: ignore[arg-type]
    return app


def _pct(ordered: Sequence[float], p: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def journal_path(cfg: Config = config) -> str:
    """The journal file: ``MAJLIS_RECEIVER_JOURNAL`` or one under ``MAJLIS_DATA_DIR``."""
    return cfg(JOURNAL_ENV, default="") or os.path.join(data_dir(cfg), DEFAULT_NAME)


def notifier_for(cfg: Config, rasa_url: str) -> "InboxNotifier | WorkPublisher":
    """How the Rasa side hears of new rows: the work queue when configured, else the HTTP notice.

    Raises:
        bot.config.ConfigError: neither a work queue nor the notice's shared secret.
    """
    queue = QueueSettings.from_config(cfg, role="receiver")
    if queue is not None:
        return WorkPublisher(queue, CHANNEL_NAME)
    secret = inbox_secret(cfg)
    if secret is None:
        raise ConfigError(SECRET_ENV, "is required: the secret shared with the Rasa process")
    return InboxNotifier(rasa_url.rstrip("/") + NOTICE_PATH, secret)


def create(cfg: Config = config, *, rasa_url: str) -> web.Application:
    """The receiver as configured by the environment (``cfg``).

    Raises:
        bot.config.ConfigError: WhatsApp settings missing, or neither a work queue nor the shared secret.
    """
    settings = WhatsAppSettings.from_config(cfg)
    notifier = notifier_for(cfg, rasa_url)
    limit = cfg(JOURNAL_LIMIT_ENV, cast=positive(int), default=DEFAULT_LIMIT)
    graph = GraphClient(settings.graph_url, timeout_s=settings.timeout)  # never used to send from here
    store = DeliveryStore(get_engine())
    delivery = RecordOnlyDelivery(
        on_kick=lambda conv: notifier.notify([conv]),
        channel=CHANNEL_NAME, store=store, sender=WhatsAppSender(graph, settings.numbers),
        retry=settings.retry, retention=settings.retention,
    )
    journal = Journal(journal_path(cfg), limit=limit)
    relay = JournalRelay(journal, deliverer(settings, delivery), notifier.notify,
                         retry_on=(SQLAlchemyError, OSError))

    async def ready(_app: web.Application) -> None:
        # Migrate now when the database is there (its tables exist as soon as the receiver is
        # up, as before the journal); when it is down, start anyway: the relay migrates later.
        try:
            await store.setup()
        except (SQLAlchemyError, OSError) as exc:
            logger.warning("Delivery database unavailable at start (%s); journaling until it is back",
                           type(exc).__name__)
        if isinstance(notifier, WorkPublisher):
            try:
                await notifier.connect()
            except Exception as exc:  # aio-pika raises many types; publishing retries per batch
                logger.warning("Work queue unavailable at start (%s); the Rasa servers' sweep covers it",
                               type(exc).__name__)
        logger.info("WhatsApp receiver ready for %d number(s); journal limit %d; notices go to %s",
                    len(settings.numbers), limit, notifier.url)

    async def cleanup(_app: web.Application) -> None:
        await notifier.close()
        await graph.close()
        store.close()
        store.engine.dispose()
        logger.info("WhatsApp receiver stopped (%d webhook(s) journaled, %d relayed, %d notice(s) sent, %d failed)",
                    journal.appended, relay.delivered, _sent(notifier), notifier.failed)

    def details() -> Dict[str, str]:
        if isinstance(notifier, WorkPublisher):
            return {"work_queue": "connected" if notifier.connected else "reconnecting"}
        return {}

    # With a work queue (several receivers, PostgreSQL: no database-wide write lock to wait
    # for), record before answering, so a customer's messages keep their order (docs/deploy.md).
    record_wait = cfg(RECORD_WAIT_ENV, cast=float, default=RECORD_WAIT_S if isinstance(notifier, WorkPublisher) else 0.0)
    app = build_app(settings, journal, relay, on_cleanup=[cleanup], ready=details, record_wait=record_wait)
    app.on_startup.append(ready)
    return app


def _sent(notifier: "InboxNotifier | WorkPublisher") -> int:
    return notifier.published if isinstance(notifier, WorkPublisher) else notifier.sent


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="WhatsApp Cloud webhook receiver (no model; journals, answers, records, notifies Rasa).")
    parser.add_argument("--host", default=os.environ.get("MAJLIS_RECEIVER_HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("MAJLIS_RECEIVER_PORT", DEFAULT_PORT)))
    parser.add_argument("--rasa-url", default=os.environ.get(
        "MAJLIS_RASA_URL", f"http://127.0.0.1:{os.environ.get('MAJLIS_PORT', '5005')}"),
        help="the Rasa server that processes the messages (its /webhooks/whatsapp_cloud/inbox route)")
    parser.add_argument("--log-level", default=os.environ.get("MAJLIS_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s %(name)s - %(message)s")
    try:
        app = create(rasa_url=args.rasa_url)
    except ConfigError as exc:
        logger.error("WhatsApp receiver not configured: %s", exc)
        return 2
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None,
                shutdown_timeout=SHUTDOWN_TIMEOUT_S, handle_signals=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
