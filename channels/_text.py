"""Splitting and shortening text for providers' length limits, never inside a grapheme.

A grapheme cluster (``regex`` ``\\X``) is what a reader sees as one character: an
Arabic letter with its harakat, an emoji ZWJ sequence (👨‍👩‍👧), a flag (two regional
indicators), a skin-toned emoji.  Limits are measured by a ``measure`` function so
each provider can count its way: WhatsApp counts characters (we count UTF-16 code
units, which is never less than code points and so always safe), Instagram bytes.
"""
from __future__ import annotations

from typing import Callable, List

import regex

Measure = Callable[[str], int]

_GRAPHEME = regex.compile(r"\X")
ELLIPSIS = "…"


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (what JavaScript's ``length`` counts)."""
    return len(text.encode("utf-16-le")) // 2


def utf8_len(text: str) -> int:
    """Length in UTF-8 bytes."""
    return len(text.encode("utf-8"))


def graphemes(text: str) -> List[str]:
    """The grapheme clusters of ``text``."""
    return _GRAPHEME.findall(text)


def split_text(text: str, limit: int, measure: Measure = utf16_len) -> List[str]:
    """Split ``text`` into parts of at most ``limit`` (by ``measure``).

    Cuts at the last line break in the second half of a part, else at the last
    whitespace, else between graphemes; whitespace at a cut is dropped.  Text that
    is empty or only whitespace gives no parts.

    Args:
        text: the text to split.
        limit: the largest allowed part.
        measure: how a provider counts length.

    Returns:
        The parts, in order; joined with the dropped whitespace they give ``text``.
    """
    if limit <= 0:
        raise ValueError("limit must be positive")
    text = text.strip()
    if not text:
        return []
    if measure(text) <= limit:
        return [text]
    parts: List[str] = []
    current: List[str] = []
    size = 0
    for cluster in graphemes(text):
        cluster_size = measure(cluster)
        if size + cluster_size > limit and current:
            # The buffer ends exactly at a word boundary: cut there, unless an earlier
            # line break in the second half is the better place (the overflowing
            # cluster being a line break itself is the best place of all).
            if cluster.isspace() and ("\n" in cluster or _newline_in_second_half(current) is None):
                parts.append("".join(current).rstrip())
                current, size = [], 0
                continue
            head, current = _cut(current)
            if head:
                parts.append(head)
            size = sum(measure(g) for g in current)
            if cluster.isspace() and size + cluster_size > limit:  # still no room: the space is the cut
                parts.append("".join(current).rstrip())
                current, size = [], 0
                continue
        if cluster_size > limit:  # one cluster longer than the limit: nothing else to do
            parts.append(cluster)
            continue
        current.append(cluster)
        size += cluster_size
    tail = "".join(current).strip()
    if tail:
        parts.append(tail)
    return parts


def _newline_in_second_half(clusters: List[str]) -> "int | None":
    """Index of the last line break if it lies in the second half of ``clusters``."""
    newline = _last_index(clusters, lambda g: "\n" in g)
    return newline if newline is not None and newline >= len(clusters) // 2 else None


def _cut(clusters: List[str]) -> "tuple[str, List[str]]":
    """Split a full buffer at the best boundary: (finished part, carried-over clusters)."""
    newline = _newline_in_second_half(clusters)
    space = _last_index(clusters, str.isspace)
    if newline is not None:
        at = newline
    elif space is not None and space > 0:
        at = space
    else:
        return "".join(clusters).rstrip(), []
    return "".join(clusters[:at]).rstrip(), _lstrip(clusters[at + 1 :])


def _last_index(clusters: List[str], predicate: Callable[[str], bool]) -> "int | None":
    for index in range(len(clusters) - 1, -1, -1):
        if predicate(clusters[index]):
            return index
    return None


def _lstrip(clusters: List[str]) -> List[str]:
    start = 0
    while start < len(clusters) and clusters[start].isspace():
        start += 1
    return clusters[start:]


def shorten(text: str, limit: int, measure: Measure = utf16_len) -> str:
    """``text`` cut to ``limit`` at a grapheme boundary, with an ellipsis if cut."""
    if measure(text) <= limit:
        return text
    budget = limit - measure(ELLIPSIS)
    kept: List[str] = []
    for cluster in graphemes(text):
        budget -= measure(cluster)
        if budget < 0:
            break
        kept.append(cluster)
    return "".join(kept).rstrip() + ELLIPSIS
