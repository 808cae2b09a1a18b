"""bot/gateway/journal.py and bot/gateway/relay.py: real SQLite files, a real delivery store.

WhatsApp bodies are built by tests/fakes/fake_customer.py and recorded with the
receiver's own ``deliverer`` (channels/whatsapp_receiver.py) into a SQLite delivery
database, as the receiver process does.
"""
from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
import subprocess
import sys

import pytest
from sqlalchemy.exc import SQLAlchemyError

from bot.delivery import DeliveryStore
from bot.gateway.journal import CHECKPOINT_COMMITS, Journal, JournalFull, JournalInUse
from bot.gateway.relay import JournalRelay
from bot.storage import create_engine
from channels.meta.graph import GraphClient
from channels.whatsapp_cloud.sender import WhatsAppSender
from channels.whatsapp_receiver import CHANNEL_NAME, RecordOnlyDelivery, deliverer
from tests.bot.delivery.helpers import eventually
from tests.channels.whatsapp_harness import PHONE_NUMBER_ID, settings
from tests.fakes.fake_customer import encode, envelope, text_message


def body(text: str, sender: str = "971500000009"):
    message = text_message(text, sender=sender)
    return encode(envelope([message], phone_number_id=PHONE_NUMBER_ID)), message["id"]


async def test_appends_survive_reopening_and_come_back_oldest_first(tmp_path):
    path = str(tmp_path / "journal.sqlite")
    journal = Journal(path)
    assert await journal.open() == 0
    await asyncio.gather(*(journal.append(f"body {i}".encode()) for i in range(50)))
    assert len(journal) == 50 and journal.commits < 50  # concurrent appends shared commits
    await journal.close()

    again = Journal(path)
    assert await again.open() == 50
    entries = await again.oldest(10)
    assert [e.body for e in entries] == [f"body {i}".encode() for i in range(10)]
    await again.remove([e.id for e in entries])
    assert len(again) == 40 and (await again.oldest(1))[0].body == b"body 10"
    await again.close()


async def test_the_limit_refuses_appends(tmp_path):
    journal = Journal(str(tmp_path / "journal.sqlite"), limit=2)
    await journal.open()
    await journal.append(b"a")
    await journal.append(b"b")
    with pytest.raises(JournalFull):
        await journal.append(b"c")
    await journal.remove([(await journal.oldest(1))[0].id])
    await journal.append(b"c")  # room again
    assert [e.body for e in await journal.oldest(10)] == [b"b", b"c"]
    await journal.close()


async def test_a_second_process_cannot_open_the_same_journal(tmp_path):
    path = str(tmp_path / "journal.sqlite")
    journal = Journal(path)
    await journal.open()
    other = subprocess.run(
        [sys.executable, "-c",
         "import asyncio, sys; from bot.gateway.journal import Journal, JournalInUse\n"
         "async def main():\n"
         "    try:\n"
         f"        await Journal({path!r}).open()\n"
         "    except JournalInUse:\n"
         "        sys.exit(3)\n"
         "asyncio.run(main())"],
        capture_output=True, text=True, timeout=60)
    assert other.returncode == 3, other.stderr
    await journal.close()
    reopened = Journal(path)  # released on close (and by the kernel when a process dies)
    await reopened.open()
    await reopened.close()


def test_the_journal_file_is_wal_fsynced_and_private(tmp_path):
    async def make():
        journal = Journal(str(tmp_path / "journal.sqlite"))
        await journal.open()
        await journal.append(b"x")
        await journal.close()

    asyncio.run(make())
    with sqlite3.connect(tmp_path / "journal.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert (tmp_path / "journal.sqlite").stat().st_mode & 0o077 == 0


async def test_appends_commit_with_synchronous_full_also_after_a_removal(tmp_path):
    """An append's transaction runs with ``synchronous=FULL`` (2): its commit fsyncs the WAL.

    Read on the journal's own connection, inside an append transaction, before and after
    a removal (which switches the connection to NORMAL for itself).
    """
    journal = Journal(str(tmp_path / "journal.sqlite"))
    await journal.open()

    async def setting_of_an_append() -> int:
        return (await journal._call(lambda db: db.execute("PRAGMA synchronous").fetchone()[0], group=True))

    assert await setting_of_an_append() == 2
    await journal.append(b"a")
    await journal.remove([(await journal.oldest(1))[0].id])
    assert await setting_of_an_append() == 2
    await journal.close()


FSYNC_PROBE = """
import asyncio, os, sys
from bot.gateway.journal import Journal

async def main(path, marks):
    journal = Journal(path)
    await journal.open()
    os.path.exists(f"{marks}/returned-start")
    for i in range(10):
        await journal.append(b"body %d" % i)
        os.path.exists(f"{marks}/returned-{i}")  # a marker system call, after append() returned
        if i == 4:  # a removal between appends: it must not leave appends without their fsync
            await journal.remove([(await journal.oldest(1))[0].id])
    await journal.close()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace to watch the fsync system calls")
def test_every_append_is_fsynced_before_it_returns(tmp_path):
    """Watched with strace: between two appends returning there is an fsync of the journal's WAL.

    Only an fsync makes a body survive a power cut; ``synchronous=NORMAL`` would commit
    to the WAL without one (a process crash would still not lose it, which is why the
    other tests cannot tell).
    """
    trace = tmp_path / "trace.txt"
    run = subprocess.run(
        ["strace", "-f", "-y", "-e", "trace=fsync,fdatasync,%file", "-o", str(trace),
         sys.executable, "-c", FSYNC_PROBE, str(tmp_path / "journal.sqlite"), str(tmp_path)],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    syncs_since_mark = None
    synced = {}
    for line in trace.read_text().splitlines():
        mark = re.search(r"returned-(\w+)", line)
        if mark:
            if syncs_since_mark is not None:
                synced[mark.group(1)] = syncs_since_mark
            syncs_since_mark = 0
        elif re.search(r"\b(fsync|fdatasync)\(\d+<[^>]*journal\.sqlite-wal>", line) and syncs_since_mark is not None:
            syncs_since_mark += 1
    assert sorted(synced, key=int) == [str(i) for i in range(10)], synced
    assert all(count >= 1 for count in synced.values()), synced


async def test_relay_moves_entries_into_the_delivery_database_once(tmp_path):
    config = settings()
    store = DeliveryStore(create_engine(f"sqlite:///{tmp_path / 'majlis.sqlite'}"))
    graph = GraphClient(config.graph_url)
    notified = []
    delivery = RecordOnlyDelivery(on_kick=lambda conv: notified.append(conv), channel=CHANNEL_NAME, store=store,
                                  sender=WhatsAppSender(graph, config.numbers))
    journal = Journal(str(tmp_path / "journal.sqlite"))
    await journal.open()
    bodies = [body(str(i)) for i in range(3)]
    for raw, _ in [*bodies, bodies[0]]:  # the last one is Meta's retry of the first
        await journal.append(raw)
    relay = JournalRelay(journal, deliverer(config, delivery), lambda convs: notified.extend(convs),
                         retry_on=(SQLAlchemyError,))
    relay.start()
    await eventually(lambda: len(journal) == 0)
    await relay.stop()
    await journal.close()
    await graph.close()
    with sqlite3.connect(tmp_path / "majlis.sqlite") as db:
        rows = [r[0] for r in db.execute("SELECT message_id FROM majlis_inbox ORDER BY id")]
    store.close()
    assert rows == [wamid for _, wamid in bodies]  # in order, the retry stored nothing
    assert notified == [(PHONE_NUMBER_ID, "971500000009")] * 3 and relay.delivered == 4


async def test_a_body_that_can_never_be_recorded_is_parked_not_blocking(tmp_path):
    journal = Journal(str(tmp_path / "journal.sqlite"))
    await journal.open()
    for raw in (b"good 1", b"poison", b"good 2"):
        await journal.append(raw)
    seen = []

    async def deliver(raw: bytes):
        if raw == b"poison":
            raise ValueError("cannot be parsed")
        seen.append(raw)
        return []

    relay = JournalRelay(journal, deliver, lambda _convs: None, retry_on=(SQLAlchemyError,))
    assert await relay.relay_once() == 3
    assert seen == [b"good 1", b"good 2"] and await journal.parked() == 1 and await journal.oldest(10) == []
    await journal.close()


async def test_the_wal_is_checkpointed_and_stays_short(tmp_path):
    path = tmp_path / "journal.sqlite"
    journal = Journal(str(path))
    await journal.open()
    for i in range(300):  # as the receiver and its relay do: append, then remove, webhooks apart
        before, done = journal.commits, journal.checkpoints
        await journal.append(b"x" * 2000)
        await journal.remove([e.id for e in await journal.oldest(10)])
        if before // CHECKPOINT_COMMITS < journal.commits // CHECKPOINT_COMMITS:
            # A checkpoint fell due: give it the gap before the next webhook, as real traffic
            # does (on a busy machine a few ms of sleep would not guarantee it).
            await eventually(lambda: journal.checkpoints > done)
    wal = (tmp_path / "journal.sqlite-wal").stat().st_size
    await journal.close()
    assert journal.checkpoints >= 1 and len(journal) == 0
    assert wal < 2_000_000  # ~300 appends of 2 kB unchecked would leave several MB


async def test_moved_past_tells_when_an_entry_has_left_the_journal_and_gives_up_while_the_database_fails(tmp_path):
    """What a receiver waits for before answering (order across receivers, docs/deploy.md)."""
    journal = Journal(str(tmp_path / "journal.sqlite"))
    await journal.open()
    failing = True

    async def deliver(raw: bytes):
        if failing:
            raise SQLAlchemyError("database away")
        return []

    relay = JournalRelay(journal, deliver, lambda _convs: None, retry_on=(SQLAlchemyError,),
                         first_backoff=0.01, max_backoff=0.02)
    relay.start()
    try:
        await journal.append(b"first")
        relay.wake()
        assert not await relay.moved_past(1, timeout=0.3)  # still in the journal: answer anyway
        assert len(journal) == 1
        failing = False
        assert await relay.moved_past(1, timeout=30)
        await journal.append(b"second")
        relay.wake()
        assert await relay.moved_past(2, timeout=30)
        assert len(journal) == 0 and relay.moved == 2
    finally:
        await relay.stop()
        await journal.close()
