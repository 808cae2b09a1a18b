"""bot/delivery/replay.py: a re-processed message already in its tracker is not fed to Rasa again.

Rasa's own ``MessageProcessor._handle_message_with_tracker`` logs the message on a real
``DialogueStateTracker`` (the step both ``handle_message`` and the handoff gate use);
the "process dies" is a handler that never returns and a stop, as in
test_delivery_turns.py.  The same crash against the trained model and ``rasa run``:
tests/channels/test_whatsapp_cloud_kill.py.
"""
from __future__ import annotations

import asyncio
from typing import Dict

import pytest

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.processor import MessageProcessor  # imported: Delivery.start() installs the check
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.delivery import InboxState
from bot.delivery.replay import already_recorded, reprocessing
from tests.bot.delivery.helpers import CHANNEL, ScriptedSender, eventually, item


class RasaLike:
    """A Rasa turn reduced to what the check concerns: log the message, answer, save."""

    domain = Domain.empty()

    def __init__(self) -> None:
        self.saved: Dict[str, DialogueStateTracker] = {}
        self.turns = 0

    async def turn(self, inbound, outbox, *, die_after_save: bool = False, die_before_save: bool = False) -> None:
        tracker = self.saved.get(inbound.customer) or DialogueStateTracker(inbound.customer, [])
        message = UserMessage(inbound.payload["text"], CollectingOutputChannel(), inbound.customer,
                              parse_data={"intent": {"name": "greet", "confidence": 1.0}, "entities": []},
                              message_id=inbound.message_id)
        await MessageProcessor._handle_message_with_tracker(self, message, tracker)
        self.turns += 1
        await outbox.add({"text": f"reply to {inbound.payload['text']} #{self.turns}"}, kind="text")
        if die_before_save:
            await asyncio.Event().wait()
        self.saved[inbound.customer] = tracker
        if die_after_save:
            await asyncio.Event().wait()

    def user_ids(self, customer: str):
        return [e.message_id for e in self.saved[customer].events if isinstance(e, UserUttered)]


async def crashed_run(make, store, rasa: RasaLike, sender: ScriptedSender, **how: bool) -> None:
    async def dies(inbound, outbox):
        await rasa.turn(inbound, outbox, **how)

    first = await make(sender, dies)
    await first.accept([item("m1", text="a")])
    await eventually(lambda: len(sender.sent) == 1)
    await first.stop(timeout=0.1)  # the process dies: the inbox row stays "processing"
    assert (await store.inbound(CHANNEL, "m1"))[1] is InboxState.PROCESSING


@pytest.mark.parametrize("saved, turns", [
    (True, 1),   # saved before the crash: not run again, the first run's reply is what was sent
    (False, 2),  # not saved: run again; its reply has the first run's key and is not sent again
])
async def test_a_reprocessed_turn_logs_the_message_once_and_sends_the_first_runs_reply_once(
    make, store, saved, turns
):
    rasa, sender = RasaLike(), ScriptedSender()
    await crashed_run(make, store, rasa, sender, die_after_save=saved, die_before_save=not saved)
    second = await make(sender, rasa.turn)
    await second.drain()
    assert rasa.turns == turns and rasa.user_ids("cust-1") == ["m1"]
    assert sender.texts() == ["reply to a #1"]
    assert (await store.inbound(CHANNEL, "m1"))[1] is InboxState.DONE


async def test_the_check_only_applies_to_the_message_being_reprocessed() -> None:
    tracker = DialogueStateTracker.from_events("cust-1", [UserUttered("a", message_id="m1")])
    assert already_recorded(tracker, "m1") and not already_recorded(tracker, "m2")
    assert not already_recorded(tracker, None)
    rasa = RasaLike()
    message = UserMessage("a", CollectingOutputChannel(), "cust-1",
                          parse_data={"intent": {"name": "greet", "confidence": 1.0}, "entities": []},
                          message_id="m1")
    with reprocessing(None):  # a first processing: no check, Rasa logs it as it always did
        await MessageProcessor._handle_message_with_tracker(rasa, message, tracker)
    with reprocessing("m2"):  # another message is re-processed: this one is logged normally
        await MessageProcessor._handle_message_with_tracker(rasa, message, tracker)
    assert [e.message_id for e in tracker.events if isinstance(e, UserUttered)] == ["m1", "m1", "m1"]


def test_install_is_idempotent_and_free_without_rasa() -> None:
    import subprocess
    import sys

    from bot.delivery import replay

    replay.install()
    installed = MessageProcessor._handle_message_with_tracker
    replay.install()
    assert MessageProcessor._handle_message_with_tracker is installed  # not wrapped twice
    child = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom bot.delivery import replay\nreplay.install()\n"
                               "print('rasa.core.processor' in sys.modules)"],
        capture_output=True, text=True, timeout=120)
    assert child.stdout.strip() == "False", child.stderr[-2000:]  # a process without Rasa does not import it
