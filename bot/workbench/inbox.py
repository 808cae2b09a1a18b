"""The inbox: groups of similar customer messages that deserve a look, with counts and filters.

One GROUP BY over ``majlis_nlu_message`` (open messages with at least one reason),
then the newest member of each shown group.  Everything returned for display is
masked (:func:`bot.workbench.pii.mask`); the text for annotation carries synthetic
values instead of personal data (:func:`bot.workbench.pii.scrub`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.workbench import pii, reasons
from bot.workbench.collect import events_table
from bot.workbench.schema import nlu_message

MAX_PAGE = 100


class BadFilter(ValueError):
    """A filter the inbox does not know (HTTP 400)."""


@dataclass(frozen=True)
class Filters:
    language: Optional[str] = None   # ar | en
    form: Optional[str] = None       # arabic | arabizi | english
    channel: Optional[str] = None
    reason: Optional[str] = None     # a name in reasons.NAMES
    intent: Optional[str] = None     # the model's top intent
    since: Optional[datetime] = None
    until: Optional[datetime] = None

    @classmethod
    def parse(cls, args: Dict[str, str]) -> "Filters":
        """From query arguments (``since``/``until``: ISO dates)."""
        def date(name: str) -> Optional[datetime]:
            raw = (args.get(name) or "").strip()
            if not raw:
                return None
            try:
                value = datetime.fromisoformat(raw)
            except ValueError:
                raise BadFilter(f"{name} is not an ISO date") from None
            return value + timedelta(days=1) if name == "until" and len(raw) == 10 else value

        reason = (args.get("reason") or "").strip() or None
        if reason is not None and reason not in reasons.BITS:
            raise BadFilter(f"unknown reason {reason!r}")
        text = {k: ((args.get(k) or "").strip()[:100] or None) for k in ("language", "form", "channel", "intent")}
        return cls(reason=reason, since=date("since"), until=date("until"), **text)

    def where(self) -> List[Any]:
        m = nlu_message.c
        # Literals, not bound parameters: the database then sees the partial inbox index applies.
        clauses: List[Any] = [m.status == sa.literal_column("'open'"), m.reasons != sa.literal_column("0")]
        for name in ("language", "form", "channel", "intent"):
            if getattr(self, name):
                clauses.append(getattr(m, name) == getattr(self, name))
        if self.reason:
            clauses.append(m.reasons.op("&")(reasons.BITS[self.reason]) != 0)
        if self.since:
            clauses.append(m.at >= self.since)
        if self.until:
            clauses.append(m.at < self.until)
        return clauses


def _item(row: Any) -> Dict[str, Any]:
    names = json.loads(row.names or "[]")
    training_text, _ = pii.scrub(row.text, row.language, names)
    return {
        "id": row.id, "group": row.group_id, "text": pii.mask(row.text, names), "training_text": training_text,
        "language": row.language, "form": row.form, "dialect": row.dialect,
        "transliteration": pii.mask(row.transliteration, names) if row.transliteration else None,
        "intents": json.loads(row.ranking), "channel": row.channel, "reasons": reasons.names(row.reasons),
        "at": row.at.isoformat() + "Z", "status": row.status, "label": row.label,
    }


def groups(engine: Engine, filters: Filters, *, offset: int = 0, limit: int = 50) -> Dict[str, Any]:
    """A page of groups, largest first: each with its count, reasons and newest member."""
    m = nlu_message.c
    where = filters.where()
    counted = (sa.select(m.group_id, sa.func.count().label("n"), sa.func.max(m.id).label("newest"),
                         sa.func.max(m.at).label("last_at"))
               .where(*where).group_by(m.group_id).subquery())
    # The total rides on the page (a window function): the grouping runs once.
    ranked = sa.select(counted, sa.func.count().over().label("total")).order_by(
        counted.c.n.desc(), counted.c.newest.desc()).offset(offset).limit(min(limit, MAX_PAGE))
    with engine.connect() as conn:
        page = conn.execute(ranked).all()
        total = page[0].total if page else (conn.execute(sa.select(sa.func.count()).select_from(counted)).scalar()
                                            if offset else 0)
        newest = {row.id: row for row in conn.execute(
            sa.select(nlu_message).where(m.id.in_([p.newest for p in page])))} if page else {}
        bits: Dict[int, int] = {}
        if page:
            for row in conn.execute(sa.select(m.group_id, m.reasons).distinct()
                                    .where(*where, m.group_id.in_([p.group_id for p in page]))):
                bits[row.group_id] = bits.get(row.group_id, 0) | row.reasons
    out = []
    for p in page:
        item = _item(newest[p.newest])
        item.update(count=p.n, last_at=p.last_at.isoformat() + "Z")
        item["reasons"] = sorted(set(item["reasons"]) | set(reasons.names(bits.get(p.group_id, 0))))
        out.append(item)
    return {"total": total, "offset": offset, "limit": limit, "groups": out}


def members(engine: Engine, group_id: int, *, limit: int = 50) -> List[Dict[str, Any]]:
    """The open messages of a group, one per distinct wording (with how often each occurs)."""
    m = nlu_message.c
    with engine.connect() as conn:
        keys = conn.execute(sa.select(m.key, sa.func.count().label("n"), sa.func.max(m.id).label("newest"))
                            .where(m.group_id == group_id, m.status == "open")
                            .group_by(m.key).order_by(sa.desc("n")).limit(limit)).all()
        rows = {row.id: row for row in conn.execute(sa.select(nlu_message).where(m.id.in_([k.newest for k in keys])))}
    return [dict(_item(rows[k.newest]), count=k.n) for k in keys]


def message(engine: Engine, message_id: int) -> Optional[Any]:
    with engine.connect() as conn:
        return conn.execute(sa.select(nlu_message).where(nlu_message.c.id == message_id)).first()


def conversation(engine: Engine, tracker: Optional[Engine], message_id: int, around: int = 8) -> List[Dict[str, Any]]:
    """The customer's and the bot's turns around a message, masked."""
    row = message(engine, message_id)
    if row is None or tracker is None:
        return []
    names = json.loads(row.names or "[]")
    e = events_table.c
    turns = []
    with tracker.connect() as conn:
        before = conn.execute(sa.select(e.id, e.type_name, e.data).where(
            e.sender_id == row.sender_id, e.id <= row.event_id, e.type_name.in_(("user", "bot")))
            .order_by(e.id.desc()).limit(around)).all()
        after = conn.execute(sa.select(e.id, e.type_name, e.data).where(
            e.sender_id == row.sender_id, e.id > row.event_id, e.type_name.in_(("user", "bot")))
            .order_by(e.id).limit(around)).all()
    for event in [*reversed(before), *after]:
        data = json.loads(event.data)
        intent = ((data.get("parse_data") or {}).get("intent") or {}).get("name") if event.type_name == "user" else None
        turns.append({"who": "customer" if event.type_name == "user" else "bot", "intent": intent,
                      "text": pii.mask(data.get("text") or "", names), "this": event.id == row.event_id})
    return turns


def options(engine: Engine) -> Dict[str, Sequence[str]]:
    """The values the filters can take (from the index)."""
    m = nlu_message.c
    with engine.connect() as conn:
        values = {name: [v for v in conn.execute(sa.select(sa.distinct(getattr(m, name)))).scalars() if v]
                  for name in ("language", "form", "channel", "intent")}
    values["reason"] = list(reasons.BITS)
    return values
