"""Candidate models: train in the background, compare with the model in service, activate in-process.

Before training, the data must pass ``rasa data validate`` and Majlis' own checks
(:mod:`bot.workbench.checks`: every answer has an owner and a review date); a failure
blocks the candidate and the page lists why.  Training runs ``rasa train`` (Majlis' ``bot.rasa_cli``) as a child process with the
project's config, domain and data, so the desk and the bot keep serving; its output
gives the progress.  The candidate is named as ``scripts/ensure_model.py`` names
models (a fingerprint of config, domain, data and code), so after a restart
``./majlis start`` serves it without training again.

Activation builds the new model's ``MessageProcessor`` in a worker thread (loading
takes tens of seconds and must not stall the event loop), then swaps
``agent.processor`` in one assignment.  ``Agent.handle_message`` (and Majlis'
handoff gate) read ``agent.processor`` once when a turn starts, so a turn in flight
finishes on the model it started with and the next turn uses the new one: no
restart, no message dropped.  Any earlier model in ``models/`` can be activated the
same way (roll back).
"""
from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple

from bot.metrics import TRAINER_ACTIVATIONS
from bot.workbench.checks import validate

if TYPE_CHECKING:
    from rasa.core.agent import Agent
    from rasa.core.processor import MessageProcessor

logger = logging.getLogger(__name__)


class CheckFailed(RuntimeError):
    """The data failed ``rasa data validate`` or Majlis' checks: the candidate is not trained."""

REPO = Path(__file__).resolve().parents[2]
#: Loaded models kept in memory (the active one, the candidate, the one before).
KEPT_PROCESSORS = 3
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # Rasa colours its log lines
TRAINING_DATA = ("data/nlu", "data/rules", "data/stories")
BUSY = ("validating", "training", "comparing")


def _ensure_model() -> Any:
    spec = importlib.util.spec_from_file_location("majlis_ensure_model", REPO / "scripts" / "ensure_model.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def model_name_for(root: Path) -> str:
    """``majlis-<fingerprint>``: the name ``./majlis start`` looks for."""
    return f"majlis-{_ensure_model().fingerprint(root)}"


@dataclass
class Training:
    """One background training run (what the page shows while it runs)."""

    author: str
    started: float
    name: str
    state: str = "validating"        # validating | training | comparing | ready | failed
    lines: List[str] = field(default_factory=list)
    components_done: int = 0
    finished: Optional[float] = None
    error: Optional[str] = None
    comparison: Optional[Dict[str, Any]] = None
    checks: Optional[Dict[str, Any]] = None

    def as_dict(self) -> Dict[str, Any]:
        return {"author": self.author, "name": self.name, "state": self.state, "error": self.error,
                "elapsed": round((self.finished or time.time()) - self.started, 1),
                "components_done": self.components_done, "last_line": self.lines[-1] if self.lines else "",
                "comparison": self.comparison, "checks": self.checks}


def build_processor(agent: "Agent", path: Path) -> "MessageProcessor":
    """A processor for ``path`` around the agent's stores (what ``Agent.load_model`` builds)."""
    from rasa.core.processor import MessageProcessor

    return MessageProcessor(model_path=path, tracker_store=agent.tracker_store, lock_store=agent.lock_store,
                            action_endpoint=agent.action_endpoint, generator=agent.nlg,
                            http_interpreter=agent.http_interpreter)


async def parse_all(processor: "MessageProcessor", texts: Sequence[str]) -> List[Tuple[str, float]]:
    from rasa.core.channels.channel import UserMessage

    out = []
    for text in texts:
        parsed = await processor.parse_message(UserMessage(text))
        intent = parsed.get("intent") or {}
        out.append((str(intent.get("name")), float(intent.get("confidence") or 0.0)))
    return out


def score(cases: Sequence[Dict[str, str]], active: Sequence[Tuple[str, float]],
          candidate: Sequence[Tuple[str, float]]) -> Dict[str, Any]:
    """Accuracy of both models per language/form and per intent, and the predictions that changed."""
    by_form: Dict[str, Counter] = defaultdict(Counter)
    by_intent: Dict[str, Counter] = defaultdict(Counter)
    changed = []
    for case, (a, _), (c, conf) in zip(cases, active, candidate):
        for table, key in ((by_form, case["form"]), (by_intent, case["intent"])):
            table[key]["n"] += 1
            table[key]["active"] += a == case["intent"]
            table[key]["candidate"] += c == case["intent"]
        if a != c:
            changed.append({"text": case["text"], "expected": case["intent"], "active": a, "candidate": c,
                            "confidence": round(conf, 3)})

    def rows(table: Dict[str, Counter]) -> List[Dict[str, Any]]:
        return [{"name": k, "n": v["n"], "active": round(v["active"] / v["n"], 3),
                 "candidate": round(v["candidate"] / v["n"], 3)} for k, v in sorted(table.items())]

    n = len(cases) or 1
    return {"n": len(cases), "active": round(sum(a == k["intent"] for k, (a, _) in zip(cases, active)) / n, 3),
            "candidate": round(sum(c == k["intent"] for k, (c, _) in zip(cases, candidate)) / n, 3),
            "by_form": rows(by_form), "by_intent": rows(by_intent), "changed": changed[:200]}


@dataclass
class ModelManager:
    """Training, comparison and activation for one Rasa agent.

    Args:
        root: the project (config.yml, domain.yml, data/) to train from.
        models: where models are written and found.
        agent: returns the running Rasa agent.
        cases: returns the comparison sets: ``{"labelled": [...], "sample": [...]}`` of
            ``{"text", "intent", "form"}`` dicts.
        record: ``record(author, action, detail)`` for the audit trail.
    """

    root: Path
    models: Path
    agent: Callable[[], "Agent"]
    cases: Callable[[], Dict[str, List[Dict[str, str]]]]
    record: Callable[[str, str, Dict[str, Any]], None]
    training: Optional[Training] = None
    _processors: Dict[str, "MessageProcessor"] = field(default_factory=dict)
    _task: Optional[asyncio.Task] = None
    activating: Optional[str] = None

    def active_name(self) -> Optional[str]:
        agent = self.agent()
        processor = getattr(agent, "processor", None)
        return Path(processor.model_path).name if processor is not None else None

    def available(self) -> List[Dict[str, Any]]:
        active = self.active_name()
        files = sorted(self.models.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
        return [{"name": p.name, "size_mb": round(p.stat().st_size / 1e6, 1), "active": p.name == active,
                 "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(p.stat().st_mtime))} for p in files]

    def status(self) -> Dict[str, Any]:
        return {"active": self.active_name(), "activating": self.activating, "models": self.available(),
                "training": self.training.as_dict() if self.training else None}

    # -- training ---------------------------------------------------------

    def start_training(self, author: str) -> Training:
        """Start a background training run (one at a time)."""
        if self.training is not None and self.training.state in BUSY:
            raise RuntimeError("a model is already training")
        self.models.mkdir(parents=True, exist_ok=True)
        self.training = Training(author=author, started=time.time(), name=model_name_for(self.root))
        self._task = asyncio.get_running_loop().create_task(self._train(self.training))
        return self.training

    async def _train(self, run: Training) -> None:
        command = [sys.executable, "-m", "bot.rasa_cli", "train", "--config", "config.yml", "--domain", "domain.yml",
                   "--data", *TRAINING_DATA, "--out", str(self.models), "--fixed-model-name", run.name]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        try:
            report = await validate(self.root, REPO)
            run.checks = report.as_dict()
            if not report.ok:
                raise CheckFailed("The data did not pass the checks, nothing was trained: " + "; ".join(report.errors[:3]))
            run.state = "training"
            process = await asyncio.create_subprocess_exec(
                *command, cwd=self.root, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
            assert process.stdout is not None
            async for raw in process.stdout:
                line = _ANSI.sub("", raw.decode("utf-8", "replace")).strip()
                if line:
                    run.lines = (run.lines + [line[:300]])[-50:]
                    if "Finished training component" in line:
                        run.components_done += 1
            if await process.wait() != 0 or not (self.models / f"{run.name}.tar.gz").exists():
                raise RuntimeError("rasa train failed: " + " | ".join(run.lines[-3:]))
            run.state = "comparing"
            run.comparison = await self.compare(self.models / f"{run.name}.tar.gz")
            run.state = "ready"
            self.record(run.author, "train", {"model": f"{run.name}.tar.gz", "comparison": {
                k: {m: v.get(m) for m in ("n", "active", "candidate")} for k, v in run.comparison.items()}})
        except CheckFailed as exc:
            logger.info("Candidate blocked by the data checks (%d errors)", len(run.checks["errors"]) if run.checks else 0)
            run.state, run.error = "failed", str(exc)[:500]
        except Exception as exc:  # the page shows why; the desk keeps running
            logger.exception("Candidate training failed")
            run.state, run.error = "failed", str(exc)[:500]
        finally:
            run.finished = time.time()

    async def processor_for(self, path: Path) -> "MessageProcessor":
        """The loaded processor of a model file (built in a worker thread, then kept).

        A loaded model holds hundreds of MB: only the last :data:`KEPT_PROCESSORS` are kept
        (enough to compare a candidate and to roll back at once); older ones are loaded again.
        """
        if path.name not in self._processors:
            agent = self.agent()
            loop = asyncio.get_running_loop()
            self._processors[path.name] = await loop.run_in_executor(None, build_processor, agent, path)
        self._processors[path.name] = self._processors.pop(path.name)  # most recently used last
        while len(self._processors) > KEPT_PROCESSORS:
            del self._processors[next(iter(self._processors))]
        return self._processors[path.name]

    async def compare(self, path: Path) -> Dict[str, Any]:
        """Both models on the comparison sets."""
        candidate = await self.processor_for(path)
        active = self.agent().processor
        out = {}
        for name, cases in self.cases().items():
            texts = [c["text"] for c in cases]
            out[name] = score(cases, await parse_all(active, texts), await parse_all(candidate, texts))
        return out

    # -- activation -------------------------------------------------------

    async def switch(self, name: str) -> Optional[str]:
        """Serve ``name`` from now on in this process; returns the model it replaced."""
        path = (self.models / name).resolve()
        if path.parent != self.models.resolve() or not path.name.endswith(".tar.gz") or not path.is_file():
            raise FileNotFoundError(name)
        agent = self.agent()
        previous = self.active_name()
        self.activating = name
        try:
            processor = await self.processor_for(path)
            if agent.processor is not None:
                self._processors.setdefault(Path(agent.processor.model_path).name, agent.processor)
            agent.processor = processor  # the swap: one assignment, read once per turn
            agent.domain = processor.domain
            if hasattr(agent.nlg, "responses"):
                agent.nlg.responses = processor.domain.responses  # a candidate may answer with new responses
            if agent.tracker_store is not None:
                agent.tracker_store.domain = processor.domain
        finally:
            self.activating = None
        return previous

    async def activate(self, name: str, author: str) -> Dict[str, Any]:
        """Serve ``name`` from now on (no restart; turns in flight finish on the old model).

        The audit row it writes is what the other instances follow (:mod:`bot.workbench.follow`).
        """
        try:
            previous = await self.switch(name)
        except Exception:
            TRAINER_ACTIVATIONS.labels(result="failed").inc()
            raise
        TRAINER_ACTIVATIONS.labels(result="ok").inc()
        self.record(author, "activate", {"model": name, "previous": previous})
        logger.info("Activated model %s (was %s)", name, previous)
        return {"active": name, "previous": previous}
