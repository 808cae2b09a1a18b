"""The workbench assembled for one desk process: index, inbox, labelling, coverage, models."""
from __future__ import annotations

import asyncio
import json
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.config import config
from bot.workbench import inbox, pii
from bot.workbench.answers import AnswerReviews
from bot.workbench.collect import Collector
from bot.workbench.coverage import Coverage
from bot.workbench.follow import ActivationFollower
from bot.workbench.models import REPO, ModelManager
from bot.workbench.nlu_files import FOLDERS, FORM_OF_FOLDER, NluData, folder_for, plain
from bot.workbench.schema import nlu_audit, nlu_message

if TYPE_CHECKING:
    from rasa.core.agent import Agent

ROOT_ENV = "MAJLIS_WORKBENCH_ROOT"
#: Training examples per language folder compared between models (beside every labelled message).
SAMPLE_PER_FOLDER = 60
ACTIONS = ("label", "ignore", "out_of_scope")


def tracker_engine(agent: Optional["Agent"]) -> Optional[Engine]:
    """The SQL engine of the agent's tracker store (through Rasa's fail-safe wrapper), if any."""
    store = getattr(agent, "tracker_store", None)
    for _ in range(3):
        if store is None or hasattr(store, "engine"):
            break
        store = getattr(store, "_tracker_store", None)
    return getattr(store, "engine", None)


@dataclass
class Workbench:
    engine: Engine
    agent: Callable[[], "Agent"]
    data: NluData
    coverage: Coverage
    collector: Collector
    models: ModelManager
    clock: Callable[[], datetime]
    executor: ThreadPoolExecutor
    answers: Optional[AnswerReviews] = None
    follower: Optional[ActivationFollower] = None

    @classmethod
    def create(cls, engine: Engine, agent: Callable[[], "Agent"], *, root: Optional[Path] = None,
               clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> "Workbench":
        root = Path(root or config(ROOT_ENV, default="") or REPO)
        data = NluData(root)
        coverage = Coverage(data)

        def safe_agent() -> Optional["Agent"]:
            try:
                return agent()
            except (KeyError, AttributeError):  # the server has not started yet
                return None

        collector = Collector(engine, lambda: tracker_engine(safe_agent()), weak=coverage.weak)
        bench = cls(engine=engine, agent=agent, data=data, coverage=coverage, collector=collector,
                    models=None, clock=clock, executor=ThreadPoolExecutor(2, thread_name_prefix="workbench"))  # type: ignore[arg-type]
        bench.answers = AnswerReviews(root=root, today=lambda: bench.clock().date(),
                                      audit=lambda author, action, **kw: bench.audit(author, action, **kw))
        bench.models = ModelManager(root=root, models=root / "models", agent=agent, cases=bench.comparison_cases,
                                    record=lambda author, action, detail: bench.audit(author, action, detail=detail))
        return bench

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, partial(fn, *args, **kwargs))

    # -- every instance serves the activated model ---------------------------

    async def follow(self) -> None:
        self.follower = ActivationFollower(self.models, self.engine)
        await self.follower.start()

    async def unfollow(self) -> None:
        if self.follower is not None:
            await self.follower.stop()
            self.follower = None

    # -- inbox ------------------------------------------------------------

    async def inbox(self, filters: inbox.Filters, offset: int, limit: int) -> Dict[str, Any]:
        await self.run(self.collector.collect)
        return await self.run(inbox.groups, self.engine, filters, offset=offset, limit=limit)

    async def conversation(self, message_id: int) -> List[Dict[str, Any]]:
        return await self.run(inbox.conversation, self.engine, tracker_engine(self.agent()), message_id)

    # -- audit ------------------------------------------------------------

    def audit(self, author: str, action: str, *, intent: Optional[str] = None, text: Optional[str] = None,
              path: Optional[str] = None, detail: Optional[Dict[str, Any]] = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(nlu_audit.insert().values(
                author=author[:120], action=action, intent=intent, text=text, path=path,
                detail=json.dumps(detail, ensure_ascii=False) if detail else None,
                at=self.clock().replace(tzinfo=None)))

    def audit_trail(self, limit: int = 100) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(nlu_audit).order_by(nlu_audit.c.id.desc()).limit(limit)).all()
        return [{"author": r.author, "action": r.action, "intent": r.intent, "text": r.text, "path": r.path,
                 "at": r.at.isoformat() + "Z"} for r in rows]

    # -- labelling --------------------------------------------------------

    def label(self, group_id: int, author: str, action: str, intent: Optional[str],
              entities: Sequence[Tuple[int, int, str]] = (), entity_message: Optional[int] = None) -> Dict[str, Any]:
        """Decide for every open message of a group: write examples, or ignore / out of scope."""
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
        if action == "out_of_scope":
            intent = "out_of_scope"
        known = self.data.intents()
        if action != "ignore" and intent not in known:
            raise ValueError("unknown intent")
        m = nlu_message.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(nlu_message).where(m.group_id == group_id, m.status == "open")
                                .order_by(m.id.desc())).all()
        if not rows:
            raise LookupError("no open messages in this group")
        now = self.clock().replace(tzinfo=None)
        if action == "ignore":
            self._set_status(rows, "ignored", None, author, now)
            self.audit(author, "ignore", detail={"group": group_id, "messages": len(rows)})
            return {"written": [], "duplicates": [], "conflicts": [], "messages": len(rows)}
        by_folder, key_rows = self._examples(rows, entities, entity_message)
        written, duplicates, conflicts, done_keys = [], [], [], set()
        for folder, texts in by_folder.items():
            for outcome in self.data.add(intent, folder, [t for t, _ in texts]):
                key = next(k for t, k in texts if " ".join(t.split()) == outcome.text)
                if outcome.status == "conflict":
                    conflicts.append({"text": outcome.text, "other_intent": outcome.other_intent})
                    self.audit(author, "conflict", intent=intent, text=outcome.text,
                               detail={"other_intent": outcome.other_intent})
                    continue
                done_keys.add(key)
                if outcome.status == "written":
                    written.append({"text": outcome.text, "path": outcome.path})
                    self.audit(author, "label", intent=intent, text=outcome.text, path=outcome.path)
                else:
                    duplicates.append(outcome.text)
        self._set_status([r for r in rows if r.key in done_keys], "labelled", intent, author, now)
        return {"written": written, "duplicates": duplicates, "conflicts": conflicts,
                "messages": sum(1 for r in rows if r.key in done_keys)}

    @staticmethod
    def _examples(rows: Sequence[Any], entities: Sequence[Tuple[int, int, str]],
                  entity_message: Optional[int]) -> Tuple[Dict[str, List[Tuple[str, str]]], Dict[str, Any]]:
        """One training example per distinct wording: personal data replaced, entities marked."""
        marked = next((r for r in rows if r.id == entity_message), None)
        values: List[Tuple[str, str]] = []
        if marked is not None:
            text, _ = pii.scrub(marked.text, marked.language, json.loads(marked.names or "[]"))
            values = [(text[s:e], name) for s, e, name in entities if 0 <= s < e <= len(text)]
        by_folder: Dict[str, List[Tuple[str, str]]] = {}
        seen: Dict[str, Any] = {}
        for row in rows:
            if row.key in seen:
                continue
            seen[row.key] = row
            text, spans = pii.scrub(row.text, row.language, json.loads(row.names or "[]"))
            spans = list(spans)
            if row is marked:
                spans += [(s, e, name) for s, e, name in entities if 0 <= s < e <= len(text)]
            else:
                for value, name in values:
                    at = text.find(value)
                    if value.strip() and at >= 0:
                        spans.append((at, at + len(value), name))
            by_folder.setdefault(folder_for(row.form, row.language), []).append((pii.annotate(text, spans), row.key))
        return by_folder, seen

    def _set_status(self, rows: Sequence[Any], status: str, label: Optional[str], author: str, now: datetime) -> None:
        if not rows:
            return
        with self.engine.begin() as conn:
            conn.execute(nlu_message.update().where(nlu_message.c.id.in_([r.id for r in rows]))
                         .values(status=status, label=label, labelled_by=author[:120], labelled_at=now))

    # -- comparison sets --------------------------------------------------

    def comparison_cases(self) -> Dict[str, List[Dict[str, str]]]:
        """Every labelled inbox message (the regression set) and a fixed sample of the NLU data."""
        m = nlu_message.c
        with self.engine.connect() as conn:
            labelled = conn.execute(sa.select(m.text, m.label, m.form, m.language, m.names)
                                    .where(m.status == "labelled", m.label.isnot(None))
                                    .order_by(m.id.desc()).limit(1000)).all()
        regression = []
        for row in labelled:
            text, _ = pii.scrub(row.text, row.language, json.loads(row.names or "[]"))
            regression.append({"text": text, "intent": row.label, "form": row.form})
        rng = random.Random(15)  # the same sample every time: comparisons stay comparable
        sample = []
        examples = self.data.examples()
        for folder in FOLDERS:
            pool = [ex for ex in examples if ex.folder == folder]
            for ex in rng.sample(pool, min(SAMPLE_PER_FOLDER, len(pool))):
                sample.append({"text": plain(ex.text), "intent": ex.intent, "form": FORM_OF_FOLDER[folder]})
        return {"labelled": regression, "training_sample": sample}
