"""docs/grafana-dashboard.json queries only series Majlis defines, and uses every one of them."""
from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import bot.metrics  # noqa: F401  (defines the series)

ROOT = Path(__file__).resolve().parents[3]


def defined() -> set:
    names = set()
    for metric in REGISTRY.collect():
        if metric.name.startswith("majlis_"):
            names.add(metric.name)
    return names


def test_dashboard_series_exist_and_cover_every_metric() -> None:
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text(encoding="utf-8"))
    used = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            for name in re.findall(r"majlis_[a-z_]+", target["expr"]):
                used.add(re.sub(r"_(bucket|count|sum|total)$", "", name))
    assert used == defined()
