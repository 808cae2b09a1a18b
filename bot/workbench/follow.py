"""Every instance serves the model a trainer activated: each follows the audit trail's ``activate`` rows.

A trainer activates a model on the instance that serves their desk page
(:meth:`bot.workbench.models.ModelManager.activate`), which writes an ``activate`` row
into ``majlis_nlu_audit`` — the shared database every instance uses.  Each instance polls
for a newer such row (one indexed primary-key read every :data:`POLL_S` seconds) and
switches to its model the same way: built in a worker thread, swapped in one assignment,
so a turn in flight finishes on the model it started with.  Only activations made after
this process started are followed: a restart serves the model ``./majlis start`` chose
(the one trained from the checkout's data), never an older activation row.

``models/`` must hold the model on every instance (one host, or shared storage); a model
it lacks is logged and skipped until the next activation.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.config import config
from bot.workbench.schema import nlu_audit

if TYPE_CHECKING:
    from bot.workbench.models import ModelManager

logger = logging.getLogger(__name__)
POLL_S = 2.0


def latest_activation(engine: Engine, after: int = 0) -> Optional[Tuple[int, str]]:
    """``(audit id, model name)`` of the newest activation after ``after``, if any."""
    a = nlu_audit.c
    with engine.connect() as conn:
        row = conn.execute(sa.select(a.id, a.detail).where(a.action == "activate", a.id > after)
                           .order_by(a.id.desc()).limit(1)).first()
    if row is None:
        return None
    try:
        return row.id, str(json.loads(row.detail or "{}")["model"])
    except (ValueError, KeyError, TypeError):
        return row.id, ""


class ActivationFollower:
    """Polls for activations made on any instance and switches this one's model."""

    def __init__(self, manager: "ModelManager", engine: Engine, poll_s: Optional[float] = None) -> None:
        self.manager = manager
        self.engine = engine
        self.poll_s = poll_s if poll_s is not None else float(config("MAJLIS_MODEL_POLL_S", cast=float, default=POLL_S))
        self.seen: Optional[int] = None   # the newest activation when this process began following
        self.switches = 0
        self._task: Optional[asyncio.Task] = None

    async def start(self) -> None:
        """Note the newest activation (not followed), then poll for the next ones."""
        try:
            await self.check()
        except Exception as exc:  # the database is not reachable yet: the first poll notes it
            logger.warning("Could not look for model activations (%s)", type(exc).__name__)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def check(self) -> None:
        found = await asyncio.get_running_loop().run_in_executor(None, latest_activation, self.engine, self.seen or 0)
        if self.seen is None:  # the first look: what was activated before this process started is not followed
            self.seen = found[0] if found else 0
            return
        if found is None:
            return
        self.seen, name = found
        if not name or name == self.manager.active_name() or self.manager.activating == name:
            return
        try:
            await self.manager.switch(name)
        except FileNotFoundError:
            logger.warning("Activated model %s is not in this instance's models/: not switched", name)
            return
        self.switches += 1
        logger.info("Switched to model %s, activated on another instance", name)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database restarted: try again at the next poll
                logger.warning("Could not look for model activations (%s)", type(exc).__name__)
