"""Coverage: examples per intent × language/form (and Arabic dialect where it is known).

A cell with fewer than :data:`WEAK_BELOW` examples is *weak*: the inbox flags customer
messages the model put in a weak cell (reason ``weak_language``), and the coverage
view shows it.  Accuracy per cell comes from the last comparison of a candidate model
(:mod:`bot.workbench.models`), when there is one.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from bot.language.dialect import detect_dialect
from bot.workbench.nlu_files import FOLDERS, FORM_OF_FOLDER, NluData, plain

WEAK_BELOW = 5
COLUMNS = ("en", "ar", "ar:gulf", "ar:egyptian", "ar:msa", "arabizi")


@dataclass
class Coverage:
    data: NluData
    _cache: Optional[Tuple[Tuple[float, ...], Dict[str, Counter]]] = field(default=None, repr=False)
    _checked: float = 0.0

    def counts(self) -> Dict[str, Counter]:
        """intent -> Counter of columns (cached until a data file changes; checked at most once a second)."""
        if self._cache is not None and time.monotonic() - self._checked < 1.0:
            return self._cache[1]
        self._checked = time.monotonic()
        stamp = tuple(p.stat().st_mtime for p in self.data.files())
        if self._cache is not None and self._cache[0] == stamp:
            return self._cache[1]
        counts: Dict[str, Counter] = {}
        for ex in self.data.examples():
            cell = counts.setdefault(ex.intent, Counter())
            cell[ex.folder] += 1
            if ex.folder == "ar":
                region = detect_dialect(plain(ex.text)).region
                if f"ar:{region}" in COLUMNS:
                    cell[f"ar:{region}"] += 1
        self._cache = (stamp, counts)
        return counts

    def weak(self, intent: str, form: str, dialect: Optional[str] = None) -> bool:
        """True when ``intent`` has fewer than WEAK_BELOW examples in ``form``'s folder (or its dialect)."""
        folder = next((f for f in FOLDERS if FORM_OF_FOLDER[f] == form), None)
        if folder is None or intent not in self.counts():
            return False
        cell = self.counts()[intent]
        column = f"ar:{dialect}" if folder == "ar" and f"ar:{dialect}" in COLUMNS else folder
        return cell[folder] < WEAK_BELOW or cell[column] < WEAK_BELOW

    def table(self, accuracy: Optional[Dict[str, Dict[str, float]]] = None) -> Dict[str, object]:
        rows: List[Dict[str, object]] = []
        for intent, cell in sorted(self.counts().items()):
            rows.append({"intent": intent, "counts": {c: cell.get(c, 0) for c in COLUMNS},
                         "weak": [c for c in COLUMNS if cell.get(c, 0) < WEAK_BELOW],
                         "accuracy": (accuracy or {}).get(intent, {})})
        return {"columns": list(COLUMNS), "weak_below": WEAK_BELOW, "rows": rows}
