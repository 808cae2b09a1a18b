"""Similarity that works for Arabic script, Arabizi and English alike.

A message's *key* is its text normalised the way the NLU normalises it
(:func:`bot.language.normalize.normalize`), with Arabizi transliterated to the
Arabic it spells (:func:`bot.language.arabizi.transliterate`, as the NLU's
``ArabiziTransliterator`` does), punctuation and emoji dropped.  So "abi a3rf
fatorti" and "أبي أعرف فاتورتي" get close keys, and "شكراااا" equals "شكرا".

Similar keys are found with MinHash over character 3-grams (robust to spelling
variants, clitics and word order) and LSH bands: a message is compared only with
the groups that share a band, so grouping costs the same with 100 or 100,000 groups.
"""
from __future__ import annotations

import hashlib
import re
import struct
from typing import Iterable, List, Sequence, Set

from bot.language.arabizi import transliterate
from bot.language.detect import FORM_ARABIZI
from bot.language.normalize import normalize

#: MinHash size and LSH banding: 8 bands of 3 rows find pairs with Jaccard ≥ ~0.5 with high probability.
HASHES, ROWS = 24, 3
#: Estimated Jaccard similarity (of character 3-grams) above which two messages share a group.
SAME_GROUP = 0.5
_NOT_WORD = re.compile(r"[^\w\s]+", re.UNICODE)
_SPACES = re.compile(r"\s+")
_MASK64 = (1 << 64) - 1
_SEEDS = [int.from_bytes(hashlib.blake2b(str(i).encode(), digest_size=8).digest(), "big") | 1 for i in range(HASHES)]


def text_key(text: str, form: str) -> str:
    """``text`` as the NLU sees it: normalised, Arabizi in Arabic letters, no punctuation."""
    arabic = transliterate(text) if form == FORM_ARABIZI else text
    flat = _NOT_WORD.sub(" ", normalize(arabic)).replace("_", " ")
    return _SPACES.sub(" ", flat).strip()[:500]


#: Letters Arabizi spells alike (s for س and ص, t for ت and ط ...) folded for similarity only,
#: so a transliterated Arabizi message lands near the Arabic one it spells.
_LOOSE = str.maketrans({"ص": "س", "ض": "د", "ط": "ت", "ظ": "ز", "ذ": "ز", "ث": "ت", "ق": "ك", "ة": "ه",
                        "ى": "ي", "ء": "", "ؤ": "و", "ئ": "ي"})
_ARTICLE = re.compile(r"(?<!\S)ال\s+")


def loose(key: str) -> str:
    """``key`` with look-alike letters folded and a detached article ("ال باقه") joined."""
    return _ARTICLE.sub("ال", key.translate(_LOOSE))


def shingles(key: str, size: int = 3) -> Set[str]:
    padded = f" {loose(key)} "
    if len(padded) <= size:
        return {padded}
    return {padded[i:i + size] for i in range(len(padded) - size + 1)}


def _hash(shingle: str) -> int:
    return struct.unpack("<Q", hashlib.blake2b(shingle.encode("utf-8"), digest_size=8).digest())[0]


def signature(key: str) -> List[int]:
    """The MinHash signature of ``key``'s 3-grams (:data:`HASHES` values)."""
    hashes = [_hash(s) for s in shingles(key)]
    return [min(((h * seed) ^ (seed >> 7)) & _MASK64 for h in hashes) for seed in _SEEDS]


def bands(sig: Sequence[int]) -> List[str]:
    """The LSH band keys of a signature: messages sharing one are candidates for one group."""
    return [f"{start // ROWS}:" + hashlib.blake2b(repr(tuple(sig[start:start + ROWS])).encode(),
                                                   digest_size=8).hexdigest()
            for start in range(0, len(sig), ROWS)]


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return sum(1 for x, y in zip(a, b) if x == y) / len(a)


def dump(sig: Iterable[int]) -> str:
    return " ".join(str(v) for v in sig)


def load(text: str) -> List[int]:
    return [int(v) for v in text.split()]
