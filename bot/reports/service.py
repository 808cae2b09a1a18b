"""The desk's report service: the builder kept current in the background, figures on demand."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any, Callable, Dict, Optional

from sqlalchemy.engine import Engine

from bot.config import Config, config, positive
from bot.reports.builder import ReportBuilder
from bot.reports.figures import ReportQuery, report

logger = logging.getLogger(__name__)

ZONE_ENV, REFRESH_ENV, SETTLE_ENV = "MAJLIS_REPORT_TZ", "MAJLIS_REPORT_REFRESH_SECONDS", "MAJLIS_REPORT_SETTLE_SECONDS"
#: Seconds a page load may spend folding new events before it answers with what is there.
PAGE_BUDGET_S = 2.0


def tracker_engine_of(agent: Any) -> Optional[Engine]:
    """The SQL engine of the agent's tracker store (None when it is not SQL)."""
    store = getattr(agent, "tracker_store", None)
    store = getattr(store, "_tracker_store", store)  # Rasa's AwaitableTrackerStore wraps the real one
    engine = getattr(store, "engine", None)
    return engine if isinstance(engine, Engine) else None


class ReportService:
    """Args:
        engine: Majlis' database.
        agent: returns the running Rasa agent (its tracker store has the events).
    """

    def __init__(self, engine: Engine, agent: Callable[[], Any], cfg: Config = config) -> None:
        self.engine, self._agent = engine, agent
        self.zone = cfg(ZONE_ENV, default="Asia/Dubai")
        self.interval = cfg(REFRESH_ENV, cast=positive(float), default=60.0)
        self.settle = timedelta(seconds=cfg(SETTLE_ENV, cast=float, default=10.0))
        self._builder: Optional[ReportBuilder] = None
        self._task: Optional[asyncio.Task] = None

    @property
    def builder(self) -> ReportBuilder:
        if self._builder is None or (self._builder.tracker_engine is None and self._tracker_engine() is not None):
            self._builder = ReportBuilder(self.engine, self._tracker_engine(), zone=self.zone, settle=self.settle)
        return self._builder

    def _tracker_engine(self) -> Optional[Engine]:
        try:
            return tracker_engine_of(self._agent())
        except (AttributeError, KeyError):  # the server has not set its agent yet
            return None

    async def refresh(self, budget: Optional[float] = PAGE_BUDGET_S) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, self.builder.refresh, budget)

    async def figures(self, query: ReportQuery) -> Dict[str, Any]:
        """Fold what is new (within the page budget), then compute every figure."""
        done = await self.refresh()

        def compute() -> Dict[str, Any]:
            with self.engine.connect() as conn:
                figures = report(conn, query)
            updated = self.builder.cursor_time()
            figures["zone"], figures["caught_up"] = self.zone, done.caught_up
            figures["updated_at"] = updated.isoformat() + "Z" if updated else None
            return figures

        return await asyncio.get_running_loop().run_in_executor(None, compute)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.refresh(budget=None)
            except asyncio.CancelledError:
                raise
            except Exception:  # boundary: the page still answers with what is folded
                logger.exception("Folding events into the report tables failed; retrying later")
