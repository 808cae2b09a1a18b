"""Activation on every instance: a trainer activates on one process, another process switches (PostgreSQL).

Two real Rasa agents in two processes share one PostgreSQL database.  Instance A (this
test's process) activates a candidate through the workbench's model manager; instance B
(tests/bot/workbench/follower_instance.py) must switch to it without a restart, and A's
``majlis_trainer_activations_total{result="ok"}`` goes up by one (a missing model: "failed").
"""
from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from bot.handoff.config import ROOT
from bot.storage import create_engine, migrate
from bot.workbench.follow import latest_activation
from bot.workbench.models import ModelManager
from bot.workbench.service import Workbench
from tests.bot.storage.backends import empty, pg_url  # noqa: F401  (pg_url: a fixture)

pytestmark = pytest.mark.e2e

CANDIDATE = "majlis-candidate.tar.gz"


def activations(result: str) -> float:
    return REGISTRY.get_sample_value("majlis_trainer_activations_total", {"result": result}) or 0.0


async def next_line(process: asyncio.subprocess.Process, timeout: float = 900) -> str:
    """The instance's next ``active ...`` line (Rasa's own log lines go to stdout too)."""
    while True:
        line = await asyncio.wait_for(process.stdout.readline(), timeout)
        assert line, "the second instance stopped"
        if line.startswith(b"active "):
            return line.decode().strip()


async def test_activating_on_one_instance_switches_the_other(tmp_path: Path, pg_url: str, trained_model: Path) -> None:
    from rasa.core.agent import Agent

    models = tmp_path / "models"
    models.mkdir()
    os.link(trained_model, models / trained_model.name)
    os.link(trained_model, models / CANDIDATE)   # the same bytes under another name: a real switch, a known answer
    engine = create_engine(pg_url)
    empty(engine)
    migrate(engine)
    second = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.bot.workbench.follower_instance", pg_url, str(models), trained_model.name,
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    try:
        agent = await asyncio.get_running_loop().run_in_executor(None, Agent.load, str(models / trained_model.name))
        bench = Workbench.create(engine, lambda: agent, root=ROOT)
        manager: ModelManager = bench.models
        manager.models = models
        assert await next_line(second) == f"active {trained_model.name} check_bill"

        ok, failed = activations("ok"), activations("failed")
        with pytest.raises(FileNotFoundError):
            await manager.activate("majlis-nothing.tar.gz", "Tina")
        assert activations("failed") == failed + 1 and activations("ok") == ok
        await manager.activate(CANDIDATE, "Tina")
        assert manager.active_name() == CANDIDATE and activations("ok") == ok + 1
        assert latest_activation(engine)[1] == CANDIDATE

        # The other process switches on its own, and its new model answers.
        assert await next_line(second) == f"active {CANDIDATE} check_bill"
        # Roll back on A: B follows again.
        await manager.activate(trained_model.name, "Tina")
        assert await next_line(second) == f"active {trained_model.name} check_bill"
        assert activations("ok") == ok + 2
    finally:
        second.terminate()
        await second.wait()
        engine.dispose()
