"""The report as CSV: one line per figure value (figure, group, measure, value)."""
from __future__ import annotations

import csv
import io
from typing import Any, Dict, Iterator, List

#: Leading characters a spreadsheet would run as a formula (CSV injection).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) and not _number(text) else text


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def rows(figures: Dict[str, Any]) -> Iterator[List[Any]]:
    summary = figures["summary"]
    for key in ("conversations", "bot_only", "containment", "handed_off", "handoff_rate", "lost_window",
                "messages_in"):
        yield ["summary", "", key, summary[key]]
    for group, csat in summary["csat"].items():
        yield ["csat", group, "average", csat["average"]]
        yield ["csat", group, "count", csat["count"]]
    for dimension, groups in figures["handoff_by"].items():
        for item in groups:
            for measure in ("conversations", "handoffs", "rate"):
                yield [f"handoff_by_{dimension}", item["key"], measure, item[measure]]
    for item in figures["reasons"]:
        yield ["handoff_reasons", item["key"], "handoffs", item["handoffs"]]
    for name, times in figures["times"].items():
        for measure in ("p50", "p90", "count"):
            yield [f"{name}_seconds", "", measure, times[measure]]
    for item in figures["hours"]:
        yield ["busiest_hours", item["hour"], "conversations", item["conversations"]]
    for item in figures["days"]:
        yield ["days", item["day"], "conversations", item["conversations"]]
        yield ["days", item["day"], "handoffs", item["handoffs"]]


def to_csv(figures: Dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["figure", "group", "measure", "value"])
    for row in rows(figures):
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()
