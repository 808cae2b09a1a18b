"""Dialect region tags (bot.language.dialect) against labelled data.

Data:
  - ArBanking77 MSA test and Palestinian test (SinaLab, CC BY-SA 4.0): real labels for MSA
    and one Levantine dialect, written by others. The only labelled dialect data with a
    licence that allows it here.
  - bench/langid/dialect_examples.tsv: Gulf, Egyptian, Levantine and Maghrebi requests
    written for this project (by the lexicon's authors: a weak test, flagged as such).

For each set: the share tagged with each region (``unknown`` = no dialect evidence).

Usage: python bench/langid/dialect.py   → bench/results/dialect.md
"""
from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bot.language.dialect import detect_dialect  # noqa: E402
from common import dataset, load_line, machine_line, table, write_report  # noqa: E402

REGIONS = ["msa", "gulf", "egyptian", "levantine", "maghrebi", "unknown"]


def sets() -> Dict[str, List[str]]:
    found: Dict[str, List[str]] = {}
    for name, label in (("Banking77_Arabized_MSA_test.csv", "msa"), ("Banking77_Arabized_PAL_test.csv", "levantine")):
        with open(dataset("arbanking77", name), encoding="utf-8") as handle:
            found[f"ArBanking77 {name.split('_')[2]} test → {label}"] = [row["text"] for row in csv.DictReader(handle)]
    for line in (ROOT / "bench" / "langid" / "dialect_examples.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            region, text = line.split("\t", 1)
            found.setdefault(f"{region} (self-written) → {region}", []).append(text)
    return found


def main() -> int:
    machine = machine_line()
    rows = []
    for name, texts in sets().items():
        counts = Counter(detect_dialect(text).region for text in texts)
        rows.append([name, len(texts), *[f"{100 * counts[r] / len(texts):.1f}%" for r in REGIONS]])
    lines = ["# Dialect region tags", "", machine, "",
             "Share of each set tagged with each region by `bot.language.dialect.detect_dialect` "
             "(the expected region after the arrow). *unknown* = no dialect or MSA evidence in the message "
             "(routing and the card then ignore the dialect).", ""]
    lines += table(["set", "n", *REGIONS], rows)
    lines += ["", load_line(), "", "Command: `python bench/langid/dialect.py`"]
    write_report("dialect", lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
