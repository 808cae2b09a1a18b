"""Reading a process's /metrics in tests: samples by name and labels, and differences."""
from __future__ import annotations

from typing import Dict, FrozenSet, Optional, Tuple

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

Key = Tuple[str, FrozenSet[Tuple[str, str]]]


async def scrape(url: str, token: Optional[str] = None) -> Dict[Key, float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers=headers) as answer:
            assert answer.status == 200, answer.status
            text = await answer.text()
    samples: Dict[Key, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Dict[Key, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Dict[Key, float], after: Dict[Key, float], name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def changed(before: Dict[Key, float], after: Dict[Key, float], prefix: str) -> Dict[Key, float]:
    """Every sample starting with ``prefix`` whose value changed, with its difference."""
    return {key: after[key] - before.get(key, 0.0) for key in after
            if key[0].startswith(prefix) and after[key] != before.get(key, 0.0)}
