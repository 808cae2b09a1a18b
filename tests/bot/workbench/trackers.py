"""A tracker store's ``events`` table written the way Rasa's SQLTrackerStore writes it (no tests here)."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

EVENTS = sa.Table(
    "events", sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)


def tracker_engine(url: str) -> Engine:
    engine = sa.create_engine(url)
    EVENTS.metadata.create_all(engine)
    return engine


def user(sender: str, text: str, at: float, ranking: Sequence[Tuple[str, float]], *, form: str = "arabic",
         code: str = "ar", dialect: Optional[str] = None, channel: str = "whatsapp_cloud",
         name: Optional[str] = None) -> Dict[str, Any]:
    language: Dict[str, Any] = {"code": code, "form": form, "clear": True}
    if dialect:
        language["dialect"] = {"region": dialect, "confidence": 0.8}
    data = {"event": "user", "timestamp": at, "text": text, "input_channel": channel,
            "metadata": {"customer": {"profile_name": name}} if name else {},
            "parse_data": {"text": text, "intent": {"name": ranking[0][0], "confidence": ranking[0][1]},
                           "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
                           "entities": [], "language": language}}
    return {"sender_id": sender, "type_name": "user", "timestamp": at, "intent_name": ranking[0][0],
            "action_name": None, "data": json.dumps(data, ensure_ascii=False)}


def action(sender: str, name: str, at: float) -> Dict[str, Any]:
    return {"sender_id": sender, "type_name": "action", "timestamp": at, "intent_name": None, "action_name": name,
            "data": json.dumps({"event": "action", "name": name, "timestamp": at})}


def bot(sender: str, text: str, at: float) -> Dict[str, Any]:
    return {"sender_id": sender, "type_name": "bot", "timestamp": at, "intent_name": None, "action_name": None,
            "data": json.dumps({"event": "bot", "text": text, "timestamp": at}, ensure_ascii=False)}


def pause(sender: str, at: float) -> Dict[str, Any]:
    return {"sender_id": sender, "type_name": "pause", "timestamp": at, "intent_name": None, "action_name": None,
            "data": json.dumps({"event": "pause", "timestamp": at})}


def write(engine: Engine, rows: List[Dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(EVENTS.insert(), rows)
