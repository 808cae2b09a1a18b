"""Which Arabic dialect region a message is written in: Gulf, Egyptian, Levantine, Maghrebi, MSA.

Used to route a handoff (a Maghrebi customer is offered first to agents who read
Darija) and shown on the agent's context card.  The evidence is the dialect words of
:mod:`bot.language.dialect_lexicon` (function words and common verbs that differ
between regions: عايز, بدي, أبي, بغيت ...) against MSA function words (ماذا, هل,
لقد, يمكنني ...).  A message with no such word is ``unknown``: most short messages
("فاتورتي", "رصيد") carry no dialect at all, and guessing would route them at random.
Arabizi is tagged on its Arabic transliteration (``3ayez`` is عايز).

Measured on ArBanking77's MSA and Palestinian test sets (the only labelled dialect
data with a licence that allows it here): docs/language.md.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping

from bot.language.dialect_lexicon import MSA, MSA_MARKERS, REGIONS, REGIONS_OF
from bot.language.normalize import normalize

UNKNOWN = "unknown"
_ARABIC_WORD = re.compile("[\u0621-\u064a]+")
# One region's word counts 1, a word shared by n regions 1/n each; an MSA marker counts
# this much (MSA words also appear in dialect messages, so they weigh less).
_MSA_WEIGHT = 0.5


@dataclass(frozen=True)
class DialectGuess:
    region: str  # gulf, egyptian, levantine, maghrebi, msa or unknown
    confidence: float  # 0..1: share of the evidence for that region, damped when there is little

    def as_dict(self) -> Dict[str, object]:
        return {"region": self.region, "confidence": round(self.confidence, 3)}


def _words(text: str) -> List[str]:
    return _ARABIC_WORD.findall(normalize(text))


def scores(words: Iterable[str]) -> Dict[str, float]:
    """Evidence per region (and MSA) from normalised Arabic words."""
    totals = {region: 0.0 for region in (*REGIONS, MSA)}
    for word in words:
        regions = REGIONS_OF.get(word) or (REGIONS_OF.get(word[1:]) if word.startswith("و") else None)
        if regions:
            for region in regions:
                totals[region] += 1.0 / len(regions)
        elif word in MSA_MARKERS:
            totals[MSA] += _MSA_WEIGHT
    return totals


def detect_dialect(text: str) -> DialectGuess:
    """The dialect region of an Arabic-script text (``unknown`` without evidence)."""
    totals = scores(_words(text))
    evidence = sum(totals.values())
    if evidence == 0:
        return DialectGuess(UNKNOWN, 0.0)
    best = max(totals, key=lambda region: (totals[region], region == MSA))
    runner_up = max(v for k, v in totals.items() if k != best)
    if totals[best] == runner_up:
        return DialectGuess(UNKNOWN, 0.0)
    # Share of the evidence, damped by how much there is (one word: at most 0.5).
    confidence = (totals[best] / evidence) * min(1.0, totals[best] / 2.0 + 0.25)
    return DialectGuess(best, confidence)


def conversation_dialect(parse_data: Iterable[Mapping[str, Any]]) -> DialectGuess:
    """The dialect of a conversation from its customer messages' parse data (oldest first).

    Each message's tag (``parse_data["language"]["dialect"]``) votes with its confidence;
    MSA and unknown messages do not outvote a dialect, since dialect speakers also write
    MSA-like sentences.  The confidence is the winner's share of the dialect votes,
    damped while there is little evidence.
    """
    votes: Dict[str, float] = {}
    for data in parse_data:
        tag = ((data or {}).get("language") or {}).get("dialect") or {}
        region, confidence = tag.get("region"), float(tag.get("confidence") or 0.0)
        if region and region != UNKNOWN and confidence > 0:
            votes[region] = votes.get(region, 0.0) + confidence
    dialects = {k: v for k, v in votes.items() if k != MSA}
    pool = dialects or votes
    if not pool:
        return DialectGuess(UNKNOWN, 0.0)
    best = max(pool, key=lambda region: pool[region])
    share = pool[best] / sum(pool.values())
    return DialectGuess(best, share * min(1.0, pool[best]))
