"""Exactly once across a crash in the middle of a send: ``rasa run`` dies after the Graph API
accepted a reply and before the outbox row says so (``bot/delivery/in_doubt.py``).

A real ``rasa run`` with the trained model (the harness of ``test_whatsapp_cloud_kill.py``)
crashes at ``MAJLIS_TEST_CRASH_AT=after_provider_accepted``: the fake Graph API has the
reply, our database does not know.  The fake posts Meta's signed ``sent`` status webhook,
echoing the ``biz_opaque_callback_data`` it received, to the server's webhook URL.

- The status arrives (late, after the restart): the provider receives every reply
  exactly once; the restarted server waited instead of sending the reply again.
- The status never arrives: the reply is sent exactly once more, at the end of the
  in-doubt window and not before.
"""
from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path
from typing import List

import pytest

from bot.delivery.killpoint import CRASH_EXIT_CODE
from tests.channels.test_whatsapp_cloud_kill import query, settled, start_rasa, stop, wait_exit, write_config
from tests.channels.whatsapp_harness import APP_SECRET, PHONE_NUMBER_ID
from tests.conftest import free_port, wait_for_http
from tests.fakes.fake_customer import FakeCustomer
from tests.fakes.fake_graph import FakeGraph, Recorded, fake_graph  # noqa: F401 - fixture

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CRASH = {"MAJLIS_TEST_CRASH_AT": "after_provider_accepted"}


def outbox(tmp: Path) -> List[tuple]:
    """(key, state, provider id, next_attempt_at, sending_since) of every stored reply, in order."""
    return query(tmp, "majlis.sqlite", "SELECT idempotency_key, state, provider_message_id, next_attempt_at, "
                                       "sending_since FROM majlis_outbox ORDER BY id")


async def wait_up(url: str, process) -> None:
    """Wait for the server (a model load takes minutes on a loaded 2-core machine: the bound only ends a failed run)."""
    await asyncio.get_running_loop().run_in_executor(None, lambda: wait_for_http(url, 900, process))


def by_key(graph: FakeGraph) -> Counter:
    return Counter(r.callback_data for r in graph.messages())


async def crash_mid_send(tmp: Path, model: Path, graph: FakeGraph, port: int, window: str) -> Recorded:
    """Start a server that dies right after the Graph API accepted its first reply; that request."""
    customer = FakeCustomer(f"http://127.0.0.1:{port}/webhooks/whatsapp_cloud/webhook", APP_SECRET,
                            PHONE_NUMBER_ID, sender=f"9715{uuid.uuid4().int % 10**8:08d}")
    first = start_rasa(tmp, model, port, graph.url, "rasa-1.log", MAJLIS_SEND_IN_DOUBT_SECONDS=window, **CRASH)
    try:
        await wait_up(f"http://127.0.0.1:{port}/webhooks/whatsapp_cloud/", first)
        assert (await customer.say("مرحبا، أبي أعرف رصيدي"))[0] == 200
        assert await wait_exit(first) == CRASH_EXIT_CODE, "the crash point was not reached"
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=30)
    [accepted] = graph.messages()  # the provider has it ...
    key = accepted.callback_data
    [row] = [row for row in outbox(tmp) if row[0] == key]
    assert row[1] == "pending" and row[4] is not None, row  # ... our row only says a send had started
    return accepted


async def test_a_send_the_provider_got_before_the_crash_is_settled_by_its_status_not_sent_again(
    trained_model, action_server_url, fake_graph, tmp_path  # noqa: F811
):
    write_config(tmp_path, action_server_url)
    port = free_port()
    webhook = f"http://127.0.0.1:{port}/webhooks/whatsapp_cloud/webhook"
    fake_graph.post_statuses(webhook, APP_SECRET, withhold=True)  # kept back until the restart is under way
    accepted = await crash_mid_send(tmp_path, trained_model, fake_graph, port, window="600")
    key = accepted.callback_data

    second = start_rasa(tmp_path, trained_model, port, fake_graph.url, "rasa-2.log", MAJLIS_SEND_IN_DOUBT_SECONDS="600")
    try:
        await wait_up(f"http://127.0.0.1:{port}/webhooks/whatsapp_cloud/", second)

        async def taken_in_doubt() -> None:  # the restarted server found the row and waits for its status
            while not any(row[0] == key and row[3] is not None for row in outbox(tmp_path)):
                assert second.poll() is None, "rasa exited"
                await asyncio.sleep(0.2)

        await asyncio.wait_for(taken_in_doubt(), 240)
        assert by_key(fake_graph)[key] == 1  # not sent again at once
        fake_graph.release_statuses()  # Meta's "sent" status (retried while the server was down) arrives
        await settled(tmp_path, second)  # well before the 600 s window: only the status can settle it
    finally:
        stop(second)
    rows = outbox(tmp_path)
    assert [state for _k, state, *_ in rows] == ["sent"] * len(rows)
    assert by_key(fake_graph) == Counter(k for k, *_ in rows)  # each stored reply at the provider exactly once
    assert len(fake_graph.messages()) == len(rows)
    [row] = [row for row in rows if row[0] == key]
    assert row[2] == accepted.message_id  # the provider's id, learnt from the status
    assert any(s.callback_data == key for s in fake_graph.statuses)


async def test_a_send_whose_status_never_comes_is_sent_once_more_after_the_window(
    trained_model, action_server_url, fake_graph, tmp_path  # noqa: F811
):
    window = 20.0
    write_config(tmp_path, action_server_url)
    port = free_port()
    fake_graph.post_statuses(f"http://127.0.0.1:{port}/webhooks/whatsapp_cloud/webhook", APP_SECRET, withhold=True)
    accepted = await crash_mid_send(tmp_path, trained_model, fake_graph, port, window=str(window))
    key = accepted.callback_data

    second = start_rasa(tmp_path, trained_model, port, fake_graph.url, "rasa-2.log",
                        MAJLIS_SEND_IN_DOUBT_SECONDS=str(window))
    try:
        await wait_up(f"http://127.0.0.1:{port}/webhooks/whatsapp_cloud/", second)
        await settled(tmp_path, second)
    finally:
        stop(second)
    rows = outbox(tmp_path)
    assert [state for _k, state, *_ in rows] == ["sent"] * len(rows)
    sends = by_key(fake_graph)
    assert sends[key] == 2  # the remaining at-least-once case: sent exactly once more ...
    assert sends - Counter({key: 1}) == Counter(k for k, *_ in rows)  # ... and every other reply once
    first, again = [r for r in fake_graph.messages() if r.callback_data == key]
    assert again.json == first.json
    # ... and not before the window passed: the attempt was marked (before its request left) at most
    # one database write ahead of the fake receiving it.
    assert again.at - first.at >= window - 0.5, again.at - first.at
    [row] = [row for row in rows if row[0] == key]
    assert row[2] == again.message_id
