"""The report page's figures, computed in SQL from the pre-aggregated tables.

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
from typing import Any, Dict, List, Mapping, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.reports.tables import report_conversation as conv
from bot.reports.tables import report_handoff as ho

#: Dimensions a handoff rate is broken down by (and the filters the page offers).
DIMENSIONS = ("intent", "language", "form", "dialect", "channel", "source")
MAX_GROUPS = 30


@dataclass(frozen=True)
class ReportQuery:
    """A local-day range (inclusive) and equality filters on :data:`DIMENSIONS`."""

    start: date
    end: date
    filters: Mapping[str, str] = field(default_factory=dict)

    def where(self) -> List[Any]:
        clauses = [conv.c.local_day >= self.start, conv.c.local_day <= self.end]
        clauses += [conv.c[name] == value for name, value in self.filters.items() if name in DIMENSIONS and value]
        return clauses

    @property
    def narrowed(self) -> bool:
        return any(self.filters.get(name) for name in DIMENSIONS)


def percentile(values: Sequence[float], share: float) -> Optional[float]:
    """Nearest-rank percentile (None without values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _handed() -> Any:
    return sa.func.sum(sa.case((conv.c.handed_off.is_(True), 1), else_=0))


def _ratio(part: int, whole: int) -> Optional[float]:
    return round(part / whole, 4) if whole else None


def summary(conn: Connection, query: ReportQuery) -> Dict[str, Any]:
    row = conn.execute(sa.select(
        sa.func.count().label("conversations"), _handed().label("handed_off"),
        sa.func.sum(sa.case((conv.c.lost_window.is_(True), 1), else_=0)).label("lost_window"),
        sa.func.sum(conv.c.messages_in).label("messages_in"),
    ).where(*query.where())).one()
    total, handed = int(row.conversations or 0), int(row.handed_off or 0)
    csat = {key: {"average": None, "count": 0} for key in ("bot_only", "agent")}
    for handed_off, average, count in conn.execute(sa.select(
            conv.c.handed_off, sa.func.avg(conv.c.rating), sa.func.count(conv.c.rating)).where(
            *query.where(), conv.c.rating.isnot(None)).group_by(conv.c.handed_off)):
        csat["agent" if handed_off else "bot_only"] = {"average": round(float(average), 2), "count": int(count)}
    return {"conversations": total, "bot_only": total - handed, "containment": _ratio(total - handed, total),
            "handed_off": handed, "handoff_rate": _ratio(handed, total), "lost_window": int(row.lost_window or 0),
            "messages_in": int(row.messages_in or 0), "csat": csat}


def handoff_by(conn: Connection, query: ReportQuery, dimension: str) -> List[Dict[str, Any]]:
    column = conv.c[dimension]
    rows = conn.execute(sa.select(column, sa.func.count().label("n"), _handed().label("h")).where(
        *query.where()).group_by(column).order_by(sa.func.count().desc(), column).limit(MAX_GROUPS))
    return [{"key": key, "conversations": int(n), "handoffs": int(h or 0), "rate": _ratio(int(h or 0), int(n))}
            for key, n, h in rows]


def reasons(conn: Connection, query: ReportQuery) -> List[Dict[str, Any]]:
    rows = conn.execute(sa.select(conv.c.handoff_reason, sa.func.count()).where(
        *query.where(), conv.c.handed_off.is_(True)).group_by(conv.c.handoff_reason).order_by(
        sa.func.count().desc(), conv.c.handoff_reason).limit(MAX_GROUPS))
    return [{"key": reason or "unknown", "handoffs": int(n)} for reason, n in rows]


def agent_times(conn: Connection, query: ReportQuery) -> Dict[str, Dict[str, Any]]:
    """Time to agent, first response and handling time of the handoffs in range."""
    columns = [ho.c.wait_s, ho.c.first_response_s, ho.c.handling_s]
    if query.narrowed:
        select = sa.select(*columns).select_from(ho.join(conv, conv.c.id == ho.c.conversation_id)).where(
            *query.where())
    else:
        select = sa.select(*columns).where(ho.c.local_day >= query.start, ho.c.local_day <= query.end)
    found: Dict[str, List[float]] = {"wait": [], "first_response": [], "handling": []}
    for wait, first, handling in conn.execute(select):
        for key, value in (("wait", wait), ("first_response", first), ("handling", handling)):
            if value is not None:
                found[key].append(float(value))
    return {key: {"p50": percentile(values, 0.5), "p90": percentile(values, 0.9), "count": len(values)}
            for key, values in found.items()}


def busiest_hours(conn: Connection, query: ReportQuery) -> List[Dict[str, Any]]:
    counts = dict(conn.execute(sa.select(conv.c.local_hour, sa.func.count()).where(*query.where()).group_by(
        conv.c.local_hour)).all())
    return [{"hour": hour, "conversations": int(counts.get(hour, 0))} for hour in range(24)]


def by_day(conn: Connection, query: ReportQuery) -> List[Dict[str, Any]]:
    rows = conn.execute(sa.select(conv.c.local_day, sa.func.count(), _handed()).where(*query.where()).group_by(
        conv.c.local_day).order_by(conv.c.local_day))
    return [{"day": str(day), "conversations": int(n), "handoffs": int(h or 0)} for day, n, h in rows]


def filter_values(conn: Connection, query: ReportQuery) -> Dict[str, List[str]]:
    """The values each filter can take in the date range (for the page's drop-downs)."""
    plain = ReportQuery(query.start, query.end)
    return {name: [value for (value,) in conn.execute(sa.select(sa.distinct(conv.c[name])).where(
        *plain.where()).order_by(conv.c[name]).limit(MAX_GROUPS * 2))] for name in DIMENSIONS}


def report(conn: Connection, query: ReportQuery) -> Dict[str, Any]:
    """Every figure of the page."""
    groups = {dimension: handoff_by(conn, query, dimension) for dimension in DIMENSIONS}
    # Unfiltered, the breakdowns already list every value a filter can take: no second scan.
    choices = ({name: sorted(str(g["key"]) for g in found) for name, found in groups.items()}
               if not query.narrowed else filter_values(conn, query))
    return {"range": {"from": str(query.start), "to": str(query.end)},
            "filters": {k: v for k, v in query.filters.items() if v},
            "summary": summary(conn, query), "handoff_by": groups,
            "reasons": reasons(conn, query), "times": agent_times(conn, query),
            "hours": busiest_hours(conn, query), "days": by_day(conn, query), "choices": choices}
