"""The NLU training data as trainers and git see it: ``data/nlu/{ar,en,arabizi}/<topic>.yml``.

Examples are added with ruamel.yaml's round-trip mode, so comments, block order and
the ``examples: |`` literal blocks stay as they were and the change is an ordinary
one-line diff.  Every example is compared by its NLU key (normalised, Arabizi
transliterated: :func:`bot.workbench.similarity.text_key`): the same key under the
same intent is a duplicate (not written), under another intent a conflict (not
written, reported).
"""
from __future__ import annotations

import io
import os
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from bot.language.detect import FORM_ARABIC, FORM_ARABIZI, FORM_ENGLISH
from bot.workbench.similarity import text_key

_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
FOLDERS = ("en", "ar", "arabizi")
FORM_OF_FOLDER = {"en": FORM_ENGLISH, "ar": FORM_ARABIC, "arabizi": FORM_ARABIZI}
_MARKUP = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")
_ITEM = re.compile(r"^\s*-\s+(.*)$")


def folder_for(form: str, language: str) -> str:
    """Where an example of this language/form belongs."""
    if form == FORM_ARABIZI:
        return "arabizi"
    if form == FORM_ARABIC:
        return "ar"
    if form == FORM_ENGLISH:
        return "en"
    return "ar" if language == "ar" else "en"


def plain(example: str) -> str:
    """An example without its entity markup."""
    return _MARKUP.sub(r"\1", example).strip()


def _yaml() -> YAML:
    y = YAML()
    y.preserve_quotes = True
    y.width = 10000
    y.indent(mapping=2, sequence=2, offset=0)  # the layout data/nlu uses (round-trips byte for byte)
    return y


@dataclass
class Example:
    text: str      # as in the file (with markup)
    intent: str
    folder: str
    path: Path


@dataclass
class Outcome:
    text: str
    status: str                     # written | duplicate | conflict
    path: Optional[str] = None
    other_intent: Optional[str] = None


@dataclass
class NluData:
    """The ``data/nlu`` folder under ``root``."""

    root: Path
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cache: Optional[Tuple[tuple, List[Example]]] = field(default=None, repr=False)
    _keys: Optional[Tuple[Optional[tuple], Dict[str, Set[str]]]] = field(default=None, repr=False)

    @property
    def nlu(self) -> Path:
        return self.root / "data" / "nlu"

    def files(self) -> List[Path]:
        return sorted(p for folder in FOLDERS for p in (self.nlu / folder).glob("*.yml"))

    def examples(self) -> List[Example]:
        """Every intent example of every language file (re-read only when a file changed)."""
        files = self.files()
        stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
        if self._cache is not None and self._cache[0] == stamp:
            return list(self._cache[1])
        found = []
        for path in files:
            folder = path.parent.name
            # Reading needs no round trip: the C loader is ~20x faster than ruamel's.
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_FAST_LOADER) or {}
            for block in data.get("nlu") or []:
                if not isinstance(block, dict) or "intent" not in block:
                    continue
                for line in str(block.get("examples") or "").splitlines():
                    match = _ITEM.match(line)
                    if match:
                        found.append(Example(match.group(1), str(block["intent"]), folder, path))
        self._cache = (stamp, found)
        return list(found)

    def keys(self) -> Dict[str, Set[str]]:
        """NLU key -> intents that have an example with it (a copy; computed once per data version)."""
        examples = self.examples()
        stamp = self._cache[0] if self._cache else None
        if self._keys is None or self._keys[0] != stamp:
            index: Dict[str, Set[str]] = defaultdict(set)
            for ex in examples:
                index[text_key(plain(ex.text), FORM_OF_FOLDER[ex.folder])].add(ex.intent)
            self._keys = (stamp, index)
        return defaultdict(set, {key: set(intents) for key, intents in self._keys[1].items()})

    def intents(self) -> Dict[str, Dict[str, List[str]]]:
        """intent -> folder -> a few plain examples (for choosing an intent)."""
        out: Dict[str, Dict[str, List[str]]] = defaultdict(lambda: {f: [] for f in FOLDERS})
        for ex in self.examples():
            shown = out[ex.intent][ex.folder]
            if len(shown) < 3:
                shown.append(plain(ex.text))
        return dict(sorted(out.items()))

    def _target(self, intent: str, folder: str, examples: Iterable[Example]) -> Path:
        """The topic file of ``intent`` in ``folder`` (the topic it has elsewhere, else ``workbench.yml``)."""
        here = [ex.path for ex in examples if ex.intent == intent and ex.folder == folder]
        elsewhere = [self.nlu / folder / ex.path.name for ex in examples if ex.intent == intent]
        return (here or elsewhere or [self.nlu / folder / "workbench.yml"])[0]

    def add(self, intent: str, folder: str, texts: Iterable[str]) -> List[Outcome]:
        """Add ``texts`` (already with markup, personal data replaced) as examples of ``intent``."""
        if folder not in FOLDERS:
            raise ValueError(f"unknown folder {folder!r}")
        with self._lock:
            examples = self.examples()
            index = self.keys()
            outcomes, new = [], []
            for text in texts:
                text = " ".join(text.split())
                key = text_key(plain(text), FORM_OF_FOLDER[folder])
                if not key:
                    continue
                owners = index.get(key, set())
                if intent in owners:
                    outcomes.append(Outcome(text, "duplicate"))
                elif owners:
                    outcomes.append(Outcome(text, "conflict", other_intent=sorted(owners)[0]))
                else:
                    index[key].add(intent)
                    new.append(text)
                    outcomes.append(Outcome(text, "written"))
            if new:
                path = self._target(intent, folder, examples)
                self._append(path, intent, new)
                for outcome in outcomes:
                    if outcome.status == "written":
                        outcome.path = str(path.relative_to(self.root))
            return outcomes

    @staticmethod
    def _append(path: Path, intent: str, texts: List[str]) -> None:
        y = _yaml()
        if path.exists():
            data = y.load(path.read_text(encoding="utf-8"))
        else:
            data = CommentedMap([("version", "3.1"), ("nlu", CommentedSeq())])
        blocks = data.setdefault("nlu", CommentedSeq())
        block = next((b for b in blocks if isinstance(b, dict) and b.get("intent") == intent), None)
        lines = "".join(f"- {_safe(t)}\n" for t in texts)
        if block is None:
            blocks.append(CommentedMap([("intent", intent), ("examples", LiteralScalarString(lines))]))
        else:
            existing = str(block.get("examples") or "")
            if existing and not existing.endswith("\n"):
                existing += "\n"
            block["examples"] = LiteralScalarString(existing + lines)
        out = io.StringIO()
        y.dump(data, out)
        tmp = path.with_suffix(".yml.tmp")
        tmp.write_text(out.getvalue(), encoding="utf-8")
        os.replace(tmp, path)


def _safe(text: str) -> str:
    """One line of a literal block: no line breaks, no leading YAML indicators that would change it."""
    return " ".join(text.split())


def split_examples(texts: Iterable[Tuple[str, str]]) -> Dict[str, List[str]]:
    """(folder, text) pairs grouped by folder, order kept."""
    out: Dict[str, List[str]] = defaultdict(list)
    for folder, text in texts:
        if text not in out[folder]:
            out[folder].append(text)
    return out
