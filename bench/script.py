"""The fixed script of customer turns every load benchmark sends.

Three conversations a Gulf telecom's customers really have, one per way of writing:
greet, ask for the bill, ask where an order is (with its number), report an outage
(with the area), thank.  Order 4821937 and the Sharjah outage exist in
data/demo_backend.json, so every turn reaches a real answer.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

CONVERSATIONS: Dict[str, List[str]] = {
    "english": [
        "Hi there",
        "How much is my bill this month?",
        "Where is my order #4821937? It's been a week",
        "my mobile data is not working in Sharjah since this morning",
        "thanks a lot",
    ],
    "arabic": [
        "السلام عليكم",
        "كم فاتورتي هالشهر؟",
        "وين طلبي رقم ٤٨٢١٩٣٧؟ صار لي أسبوع أنتظر",
        "النت مقطوع عندي في الشارقة من الصبح",
        "مشكور ما قصرت",
    ],
    "arabizi": [
        "salam",
        "ana 3ayez a3raf el fatoora",
        "wein el order mali 4821937",
        "el net mesh shaghal 3andi fi el Sharjah",
        "shukran",
    ],
}

KINDS: List[str] = list(CONVERSATIONS)


def conversation(index: int) -> Tuple[str, List[str]]:
    """The ``index``-th conversation of an endless rotation through the three kinds."""
    kind = KINDS[index % len(KINDS)]
    return kind, CONVERSATIONS[kind]


def long_conversation(length: int) -> List[str]:
    """``length`` messages for one long conversation: the three scripts, over and over."""
    cycle = [text for kind in KINDS for text in CONVERSATIONS[kind]]
    return [cycle[i % len(cycle)] for i in range(length)]
