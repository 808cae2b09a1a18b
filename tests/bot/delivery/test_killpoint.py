"""bot/delivery/killpoint.py: a crash point fires only where and when the test asked.

The crash itself (``os._exit``) is exercised in a child process; the kill test with
``rasa run`` is tests/channels/test_whatsapp_cloud_kill.py.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from bot.delivery import killpoint


@pytest.fixture(autouse=True)
def fresh_counts(monkeypatch):
    monkeypatch.setattr(killpoint, "_reached", {})


def test_unset_or_another_point_never_fires(monkeypatch) -> None:
    monkeypatch.delenv(killpoint.ENV, raising=False)
    assert not any(killpoint.due("after_tracker_saved") for _ in range(3))
    monkeypatch.setenv(killpoint.ENV, "after_reply_stored")
    assert not any(killpoint.due("after_tracker_saved") for _ in range(3))
    monkeypatch.setenv(killpoint.ENV, "")
    assert not killpoint.due("after_reply_stored")


def test_a_point_fires_the_first_time_or_the_nth(monkeypatch) -> None:
    monkeypatch.setenv(killpoint.ENV, "after_reply_stored")
    assert [killpoint.due("after_reply_stored") for _ in range(3)] == [True, False, False]
    monkeypatch.setenv(killpoint.ENV, "after_tracker_saved:2")
    assert [killpoint.due("after_tracker_saved") for _ in range(3)] == [False, True, False]
    assert killpoint.POINTS == ("after_reply_stored", "after_provider_accepted", "after_tracker_saved")


def test_the_crash_ends_the_process_at_once_with_its_status() -> None:
    import os

    child = subprocess.run(
        [sys.executable, "-c", "from bot.delivery import killpoint\n"
                               "try:\n"
                               "    if killpoint.due('after_tracker_saved'):\n"
                               "        killpoint.crash('after_tracker_saved')\n"
                               "finally:\n    print('finally ran')"],
        env={**os.environ, "MAJLIS_TEST_CRASH_AT": "after_tracker_saved"}, capture_output=True, text=True,
        timeout=60)
    assert child.returncode == killpoint.CRASH_EXIT_CODE == 86
    assert "finally ran" not in child.stdout  # nothing runs after it, as with SIGKILL
    assert "Test crash point after_tracker_saved reached: exiting with status 86" in child.stderr
    assert killpoint.ENV == "MAJLIS_TEST_CRASH_AT"
