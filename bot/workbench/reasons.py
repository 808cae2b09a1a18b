"""Why a customer message deserves a trainer's look: a bit set stored with the message."""
from __future__ import annotations

import re
from typing import Dict, List, Mapping, Sequence, Tuple

FALLBACK = 1          # the model fell back (nlu_fallback, or the fallback action ran)
LOW_CONFIDENCE = 2    # the top intent was below LOW_CONFIDENCE_BELOW
AMBIGUOUS = 4         # the two top intents were within AMBIGUITY_MARGIN of each other
HANDOFF = 8           # the conversation was handed to a person right after it
REPHRASED = 16        # the customer said it again differently right after
NOT_HELPFUL = 32      # the customer said the answer did not help
WEAK_CELL = 64        # its intent has few examples in its language/form

NAMES: Dict[int, str] = {FALLBACK: "fallback", LOW_CONFIDENCE: "low_confidence", AMBIGUOUS: "ambiguous",
                         HANDOFF: "handoff", REPHRASED: "rephrased", NOT_HELPFUL: "not_helpful",
                         WEAK_CELL: "weak_language"}
BITS = {name: bit for bit, name in NAMES.items()}

LOW_CONFIDENCE_BELOW = 0.7
AMBIGUITY_MARGIN = 0.15
#: A customer message this soon after a misunderstood one is read as its rephrasing.
REPHRASE_SECONDS = 180.0
FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTIONS = frozenset({"action_default_fallback", "utter_default", "action_two_stage_fallback"})

#: "This didn't help", in English, Arabic (Gulf, Egyptian, MSA) and Arabizi.  Matched on the
#: message's normalised key (bot.workbench.similarity.text_key), so Arabizi arrives transliterated.
_NOT_HELPFUL = re.compile(
    r"(didn t help|did not help|not helpful|doesn t help|useless|"
    r"ما ساعدني|ما ساعدتني|ما فادني|ما افادني|مو مفيد|مش مفيد|غير مفيد|ما نفعني|منفعنيش|مساعدتنيش|ما استفدت|"
    r"ma sa3adni|ma sa3adtni|msa3adtnish|mo mofeed|mu mufeed|mesh mofeed|msh mofeed|ma fadni)")


def names(bits: int) -> List[str]:
    return [name for bit, name in NAMES.items() if bits & bit]


def from_parse(ranking: Sequence[Mapping[str, object]]) -> Tuple[int, List[Tuple[str, float]]]:
    """Bits the model's own answer earns, and its ranking without ``nlu_fallback``."""
    intents = [(str(r.get("name")), float(r.get("confidence") or 0.0)) for r in ranking if r.get("name")]
    bits = FALLBACK if intents and intents[0][0] == FALLBACK_INTENT else 0
    real = [item for item in intents if item[0] != FALLBACK_INTENT]
    if real and real[0][1] < LOW_CONFIDENCE_BELOW:
        bits |= LOW_CONFIDENCE
    if len(real) > 1 and real[0][1] - real[1][1] < AMBIGUITY_MARGIN:
        bits |= AMBIGUOUS
    return bits, real


def says_not_helpful(key: str, text: str = "") -> bool:
    """``key``: the NLU key (Arabic script); ``text``: as written (Arabizi spellings)."""
    return bool(_NOT_HELPFUL.search(key.replace("'", " ")) or _NOT_HELPFUL.search(text.lower().replace("'", " ")))


MISUNDERSTOOD = FALLBACK | LOW_CONFIDENCE | AMBIGUOUS
