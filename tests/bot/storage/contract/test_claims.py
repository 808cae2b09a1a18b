"""Claims shared by several instances (bot/storage/claims.py, bot/delivery/sql.py), on SQLite and PostgreSQL.

Two instances are two :class:`SqlDelivery` objects with their own engine (their own
connections: on PostgreSQL, separate sessions) and their own claimer id, run in
threads at the same time.  Lease expiry is shown with explicit clocks, never by
waiting.
"""
from __future__ import annotations

import random
import threading
from collections import defaultdict
from datetime import timedelta
from typing import Callable, Dict, List, Tuple

import pytest

from bot.delivery import InboundItem, InboxState, OutboundMessage, OutboxState, utcnow
from bot.delivery.sql import SqlDelivery
from bot.storage import create_engine

CH = "whatsapp_cloud"
LEASE = timedelta(minutes=5)


def item(message_id: str, customer: str) -> InboundItem:
    return InboundItem(channel=CH, message_id=message_id, account="acc", customer=customer,
                       payload={"text": f"رسالة {message_id}"}, sent_at=None)


def reply(key: str, customer: str) -> OutboundMessage:
    return OutboundMessage(channel=CH, account="acc", customer=customer, payload={"text": key}, idempotency_key=key)


@pytest.fixture
def instances(engine):
    """Instance A on the test's engine, instance B on an engine of its own (the same database)."""
    other = create_engine(engine.url.render_as_string(hide_password=False))
    yield SqlDelivery(engine, owner="instance-a", lease=LEASE), SqlDelivery(other, owner="instance-b", lease=LEASE)
    other.dispose()


def run_together(*workers: Callable[[], None]) -> None:
    """Start every worker at the same moment in its own thread; re-raise the first failure."""
    barrier = threading.Barrier(len(workers))
    errors: List[BaseException] = []

    def run(worker: Callable[[], None]) -> None:
        barrier.wait()
        try:
            worker()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def test_two_instances_claiming_at_once_never_take_the_same_item_and_keep_each_conversations_order(instances):
    a, b = instances
    customers = [f"9715000000{n:02d}" for n in range(20)]
    a.accept([item(f"{c}-{k}", c) for k in range(8) for c in customers], utcnow())
    total = 20 * 8
    lock = threading.Lock()
    claims: List[Tuple[str, int]] = []
    order: Dict[str, List[str]] = defaultdict(list)
    in_flight: set = set()
    overlaps: List[str] = []

    def work(instance: SqlDelivery) -> None:
        mine = customers[:]
        for _ in range(total * 10):  # bounded: a bug fails the test instead of hanging it
            with lock:
                if len(claims) == total:
                    return
            random.shuffle(mine)
            for customer in mine:
                claimed = instance.claim_next_inbound(CH, ("acc", customer), utcnow())
                if claimed is None:
                    continue
                with lock:
                    if customer in in_flight:
                        overlaps.append(customer)  # two items of one conversation at once
                    in_flight.add(customer)
                    claims.append((instance.owner, claimed.id))
                    order[customer].append(claimed.message_id)
                with lock:
                    in_flight.discard(customer)  # before the finish commits: no false alarm
                instance.finish_inbound(claimed.id, InboxState.DONE, utcnow())

    run_together(lambda: work(a), lambda: work(b))
    ids = [item_id for _, item_id in claims]
    assert len(ids) == total and len(set(ids)) == total  # every item once, none twice
    assert overlaps == []
    for customer in customers:
        assert order[customer] == [f"{customer}-{k}" for k in range(8)]  # arrival order per conversation


def test_a_conversation_busy_on_another_instance_is_left_alone(instances):
    a, b = instances
    a.accept([item("m1", "c1"), item("m2", "c1"), item("x1", "c2")], utcnow())
    first = a.claim_next_inbound(CH, ("acc", "c1"))
    assert first.message_id == "m1"
    assert b.claim_next_inbound(CH, ("acc", "c1")) is None  # m2 must not overtake m1
    assert b.claim_next_inbound(CH, ("acc", "c2")).message_id == "x1"  # other conversations go on
    a.finish_inbound(first.id, InboxState.DONE, utcnow())
    assert b.claim_next_inbound(CH, ("acc", "c1")).message_id == "m2"


def test_a_crashed_claimers_item_is_taken_over_once_its_lease_has_passed(instances):
    a, b = instances
    start = utcnow()
    a.accept([item("m1", "c1")], start)
    crashed = a.claim_next_inbound(CH, ("acc", "c1"), start)
    assert crashed.attempts == 1
    assert b.claim_next_inbound(CH, ("acc", "c1"), start + LEASE - timedelta(seconds=1)) is None
    assert b.waiting_conversations(CH, start + LEASE - timedelta(seconds=1)) == []
    later = start + LEASE + timedelta(seconds=1)
    assert b.waiting_conversations(CH, later) == [("acc", "c1")]  # the safety net sees it
    taken = b.claim_next_inbound(CH, ("acc", "c1"), later)
    assert taken.message_id == "m1" and taken.attempts == 2
    # The slow first claimer comes back: its finish must not overwrite the new owner's work.
    a.finish_inbound(crashed.id, InboxState.DONE, later)
    assert a.inbound(CH, "m1")[1] is InboxState.PROCESSING
    b.finish_inbound(taken.id, InboxState.DONE, later)
    assert a.inbound(CH, "m1")[1] is InboxState.DONE


def test_recovery_frees_own_and_expired_claims_but_not_another_instances_live_ones(instances):
    a, b = instances
    now = utcnow()
    a.accept([item("a1", "c1"), item("b1", "c2")], now)
    a.claim_next_inbound(CH, ("acc", "c1"), now)
    b.claim_next_inbound(CH, ("acc", "c2"), now)
    assert b.recover(CH, now) == [("acc", "c2")]  # B restarted under its id: its own claim is free again
    assert a.inbound(CH, "a1")[1] is InboxState.PROCESSING  # A still works on a1
    assert b.recover(CH, now + LEASE + timedelta(seconds=1)) == [("acc", "c1"), ("acc", "c2")]  # A is gone
    assert a.inbound(CH, "a1")[1] is InboxState.PENDING


def test_recovery_run_by_every_instance_at_once_is_safe(instances):
    a, b = instances
    now = utcnow()
    a.accept([item(f"m{n}", f"c{n}") for n in range(50)], now)
    for n in range(50):
        a.claim_next_inbound(CH, ("acc", f"c{n}"), now)
    found: Dict[str, List[Tuple[str, str]]] = {}
    later = now + LEASE + timedelta(seconds=1)
    run_together(lambda: found.update(a=a.recover(CH, later)), lambda: found.update(b=b.recover(CH, later)))
    assert found["a"] == found["b"] == sorted(("acc", f"c{n}") for n in range(50))
    assert {a.inbound(CH, f"m{n}")[1] for n in range(50)} == {InboxState.PENDING}


def test_two_instances_sending_at_once_never_send_a_message_twice_and_keep_the_order(instances):
    a, b = instances
    customers = [f"c{n}" for n in range(15)]
    now = utcnow()
    for k in range(6):
        for customer in customers:
            a.enqueue(reply(f"{customer}:{k}", customer), now)
    lock = threading.Lock()
    sent: List[Tuple[str, str]] = []

    def send(instance: SqlDelivery) -> None:
        for _ in range(50):
            for customer in random.sample(customers, len(customers)):
                records, _ = instance.claim_outbound(CH, ("acc", customer), utcnow(), limit=4)
                for record in records:
                    with lock:
                        sent.append((customer, record.message.idempotency_key))
                    instance.update_outbound(record.message.id, utcnow(), state=OutboxState.SENT, attempts=1)

    run_together(lambda: send(a), lambda: send(b))
    keys = [key for _, key in sent]
    assert len(keys) == len(set(keys)) == 15 * 6
    for customer in customers:
        assert [key for c, key in sent if c == customer] == [f"{customer}:{k}" for k in range(6)]


def test_a_reply_first_in_line_is_stored_claimed_by_its_instance(instances):
    a, b = instances
    now = utcnow()
    stored, created, first, _ = a.enqueue_reply(reply("m1:0", "c1"), now)
    assert created and first
    assert b.claim_outbound(CH, ("acc", "c1"), now) == ([], None)  # A sends it right away
    behind, created, first, _ = a.enqueue_reply(reply("m1:1", "c1"), now)
    assert created and not first
    assert b.claim_outbound(CH, ("acc", "c1"), now) == ([], None)  # not past A's message (order)
    a.update_outbound(stored.id, now, state=OutboxState.SENT, attempts=1)
    records, _ = b.claim_outbound(CH, ("acc", "c1"), now)
    assert [r.message.idempotency_key for r in records] == ["m1:1"]
    later = now + LEASE + timedelta(seconds=1)
    assert a.claim_outbound(CH, ("acc", "c1"), now) == ([], None)
    records, _ = a.claim_outbound(CH, ("acc", "c1"), later)  # B died holding it: A sends it
    assert [r.message.idempotency_key for r in records] == ["m1:1"]


def test_pruning_run_by_every_instance_at_once_removes_each_row_once(instances):
    a, b = instances
    old = utcnow() - timedelta(days=10)
    a.accept([item(f"m{n}", f"c{n % 7}") for n in range(60)], old)
    for n in range(7):
        while (claimed := a.claim_next_inbound(CH, ("acc", f"c{n}"), old)) is not None:
            a.finish_inbound(claimed.id, InboxState.DONE, old)
    removed: Dict[str, int] = {}
    cutoff = utcnow() - timedelta(days=7)
    run_together(lambda: removed.update(a=a.prune(CH, cutoff, cutoff)),
                 lambda: removed.update(b=b.prune(CH, cutoff, cutoff)))
    # 60 inbox rows and 7 windows: one instance pruned them, or both shared the work
    assert removed["a"] + removed["b"] == 67
    assert a.inbound(CH, "m0") is None


CLAIMER = """
import json, sys
from bot.delivery import InboxState, utcnow
from bot.delivery.sql import SqlDelivery
from bot.storage import create_engine

url, owner, customers = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
store = SqlDelivery(create_engine(url), owner=owner)
print("ready", flush=True)
sys.stdin.readline()  # both processes start claiming together
claimed, idle = [], 0
while idle < 3:  # three passes over every conversation without a claim: nothing is left
    idle += 1
    for customer in customers:
        item = store.claim_next_inbound("whatsapp_cloud", ("acc", customer), utcnow())
        if item is not None:
            idle = 0
            claimed.append(item.message_id)
            store.finish_inbound(item.id, InboxState.DONE, utcnow())
print(json.dumps(claimed))
"""


def test_two_processes_claiming_at_once_share_the_work_and_never_the_same_item(engine):
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[4]
    customers = [f"c{n}" for n in range(12)]
    SqlDelivery(engine).accept([item(f"{c}-{k}", c) for k in range(5) for c in customers], utcnow())
    url = engine.url.render_as_string(hide_password=False)
    processes = [
        subprocess.Popen([sys.executable, "-c", CLAIMER, url, owner, ",".join(customers)], cwd=root,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for owner in ("process-a", "process-b")
    ]
    assert [process.stdout.readline().strip() for process in processes] == ["ready", "ready"]
    for process in processes:  # both are up (imports done) before either claims: start them together
        process.stdin.write("go\n")
        process.stdin.flush()
    claimed = [json.loads(process.communicate(timeout=120)[0]) for process in processes]
    assert [process.returncode for process in processes] == [0, 0]
    every = claimed[0] + claimed[1]
    assert len(every) == len(set(every)) == 60  # all claimed, none twice
    for found in claimed:
        for customer in customers:  # each process saw a conversation's items in arrival order
            mine = [m for m in found if m.startswith(f"{customer}-")]
            assert mine == sorted(mine, key=lambda m: int(m.rsplit("-", 1)[1]))
