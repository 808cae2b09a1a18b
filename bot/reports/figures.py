"""The report page's figures, computed from the pre-aggregated tables.

Everything but the agent times is summed from the per-day rollup (``majlis_report_day``:
one row per local day and combination of dimensions): one scan of the range grouped by
every dimension, one grouped by day.  Measured with a year of traffic on SQLite (2026-12-07,
bench/reports.py): the page's cost was one scan of the conversation rows per figure (12).
Agent times (percentiles) read the handoff rows.

Every figure honours the same :class:`ReportQuery` (local-day range and filters).
Definitions (also on the page and in docs/reports.md):

- conversation: one Rasa session of one customer (a new session after 60 idle minutes);
- contained (bot only): a conversation no handoff was linked to; containment is their share;
- handoff rate: handed-off conversations / conversations, per dimension; the intent is
  the intent of the conversation's first message (what the customer came for);
- time to agent: handoff → first claim; first response: handoff → first agent reply;
  handling: first claim → close; p50/p90 by nearest rank;
- CSAT: the average 1-5 rating, for conversations handled by the bot alone and for
  those an agent handled;
- lost to an expired window: conversations with a reply not sent because the
  customer-service window had closed;
- busiest hours: conversations started per local hour of day.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.reports.tables import report_conversation as conv
from bot.reports.tables import report_day as day
from bot.reports.tables import report_handoff as ho
from bot.storage.schema import REPORT_HOURS

#: Dimensions a handoff rate is broken down by (and the filters the page offers).
DIMENSIONS = ("intent", "language", "form", "dialect", "channel", "source")
MAX_GROUPS = 30


@dataclass(frozen=True)
class ReportQuery:
    """A local-day range (inclusive) and equality filters on :data:`DIMENSIONS`."""

    start: date
    end: date
    filters: Mapping[str, str] = field(default_factory=dict)

    def where(self, table: sa.Table = conv) -> List[Any]:
        return [table.c.local_day >= self.start, table.c.local_day <= self.end, *self.matching(table)]

    def matching(self, table: sa.Table = conv) -> List[Any]:
        """The filters alone (no date range)."""
        return [table.c[name] == value for name, value in self.filters.items() if name in DIMENSIONS and value]

    @property
    def narrowed(self) -> bool:
        return any(self.filters.get(name) for name in DIMENSIONS)


def percentile(values: Sequence[float], share: float) -> Optional[float]:
    """Nearest-rank percentile (None without values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _ratio(part: int, whole: int) -> Optional[float]:
    return round(part / whole, 4) if whole else None


@dataclass
class _Group:
    """Conversations sharing every dimension, handoff flag, reason and window loss (summed in SQL)."""

    keys: Dict[str, str]
    handed_off: bool
    reason: Optional[str]
    conversations: int
    lost_window: int
    messages_in: int
    rating_sum: int
    rated: int


def _groups(conn: Connection, query: ReportQuery) -> List[_Group]:
    """The rollup rows of the date range, summed by everything a figure splits by (one scan).

    A year is a few tens of thousands of rollup rows but a few thousand combinations;
    every summary, breakdown, reason and filter choice is summed from these in Python.
    Filters are applied afterwards (:func:`_matching`), so the same groups give the choices.
    """
    plain = ReportQuery(query.start, query.end)
    by = [day.c[name] for name in DIMENSIONS] + [day.c.handed_off, day.c.handoff_reason, day.c.lost_window]
    rows = conn.execute(sa.select(*by, sa.func.sum(day.c.conversations), sa.func.sum(day.c.messages_in),
                                  sa.func.sum(day.c.rating_sum), sa.func.sum(day.c.ratings)).where(
        *plain.where(day)).group_by(*by))
    width = len(DIMENSIONS)
    return [_Group(keys=dict(zip(DIMENSIONS, (str(v) for v in row[:width]))), handed_off=bool(row[width]),
                   reason=row[width + 1], conversations=int(row[width + 3]),
                   lost_window=int(row[width + 3]) if row[width + 2] else 0, messages_in=int(row[width + 4] or 0),
                   rating_sum=int(row[width + 5] or 0), rated=int(row[width + 6] or 0)) for row in rows]


def _matching(groups: Sequence[_Group], query: ReportQuery) -> List[_Group]:
    wanted = {name: value for name, value in query.filters.items() if name in DIMENSIONS and value}
    return [g for g in groups if all(g.keys[name] == value for name, value in wanted.items())]


def _ranked(counts: Mapping[Any, int]) -> List[Any]:
    """Keys by count (descending), then key; at most :data:`MAX_GROUPS`."""
    return sorted(counts, key=lambda key: (-counts[key], "" if key is None else str(key)))[:MAX_GROUPS]


def summary(groups: Sequence[_Group]) -> Dict[str, Any]:
    total = sum(g.conversations for g in groups)
    handed = sum(g.conversations for g in groups if g.handed_off)
    csat = {key: {"average": None, "count": 0} for key in ("bot_only", "agent")}
    for key, handed_off in (("bot_only", False), ("agent", True)):
        rated = sum(g.rated for g in groups if g.handed_off is handed_off)
        if rated:
            average = sum(g.rating_sum for g in groups if g.handed_off is handed_off) / rated
            csat[key] = {"average": round(average, 2), "count": rated}
    return {"conversations": total, "bot_only": total - handed, "containment": _ratio(total - handed, total),
            "handed_off": handed, "handoff_rate": _ratio(handed, total),
            "lost_window": sum(g.lost_window for g in groups), "messages_in": sum(g.messages_in for g in groups),
            "csat": csat}


def handoff_by(groups: Sequence[_Group], dimension: str) -> List[Dict[str, Any]]:
    counts: Dict[str, int] = {}
    handed: Dict[str, int] = {}
    for g in groups:
        key = g.keys[dimension]
        counts[key] = counts.get(key, 0) + g.conversations
        handed[key] = handed.get(key, 0) + (g.conversations if g.handed_off else 0)
    return [{"key": key, "conversations": counts[key], "handoffs": handed[key], "rate": _ratio(handed[key], counts[key])}
            for key in _ranked(counts)]


def reasons(groups: Sequence[_Group]) -> List[Dict[str, Any]]:
    counts: Dict[Optional[str], int] = {}
    for g in groups:
        if g.handed_off:
            counts[g.reason] = counts.get(g.reason, 0) + g.conversations
    return [{"key": reason or "unknown", "handoffs": counts[reason]} for reason in _ranked(counts)]


def agent_times(conn: Connection, query: ReportQuery) -> Dict[str, Dict[str, Any]]:
    """Time to agent, first response and handling time of the handoffs created in range.

    Filtered, each handoff's conversation must match: the range is still the handoff's own
    day (its index), the dimensions the conversation's (found by primary key).
    """
    columns = [ho.c.wait_s, ho.c.first_response_s, ho.c.handling_s]
    in_range = [ho.c.local_day >= query.start, ho.c.local_day <= query.end]
    if query.narrowed:
        select = sa.select(*columns).select_from(ho.join(conv, conv.c.id == ho.c.conversation_id)).where(
            *in_range, *query.matching())
    else:
        select = sa.select(*columns).where(*in_range)
    found: Dict[str, List[float]] = {"wait": [], "first_response": [], "handling": []}
    for wait, first, handling in conn.execute(select):
        for key, value in (("wait", wait), ("first_response", first), ("handling", handling)):
            if value is not None:
                found[key].append(float(value))
    return {key: {"p50": percentile(values, 0.5), "p90": percentile(values, 0.9), "count": len(values)}
            for key, values in found.items()}


def hours_and_days(conn: Connection, query: ReportQuery) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Conversations per local hour of day, and conversations and handoffs per local day (one scan)."""
    handed = sa.func.sum(sa.case((day.c.handed_off.is_(True), day.c.conversations), else_=0))
    hours = [0] * len(REPORT_HOURS)
    days = []
    for row in conn.execute(sa.select(day.c.local_day, sa.func.sum(day.c.conversations), handed,
                                      *[sa.func.sum(day.c[name]) for name in REPORT_HOURS]).where(
            *query.where(day)).group_by(day.c.local_day).order_by(day.c.local_day)):
        days.append({"day": str(row[0]), "conversations": int(row[1]), "handoffs": int(row[2] or 0)})
        for hour, count in enumerate(row[3:]):
            hours[hour] += int(count or 0)
    return [{"hour": hour, "conversations": count} for hour, count in enumerate(hours)], days


def report(conn: Connection, query: ReportQuery) -> Dict[str, Any]:
    """Every figure of the page."""
    every = _groups(conn, query)
    groups = _matching(every, query)
    choices = {name: sorted({g.keys[name] for g in every})[:MAX_GROUPS * 2] for name in DIMENSIONS}
    hours, days = hours_and_days(conn, query)
    return {"range": {"from": str(query.start), "to": str(query.end)},
            "filters": {k: v for k, v in query.filters.items() if v},
            "summary": summary(groups), "handoff_by": {d: handoff_by(groups, d) for d in DIMENSIONS},
            "reasons": reasons(groups), "times": agent_times(conn, query),
            "hours": hours, "days": days, "choices": choices}
