"""Rebuild bot/language/data/english_words.txt (run by hand; not a runtime dependency).

Sources: wordfreq 3.1.1's English list (data CC BY-SA 4.0, https://github.com/rspeer/wordfreq;
install it aside, e.g. `pip install --target /tmp/wf wordfreq==3.1.1` and PYTHONPATH=/tmp/wf),
words at Zipf frequency >= 2.2, which includes chat forms ("wassup", "thanx"), plus words seen
at least twice in Banking77 train.csv (PolyAI, CC BY 4.0). Words that Majlis' Arabizi lexicon
marks as Arabizi-only are removed: "salam" or "ana" occur in English text as names, but in a
care chat they are Arabic.
"""
from __future__ import annotations

import collections
import csv
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.language.arabizi_lexicon import STRONG  # noqa: E402

HEADER = """# English words for language identification (one per line).
# Built by bench/langid/build_wordlist.py from wordfreq 3.1.1 (data CC BY-SA 4.0,
# https://github.com/rspeer/wordfreq; this file is shared under the same licence) at Zipf >= 2.2,
# and Banking77 train.csv (PolyAI, CC BY 4.0), minus Majlis' Arabizi-only words.
"""


def main() -> None:
    from wordfreq import iter_wordlist, zipf_frequency

    words = set()
    for word in iter_wordlist("en", wordlist="large"):
        if zipf_frequency(word, "en", wordlist="large") < 2.2:
            break
        if re.fullmatch(r"[a-z][a-z']{0,19}", word):
            words.add(word)
    counts: collections.Counter = collections.Counter()
    with open(ROOT / "bench" / "data" / "banking77" / "train.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            counts.update(re.findall(r"[a-z]+(?:'[a-z]+)?", row["text"].lower()))
    words |= {w for w, n in counts.items() if n >= 2}
    words -= set(STRONG)
    out = ROOT / "bot" / "language" / "data" / "english_words.txt"
    out.write_text(HEADER + "\n".join(sorted(words)) + "\n", encoding="utf-8")
    print(f"{len(words)} words -> {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
